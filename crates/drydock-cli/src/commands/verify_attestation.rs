use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use drydock_ops::VerifySettings;

use super::registry_args::RegistryArgs;

#[derive(Args)]
pub(crate) struct VerifyAttestationArgs {
    /// The image: REGISTRY/REPOSITORY[:TAG|@DIGEST], registry:REF or oci-dir:PATH
    image: String,
    /// The public key (PKIX PEM)
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// Only attestations of this predicate type (short name or URI)
    #[arg(long = "type", value_name = "TYPE")]
    predicate_type: Option<String>,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub(crate) fn run(args: VerifyAttestationArgs) -> anyhow::Result<ExitCode> {
    let VerifyAttestationArgs {
        image,
        key,
        predicate_type,
        registry,
    } = args;
    let report = drydock_ops::verify_attestation(&VerifySettings {
        target: image.clone(),
        key,
        registry: registry.settings(),
        predicate_type,
    })?;
    Ok(super::verify::conclude(&image, &report, "attestation"))
}

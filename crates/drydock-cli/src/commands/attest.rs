use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use drydock_ops::{AttestSettings, SignSettings};

use super::registry_args::RegistryArgs;
use super::sign::FormatArg;

#[derive(Args)]
pub(crate) struct AttestArgs {
    /// The image: REGISTRY/REPOSITORY[:TAG|@DIGEST], registry:REF or oci-dir:PATH
    image: String,
    /// The private key (cosign's encrypted PEM)
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// sbom, vuln, slsaprovenance, slsaprovenance1, spdxjson, custom, or a URI
    #[arg(long, default_value = "sbom")]
    predicate_type: String,
    /// The predicate (JSON); without it drydock generates `sbom` (its SBOM) and `vuln` (its scan) predicates itself
    #[arg(long, value_name = "FILE")]
    predicate: Option<PathBuf>,
    /// Where the attestation goes
    #[arg(long, value_enum, default_value = "bundle")]
    signature_format: FormatArg,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub(crate) fn run(args: AttestArgs) -> anyhow::Result<ExitCode> {
    let AttestArgs {
        image,
        key,
        predicate_type,
        predicate,
        signature_format,
        registry,
    } = args;
    let password = super::password::password(false)?;
    let signed = drydock_ops::attest(&AttestSettings {
        sign: SignSettings {
            target: image.clone(),
            key,
            password,
            format: signature_format.into(),
            registry: registry.settings(),
        },
        predicate_type: predicate_type.clone(),
        predicate,
    })?;
    println!("{}", signed.manifest);
    eprintln!(
        "drydock: attested `{image}` ({}) with a `{}` statement",
        signed.image,
        drydock_ops::predicate_type_uri(&predicate_type)
    );
    Ok(ExitCode::SUCCESS)
}

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use drydock_ops::{SignSettings, SignatureFormat};

use super::registry_args::RegistryArgs;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum FormatArg {
    /// cosign v3's default: a Sigstore bundle attached as an OCI 1.1 referrer
    Bundle,
    /// The `sha256-<hex>.sig` / `.att` tags of cosign v1/v2
    Legacy,
}

impl From<FormatArg> for SignatureFormat {
    fn from(value: FormatArg) -> Self {
        match value {
            FormatArg::Bundle => SignatureFormat::Bundle,
            FormatArg::Legacy => SignatureFormat::Legacy,
        }
    }
}

#[derive(Args)]
pub(crate) struct SignArgs {
    /// The image: REGISTRY/REPOSITORY[:TAG|@DIGEST], registry:REF or oci-dir:PATH
    image: String,
    /// The private key (cosign's encrypted PEM; password from DRYDOCK_PASSWORD or a prompt)
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// Where the signature goes
    #[arg(long, value_enum, default_value = "bundle")]
    signature_format: FormatArg,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub(crate) fn run(args: SignArgs) -> anyhow::Result<ExitCode> {
    let SignArgs {
        image,
        key,
        signature_format,
        registry,
    } = args;
    let password = super::password::password(false)?;
    let signed = drydock_ops::sign(&SignSettings {
        target: image.clone(),
        key,
        password,
        format: signature_format.into(),
        registry: registry.settings(),
    })?;
    println!("{}", signed.manifest);
    eprintln!(
        "drydock: signed `{image}` ({}){}",
        signed.image,
        signed.tag.map_or_else(
            || " as a referrer".into(),
            |tag| format!(" under tag `{tag}`")
        )
    );
    Ok(ExitCode::SUCCESS)
}

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use drydock_ops::{SignatureFormat, VerifyReport, VerifySettings};

use super::registry_args::RegistryArgs;

#[derive(Args)]
pub(crate) struct VerifyArgs {
    /// The image: REGISTRY/REPOSITORY[:TAG|@DIGEST], registry:REF or oci-dir:PATH
    image: String,
    /// The public key (PKIX PEM)
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub(crate) fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let VerifyArgs {
        image,
        key,
        registry,
    } = args;
    let report = drydock_ops::verify(&VerifySettings {
        target: image.clone(),
        key,
        registry: registry.settings(),
        predicate_type: None,
    })?;
    Ok(conclude(&image, &report, "signature"))
}

/// Print verified payloads (one JSON per line) or why nothing verified: exit 1.
pub(crate) fn conclude(image: &str, report: &VerifyReport, what: &str) -> ExitCode {
    for reason in &report.rejected {
        eprintln!("drydock: rejected {reason}");
    }
    if report.verified.is_empty() {
        if report.rejected.is_empty() {
            eprintln!("drydock: no {what}s found for `{image}` ({})", report.image);
        } else {
            eprintln!(
                "drydock: no valid {what} for `{image}` ({}) with the given key",
                report.image
            );
        }
        return ExitCode::from(1);
    }
    for verified in &report.verified {
        println!("{}", String::from_utf8_lossy(&verified.payload));
    }
    for verified in &report.verified {
        let form = match verified.format {
            SignatureFormat::Bundle => "bundle referrer",
            SignatureFormat::Legacy => "legacy tag",
        };
        eprintln!(
            "drydock: verified {what} of `{image}` ({}) in {form} {}",
            report.image, verified.manifest
        );
    }
    ExitCode::SUCCESS
}

use std::process::ExitCode;

use clap::Args;
use drydock_ops::{CopyReport, CopySettings};

use super::registry_args::RegistryArgs;

#[derive(Args)]
pub(crate) struct CopyArgs {
    /// From: REGISTRY/REPOSITORY[:TAG|@DIGEST], registry:REF or oci-dir:PATH
    source: String,
    /// To: REGISTRY/REPOSITORY[:TAG] or oci-dir:PATH
    destination: String,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub(crate) fn run(args: CopyArgs) -> anyhow::Result<ExitCode> {
    let CopyArgs {
        source,
        destination,
        registry,
    } = args;
    report(&drydock_ops::copy(&CopySettings {
        source,
        destination,
        registry: registry.settings(),
    })?);
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn report(report: &CopyReport) {
    println!("{}", report.digest);
    eprintln!(
        "drydock: copied to `{}`: {} blobs ({} bytes), {} already there, {} manifests",
        report.destination,
        report.copied.blobs,
        report.copied.bytes,
        report.copied.skipped,
        report.copied.manifests
    );
}

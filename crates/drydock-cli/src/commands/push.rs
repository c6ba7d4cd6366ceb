use std::process::ExitCode;

use clap::Args;
use drydock_ops::CopySettings;

use super::registry_args::RegistryArgs;

#[derive(Args)]
pub(crate) struct PushArgs {
    /// The image to push: oci-dir:PATH (or a path to an OCI layout)
    source: String,
    /// Where to: REGISTRY/REPOSITORY[:TAG]
    destination: String,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub(crate) fn run(args: PushArgs) -> anyhow::Result<ExitCode> {
    let PushArgs {
        source,
        destination,
        registry,
    } = args;
    super::copy::report(&drydock_ops::copy(&CopySettings {
        source,
        destination,
        registry: registry.settings(),
    })?);
    Ok(ExitCode::SUCCESS)
}

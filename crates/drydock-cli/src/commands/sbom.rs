use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use drydock_ops::SbomSettings;
use drydock_sbom::Format;

#[derive(Args)]
pub(crate) struct SbomArgs {
    /// docker-archive:PATH, oci-archive:PATH, oci-dir:PATH, dir:PATH, registry:REF, or a path (auto-detected)
    source: String,
    /// Output format: cyclonedx-json, spdx-json, json, table
    #[arg(short, long, default_value = "table")]
    format: Format,
    /// Write to FILE instead of stdout
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Platform to choose from a multi-platform image: os/arch[/variant]
    #[arg(long)]
    platform: Option<String>,
    #[command(flatten)]
    registry: super::registry_args::RegistryArgs,
}

pub(crate) fn run(args: SbomArgs) -> anyhow::Result<ExitCode> {
    let SbomArgs {
        source,
        format,
        output,
        platform,
        registry,
    } = args;
    let progress = crate::progress::LayerProgress::new("cataloging");
    let sbom = drydock_ops::sbom(
        &SbomSettings {
            source,
            platform,
            registry: registry.settings(),
        },
        &progress,
    )?;
    progress.finish();
    for problem in &sbom.problems {
        eprintln!("drydock: warning: {problem}");
    }
    crate::output::emit(output.as_deref(), |out| Ok(format.write(&sbom, out)?))?;
    Ok(ExitCode::SUCCESS)
}

use std::process::ExitCode;

use clap::Args;

use super::build::GoldenArgs;

#[derive(Args)]
pub(crate) struct MirrorArgs {
    #[command(flatten)]
    golden: GoldenArgs,
}

pub(crate) fn run(args: MirrorArgs) -> anyhow::Result<ExitCode> {
    let MirrorArgs { golden } = args;
    let mirrored = drydock_ops::golden_mirror(&golden.settings())?;
    for warning in &mirrored.warnings {
        eprintln!("warning: {warning}");
    }
    if mirrored.lock_written {
        eprintln!("wrote lock `{}`", mirrored.lock_path.display());
    }
    println!(
        "{} packages ({} bytes) verified in the cache",
        mirrored.debs, mirrored.bytes
    );
    Ok(ExitCode::SUCCESS)
}

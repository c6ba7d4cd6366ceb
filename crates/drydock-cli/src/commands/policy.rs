//! `drydock policy check`: the golden-image policy gate.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use drydock_ops::{PolicySettings, SbomSettings, fleet::FleetSettings};

#[derive(Args)]
pub(crate) struct PolicyArgs {
    #[command(subcommand)]
    command: PolicyCommand,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
    Sarif,
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Check an image against a policy: exit 0 when every rule passes, 1 when one fails or cannot be evaluated, 2 on errors
    Check {
        /// Any source `scan` accepts: docker-archive:PATH, oci-archive:PATH, oci-dir:PATH, dir:PATH, registry:REF, a path
        source: String,
        /// The policy file (YAML, see docs/policy.md) [default: the built-in golden-base policy]
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        /// The vulnerability database directory [default: $DRYDOCK_DB_DIR, else $XDG_DATA_HOME/drydock/db]
        #[arg(long, value_name = "DIR")]
        db_dir: Option<PathBuf>,
        /// The public key signatures must verify with (for `unsigned`)
        #[arg(long, value_name = "PUB")]
        key: Option<PathBuf>,
        /// The fleet store holding the golden catalog (for `base-not-golden`)
        #[arg(long, value_name = "URL")]
        store: Option<String>,
        /// Output format
        #[arg(short, long, value_enum, default_value = "table")]
        format: Format,
        /// Write to FILE instead of stdout
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Platform to choose from a multi-platform image: os/arch[/variant]
        #[arg(long)]
        platform: Option<String>,
        #[command(flatten)]
        registry: super::registry_args::RegistryArgs,
    },
}

pub(crate) fn run(args: PolicyArgs) -> anyhow::Result<ExitCode> {
    let PolicyCommand::Check {
        source,
        policy,
        db_dir,
        key,
        store,
        format,
        output,
        platform,
        registry,
    } = args.command;
    let settings = PolicySettings {
        sbom: SbomSettings {
            source,
            platform,
            registry: registry.settings(),
        },
        policy,
        db_dir: db_dir.clone(),
        key,
        fleet: FleetSettings { store, db_dir },
    };
    let progress = crate::progress::LayerProgress::new("checking");
    let report = drydock_ops::policy_check(&settings, &progress)?;
    progress.finish();
    crate::output::emit(output.as_deref(), |out| {
        match format {
            Format::Table => out.write_all(drydock_policy::table(&report).as_bytes())?,
            Format::Json => {
                serde_json::to_writer_pretty(&mut *out, &report)?;
                out.write_all(b"\n")?;
            }
            Format::Sarif => {
                serde_json::to_writer_pretty(
                    &mut *out,
                    &drydock_policy::sarif(&report, env!("CARGO_PKG_VERSION")),
                )?;
                out.write_all(b"\n")?;
            }
        }
        Ok(())
    })?;
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

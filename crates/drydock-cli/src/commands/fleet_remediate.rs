//! `drydock fleet remediate`: patch every stored Debian image with fixable
//! findings and push the patched image beside the original.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use drydock_ops::PatchSettings;
use drydock_ops::fleet::{self, FleetSettings, RemediateSettings};
use drydock_vuln::SeverityLevel;

use super::registry_args::RegistryArgs;

#[derive(Args)]
pub(crate) struct RemediateArgs {
    /// Where patched images go: REGISTRY[/PREFIX]; each is pushed as PREFIX/REPOSITORY:TAG-patched
    #[arg(long, value_name = "REGISTRY/PREFIX")]
    to: String,
    /// Only findings of this vulnerability (id or alias)
    #[arg(long, value_name = "ID")]
    vuln: Option<String>,
    /// Only findings at or above this severity
    #[arg(long, value_name = "SEVERITY")]
    severity: Option<SeverityLevel>,
    /// Appended to the original tag
    #[arg(long, value_name = "SUFFIX", default_value = "-patched")]
    suffix: String,
    #[command(flatten)]
    archive: super::patch::ArchiveArgs,
    /// Sign each patched image and attach SBOM and vulnerability attestations with this key
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// Say what would be patched; push and record nothing
    #[arg(long)]
    dry_run: bool,
    #[arg(short, long, value_enum, default_value = "table")]
    format: super::fleet::Format,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub(crate) fn run(settings: &FleetSettings, args: RemediateArgs) -> anyhow::Result<ExitCode> {
    let RemediateArgs {
        to,
        vuln,
        severity,
        suffix,
        archive,
        key,
        dry_run,
        format,
        registry,
    } = args;
    let password = if key.is_some() {
        super::password::password(false)?
    } else {
        Vec::new()
    };
    let report = fleet::remediate(&RemediateSettings {
        fleet: settings.clone(),
        vuln,
        severity,
        to,
        suffix,
        patch: archive.apply(PatchSettings {
            key,
            password,
            registry: registry.settings(),
            ..PatchSettings::default()
        }),
        dry_run,
    })?;
    crate::output::emit(None, |out| {
        if format == super::fleet::Format::Json {
            serde_json::to_writer_pretty(&mut *out, &report)?;
            writeln!(out)?;
            return Ok(());
        }
        for item in &report.images {
            let short = item.digest.get(..19).unwrap_or(&item.digest);
            match item.status.as_str() {
                "patched" | "would-patch" => writeln!(
                    out,
                    "{:<12} {short}  -> {}  {}  fixes {}",
                    item.status,
                    item.target.as_deref().unwrap_or("-"),
                    item.patched_digest
                        .as_deref()
                        .map_or(String::new(), |d| d.get(..19).unwrap_or(d).to_owned()),
                    item.vulns.join(", ")
                )?,
                _ => writeln!(
                    out,
                    "{:<12} {short}  {}",
                    item.status,
                    item.reasons.first().map_or("", String::as_str)
                )?,
            }
            for package in &item.packages {
                writeln!(out, "             {package}")?;
            }
        }
        Ok(())
    })?;
    eprintln!(
        "{} patched, {} skipped, {} failed{}",
        report.count("patched") + report.count("would-patch"),
        report.count("skipped"),
        report.count("failed"),
        if dry_run { " (dry run)" } else { "" }
    );
    Ok(if report.count("failed") > 0 {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use drydock_ops::{SbomSettings, ScanSettings};
use drydock_vuln::{ReportFormat, SeverityLevel, TableOptions};

#[derive(Args)]
pub(crate) struct ScanArgs {
    /// docker-archive:PATH, oci-archive:PATH, oci-dir:PATH, dir:PATH, registry:REF, a path (auto-detected), or sbom:PATH (CycloneDX, SPDX or drydock JSON)
    source: String,
    /// Output format: table, json, cyclonedx-json, sarif
    #[arg(short, long, default_value = "table")]
    format: ReportFormat,
    /// Write to FILE instead of stdout
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Exit with status 1 when a finding at or above this severity remains (negligible, low, medium, high, critical)
    #[arg(long, value_name = "SEVERITY")]
    fail_on: Option<SeverityLevel>,
    /// Report only vulnerabilities that have a fixed version
    #[arg(long)]
    only_fixed: bool,
    /// VEX document (OpenVEX or CycloneDX VEX); `not_affected` and `fixed` statements suppress findings
    #[arg(long, value_name = "FILE")]
    vex: Vec<PathBuf>,
    /// List the findings VEX suppressed
    #[arg(long)]
    show_suppressed: bool,
    /// Table: add a SEVERITY-SOURCE column (where each severity came from and who assigned it)
    #[arg(long)]
    show_severity_source: bool,
    /// The vulnerability database directory [default: $DRYDOCK_DB_DIR, else $XDG_DATA_HOME/drydock/db]
    #[arg(long, value_name = "DIR")]
    db_dir: Option<PathBuf>,
    /// Platform to choose from a multi-platform image: os/arch[/variant]
    #[arg(long)]
    platform: Option<String>,
    #[command(flatten)]
    registry: super::registry_args::RegistryArgs,
}

pub(crate) fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let ScanArgs {
        source,
        format,
        output,
        fail_on,
        only_fixed,
        vex,
        show_suppressed,
        show_severity_source,
        db_dir,
        platform,
        registry,
    } = args;
    let settings = ScanSettings {
        sbom: SbomSettings {
            source,
            platform,
            registry: registry.settings(),
        },
        db_dir,
        vex,
        only_fixed,
        show_suppressed,
    };
    let progress = crate::progress::LayerProgress::new("cataloging");
    let outcome = drydock_ops::scan(&settings, &progress)?;
    progress.finish();
    for problem in &outcome.problems {
        eprintln!("drydock: warning: {problem}");
    }
    for warning in &outcome.warnings {
        eprintln!("drydock: warning: {warning}");
    }
    if drydock_ops::EnvVars::get(drydock_ops::EnvVars::DRYDOCK_TIMINGS).as_deref() == Some("1") {
        for (phase, duration) in &outcome.timings {
            eprintln!(
                "drydock: timing: {phase} {:.3} ms",
                duration.as_secs_f64() * 1000.0
            );
        }
    }
    crate::output::emit(output.as_deref(), |out| {
        if format == ReportFormat::Table {
            let options = TableOptions {
                severity_source: show_severity_source,
            };
            return Ok(drydock_vuln::report::write_table_with(
                &outcome.result,
                options,
                out,
            )?);
        }
        Ok(format.write(&outcome.result, out)?)
    })?;
    let tripped = fail_on.is_some_and(|threshold| {
        outcome
            .result
            .findings
            .iter()
            .any(|finding| finding.severity >= threshold)
    });
    Ok(if tripped {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

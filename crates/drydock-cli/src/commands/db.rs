//! `drydock db import | update | status`: the vulnerability database.
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use drydock_ops::DbUpdateSettings;

#[derive(Args)]
pub(crate) struct DbArgs {
    /// Database directory (default: `DRYDOCK_DB_DIR`, else `$XDG_DATA_HOME/drydock/db`, else `~/.local/share/drydock/db`)
    #[arg(long, global = true, value_name = "DIR")]
    db_dir: Option<PathBuf>,
    /// The fleet store re-matched after `import`/`update` [default: $DRYDOCK_STORE, else sqlite:$XDG_DATA_HOME/drydock/fleet.db when it exists]
    #[arg(long, global = true, value_name = "URL")]
    store: Option<String>,
    #[command(subcommand)]
    command: DbCommand,
}

/// After the database changed: re-match every stored SBOM, when a fleet
/// store exists (or one was named).
fn rematch_fleet(db_dir: &Path, store: Option<String>) -> anyhow::Result<()> {
    let settings = drydock_ops::fleet::FleetSettings {
        store,
        db_dir: Some(db_dir.to_owned()),
    };
    let Some(mut store) = drydock_ops::fleet::existing_store(&settings)? else {
        return Ok(());
    };
    let report = match drydock_ops::fleet::rematch_store(&mut store, &settings, "database-update") {
        Ok(report) => report,
        // KEV or EPSS alone: nothing to match against yet.
        Err(drydock_ops::fleet::FleetError::EmptyDatabase { .. }) => return Ok(()),
        Err(error) => return Err(error.into()),
    };
    crate::output::emit(None, |out| {
        write!(out, "fleet store `{}`: ", store.url())?;
        super::fleet::write_rematch(out, &report)
    })?;
    super::fleet_notify::after_change_store(&mut store);
    Ok(())
}

#[derive(Subcommand)]
enum DbCommand {
    /// Import OSV JSON files, directories and all.zip archives, the Debian security tracker JSON, Alpine/Wolfi secdb JSON, CISA KEV JSON, FIRST EPSS CSV, NVD CVE API 2.0 JSON and CVE JSON 5 records (atomic: all or nothing)
    Import {
        /// Files or directories (formats detected from content)
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Fetch every configured source and import them in one atomic import
    Update {
        /// Add or override a source: NAME=URL (an empty URL disables NAME); see `sources.toml` in the database directory
        #[arg(long = "source", value_name = "NAME=URL")]
        sources: Vec<String>,
        /// Fetch only the sources given with `--source` or in `sources.toml`
        #[arg(long)]
        no_default_sources: bool,
    },
    /// Sources, record counts per ecosystem, last update, schema version
    Status {
        #[arg(short, long, value_enum, default_value = "table")]
        format: StatusFormat,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum StatusFormat {
    Table,
    Json,
}

pub(crate) fn run(args: DbArgs) -> anyhow::Result<ExitCode> {
    let DbArgs {
        db_dir,
        store,
        command,
    } = args;
    let db_dir = drydock_ops::db_dir(db_dir.as_deref())?;
    match command {
        DbCommand::Import { paths } => {
            let report = drydock_ops::db_import(&db_dir, &paths)?;
            crate::output::emit(None, |out| write_import(out, &db_dir, &report))?;
            rematch_fleet(&db_dir, store)?;
        }
        DbCommand::Update {
            sources,
            no_default_sources,
        } => {
            let report = drydock_ops::db_update(&DbUpdateSettings {
                db_dir: db_dir.clone(),
                sources,
                no_default_sources,
            })?;
            crate::output::emit(None, |out| {
                for (name, (url, bytes)) in &report.fetched {
                    writeln!(out, "fetched `{name}` ({bytes} bytes) from {url}")?;
                }
                write_import(out, &db_dir, &report.import)
            })?;
            rematch_fleet(&db_dir, store)?;
        }
        DbCommand::Status { format } => {
            let status = drydock_ops::db_status(&db_dir)?;
            crate::output::emit(None, |out| match format {
                StatusFormat::Json => {
                    writeln!(out, "{}", drydock_ops::db_status_json(&db_dir, &status))?;
                    Ok(())
                }
                StatusFormat::Table => write_status(out, &db_dir, &status),
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_import(
    out: &mut dyn Write,
    db_dir: &Path,
    report: &drydock_ops::ImportReport,
) -> anyhow::Result<()> {
    writeln!(
        out,
        "imported {} records from {} inputs: {} added, {} replaced, {} kept (newer in the database)",
        report.records_read, report.inputs, report.added, report.replaced, report.kept_newer
    )?;
    if report.kev_entries > 0 {
        writeln!(out, "KEV: {} entries", report.kev_entries)?;
    }
    if report.epss_entries > 0 {
        writeln!(out, "EPSS: {} scores", report.epss_entries)?;
    }
    if report.cve_records > 0 {
        writeln!(
            out,
            "CVE records: {} read ({} CVSS vectors), {} in the database",
            report.cve_records, report.cvss_vectors, report.total_cve_records
        )?;
    }
    for rejected in &report.cvss_rejected {
        writeln!(out, "warning: CVSS vector refused, not used: {rejected}")?;
    }
    for mismatch in &report.cvss_score_mismatches {
        writeln!(
            out,
            "warning: stated CVSS score differs from drydock's: {mismatch}"
        )?;
    }
    writeln!(
        out,
        "database `{}`: {} records",
        db_dir.display(),
        report.total_records
    )?;
    Ok(())
}

fn write_status(
    out: &mut dyn Write,
    db_dir: &Path,
    status: &drydock_ops::DbStatus,
) -> anyhow::Result<()> {
    writeln!(out, "database        {}", db_dir.display())?;
    writeln!(out, "schema version  {}", status.schema_version)?;
    writeln!(
        out,
        "last update     {}",
        status
            .last_update
            .as_deref()
            .unwrap_or("never (empty database)")
    )?;
    if !status.sources.is_empty() {
        writeln!(out, "\nSOURCE                      RECORDS  LAST IMPORT")?;
        for source in &status.sources {
            writeln!(
                out,
                "{:<26} {:>8}  {}",
                source.name, source.records, source.last_import
            )?;
        }
    }
    if !status.ecosystems.is_empty() {
        writeln!(
            out,
            "\nECOSYSTEM                   RECORDS  AFFECTED  PACKAGES"
        )?;
        for ecosystem in &status.ecosystems {
            let name = if ecosystem.ecosystem.is_empty() {
                "(none)"
            } else {
                &ecosystem.ecosystem
            };
            writeln!(
                out,
                "{:<26} {:>8}  {:>8}  {:>8}",
                name, ecosystem.records, ecosystem.affected, ecosystem.packages
            )?;
        }
    }
    if let Some(kev) = &status.kev {
        writeln!(
            out,
            "\nKEV   catalog {} ({}), {} CVEs, imported {}",
            kev.catalog_version, kev.date_released, kev.count, kev.last_import
        )?;
    }
    if let Some(cve) = &status.cve {
        writeln!(
            out,
            "CVE   {} records ({} with CVSS), imported {}",
            cve.count, cve.with_cvss, cve.last_import
        )?;
    }
    if let Some(epss) = &status.epss {
        writeln!(
            out,
            "EPSS  model {}, scores of {}, {} CVEs, imported {}",
            epss.model_version, epss.score_date, epss.count, epss.last_import
        )?;
    }
    Ok(())
}

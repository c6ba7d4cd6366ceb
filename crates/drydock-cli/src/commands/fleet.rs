//! `drydock fleet …`: watch a fleet of images over time.
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use drydock_ops::fleet::{self, FleetSettings, RegistrySource};
use drydock_store::{Deadlines, FindingFilter};
use drydock_vuln::SeverityLevel;

#[derive(Args)]
pub(crate) struct FleetArgs {
    /// The fleet store: `sqlite:PATH` or `postgres://USER@HOST/DB` [default: $DRYDOCK_STORE, else sqlite:$XDG_DATA_HOME/drydock/fleet.db]
    #[arg(long, global = true, value_name = "URL")]
    store: Option<String>,
    /// The vulnerability database directory [default: $DRYDOCK_DB_DIR, else $XDG_DATA_HOME/drydock/db]
    #[arg(long, global = true, value_name = "DIR")]
    db_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: FleetCommand,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum Format {
    Table,
    Json,
}

#[derive(Subcommand)]
enum FleetCommand {
    /// Add an inventory source
    Add {
        #[command(subcommand)]
        source: AddCommand,
    },
    /// List the inventory sources
    Sources {
        #[arg(short, long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Remove an inventory source (its images no longer seen anywhere are retired)
    Remove { name: String },
    /// One inventory pass: new and gone sightings, new digests cataloged and matched
    Sync {
        /// Only this source
        #[arg(long, value_name = "NAME")]
        source: Option<String>,
        /// Images cataloged at once
        #[arg(long, value_name = "N", default_value_t = 2)]
        parallel: usize,
        #[arg(short, long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Re-match every stored SBOM against the vulnerability database (no registry or cluster access)
    Rematch {
        #[arg(short, long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Images in the store: where each is seen, packages, open findings by severity
    Images {
        #[arg(short, long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Findings across the fleet, highest priority first, each with where it runs
    Findings(FindingsArgs),
    /// The event log: findings opened and resolved, images first seen and gone
    Events {
        /// Only events at or after this time (RFC 3339 or a date)
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        #[arg(short, long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Time to identify and to remediate (median, p90) and findings past their deadline
    Metrics {
        /// Deadline in days for open findings: kev=14, critical=15, high=30 by default; `medium=90`, `high=off`, …
        #[arg(long = "deadline", value_name = "SEVERITY=DAYS")]
        deadlines: Vec<String>,
        #[arg(short, long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Store VEX documents (OpenVEX, CycloneDX) applied to every re-match
    Vex {
        #[command(subcommand)]
        command: VexCommand,
    },
    /// Hand sync and re-match work to `drydock worker` processes (PostgreSQL stores)
    Workers {
        #[arg(value_enum)]
        state: WorkersState,
    },
    /// Where the store is and what it holds
    Status,
    /// Patch every stored Debian image with fixable findings, push it beside the original, record it
    Remediate(super::fleet_remediate::RemediateArgs),
    /// Webhooks and tickets (GitHub, Jira) for fleet events
    Notify {
        #[command(subcommand)]
        command: super::fleet_notify::NotifyCommand,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum WorkersState {
    On,
    Off,
    Status,
}

#[derive(Subcommand)]
enum VexCommand {
    /// Add VEX documents (applied from the next re-match)
    Add {
        #[arg(required = true, value_name = "FILE")]
        paths: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AddCommand {
    /// Every container of every pod in a Kubernetes cluster
    Cluster {
        /// The kubeconfig (CA data or file, client certificates, tokens, exec plugins)
        #[arg(long, value_name = "FILE", conflicts_with = "in_cluster")]
        kubeconfig: Option<PathBuf>,
        /// The context [default: the kubeconfig's current-context]
        #[arg(long)]
        context: Option<String>,
        /// The source's name [default: the context]
        #[arg(long)]
        name: Option<String>,
        /// Only this namespace [default: all]
        #[arg(long, value_name = "NS")]
        namespace: Option<String>,
        /// Use the pod's service account (when drydock runs in the cluster)
        #[arg(long)]
        in_cluster: bool,
        /// Trust this CA certificate (PEM) when pulling the images pods name
        #[arg(long = "ca-cert", value_name = "FILE")]
        ca_cert: Vec<PathBuf>,
        /// Allow plain HTTP and unverified TLS for this registry when pulling (repeatable)
        #[arg(long = "insecure-registry", value_name = "HOST")]
        insecure_registry: Vec<String>,
    },
    /// Every repository and tag under HOST[:PORT][/PREFIX]
    Registry {
        /// HOST[:PORT][/PREFIX]
        target: String,
        /// The source's name [default: the target]
        #[arg(long)]
        name: Option<String>,
        /// A repository to list when the registry has no catalog API (repeatable)
        #[arg(long = "repository", value_name = "REPO")]
        repositories: Vec<String>,
        /// Trust this CA certificate (PEM) for the registry's TLS
        #[arg(long = "ca-cert", value_name = "FILE")]
        ca_cert: Vec<PathBuf>,
        /// Allow plain HTTP and unverified TLS for this registry
        #[arg(long)]
        insecure: bool,
        /// Registry user name (else Docker's config.json and credential helpers)
        #[arg(long, value_name = "USER")]
        username: Option<String>,
        /// Registry password (stored in the fleet store; prefer Docker credentials)
        #[arg(long, value_name = "PASSWORD")]
        password: Option<String>,
    },
}

#[derive(Args)]
struct FindingsArgs {
    /// A vulnerability id or alias (CVE, GHSA, …)
    #[arg(long, value_name = "ID")]
    vuln: Option<String>,
    /// At or above this severity
    #[arg(long, value_name = "SEVERITY")]
    severity: Option<SeverityLevel>,
    /// Only findings in CISA's KEV catalog
    #[arg(long)]
    kev: bool,
    /// Only findings with a fixed version
    #[arg(long)]
    fixable: bool,
    /// Only images running in this Kubernetes namespace
    #[arg(long, value_name = "NS")]
    namespace: Option<String>,
    /// Only images running in this cluster (source name)
    #[arg(long, value_name = "NAME")]
    cluster: Option<String>,
    /// Only this image: a digest, a reference as seen, or a repository
    #[arg(long, value_name = "REF")]
    image: Option<String>,
    /// Only this package (name)
    #[arg(long, value_name = "NAME")]
    package: Option<String>,
    /// Resolved findings too
    #[arg(long)]
    all: bool,
    /// At most N findings
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    #[arg(short, long, value_enum, default_value = "table")]
    format: Format,
}

pub(crate) fn run(args: FleetArgs) -> anyhow::Result<ExitCode> {
    let FleetArgs {
        store,
        db_dir,
        command,
    } = args;
    let settings = FleetSettings { store, db_dir };
    match command {
        FleetCommand::Add {
            source:
                AddCommand::Registry {
                    target,
                    name,
                    repositories,
                    ca_cert,
                    insecure,
                    username,
                    password,
                },
        } => {
            let name = fleet::add_registry(
                &settings,
                &RegistrySource {
                    target,
                    name,
                    repositories,
                    ca_certs: ca_cert,
                    insecure,
                    username,
                    password,
                },
            )?;
            eprintln!("added source `{name}`; run `drydock fleet sync` to inventory it");
        }
        FleetCommand::Add {
            source:
                AddCommand::Cluster {
                    kubeconfig,
                    context,
                    name,
                    namespace,
                    in_cluster,
                    ca_cert,
                    insecure_registry,
                },
        } => {
            let name = fleet::add_cluster(
                &settings,
                &fleet::ClusterSource {
                    name,
                    kubeconfig,
                    context,
                    namespace,
                    in_cluster,
                    ca_certs: ca_cert,
                    insecure_registries: insecure_registry,
                },
            )?;
            eprintln!("added source `{name}`; run `drydock fleet sync` to inventory it");
        }
        FleetCommand::Sources { format } => {
            let sources = fleet::sources(&settings)?;
            crate::output::emit(None, |out| {
                if format == Format::Json {
                    writeln!(out, "{}", serde_json::to_string_pretty(&sources)?)?;
                    return Ok(());
                }
                writeln!(
                    out,
                    "{:<24} {:<10} {:<36} LAST SYNC",
                    "NAME", "KIND", "TARGET"
                )?;
                for source in &sources {
                    let last = match (&source.last_sync, &source.last_error) {
                        (_, Some(error)) => format!("failed: {error}"),
                        (Some(time), None) => time.clone(),
                        (None, None) => "never".to_owned(),
                    };
                    writeln!(
                        out,
                        "{:<24} {:<10} {:<36} {last}",
                        source.name, source.kind, source.target
                    )?;
                }
                Ok(())
            })?;
        }
        FleetCommand::Remove { name } => {
            fleet::remove(&settings, &name)?;
            eprintln!("removed source `{name}`");
        }
        FleetCommand::Sync {
            source,
            parallel,
            format,
        } => {
            let progress = SyncBar::new();
            let report = fleet::sync(&settings, source.as_deref(), parallel, &progress)?;
            progress.finish_bar();
            super::fleet_notify::after_change(&settings);
            for source in &report.sources {
                for note in &source.notes {
                    eprintln!("drydock: warning: source `{}`: {note}", source.name);
                }
                for item in &source.not_analysed {
                    eprintln!(
                        "drydock: warning: source `{}`: not analysed: {item}",
                        source.name
                    );
                }
                if let Some(error) = &source.error {
                    eprintln!("drydock: {error}");
                }
            }
            if let Some(warning) = &report.warning {
                eprintln!("drydock: warning: {warning}");
            }
            crate::output::emit(None, |out| {
                if format == Format::Json {
                    writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
                    return Ok(());
                }
                let sum = |f: fn(&fleet::SourceSync) -> usize| -> usize {
                    report.sources.iter().map(f).sum()
                };
                let rematch = report.rematch.clone().unwrap_or_default();
                writeln!(
                    out,
                    "synced {} source{}: {} places over {} digests, {} cataloged, {} not analysed; {} new and {} gone sightings; {} images first seen, {} gone; findings: {} opened, {} resolved",
                    report.sources.len(),
                    if report.sources.len() == 1 { "" } else { "s" },
                    sum(|s| s.seen),
                    sum(|s| s.digests),
                    sum(|s| s.cataloged),
                    sum(|s| s.not_analysed.len()),
                    sum(|s| s.outcome.new_sightings),
                    sum(|s| s.outcome.gone_sightings),
                    sum(|s| s.outcome.images_first_seen),
                    sum(|s| s.outcome.images_gone),
                    rematch.findings_opened + rematch.findings_reopened,
                    rematch.findings_resolved + sum(|s| s.outcome.findings_resolved),
                )?;
                Ok(())
            })?;
            if report.failed() {
                return Ok(ExitCode::from(2));
            }
        }
        FleetCommand::Rematch { format } => {
            let report = fleet::rematch(&settings, "rematch")?;
            super::fleet_notify::after_change(&settings);
            crate::output::emit(None, |out| {
                if format == Format::Json {
                    writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
                    return Ok(());
                }
                write_rematch(out, &report)
            })?;
        }
        FleetCommand::Images { format } => {
            let images = fleet::images(&settings)?;
            crate::output::emit(None, |out| {
                if format == Format::Json {
                    writeln!(out, "{}", serde_json::to_string_pretty(&images)?)?;
                    return Ok(());
                }
                writeln!(
                    out,
                    "{:<20} {:<14} {:<12} {:>8} {:>5} {:>5} {:>5} {:>5} {:>4}  SEEN AT",
                    "DIGEST", "STATUS", "DISTRO", "PACKAGES", "CRIT", "HIGH", "MED", "LOW", "KEV"
                )?;
                for image in &images {
                    let count = |k: &str| image.findings.get(k).copied().unwrap_or(0);
                    let seen: Vec<String> = image
                        .locations
                        .iter()
                        .map(drydock_store::LocationRow::short)
                        .collect();
                    let seen = if seen.is_empty() {
                        image
                            .gone_at
                            .as_ref()
                            .map_or_else(|| "-".to_owned(), |t| format!("gone since {t}"))
                    } else {
                        seen.join(", ")
                    };
                    writeln!(
                        out,
                        "{:<20} {:<14} {:<12} {:>8} {:>5} {:>5} {:>5} {:>5} {:>4}  {seen}",
                        short_digest(&image.digest),
                        image.status,
                        image.distro.as_deref().unwrap_or("-"),
                        image.packages,
                        count("critical"),
                        count("high"),
                        count("medium"),
                        count("low"),
                        count("kev"),
                    )?;
                }
                Ok(())
            })?;
        }
        FleetCommand::Findings(args) => {
            let FindingsArgs {
                vuln,
                severity,
                kev,
                fixable,
                namespace,
                cluster,
                image,
                package,
                all,
                limit,
                format,
            } = args;
            let filter = FindingFilter {
                vuln,
                severity,
                kev,
                fixable,
                namespace,
                cluster,
                image,
                package,
                include_resolved: all,
                limit,
                ..FindingFilter::default()
            };
            let findings = fleet::findings(&settings, &filter)?;
            crate::output::emit(None, |out| {
                if format == Format::Json {
                    writeln!(out, "[")?;
                    let mut line = Vec::new();
                    for (index, finding) in findings.iter().enumerate() {
                        line.clear();
                        line.extend_from_slice(b"  ");
                        finding.write_json(&mut line);
                        if index + 1 < findings.len() {
                            line.push(b',');
                        }
                        line.push(b'\n');
                        out.write_all(&line)?;
                    }
                    writeln!(out, "]")?;
                    return Ok(());
                }
                writeln!(
                    out,
                    "{:<20} {:<9} {:<3} {:<24} {:<22} {:<18} {:<20} {:<8} WHERE",
                    "VULNERABILITY",
                    "SEVERITY",
                    "KEV",
                    "PACKAGE",
                    "VERSION",
                    "FIXED IN",
                    "DIGEST",
                    "STATE"
                )?;
                for finding in &findings {
                    let places: Vec<String> = finding
                        .locations
                        .iter()
                        .map(drydock_store::LocationRow::short)
                        .collect();
                    writeln!(
                        out,
                        "{:<20} {:<9} {:<3} {:<24} {:<22} {:<18} {:<20} {:<8} {}",
                        finding.vuln_id,
                        finding.severity,
                        if finding.kev { "yes" } else { "" },
                        finding.package,
                        finding.version,
                        if finding.fixed.is_empty() {
                            "-"
                        } else {
                            &finding.fixed
                        },
                        short_digest(&finding.digest),
                        finding.state,
                        if places.is_empty() {
                            "-".to_owned()
                        } else {
                            places.join(", ")
                        }
                    )?;
                }
                writeln!(
                    out,
                    "{} finding{}",
                    findings.len(),
                    if findings.len() == 1 { "" } else { "s" }
                )?;
                Ok(())
            })?;
        }
        FleetCommand::Events { since, format } => {
            let since = since
                .map(|text| {
                    drydock_store::parse_time(&text).ok_or_else(|| {
                        anyhow::anyhow!("`--since {text}` is not a time (RFC 3339 or YYYY-MM-DD)")
                    })
                })
                .transpose()?;
            let events = fleet::events(&settings, since)?;
            crate::output::emit(None, |out| {
                if format == Format::Json {
                    writeln!(out, "{}", serde_json::to_string_pretty(&events)?)?;
                    return Ok(());
                }
                for event in &events {
                    writeln!(
                        out,
                        "{} {:<17} {} {} {} {}",
                        event.time,
                        event.kind,
                        short_digest(&event.digest),
                        event.vulnerability.as_deref().unwrap_or("-"),
                        event.package.as_deref().unwrap_or("-"),
                        event.cause
                    )?;
                }
                Ok(())
            })?;
        }
        FleetCommand::Metrics { deadlines, format } => {
            let mut configured = Deadlines::default();
            for text in &deadlines {
                configured
                    .set(text)
                    .map_err(|reason| anyhow::anyhow!("`--deadline`: {reason}"))?;
            }
            let metrics = fleet::metrics(&settings, &configured)?;
            crate::output::emit(None, |out| {
                if format == Format::Json {
                    writeln!(out, "{}", serde_json::to_string_pretty(&metrics)?)?;
                    return Ok(());
                }
                writeln!(
                    out,
                    "as of {}; {} open findings, {} overdue",
                    metrics.now,
                    metrics.open,
                    metrics.overdue.len()
                )?;
                writeln!(
                    out,
                    "\n{:<12} {:>7} {:>12} {:>12}   {:>7} {:>12} {:>12}",
                    "", "IDENT.", "MTTI MEDIAN", "MTTI P90", "FIXED", "MTTR MEDIAN", "MTTR P90"
                )?;
                let keys: std::collections::BTreeSet<&String> =
                    metrics.mtti.keys().chain(metrics.mttr.keys()).collect();
                for key in keys {
                    let identify = metrics.mtti.get(key).cloned().unwrap_or_default();
                    let remediate = metrics.mttr.get(key).cloned().unwrap_or_default();
                    writeln!(
                        out,
                        "{:<12} {:>7} {:>12} {:>12}   {:>7} {:>12} {:>12}",
                        key,
                        identify.count,
                        duration(identify.median_seconds),
                        duration(identify.p90_seconds),
                        remediate.count,
                        duration(remediate.median_seconds),
                        duration(remediate.p90_seconds)
                    )?;
                }
                if !metrics.overdue.is_empty() {
                    writeln!(out, "\nOVERDUE")?;
                    for item in &metrics.overdue {
                        writeln!(
                            out,
                            "{:<20} {:<9} {:<3} {:<24} {:<20} {} days past a {}-day deadline",
                            item.vulnerability,
                            item.severity,
                            if item.kev { "kev" } else { "" },
                            item.package,
                            short_digest(&item.digest),
                            item.overdue_days,
                            item.deadline_days
                        )?;
                    }
                }
                Ok(())
            })?;
        }
        FleetCommand::Vex {
            command: VexCommand::Add { paths },
        } => {
            let count = fleet::vex_add(&settings, &paths)?;
            eprintln!(
                "stored {count} VEX document{}; run `drydock fleet rematch` to apply",
                if count == 1 { "" } else { "s" }
            );
        }
        FleetCommand::Workers { state } => match state {
            WorkersState::On | WorkersState::Off => {
                fleet::set_workers(&settings, state == WorkersState::On)?;
                eprintln!(
                    "workers {}",
                    if state == WorkersState::On {
                        "on: `fleet sync` and re-matches queue jobs for `drydock worker`"
                    } else {
                        "off: `fleet sync` and re-matches do the work in place"
                    }
                );
            }
            WorkersState::Status => {
                let (on, queue) = fleet::workers_status(&settings)?;
                crate::output::emit(None, |out| {
                    writeln!(
                        out,
                        "workers {}; jobs: {} queued, {} running, {} done, {} failed",
                        if on { "on" } else { "off" },
                        queue.queued,
                        queue.running,
                        queue.done,
                        queue.failed
                    )?;
                    Ok(())
                })?;
            }
        },
        FleetCommand::Notify { command } => return super::fleet_notify::run(&settings, command),
        FleetCommand::Remediate(args) => return super::fleet_remediate::run(&settings, args),
        FleetCommand::Status => {
            let (url, counts) = fleet::status(&settings)?;
            crate::output::emit(None, |out| {
                writeln!(out, "store  {url}")?;
                for (name, count) in &counts {
                    writeln!(out, "{name:<18} {count}")?;
                }
                Ok(())
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn write_rematch(
    out: &mut dyn Write,
    report: &drydock_store::RematchReport,
) -> anyhow::Result<()> {
    if report.queued_jobs > 0 {
        writeln!(
            out,
            "queued {} re-match jobs for the workers",
            report.queued_jobs
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "re-matched {} images ({} package lookups): findings {} opened, {} reopened, {} resolved, {} unchanged",
        report.images,
        report.packages,
        report.findings_opened,
        report.findings_reopened,
        report.findings_resolved,
        report.findings_unchanged
    )?;
    Ok(())
}

fn short_digest(digest: &str) -> String {
    digest.strip_prefix("sha256:").map_or_else(
        || digest.to_owned(),
        |hex| format!("sha256:{}", hex.get(..12).unwrap_or(hex)),
    )
}

fn duration(seconds: Option<i64>) -> String {
    let Some(seconds) = seconds else {
        return "-".to_owned();
    };
    if seconds >= 86_400 {
        format!("{:.1}d", seconds as f64 / 86_400.0)
    } else if seconds >= 3_600 {
        format!("{:.1}h", seconds as f64 / 3_600.0)
    } else if seconds >= 60 {
        format!("{}m", seconds / 60)
    } else {
        format!("{seconds}s")
    }
}

/// A digest counter on a terminal (stderr), nothing when piped.
struct SyncBar {
    bar: indicatif::ProgressBar,
}

impl SyncBar {
    fn new() -> SyncBar {
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(0),
            indicatif::ProgressDrawTarget::stderr(),
        );
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{spinner} cataloging {pos}/{len} {wide_msg}")
        {
            bar.set_style(style);
        }
        SyncBar { bar }
    }
    fn finish_bar(&self) {
        self.bar.finish_and_clear();
    }
}

impl fleet::SyncProgress for SyncBar {
    fn start(&self, total: usize) {
        self.bar
            .set_length(self.bar.length().unwrap_or(0) + total as u64);
    }
    fn advance(&self, what: &str) {
        self.bar.inc(1);
        self.bar.set_message(what.to_owned());
    }
}

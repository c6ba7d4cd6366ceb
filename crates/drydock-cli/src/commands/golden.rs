//! `drydock golden …`: the golden-image catalog, its lifecycle and audit log.
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use drydock_ops::fleet::FleetSettings;
use drydock_ops::{GoldenSubmitSettings, GoldenTransitionSettings, PolicySettings, SbomSettings};
use drydock_store::{GoldenState, GoldenVersion, Timeline};

#[derive(Args)]
pub(crate) struct GoldenArgs {
    /// The fleet store: `sqlite:PATH` or `postgres://USER@HOST/DB` [default: $DRYDOCK_STORE, else sqlite:$XDG_DATA_HOME/drydock/fleet.db]
    #[arg(long, global = true, value_name = "URL")]
    store: Option<String>,
    #[command(subcommand)]
    command: GoldenCommand,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Table,
    Json,
}

#[derive(Args)]
struct Transition {
    /// LINE@sha256:…
    target: String,
    /// Who decides (recorded in the audit log)
    #[arg(long, value_name = "WHO")]
    by: String,
    /// Why (recorded in the audit log)
    #[arg(long, value_name = "TEXT")]
    reason: String,
}

#[derive(Subcommand)]
enum GoldenCommand {
    /// Record an image as a candidate of a line, with its evidence (SBOM digest, scan summary, policy result, signatures, golden.lock)
    Submit {
        source: String,
        #[arg(long, value_name = "NAME")]
        line: String,
        /// Where the line's images live (REGISTRY/REPOSITORY) [default: from a registry: source]
        #[arg(long, value_name = "REPO")]
        repository: Option<String>,
        /// The version tag promote writes (`3.11`) [default: `version` of the lock file]
        #[arg(long, value_name = "TAG")]
        image_version: Option<String>,
        /// The build's golden.lock
        #[arg(long, value_name = "FILE")]
        lock: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        #[arg(long, value_name = "DIR")]
        db_dir: Option<PathBuf>,
        /// Public key the image's signature must verify with
        #[arg(long, value_name = "PUB")]
        key: Option<PathBuf>,
        #[arg(long, value_name = "WHO", default_value = "drydock golden submit")]
        by: String,
        #[command(flatten)]
        registry: super::registry_args::RegistryArgs,
    },
    /// candidate → approved (a candidate that failed the policy needs --override)
    Approve {
        #[command(flatten)]
        transition: Transition,
        #[arg(long = "override")]
        override_policy: bool,
    },
    /// approved → current: tags REPO:current and REPO:VERSION, signs, deprecates the previous current
    Promote {
        #[command(flatten)]
        transition: Transition,
        /// Private key to sign the promoted image with (password from DRYDOCK_PASSWORD)
        #[arg(long, value_name = "KEY")]
        key: Option<PathBuf>,
        /// Record the promotion without tagging or signing in the registry
        #[arg(long)]
        no_registry: bool,
        #[command(flatten)]
        registry: super::registry_args::RegistryArgs,
    },
    /// current → deprecated
    Deprecate {
        #[command(flatten)]
        transition: Transition,
    },
    /// deprecated → retired
    Retire {
        #[command(flatten)]
        transition: Transition,
    },
    /// Apply every line's timeline (DRYDOCK_NOW fixes the clock)
    Enforce {
        #[arg(short, long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Set a line's timeline (`*` for every line without its own)
    Timeline {
        line: String,
        #[arg(long, value_name = "DAYS")]
        deprecate_after_days: Option<i64>,
        #[arg(long, value_name = "DAYS")]
        retire_after_days: Option<i64>,
        #[arg(long, value_name = "DAYS")]
        max_age_days: Option<i64>,
    },
    /// Every version of every line
    List {
        #[arg(short, long, value_enum, default_value = "table")]
        format: Format,
    },
    /// One line, or one version (LINE@DIGEST), as JSON
    Show { target: String },
    /// Image references in Dockerfiles, Kubernetes, Kustomize, Helm, Compose, GitHub Actions and GitLab CI files, judged against the catalog (exit 1 when a retired image is referenced, 2 when a file cannot be read)
    Stale {
        /// Files or directories (searched recursively)
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        #[arg(short, long, value_enum, default_value = "table")]
        format: Format,
        /// Pin stale references (deprecated, retired, floating) to their line's current version, in place
        #[arg(long)]
        fix: bool,
    },
    /// The audit log; --verify proves the hash chain (exit 1 when broken)
    Log {
        #[arg(long)]
        verify: bool,
        /// table or jsonl (JSON Lines export)
        #[arg(short, long, default_value = "table")]
        format: String,
    },
}

fn versions_table(versions: &[GoldenVersion], out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<16} {:<11} {:<10} {:<8} DIGEST",
        "LINE", "STATE", "VERSION", "POLICY"
    )?;
    for version in versions {
        writeln!(
            out,
            "{:<16} {:<11} {:<10} {:<8} {}",
            version.line,
            version.state.as_str(),
            version.version.as_deref().unwrap_or("-"),
            if version.policy_passed {
                "pass"
            } else {
                "fail"
            },
            version.digest
        )?;
    }
    Ok(())
}

fn changes(changed: &[(GoldenVersion, GoldenState)]) {
    for (version, to) in changed {
        println!(
            "{}@{}: {} → {}",
            version.line,
            version.digest,
            version.state.as_str(),
            to.as_str()
        );
    }
}

pub(crate) fn run(args: GoldenArgs) -> anyhow::Result<ExitCode> {
    let fleet = FleetSettings {
        store: args.store,
        db_dir: None,
    };
    let transition = |t: Transition| GoldenTransitionSettings {
        fleet: fleet.clone(),
        target: t.target,
        by: t.by,
        reason: t.reason,
        ..GoldenTransitionSettings::default()
    };
    match args.command {
        GoldenCommand::Submit {
            source,
            line,
            repository,
            image_version,
            lock,
            policy,
            db_dir,
            key,
            by,
            registry,
        } => {
            let settings = GoldenSubmitSettings {
                check: PolicySettings {
                    sbom: SbomSettings {
                        source,
                        platform: None,
                        registry: registry.settings(),
                    },
                    policy,
                    db_dir,
                    key,
                    fleet: fleet.clone(),
                },
                line,
                repository,
                version: image_version,
                lock,
                by,
            };
            let progress = crate::progress::LayerProgress::new("checking");
            let (version, report) = drydock_ops::golden_submit(&settings, &progress)?;
            progress.finish();
            println!(
                "{}@{}: candidate (policy {})",
                version.line, version.digest, report.verdict
            );
        }
        GoldenCommand::Approve {
            transition: t,
            override_policy,
        } => {
            let mut settings = transition(t);
            settings.override_policy = override_policy;
            changes(&drydock_ops::golden_transition(
                &settings,
                GoldenState::Approved,
            )?);
        }
        GoldenCommand::Promote {
            transition: t,
            key,
            no_registry,
            registry,
        } => {
            let mut settings = transition(t);
            settings.no_registry = no_registry;
            settings.registry = registry.settings();
            if key.is_some() {
                settings.password = super::password::password(false)?;
            }
            settings.key = key;
            changes(&drydock_ops::golden_transition(
                &settings,
                GoldenState::Current,
            )?);
        }
        GoldenCommand::Deprecate { transition: t } => {
            changes(&drydock_ops::golden_transition(
                &transition(t),
                GoldenState::Deprecated,
            )?);
        }
        GoldenCommand::Retire { transition: t } => {
            changes(&drydock_ops::golden_transition(
                &transition(t),
                GoldenState::Retired,
            )?);
        }
        GoldenCommand::Enforce { format } => {
            let changed = drydock_ops::golden_enforce(&fleet)?;
            if format == Format::Json {
                let rows: Vec<_> = changed
                    .iter()
                    .map(|(v, to)| serde_json::json!({"line": v.line, "digest": v.digest, "from": v.state, "to": to}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                changes(&changed);
            }
        }
        GoldenCommand::Timeline {
            line,
            deprecate_after_days,
            retire_after_days,
            max_age_days,
        } => drydock_ops::golden_set_timeline(
            &fleet,
            &line,
            Timeline {
                deprecate_after_days,
                retire_after_days,
                max_age_days,
            },
        )?,
        GoldenCommand::List { format } => {
            let versions = drydock_ops::golden_list(&fleet, None)?;
            crate::output::emit(None, |out| {
                if format == Format::Json {
                    serde_json::to_writer_pretty(&mut *out, &versions)?;
                    out.write_all(b"\n")?;
                } else {
                    versions_table(&versions, out)?;
                }
                Ok(())
            })?;
        }
        GoldenCommand::Show { target } => {
            let versions = drydock_ops::golden_list(&fleet, Some(&target))?;
            if versions.is_empty() {
                anyhow::bail!("`{target}` is not in the golden catalog");
            }
            println!("{}", serde_json::to_string_pretty(&versions)?);
        }
        GoldenCommand::Stale { paths, format, fix } => {
            return stale(
                &drydock_ops::StaleSettings {
                    fleet: fleet.clone(),
                    paths,
                    fix,
                },
                format,
            );
        }
        GoldenCommand::Log { verify, format } => {
            let (entries, verdict) = drydock_ops::golden_log(&fleet)?;
            crate::output::emit(None, |out| {
                for entry in &entries {
                    if format == "jsonl" {
                        serde_json::to_writer(&mut *out, entry)?;
                        out.write_all(b"\n")?;
                    } else if format == "table" {
                        writeln!(
                            out,
                            "{:>4} {} {:<9} {}@{} {}→{} by {}: {}",
                            entry.seq,
                            drydock_store::rfc3339(entry.time),
                            entry.action,
                            entry.line,
                            entry.digest,
                            entry.from_state.as_deref().unwrap_or("-"),
                            entry.to_state.as_deref().unwrap_or("-"),
                            entry.actor,
                            entry.reason
                        )?;
                    } else {
                        anyhow::bail!("`{format}` is not a log format (table, jsonl)");
                    }
                }
                Ok(())
            })?;
            if verify {
                match verdict {
                    Ok(count) => eprintln!("drydock: audit chain intact ({count} entries)"),
                    Err(broken) => {
                        eprintln!(
                            "drydock: audit chain broken at entry {}: {}",
                            broken.seq, broken.reason
                        );
                        return Ok(ExitCode::from(1));
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn stale_table(report: &drydock_ops::StaleReport, out: &mut dyn Write) -> std::io::Result<()> {
    for reference in &report.references {
        let mut verdict = reference.verdict.as_str().to_owned();
        if let Some(since) = &reference.since {
            verdict = format!("{verdict} since {since}");
        }
        if let Some(state) = reference.tag_state {
            verdict = format!("{verdict} (tag of a {} version)", state.as_str());
        }
        let mut line = format!(
            "{}:{}:{}\t{}\t{}\t{}",
            reference.file,
            reference.line,
            reference.column,
            reference.kind.as_str(),
            verdict,
            reference.written
        );
        if let Some(pin) = &reference.suggested
            && !matches!(reference.verdict, drydock_ops::Verdict::Current)
        {
            line.push_str(if reference.fixed {
                "\tpinned to "
            } else {
                "\tpin: "
            });
            line.push_str(pin);
        }
        if let Some(why) = &reference.unfixed {
            line = format!("{line} (not fixed: {why})");
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn stale(settings: &drydock_ops::StaleSettings, format: Format) -> anyhow::Result<ExitCode> {
    let report = drydock_ops::golden_stale(settings)?;
    crate::output::emit(None, |out| {
        if format == Format::Json {
            serde_json::to_writer_pretty(&mut *out, &report.references)?;
            out.write_all(b"\n")?;
        } else {
            stale_table(&report, out)?;
        }
        Ok(())
    })?;
    let retired = report.retired();
    eprintln!(
        "drydock: {} references in {} files, {} retired{}",
        report.references.len(),
        report.files,
        retired,
        if settings.fix {
            format!(", {} files pinned", report.fixed_files.len())
        } else {
            String::new()
        }
    );
    for error in &report.errors {
        eprintln!("drydock: {}", error_chain(error));
    }
    Ok(if !report.errors.is_empty() {
        ExitCode::from(2)
    } else if retired > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The error and its causes on one line.
fn error_chain(error: &drydock_ops::StaleInputError) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

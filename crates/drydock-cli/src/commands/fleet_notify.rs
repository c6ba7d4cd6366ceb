//! `drydock fleet notify …`: webhooks and tickets for fleet events.
use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Subcommand, ValueEnum};
use drydock_ops::fleet::FleetSettings;
use drydock_ops::fleet::notify::{self, NotifyFormat, NotifyReport, RunOptions, TargetSpec};
use drydock_vuln::SeverityLevel;

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum Format {
    Table,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum Payload {
    /// drydock's JSON document: the event and a summary of its finding
    Generic,
    /// A Slack incoming-webhook message
    Slack,
    /// One GitHub issue per vulnerability and image (URL: https://api.github.com/repos/OWNER/REPO)
    GithubIssue,
    /// One Jira issue per vulnerability and image (URL: the Jira base URL)
    Jira,
}

#[derive(Subcommand)]
pub(crate) enum NotifyCommand {
    /// Add a notification target; it starts at the current end of the event log
    Add {
        /// The target's name
        name: String,
        /// Where to send: the webhook URL, the GitHub repository API URL or the Jira base URL
        #[arg(long, value_name = "URL")]
        webhook: String,
        /// Sign each body: `X-Drydock-Signature: sha256=<HMAC-SHA256 hex>`
        #[arg(long, value_name = "SECRET")]
        secret: Option<String>,
        /// API token sent as `Authorization: Bearer TOKEN` (verbatim when it starts with `Basic ` or `Bearer `)
        #[arg(long, value_name = "TOKEN")]
        token: Option<String>,
        #[arg(long, value_enum, default_value = "generic")]
        format: Payload,
        /// Only findings at or above this severity (image events go only to unfiltered targets)
        #[arg(long, value_name = "SEVERITY")]
        min_severity: Option<SeverityLevel>,
        /// Only findings in CISA's KEV catalog
        #[arg(long)]
        kev_only: bool,
        /// Deliver the whole event log, not only events from now on
        #[arg(long)]
        from_start: bool,
        /// Per-request timeout in milliseconds [default: 10000]
        #[arg(long, value_name = "MS")]
        timeout_ms: Option<u64>,
        /// Extra label on created tickets (repeatable)
        #[arg(long = "label", value_name = "LABEL")]
        labels: Vec<String>,
        /// Jira project key of created issues (`--format jira`)
        #[arg(long, value_name = "KEY")]
        jira_project: Option<String>,
        /// Jira issue type of created issues [default: Bug]
        #[arg(long, value_name = "NAME")]
        jira_issue_type: Option<String>,
        /// Jira workflow transition id that resolves an issue (`--format jira`)
        #[arg(long, value_name = "ID")]
        jira_close_transition: Option<String>,
    },
    /// List the notification targets and their deliveries
    List {
        #[arg(short, long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Remove a notification target with its pending deliveries
    Remove {
        /// The target's name
        name: String,
    },
    /// Queue new events and deliver what is due (failed deliveries are kept and retried)
    Run {
        /// Only this target
        #[arg(long, value_name = "NAME")]
        target: Option<String>,
        /// Override every target's request timeout (milliseconds)
        #[arg(long, value_name = "MS", hide = true)]
        timeout_ms: Option<u64>,
        /// Attempts per delivery within this run
        #[arg(long, value_name = "N", default_value_t = 3, hide = true)]
        attempts: u32,
        /// Wait before the second attempt, doubled for each further one (milliseconds)
        #[arg(long, value_name = "MS", default_value_t = 250, hide = true)]
        backoff_ms: u64,
        #[arg(short, long, value_enum, default_value = "table")]
        format: Format,
    },
}

pub(crate) fn run(settings: &FleetSettings, command: NotifyCommand) -> anyhow::Result<ExitCode> {
    match command {
        NotifyCommand::Add {
            name,
            webhook,
            secret,
            token,
            format,
            min_severity,
            kev_only,
            from_start,
            timeout_ms,
            labels,
            jira_project,
            jira_issue_type,
            jira_close_transition,
        } => {
            let format = match format {
                Payload::Generic => NotifyFormat::Generic,
                Payload::Slack => NotifyFormat::Slack,
                Payload::GithubIssue => NotifyFormat::GithubIssue,
                Payload::Jira => NotifyFormat::Jira,
            };
            let cursor = notify::add(
                settings,
                &TargetSpec {
                    name: name.clone(),
                    url: webhook,
                    secret,
                    token,
                    format,
                    min_severity,
                    kev_only,
                    from_start,
                    timeout_ms,
                    labels,
                    jira_project,
                    jira_issue_type,
                    jira_close_transition,
                },
            )?;
            eprintln!(
                "added notification target `{name}`: events after #{cursor} are delivered by `drydock fleet notify run` (and after every `fleet sync` and re-match)"
            );
        }
        NotifyCommand::List { format } => {
            let targets = notify::list(settings)?;
            crate::output::emit(None, |out| {
                if format == Format::Json {
                    writeln!(out, "{}", serde_json::to_string_pretty(&targets)?)?;
                    return Ok(());
                }
                writeln!(
                    out,
                    "{:<16} {:<13} {:<9} {:<4} {:>9} {:>7} {:>7}  URL",
                    "NAME", "FORMAT", "SEVERITY", "KEV", "DELIVERED", "PENDING", "FAILING"
                )?;
                for summary in &targets {
                    let target = &summary.target;
                    writeln!(
                        out,
                        "{:<16} {:<13} {:<9} {:<4} {:>9} {:>7} {:>7}  {}",
                        target.name,
                        target.format,
                        if target.min_severity == "unknown" {
                            "all"
                        } else {
                            &target.min_severity
                        },
                        if target.kev_only { "only" } else { "" },
                        summary.deliveries.delivered,
                        summary.deliveries.pending,
                        summary.deliveries.failing,
                        target.url
                    )?;
                    if let Some(error) = &summary.deliveries.last_error {
                        writeln!(out, "  last error: {error}")?;
                    }
                }
                Ok(())
            })?;
        }
        NotifyCommand::Remove { name } => {
            notify::remove(settings, &name)?;
            eprintln!("removed notification target `{name}`");
        }
        NotifyCommand::Run {
            target,
            timeout_ms,
            attempts,
            backoff_ms,
            format,
        } => {
            let options = RunOptions {
                only: target,
                timeout: timeout_ms.map(Duration::from_millis),
                attempts,
                backoff: Duration::from_millis(backoff_ms),
            };
            let report = notify::run(settings, &options)?;
            crate::output::emit(None, |out| {
                if format == Format::Json {
                    writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
                    return Ok(());
                }
                write_report(out, &report)
            })?;
            for target in &report.targets {
                if let Some(error) = &target.error {
                    eprintln!("drydock: notification target `{}`: {error}", target.name);
                }
            }
            if report.failed() {
                return Ok(ExitCode::from(2));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn write_report(out: &mut dyn Write, report: &NotifyReport) -> anyhow::Result<()> {
    for target in &report.targets {
        write!(
            out,
            "{}: {} queued, {} delivered, {} pending",
            target.name, target.queued, target.delivered, target.pending
        )?;
        if target.tickets_created + target.tickets_updated + target.tickets_closed > 0 {
            write!(
                out,
                "; tickets {} created, {} updated, {} closed",
                target.tickets_created, target.tickets_updated, target.tickets_closed
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// After a sync or a re-match: deliver what is due when targets exist.
/// Failures are warnings: the deliveries are kept for the next run.
pub(crate) fn after_change(settings: &FleetSettings) {
    warn(notify::after_change(settings));
}

/// [`after_change`] on a store already open.
pub(crate) fn after_change_store(store: &mut drydock_store::Store) {
    warn(notify::deliver_if_targets(store));
}

fn warn(result: Option<Result<NotifyReport, notify::NotifyError>>) {
    match result {
        None => {}
        Some(Err(error)) => {
            eprintln!(
                "drydock: warning: notifications: {:#}",
                anyhow::Error::new(error)
            );
        }
        Some(Ok(report)) => {
            for target in &report.targets {
                if let Some(error) = &target.error {
                    eprintln!(
                        "drydock: warning: notification target `{}`: {error}",
                        target.name
                    );
                }
            }
        }
    }
}

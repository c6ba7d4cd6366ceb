//! `drydock worker`: take fleet jobs from the queue of a PostgreSQL store.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use drydock_ops::fleet::{self, FleetSettings, WorkerSettings};

#[derive(Args)]
pub(crate) struct WorkerArgs {
    /// The fleet store (PostgreSQL): `postgres://USER@HOST/DB` [default: $DRYDOCK_STORE]
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    /// The vulnerability database directory [default: $DRYDOCK_DB_DIR, else $XDG_DATA_HOME/drydock/db]
    #[arg(long, value_name = "DIR")]
    db_dir: Option<PathBuf>,
    /// This worker's name in the queue [default: HOST-PID]
    #[arg(long)]
    name: Option<String>,
    /// Exit when no job is queued or running
    #[arg(long)]
    once: bool,
    /// How often to look for work when the queue is empty, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = 500)]
    poll_ms: u64,
    /// Take over a running job whose worker has not sent a heartbeat for this long
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    stale_seconds: i64,
    /// Attempts before a job is marked failed
    #[arg(long, value_name = "N", default_value_t = 5)]
    max_attempts: i64,
}

pub(crate) fn run(args: WorkerArgs) -> anyhow::Result<ExitCode> {
    let WorkerArgs {
        store,
        db_dir,
        name,
        once,
        poll_ms,
        stale_seconds,
        max_attempts,
    } = args;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map_or_else(|_| "worker".to_owned(), |h| h.trim().to_owned());
    let settings = WorkerSettings {
        fleet: FleetSettings { store, db_dir },
        name: name.unwrap_or_else(|| format!("{host}-{}", std::process::id())),
        once,
        poll: Duration::from_millis(poll_ms.max(10)),
        stale_seconds: stale_seconds.max(1),
        max_attempts: max_attempts.max(1),
    };
    let report = fleet::worker(&settings, &|line| {
        eprintln!("drydock worker {}: {line}", settings.name);
    })?;
    eprintln!(
        "drydock worker {}: {} jobs done, {} failed attempts",
        settings.name, report.done, report.failed_attempts
    );
    Ok(ExitCode::SUCCESS)
}

//! `drydock worker`: takes jobs (catalog a digest, re-match a batch of
//! images) from the queue in a PostgreSQL store until stopped (or, with
//! `--once`, until the queue is empty). Any number of workers on any
//! number of machines; a job whose worker died is taken again once its
//! heartbeat is older than `stale_seconds`.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use drydock_store::{Job, RematchScope, Store};

use super::{FleetError, FleetSettings, open_database, open_store, store_error};
use crate::RegistrySettings;

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub fleet: FleetSettings,
    /// The worker's name in the queue (default: host name and process id).
    pub name: String,
    /// Stop when no job is queued or running.
    pub once: bool,
    pub poll: Duration,
    /// A running job whose heartbeat is older than this is taken again.
    pub stale_seconds: i64,
    /// Attempts before a job is marked failed.
    pub max_attempts: i64,
}

/// What a worker did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct WorkerReport {
    pub done: usize,
    pub failed_attempts: usize,
}

fn wall_clock() -> i64 {
    drydock_vuln::time::now_seconds()
}

/// Runs jobs until stopped (or the queue is empty with `once`).
pub fn worker(settings: &WorkerSettings, log: &dyn Fn(&str)) -> Result<WorkerReport, FleetError> {
    let mut store = open_store(&settings.fleet)?;
    let mut report = WorkerReport::default();
    loop {
        let now = wall_clock();
        let job = store
            .claim(&settings.name, now, now - settings.stale_seconds)
            .map_err(store_error(&store))?;
        let Some(job) = job else {
            if settings.once {
                let status = store.queue_status().map_err(store_error(&store))?;
                if status.queued == 0 && status.running == 0 {
                    return Ok(report);
                }
            }
            std::thread::sleep(settings.poll);
            continue;
        };
        log(&format!(
            "job {} ({}) attempt {}",
            job.id, job.kind, job.attempts
        ));
        let outcome = with_heartbeat(settings, &job, || run_job(&mut store, settings, &job));
        let now = wall_clock();
        match outcome {
            Ok(()) => {
                store
                    .finish(job.id, &settings.name, now)
                    .map_err(store_error(&store))?;
                report.done += 1;
            }
            Err(error) => {
                log(&format!("job {} failed: {error}", job.id));
                store
                    .fail(job.id, &settings.name, &error, settings.max_attempts, now)
                    .map_err(store_error(&store))?;
                report.failed_attempts += 1;
            }
        }
    }
}

/// Runs `work` while a second connection keeps the job's heartbeat fresh.
fn with_heartbeat<T>(settings: &WorkerSettings, job: &Job, work: impl FnOnce() -> T) -> T {
    let stop = Arc::new(AtomicBool::new(false));
    let beat = (settings.stale_seconds / 4).max(1);
    std::thread::scope(|scope| {
        let stop_flag = stop.clone();
        scope.spawn(move || {
            let Ok(mut store) = open_store(&settings.fleet) else {
                return;
            };
            let mut waited = 0;
            while !stop_flag.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(200));
                waited += 200;
                if waited >= beat * 1000 {
                    waited = 0;
                    let _ = store.heartbeat(job.id, &settings.name, wall_clock());
                }
            }
        });
        let result = work();
        stop.store(true, Ordering::SeqCst);
        result
    })
}

fn run_job(store: &mut Store, settings: &WorkerSettings, job: &Job) -> Result<(), String> {
    let now = super::now().map_err(|e| e.to_string())?;
    let database = open_database(&settings.fleet).map_err(|e| super::error_chain(&e))?;
    match job.kind.as_str() {
        "catalog" => {
            let digest = job.payload["digest"].as_str().unwrap_or_default();
            let source = job.payload["source"].as_str().unwrap_or_default();
            if digest.is_empty() || source.is_empty() {
                return Err("catalog job without digest or source".to_owned());
            }
            if store
                .image(digest)
                .map_err(|e| super::error_chain(&e))?
                .is_some_and(|image| image.status == "analysed")
            {
                return Ok(());
            }
            let sbom_settings = crate::SbomSettings {
                source: source.to_owned(),
                platform: None,
                registry: registry_of(&job.payload["registry"]),
            };
            let id = match crate::sbom(&sbom_settings, &crate::NoProgress) {
                Ok(sbom) => {
                    let matchable = super::matchable(&sbom);
                    store
                        .put_sbom(digest, &sbom, &matchable, now)
                        .map_err(|e| super::error_chain(&e))?
                }
                Err(error) => {
                    store
                        .put_not_analysed(digest, &super::error_chain(&error), now)
                        .map_err(|e| super::error_chain(&e))?;
                    return Ok(());
                }
            };
            if let Some((_, database)) = &database {
                store
                    .rematch(database, &RematchScope::Images(vec![id]), "new-image", now)
                    .map_err(|e| super::error_chain(&e))?;
            }
            super::notify::queue_delivery(store, now)
        }
        "rematch" => {
            let Some((_, database)) = &database else {
                return Err("no vulnerability database to re-match against".to_owned());
            };
            let ids: Vec<i64> = job.payload["images"]
                .as_array()
                .map(|l| l.iter().filter_map(serde_json::Value::as_i64).collect())
                .unwrap_or_default();
            let cause = job.payload["cause"].as_str().unwrap_or("rematch");
            store
                .rematch(database, &RematchScope::Images(ids), cause, now)
                .map_err(|e| super::error_chain(&e))?;
            super::notify::queue_delivery(store, now)
        }
        "notify" => super::notify::deliver_job(store),
        other => Err(format!("unknown job kind `{other}`")),
    }
}

pub(super) fn registry_json(settings: &RegistrySettings) -> serde_json::Value {
    serde_json::json!({
        "ca_certs": super::path_strings(&settings.ca_certs),
        "insecure": settings.insecure,
        "username": settings.username,
        "password": settings.password,
    })
}

fn registry_of(value: &serde_json::Value) -> RegistrySettings {
    RegistrySettings {
        ca_certs: super::paths_of(&value["ca_certs"]),
        insecure: value["insecure"]
            .as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        username: value["username"].as_str().map(str::to_owned),
        password: value["password"].as_str().map(str::to_owned),
        ..RegistrySettings::default()
    }
}

/// Splits a re-match of every active image into queued jobs of `batch`.
pub(super) fn enqueue_rematch(
    store: &mut Store,
    cause: &str,
    batch: usize,
    now: i64,
) -> Result<usize, FleetError> {
    let ids = store.active_image_ids().map_err(store_error(store))?;
    let mut jobs = 0;
    for chunk in ids.chunks(batch.max(1)) {
        store
            .enqueue(
                "rematch",
                &serde_json::json!({ "images": chunk, "cause": cause }),
                None,
                now,
            )
            .map_err(store_error(store))?;
        jobs += 1;
    }
    Ok(jobs)
}

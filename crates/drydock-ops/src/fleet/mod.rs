//! `drydock fleet …`: inventory sources (registries, Kubernetes clusters),
//! sync, re-match, queries, metrics. The data lives in drydock-store.
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;
use std::sync::Mutex;

use drydock_store::{
    Deadlines, EventRecord, FindingFilter, FindingRow, ImageSummary, Metrics, RematchReport,
    RematchScope, Sighting, SourceRow, Store, StoreError, StoreUrl, SyncOutcome,
};
use drydock_vuln::Database;

use crate::{EnvVars, RegistrySettings};

mod cluster;
pub mod notify;
mod registry;
mod remediate;
mod worker;

pub use cluster::{ClusterSource, add_cluster};
pub use registry::{RegistrySource, add_registry};
pub use remediate::{RemediateItem, RemediateReport, RemediateSettings, remediate, remediations};
pub use worker::{WorkerReport, WorkerSettings, worker};

#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error(
        "no fleet store: pass `--store URL`, or set `DRYDOCK_STORE`, `XDG_DATA_HOME` or `HOME`"
    )]
    NoStore,
    #[error("fleet store `{url}`")]
    Store {
        url: String,
        #[source]
        source: Box<StoreError>,
    },
    #[error("`DRYDOCK_NOW={0}` is not a time (RFC 3339 or seconds since the epoch)")]
    Now(String),
    #[error("no source named `{0}` (see `drydock fleet sources`)")]
    UnknownSource(String),
    #[error("source `{name}`: {reason}")]
    Source { name: String, reason: String },
    #[error("cannot open the vulnerability database in `{dir}`")]
    Database {
        dir: PathBuf,
        #[source]
        source: Box<drydock_vuln::DbError>,
    },
    #[error(
        "the vulnerability database in `{dir}` is empty\n\nhint: run `drydock db import PATH...` or `drydock db update` first"
    )]
    EmptyDatabase { dir: PathBuf },
    #[error("cannot read `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What every fleet command needs: where the store is, the database, the clock.
#[derive(Debug, Clone, Default)]
pub struct FleetSettings {
    /// `--store URL`; else `DRYDOCK_STORE`; else the XDG default.
    pub store: Option<String>,
    /// `--db-dir`; else `DRYDOCK_DB_DIR`; else the XDG default.
    pub db_dir: Option<PathBuf>,
}

/// The store URL: `explicit`, `DRYDOCK_STORE`, `sqlite:$XDG_DATA_HOME/drydock/fleet.db`,
/// `sqlite:~/.local/share/drydock/fleet.db`.
pub fn store_url(explicit: Option<&str>) -> Result<StoreUrl, FleetError> {
    let non_empty = |name: &str| EnvVars::get(name).filter(|value| !value.is_empty());
    let text = explicit
        .map(str::to_owned)
        .or_else(|| non_empty(EnvVars::DRYDOCK_STORE));
    if let Some(text) = text {
        return StoreUrl::parse(&text).map_err(|source| FleetError::Store {
            url: text.clone(),
            source: Box::new(source),
        });
    }
    let path = if let Some(data) = non_empty(EnvVars::XDG_DATA_HOME) {
        PathBuf::from(data).join("drydock").join("fleet.db")
    } else if let Some(home) = non_empty(EnvVars::HOME) {
        PathBuf::from(home).join(".local/share/drydock/fleet.db")
    } else {
        return Err(FleetError::NoStore);
    };
    Ok(StoreUrl::Sqlite(path))
}

/// Opens the store (creating and migrating it as needed).
pub fn open_store(settings: &FleetSettings) -> Result<Store, FleetError> {
    let url = store_url(settings.store.as_deref())?;
    Store::open(&url).map_err(|source| FleetError::Store {
        url: url.to_string(),
        source: Box::new(source),
    })
}

/// The store if one is configured or already exists (for re-matching after
/// `db import`), without creating one.
pub fn existing_store(settings: &FleetSettings) -> Result<Option<Store>, FleetError> {
    let explicit = settings.store.is_some()
        || EnvVars::get(EnvVars::DRYDOCK_STORE).is_some_and(|v| !v.is_empty());
    let url = match store_url(settings.store.as_deref()) {
        Ok(url) => url,
        Err(FleetError::NoStore) => return Ok(None),
        Err(error) => return Err(error),
    };
    if !explicit
        && let StoreUrl::Sqlite(path) = &url
        && !path.exists()
    {
        return Ok(None);
    }
    open_store(settings).map(Some)
}

/// Now: `DRYDOCK_NOW` when set, else the system clock.
pub fn now() -> Result<i64, FleetError> {
    match EnvVars::get(EnvVars::DRYDOCK_NOW).filter(|v| !v.is_empty()) {
        Some(text) => text
            .trim()
            .parse::<i64>()
            .ok()
            .or_else(|| drydock_store::parse_time(&text))
            .ok_or(FleetError::Now(text)),
        None => Ok(drydock_vuln::time::now_seconds()),
    }
}

pub(crate) fn store_error(store: &Store) -> impl Fn(StoreError) -> FleetError + '_ {
    move |source| FleetError::Store {
        url: store.url().to_owned(),
        source: Box::new(source),
    }
}

pub(crate) fn open_database(
    settings: &FleetSettings,
) -> Result<Option<(PathBuf, Database)>, FleetError> {
    let Some(dir) = crate::resolve_db_dir(settings.db_dir.as_deref()) else {
        return Ok(None);
    };
    if !dir.exists() {
        return Ok(None);
    }
    let database = Database::open(&dir).map_err(|source| FleetError::Database {
        dir: dir.clone(),
        source: Box::new(source),
    })?;
    if database.ecosystems().next().is_none() {
        return Ok(None);
    }
    Ok(Some((dir, database)))
}

/// Progress of a sync, for a terminal.
pub trait SyncProgress: Sync {
    /// `total` digests to catalog.
    fn start(&self, _total: usize) {}
    /// One digest cataloged (or failed).
    fn advance(&self, _what: &str) {}
    fn finish(&self) {}
}

/// Progress that goes nowhere.
pub struct NoSyncProgress;
impl SyncProgress for NoSyncProgress {}

/// The result of one source's inventory pass.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SourceSync {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Places seen this pass.
    pub seen: usize,
    pub digests: usize,
    pub cataloged: usize,
    /// With workers: catalog jobs queued.
    pub queued: usize,
    /// `reference: reason` for digests that could not be analysed.
    pub not_analysed: Vec<String>,
    /// Places seen but not inventoried (a container still pulling its image).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    #[serde(flatten)]
    pub outcome: SyncOutcome,
}

/// `drydock fleet sync`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SyncReport {
    pub sources: Vec<SourceSync>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rematch: Option<RematchReport>,
    /// Set when no vulnerability database was found: nothing was matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

impl SyncReport {
    pub fn failed(&self) -> bool {
        self.sources.iter().any(|s| s.error.is_some())
    }
}

/// One digest to catalog: where to pull it from and how.
pub(crate) struct Pending {
    pub(crate) digest: String,
    /// `registry:host/repo@digest`.
    pub(crate) source: String,
    pub(crate) registry: RegistrySettings,
}

/// What an inventory pass of one source found.
#[derive(Default)]
pub(crate) struct Inventory {
    pub(crate) sightings: Vec<Sighting>,
    pub(crate) pending: Vec<Pending>,
    /// Places seen but not inventoried, and why.
    pub(crate) notes: Vec<String>,
}

/// `drydock fleet sync [--source NAME]`: every source (or one), then
/// catalog new digests, match them, and record the sightings.
pub fn sync(
    settings: &FleetSettings,
    only: Option<&str>,
    parallel: usize,
    progress: &dyn SyncProgress,
) -> Result<SyncReport, FleetError> {
    let mut store = open_store(settings)?;
    let now = now()?;
    let sources = store.sources().map_err(store_error(&store))?;
    if let Some(name) = only
        && !sources.iter().any(|s| s.name == name)
    {
        return Err(FleetError::UnknownSource(name.to_owned()));
    }
    let database = open_database(settings)?;
    let mut report = SyncReport::default();
    if database.is_none() {
        report.warning = Some(
            "no vulnerability database: images were cataloged but not matched (run `drydock db import` or `drydock db update`; it re-matches the store)".to_owned(),
        );
    }
    let analysed = store.analysed_digests().map_err(store_error(&store))?;
    let queue = store.workers_enabled().map_err(store_error(&store))?;
    for source in sources {
        if only.is_some_and(|name| name != source.name) {
            continue;
        }
        let mut result = SourceSync {
            name: source.name.clone(),
            ..SourceSync::default()
        };
        let inventory = match source.kind.as_str() {
            "registry" => registry::inventory(&source),
            "cluster" => cluster::inventory(&source),
            other => Err(format!("unknown source kind `{other}`")),
        };
        let inventory = match inventory {
            Ok(inventory) => inventory,
            Err(reason) => {
                store
                    .source_failed(&source.name, &reason, now)
                    .map_err(store_error(&store))?;
                result.error = Some(format!("source `{}`: {reason}", source.name));
                report.sources.push(result);
                continue;
            }
        };
        result.seen = inventory.sightings.len();
        result.notes.clone_from(&inventory.notes);
        let digests: BTreeSet<&str> = inventory
            .sightings
            .iter()
            .map(|s| s.digest.as_str())
            .collect();
        result.digests = digests.len();
        // Catalog what is new, in parallel; store on this thread.
        let mut queued: HashSet<String> = HashSet::new();
        let pending: Vec<Pending> = inventory
            .pending
            .into_iter()
            .filter(|p| !analysed.contains(&p.digest) && queued.insert(p.digest.clone()))
            .collect();
        let mut new_ids: Vec<i64> = Vec::new();
        let cataloged = if queue {
            for item in pending {
                let payload = serde_json::json!({
                    "digest": item.digest,
                    "source": item.source,
                    "registry": worker::registry_json(&item.registry),
                });
                store
                    .enqueue(
                        "catalog",
                        &payload,
                        Some(&format!("catalog:{}", item.digest)),
                        now,
                    )
                    .map_err(store_error(&store))?;
                store
                    .put_not_analysed(&item.digest, "queued for a worker", now)
                    .map_err(store_error(&store))?;
                result.queued += 1;
            }
            Vec::new()
        } else {
            catalog_all(pending, parallel, progress)
        };
        for (digest, source_name, outcome) in cataloged {
            match outcome {
                Ok(sbom) => {
                    let matchable = matchable(&sbom);
                    let id = store
                        .put_sbom(&digest, &sbom, &matchable, now)
                        .map_err(store_error(&store))?;
                    new_ids.push(id);
                    result.cataloged += 1;
                }
                Err(reason) => {
                    store
                        .put_not_analysed(&digest, &reason, now)
                        .map_err(store_error(&store))?;
                    result.not_analysed.push(format!("{source_name}: {reason}"));
                }
            }
        }
        // Digests seen but known neither as analysed nor now cataloged
        // (another source's failure, an earlier pass): make sure a row exists.
        for digest in &digests {
            if store.image(digest).map_err(store_error(&store))?.is_none() {
                store
                    .put_not_analysed(digest, "not cataloged yet", now)
                    .map_err(store_error(&store))?;
            }
        }
        // Match the new digests before the sightings are recorded, so that
        // an image they replace is resolved against their findings.
        if let Some((_, database)) = &database
            && !new_ids.is_empty()
        {
            let rematch = store
                .rematch(
                    database,
                    &RematchScope::Images(std::mem::take(&mut new_ids)),
                    "new-image",
                    now,
                )
                .map_err(store_error(&store))?;
            add_report(&mut report.rematch, &rematch);
        }
        let outcome = store
            .record_sightings(&source.name, &inventory.sightings, now)
            .map_err(store_error(&store))?;
        if queue && !outcome.reappeared.is_empty() {
            store
                .enqueue(
                    "rematch",
                    &serde_json::json!({ "images": outcome.reappeared, "cause": "reappeared" }),
                    None,
                    now,
                )
                .map_err(store_error(&store))?;
        } else if let Some((_, database)) = &database
            && !outcome.reappeared.is_empty()
        {
            let rematch = store
                .rematch(
                    database,
                    &RematchScope::Images(outcome.reappeared.clone()),
                    "reappeared",
                    now,
                )
                .map_err(store_error(&store))?;
            add_report(&mut report.rematch, &rematch);
        }
        result.outcome = outcome;
        report.sources.push(result);
    }
    progress.finish();
    Ok(report)
}

fn add_report(total: &mut Option<RematchReport>, part: &RematchReport) {
    let sum = total.get_or_insert_with(RematchReport::default);
    sum.images += part.images;
    sum.packages += part.packages;
    sum.matches_added += part.matches_added;
    sum.matches_updated += part.matches_updated;
    sum.matches_withdrawn += part.matches_withdrawn;
    sum.findings_opened += part.findings_opened;
    sum.findings_reopened += part.findings_reopened;
    sum.findings_resolved += part.findings_resolved;
    sum.findings_unchanged += part.findings_unchanged;
}

/// Language packages whose files an OS package owns are the distro's to
/// report (as `scan` does).
pub(crate) fn matchable(sbom: &drydock_sbom::Sbom) -> Vec<bool> {
    let owned: HashSet<&[u8]> = sbom
        .packages
        .iter()
        .filter(|p| p.kind.is_os())
        .flat_map(|p| p.files.iter().map(|f| f.path.as_bytes()))
        .collect();
    sbom.packages
        .iter()
        .map(|p| {
            p.kind.is_os()
                || p.locations.is_empty()
                || !p
                    .locations
                    .iter()
                    .any(|l| owned.contains(l.path.as_bytes()))
        })
        .collect()
}

type Cataloged = (String, String, Result<drydock_sbom::Sbom, String>);

fn catalog_all(
    pending: Vec<Pending>,
    parallel: usize,
    progress: &dyn SyncProgress,
) -> Vec<Cataloged> {
    if pending.is_empty() {
        return Vec::new();
    }
    progress.start(pending.len());
    let queue = Mutex::new(pending);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..parallel.max(1) {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().ok().and_then(|mut q| q.pop());
                    let Some(item) = next else { break };
                    let settings = crate::SbomSettings {
                        source: item.source.clone(),
                        platform: None,
                        registry: item.registry.clone(),
                    };
                    let outcome = crate::sbom(&settings, &crate::NoProgress)
                        .map_err(|error| error_chain(&error));
                    progress.advance(&item.source);
                    if let Ok(mut results) = results.lock() {
                        results.push((item.digest, item.source, outcome));
                    }
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by(|a, b| a.0.cmp(&b.0));
    results
}

/// `error: cause: cause` on one line.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text.replace('\n', " ")
}

/// `drydock fleet rematch`, and the re-match after `db import`/`db update`.
pub fn rematch(settings: &FleetSettings, cause: &str) -> Result<RematchReport, FleetError> {
    let mut store = open_store(settings)?;
    rematch_store(&mut store, settings, cause)
}

/// Re-matches an open store against the configured database.
pub fn rematch_store(
    store: &mut Store,
    settings: &FleetSettings,
    cause: &str,
) -> Result<RematchReport, FleetError> {
    let now = now()?;
    if store.workers_enabled().map_err(store_error(store))? {
        let jobs = worker::enqueue_rematch(store, cause, 250, now)?;
        return Ok(RematchReport {
            queued_jobs: jobs,
            ..RematchReport::default()
        });
    }
    let dir = crate::resolve_db_dir(settings.db_dir.as_deref()).ok_or(FleetError::NoStore)?;
    let database = Database::open(&dir).map_err(|source| FleetError::Database {
        dir: dir.clone(),
        source: Box::new(source),
    })?;
    if database.ecosystems().next().is_none() {
        return Err(FleetError::EmptyDatabase { dir });
    }
    store
        .rematch(&database, &RematchScope::All, cause, now)
        .map_err(store_error(store))
}

/// `drydock fleet workers on|off`.
pub fn set_workers(settings: &FleetSettings, on: bool) -> Result<(), FleetError> {
    let mut store = open_store(settings)?;
    store.set_workers(on).map_err(store_error(&store))
}

/// `drydock fleet workers status`: the setting and the queue.
pub fn workers_status(
    settings: &FleetSettings,
) -> Result<(bool, drydock_store::QueueStatus), FleetError> {
    let mut store = open_store(settings)?;
    let on = store.workers_enabled().map_err(store_error(&store))?;
    let queue = if store.backend() == drydock_store::Backend::Postgres {
        store.queue_status().map_err(store_error(&store))?
    } else {
        drydock_store::QueueStatus::default()
    };
    Ok((on, queue))
}

/// `drydock fleet sources`.
pub fn sources(settings: &FleetSettings) -> Result<Vec<SourceRow>, FleetError> {
    let mut store = open_store(settings)?;
    let mut rows = store.sources().map_err(store_error(&store))?;
    for row in &mut rows {
        // Never print secrets.
        if let Some(object) = row.config.as_object_mut()
            && object.contains_key("password")
        {
            object.insert("password".into(), "***".into());
        }
    }
    Ok(rows)
}

/// `drydock fleet remove NAME`.
pub fn remove(settings: &FleetSettings, name: &str) -> Result<(), FleetError> {
    let mut store = open_store(settings)?;
    let now = now()?;
    if !store
        .remove_source(name, now)
        .map_err(store_error(&store))?
    {
        return Err(FleetError::UnknownSource(name.to_owned()));
    }
    Ok(())
}

/// `drydock fleet images`.
pub fn images(settings: &FleetSettings) -> Result<Vec<ImageSummary>, FleetError> {
    let mut store = open_store(settings)?;
    store.images().map_err(store_error(&store))
}

/// `drydock fleet findings`.
pub fn findings(
    settings: &FleetSettings,
    filter: &FindingFilter,
) -> Result<Vec<FindingRow>, FleetError> {
    let mut store = open_store(settings)?;
    store.findings(filter).map_err(store_error(&store))
}

/// `drydock fleet events`.
pub fn events(
    settings: &FleetSettings,
    since: Option<i64>,
) -> Result<Vec<EventRecord>, FleetError> {
    let mut store = open_store(settings)?;
    store.events(since).map_err(store_error(&store))
}

/// `drydock fleet metrics`.
pub fn metrics(settings: &FleetSettings, deadlines: &Deadlines) -> Result<Metrics, FleetError> {
    let mut store = open_store(settings)?;
    let now = now()?;
    store.metrics(deadlines, now).map_err(store_error(&store))
}

/// `drydock fleet vex add FILE…`: stored, applied from the next re-match.
pub fn vex_add(settings: &FleetSettings, paths: &[PathBuf]) -> Result<usize, FleetError> {
    let mut store = open_store(settings)?;
    let now = now()?;
    for path in paths {
        let body = fs_err::read(path).map_err(|source| FleetError::Read {
            path: path.clone(),
            source,
        })?;
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        store
            .add_vex(&name, &body, now)
            .map_err(store_error(&store))?;
    }
    Ok(paths.len())
}

/// Store counts (`drydock fleet status`).
pub fn status(settings: &FleetSettings) -> Result<(String, BTreeMap<String, i64>), FleetError> {
    let mut store = open_store(settings)?;
    let counts = store.counts().map_err(store_error(&store))?;
    Ok((store.url().to_owned(), counts))
}

pub(crate) fn add_source(
    settings: &FleetSettings,
    name: &str,
    kind: &str,
    target: &str,
    config: &serde_json::Value,
) -> Result<(), FleetError> {
    let mut store = open_store(settings)?;
    let now = now()?;
    store
        .add_source(name, kind, target, config, now)
        .map_err(store_error(&store))
}

pub(crate) fn path_strings(paths: &[PathBuf]) -> Vec<String> {
    paths.iter().map(|p| p.display().to_string()).collect()
}

pub(crate) fn paths_of(value: &serde_json::Value) -> Vec<PathBuf> {
    value
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|v| v.as_str().map(PathBuf::from))
                .collect()
        })
        .unwrap_or_default()
}

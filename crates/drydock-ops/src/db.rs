//! `drydock db import | update | status`: the advisory database operations.
//!
//! `update` downloads every configured source into a scratch directory inside
//! the database directory, then imports them all in one atomic import: a
//! source that cannot be fetched leaves the database exactly as it was.
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use drydock_vuln::{Database, DbError, ImportReport, MAX_INPUT_BYTES, Status};

/// The official upstream URLs `db update` fetches by default, by source name.
pub const DEFAULT_SOURCES: &[(&str, &str)] = &[
    (
        "osv-PyPI",
        "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip",
    ),
    (
        "osv-crates.io",
        "https://osv-vulnerabilities.storage.googleapis.com/crates.io/all.zip",
    ),
    (
        "osv-Go",
        "https://osv-vulnerabilities.storage.googleapis.com/Go/all.zip",
    ),
    (
        "osv-npm",
        "https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip",
    ),
    (
        "osv-Maven",
        "https://osv-vulnerabilities.storage.googleapis.com/Maven/all.zip",
    ),
    (
        "osv-RubyGems",
        "https://osv-vulnerabilities.storage.googleapis.com/RubyGems/all.zip",
    ),
    (
        "osv-NuGet",
        "https://osv-vulnerabilities.storage.googleapis.com/NuGet/all.zip",
    ),
    (
        "osv-Packagist",
        "https://osv-vulnerabilities.storage.googleapis.com/Packagist/all.zip",
    ),
    (
        "osv-Ubuntu",
        "https://osv-vulnerabilities.storage.googleapis.com/Ubuntu/all.zip",
    ),
    (
        "osv-AlmaLinux",
        "https://osv-vulnerabilities.storage.googleapis.com/AlmaLinux/all.zip",
    ),
    (
        "osv-Rocky-Linux",
        "https://osv-vulnerabilities.storage.googleapis.com/Rocky%20Linux/all.zip",
    ),
    (
        "debian-tracker",
        "https://security-tracker.debian.org/tracker/data/json",
    ),
    (
        "alpine-v3.18-main",
        "https://secdb.alpinelinux.org/v3.18/main.json",
    ),
    (
        "alpine-v3.18-community",
        "https://secdb.alpinelinux.org/v3.18/community.json",
    ),
    (
        "alpine-v3.19-main",
        "https://secdb.alpinelinux.org/v3.19/main.json",
    ),
    (
        "alpine-v3.19-community",
        "https://secdb.alpinelinux.org/v3.19/community.json",
    ),
    (
        "alpine-v3.20-main",
        "https://secdb.alpinelinux.org/v3.20/main.json",
    ),
    (
        "alpine-v3.20-community",
        "https://secdb.alpinelinux.org/v3.20/community.json",
    ),
    (
        "alpine-v3.21-main",
        "https://secdb.alpinelinux.org/v3.21/main.json",
    ),
    (
        "alpine-v3.21-community",
        "https://secdb.alpinelinux.org/v3.21/community.json",
    ),
    ("wolfi", "https://packages.wolfi.dev/os/security.json"),
    (
        "kev",
        "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json",
    ),
    (
        "epss",
        "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz",
    ),
];

/// The file in the database directory that configures `db update`.
pub const SOURCES_FILE: &str = "sources.toml";

#[derive(Debug, thiserror::Error)]
pub enum DbOpsError {
    #[error(
        "no database directory: pass `--db-dir`, or set `DRYDOCK_DB_DIR`, `XDG_DATA_HOME` or `HOME`"
    )]
    NoDbDir,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot reach `{url}` (source `{name}`); keeping the current database ({})", last_update_text(.last_update.as_deref()))]
    Unreachable {
        name: String,
        url: String,
        last_update: Option<String>,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("`{url}` (source `{name}`) answered HTTP {status}; keeping the current database ({})", last_update_text(.last_update.as_deref()))]
    Status {
        name: String,
        url: String,
        status: u16,
        last_update: Option<String>,
    },
    #[error("`{url}` (source `{name}`) sent more than {limit} bytes")]
    TooLarge {
        name: String,
        url: String,
        limit: u64,
    },
    #[error("cannot read the download of `{url}` (source `{name}`)")]
    Download {
        name: String,
        url: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}`: {reason}")]
    Config { path: PathBuf, reason: String },
    #[error("`--source {text}`: expected NAME=URL")]
    SourceArgument { text: String },
    #[error("cannot write `{path}`")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no sources to update from (all disabled)")]
    NoSources,
}

fn last_update_text(last_update: Option<&str>) -> String {
    match last_update {
        Some(time) => format!("last updated {time}"),
        None => "the database is empty".to_owned(),
    }
}

/// Resolves the database directory (`--db-dir`, `DRYDOCK_DB_DIR`, XDG).
pub fn db_dir(explicit: Option<&Path>) -> Result<PathBuf, DbOpsError> {
    crate::resolve_db_dir(explicit).ok_or(DbOpsError::NoDbDir)
}

/// `drydock db import PATH...`.
pub fn db_import(db_dir: &Path, paths: &[PathBuf]) -> Result<ImportReport, DbOpsError> {
    Ok(Database::import(db_dir, paths)?)
}

/// `drydock db status`.
pub fn db_status(db_dir: &Path) -> Result<Status, DbOpsError> {
    Ok(Database::open(db_dir)?.status().clone())
}

#[derive(Debug, Clone, Default)]
pub struct DbUpdateSettings {
    pub db_dir: PathBuf,
    /// `NAME=URL` overrides and additions (an empty URL disables a source).
    pub sources: Vec<String>,
    /// Start from no sources instead of [`DEFAULT_SOURCES`].
    pub no_default_sources: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct DbUpdateReport {
    /// Source name → (URL, bytes downloaded).
    pub fetched: BTreeMap<String, (String, u64)>,
    pub import: ImportReport,
}

/// The sources `db update` would fetch: defaults, then `sources.toml` in
/// the database directory, then `--source` arguments.
///
/// `sources.toml`:
/// ```toml
/// defaults = false            # optional: start from no sources
/// [sources]
/// kev = "https://mirror.example/kev.json"
/// osv-Go = ""                 # disable one
/// ```
pub fn db_sources(settings: &DbUpdateSettings) -> Result<BTreeMap<String, String>, DbOpsError> {
    let mut defaults = !settings.no_default_sources;
    let mut configured: Vec<(String, String)> = Vec::new();
    let path = settings.db_dir.join(SOURCES_FILE);
    match fs_err::read_to_string(&path) {
        Ok(text) => {
            let config_error = |reason: String| DbOpsError::Config {
                path: path.clone(),
                reason,
            };
            let value: toml::Table =
                toml::from_str(&text).map_err(|error| config_error(error.to_string()))?;
            for (key, item) in &value {
                match (key.as_str(), item) {
                    ("defaults", toml::Value::Boolean(flag)) => defaults = defaults && *flag,
                    ("sources", toml::Value::Table(table)) => {
                        for (name, url) in table {
                            let Some(url) = url.as_str() else {
                                return Err(config_error(format!(
                                    "`sources.{name}` must be a string"
                                )));
                            };
                            configured.push((name.clone(), url.to_owned()));
                        }
                    }
                    _ => return Err(config_error(format!("unknown key `{key}`"))),
                }
            }
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(DbOpsError::Db(DbError::Read { path, source })),
    }
    for text in &settings.sources {
        let Some((name, url)) = text.split_once('=') else {
            return Err(DbOpsError::SourceArgument { text: text.clone() });
        };
        if name.trim().is_empty() {
            return Err(DbOpsError::SourceArgument { text: text.clone() });
        }
        configured.push((name.trim().to_owned(), url.trim().to_owned()));
    }
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    if defaults {
        for (name, url) in DEFAULT_SOURCES {
            sources.insert((*name).to_owned(), (*url).to_owned());
        }
    }
    for (name, url) in configured {
        if url.is_empty() {
            sources.remove(&name);
        } else {
            sources.insert(name, url);
        }
    }
    Ok(sources)
}

/// `drydock db update`: fetch every source, then import them in one atomic
/// import. Any failure leaves the database as it was.
pub fn db_update(settings: &DbUpdateSettings) -> Result<DbUpdateReport, DbOpsError> {
    let sources = db_sources(settings)?;
    if sources.is_empty() {
        return Err(DbOpsError::NoSources);
    }
    let last_update = Database::open(&settings.db_dir)
        .ok()
        .and_then(|db| db.status().last_update.clone());
    fs_err::create_dir_all(&settings.db_dir).map_err(|source| DbOpsError::Write {
        path: settings.db_dir.clone(),
        source,
    })?;
    let scratch = tempfile::Builder::new()
        .prefix(".download-")
        .tempdir_in(&settings.db_dir)
        .map_err(|source| DbOpsError::Write {
            path: settings.db_dir.clone(),
            source,
        })?;
    let agent = agent();
    let mut fetched = BTreeMap::new();
    let mut files = Vec::new();
    for (index, (name, url)) in sources.iter().enumerate() {
        let path = scratch
            .path()
            .join(format!("{index:03}-{}", sanitize(name)));
        let bytes = fetch(&agent, name, url, &path, last_update.as_deref())?;
        fetched.insert(name.clone(), (url.clone(), bytes));
        files.push(path);
    }
    let import = Database::import(&settings.db_dir, &files)?;
    Ok(DbUpdateReport { fetched, import })
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn agent() -> ureq::Agent {
    drydock_registry::default_http_agent(Duration::from_mins(2))
}

fn fetch(
    agent: &ureq::Agent,
    name: &str,
    url: &str,
    path: &Path,
    last_update: Option<&str>,
) -> Result<u64, DbOpsError> {
    let response = agent
        .get(url)
        .call()
        .map_err(|source| DbOpsError::Unreachable {
            name: name.to_owned(),
            url: url.to_owned(),
            last_update: last_update.map(str::to_owned),
            source: Box::new(source),
        })?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(DbOpsError::Status {
            name: name.to_owned(),
            url: url.to_owned(),
            status,
            last_update: last_update.map(str::to_owned),
        });
    }
    let download_error = |source| DbOpsError::Download {
        name: name.to_owned(),
        url: url.to_owned(),
        source,
    };
    let mut reader = response
        .into_body()
        .into_with_config()
        .limit(MAX_INPUT_BYTES + 1)
        .reader();
    let mut file = fs_err::File::create(path).map_err(|source| DbOpsError::Write {
        path: path.to_owned(),
        source,
    })?;
    let copied = std::io::copy(&mut (&mut reader).take(MAX_INPUT_BYTES + 1), &mut file)
        .map_err(download_error)?;
    if copied > MAX_INPUT_BYTES {
        return Err(DbOpsError::TooLarge {
            name: name.to_owned(),
            url: url.to_owned(),
            limit: MAX_INPUT_BYTES,
        });
    }
    Ok(copied)
}

/// `drydock db status --format json`: the status with the directory.
pub fn db_status_json(db_dir: &Path, status: &Status) -> String {
    #[derive(serde::Serialize)]
    struct Document<'a> {
        db_dir: String,
        #[serde(flatten)]
        status: &'a Status,
    }
    let document = Document {
        db_dir: db_dir.display().to_string(),
        status,
    };
    serde_json::to_string_pretty(&document).unwrap_or_default()
}

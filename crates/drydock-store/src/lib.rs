//! The fleet store: what drydock knows about a fleet over time.
//!
//! ```text
//! images          one row per digest: status, distro, the SBOM (gzip native JSON), first/last seen
//! packages        one row per package identity, shared by every image that has it
//! image_packages  which image has which package where
//! matches         the database's verdict for (distro group, package, vulnerability): the finding
//!                 as `drydock scan -f json` writes it, severity, KEV, EPSS, fix, published
//! findings        per (image, match): open or resolved, first_seen, resolved_at, cause
//! sightings       where a digest is seen: registry repository:tag, cluster/namespace/workload/pod/container
//! events          append-only: finding-opened/-resolved, image-first-seen/-gone, with time and cause
//! remediations   `fleet remediate`: the patched digest of an original, where it was pushed
//! sources, notify_targets, deliveries, tickets, jobs, vex_documents
//! ```
//!
//! Embedded SQLite (one file, WAL) by default; PostgreSQL with the same
//! schema and statements ([`sql`]). Migrations are applied on open.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
#![allow(
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    reason = "counts and indexes are far below 2^63; SQL integers are i64"
)]

pub mod sql;

mod browse;
mod golden;
mod ingest;
mod jobs;
mod metrics;
mod notify;
mod query;
mod rematch;
mod remediation;
mod schema;

use std::path::{Path, PathBuf};

pub use browse::{Placement, TrendDay, VulnerabilitySummary};
pub use golden::{AuditEntry, ChainBreak, GoldenState, GoldenVersion, Submission, Timeline};
pub use ingest::{ImageRecord, Sighting, SightingKind, SyncOutcome};
pub use jobs::{Job, JobRow, QueueStatus};
pub use metrics::{Deadlines, Metrics, MttSummary, Overdue, WeekSummary};
pub use notify::{Delivery, DeliveryStats, NotifyTarget, Ticket, idempotency_key};
pub use query::{
    EventRecord, FindingCursor, FindingFilter, FindingRow, ImageSummary, LocationRow, SourceRow,
};
pub use rematch::{RematchReport, RematchScope};
pub use remediation::Remediation;
pub use sql::{Backend, Row, Value};

use sql::Conn;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("`{url}` is not a store URL (expected `sqlite:PATH` or `postgres://…`)")]
    Url { url: String },
    #[error("cannot open the SQLite store `{path}`")]
    OpenSqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot create the directory of the store `{path}`")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot connect to the PostgreSQL store `{url}`")]
    ConnectPostgres {
        url: String,
        #[source]
        source: postgres::Error,
    },
    #[error("store statement `{statement}…` failed")]
    Sqlite {
        statement: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("store statement `{statement}…` failed")]
    Postgres {
        statement: String,
        #[source]
        source: postgres::Error,
    },
    #[error(
        "the store has schema version {found}, newer than this drydock ({supported}): upgrade drydock"
    )]
    TooNew { found: i64, supported: i64 },
    #[error("the stored SBOM of `{digest}` is corrupt")]
    CorruptSbom {
        digest: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot serialise {what}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Database(#[from] drydock_vuln::DbError),
}

/// A fleet store.
pub struct Store {
    conn: Conn,
    url: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("url", &self.url)
            .field("backend", &self.conn.backend())
            .finish()
    }
}

/// Where a store lives, as the user wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl StoreUrl {
    pub fn parse(url: &str) -> Result<StoreUrl, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            return Ok(StoreUrl::Sqlite(PathBuf::from(path)));
        }
        if let Some(path) = url.strip_prefix("sqlite:") {
            if path.is_empty() {
                return Err(StoreError::Url {
                    url: url.to_owned(),
                });
            }
            return Ok(StoreUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(StoreUrl::Postgres(url.to_owned()));
        }
        Err(StoreError::Url {
            url: url.to_owned(),
        })
    }
}

impl std::fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreUrl::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            StoreUrl::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

impl Store {
    /// Opens (creating it when needed) the store and applies migrations.
    pub fn open(url: &StoreUrl) -> Result<Store, StoreError> {
        let conn = match url {
            StoreUrl::Sqlite(path) => Conn::Sqlite(Box::new(open_sqlite(path)?)),
            StoreUrl::Postgres(text) => {
                let client =
                    postgres::Client::connect(text, postgres::NoTls).map_err(|source| {
                        StoreError::ConnectPostgres {
                            url: redact(text),
                            source,
                        }
                    })?;
                Conn::Postgres(Box::new(client))
            }
        };
        let mut store = Store {
            conn,
            url: url.to_string(),
        };
        schema::migrate(&mut store.conn)?;
        Ok(store)
    }

    /// The store URL with any password redacted.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn backend(&self) -> Backend {
        self.conn.backend()
    }

    /// The applied schema version.
    pub fn schema_version(&mut self) -> Result<i64, StoreError> {
        schema::current_version(&mut self.conn)
    }

    pub(crate) fn conn(&mut self) -> &mut Conn {
        &mut self.conn
    }

    /// Runs `work` in one transaction.
    pub fn transaction<T>(
        &mut self,
        work: impl FnOnce(&mut Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.conn.begin()?;
        let result = work(self);
        self.conn.end(result)
    }
}

fn open_sqlite(path: &Path) -> Result<rusqlite::Connection, StoreError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs_err::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
            path: parent.to_owned(),
            source,
        })?;
    }
    let wrap = |source| StoreError::OpenSqlite {
        path: path.to_owned(),
        source,
    };
    let conn = rusqlite::Connection::open(path).map_err(wrap)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .map_err(wrap)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536;",
    )
    .map_err(wrap)?;
    // Plans chosen once per statement, not again for each binding: without
    // this, a statement with a bound value compared to an indexed column
    // (statistics of `ANALYZE`) or a bound `LIKE` pattern is prepared anew
    // on every run, a third of the CPU of a findings page. Values written in
    // the SQL (`state = 'open'`) still use the statistics.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .map_err(wrap)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// Seconds since the epoch → RFC 3339 UTC.
pub fn rfc3339(seconds: i64) -> String {
    drydock_vuln::time::format_rfc3339(seconds)
}

/// RFC 3339 (or a bare date) → seconds since the epoch.
pub fn parse_time(text: &str) -> Option<i64> {
    drydock_vuln::time::parse_rfc3339(text).map(|(seconds, _)| seconds)
}

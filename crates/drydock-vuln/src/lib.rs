//! Vulnerability data for drydock: the OSV advisory model every source is
//! converted into, the on-disk database (import, storage, queries), and
//! CVSS base scores.
//!
//! ```text
//! model     Advisory, Affected, Range, Event, Severity, KevEntry, Epss
//! import    OSV JSON / dir / all.zip, Debian tracker, Alpine/Wolfi secdb, KEV, EPSS
//! storage   generations switched atomically, one JSON-lines shard per ecosystem
//! database  Database::open / import / advisories / by_id / kev / epss / status
//! cvss      v2, v3.x, v4.0 base scores
//! ```
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod cvss;
mod database;
mod error;
mod import;
pub mod model;
mod storage;
pub mod time;

pub use database::{
    Database, EcosystemStatus, EpssStatus, KevStatus, SCHEMA_VERSION, SourceStatus, Status,
};
pub use error::{DbError, ImportError};
pub use import::{
    ImportReport, MAX_INPUT_BYTES, debian_release_number, parse_document_for_fuzzing,
};
pub use model::{
    Advisory, Affected, AffectedPackage, Epss, Event, KevEntry, Range, RangeKind, Reference,
    Severity, ecosystem_base, normalize_name,
};

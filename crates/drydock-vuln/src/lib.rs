//! Vulnerability data for drydock: the OSV advisory model every source is
//! converted into, the on-disk database (import, storage, queries), and
//! CVSS base scores.
//!
//! ```text
//! model     Advisory, Affected, Range, Event, Severity, KevEntry, Epss
//! import    OSV JSON / dir / all.zip, Debian tracker, Alpine/Wolfi secdb, KEV, EPSS,
//!           NVD CVE API 2.0 JSON, CVE JSON 5
//! cve       CveRecord: CVSS vectors (NVD, CNA, ADP), CWEs, dates per CVE
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

pub mod cve;
pub mod cvss;
mod database;
mod error;
pub mod finding;
mod import;
pub mod matcher;
pub mod model;
pub mod report;
mod spill;
mod storage;
pub use drydock_core::time;
pub mod vex;

pub use cve::{CveMetric, CveRecord, MetricOrigin, MetricTier};
pub use database::{
    CveStatus, Database, EcosystemStatus, EpssStatus, KevStatus, SCHEMA_VERSION, SourceStatus,
    Status,
};
pub use error::{DbError, ImportError};
pub use finding::{
    CvssScore, CvssVector, EpssInfo, Finding, FindingPackage, FixState, KevInfo, MatchedVia,
    ScanDatabase, ScanDistro, ScanResult, ScanSource, ScannedPackage, SeverityLevel, Suppression,
    UnknownSeverity,
};
pub use import::{ImportReport, MAX_INPUT_BYTES, debian_release_number, fuzzing};
pub use matcher::{MatchOutcome, match_packages};
pub use model::{
    Advisory, Affected, AffectedPackage, Epss, Event, KevEntry, Range, RangeKind, Reference,
    Severity, ecosystem_base, normalize_name,
};
pub use report::{ReportError, ReportFormat, TableOptions, UnknownReportFormat};
pub use vex::{VexDocument, VexError, VexStatus, apply_vex, parse_vex};

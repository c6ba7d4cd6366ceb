use std::path::PathBuf;

/// Errors of opening, reading and importing the advisory database. Each
/// variant names its input; causes are kept as `source`.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot read `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write `{path}`")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}`: {what}")]
    Corrupt { path: PathBuf, what: String },
    #[error("`{path}`: invalid JSON")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("database `{path}` has schema version {found}, this drydock reads {expected}")]
    SchemaVersion {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error("database `{path}` is locked by another import")]
    Locked { path: PathBuf },
    #[error(transparent)]
    Import(#[from] Box<ImportError>),
}

/// An input of `db import` that could not be read: the whole import fails
/// and the previous database stays.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read `{path}`")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}`: invalid JSON")]
    Json {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("`{path}`: not an OSV record")]
    Osv {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("`{path}`: {what}")]
    Invalid { path: String, what: String },
    #[error(
        "`{path}`: unrecognised format (expected OSV JSON, an OSV all.zip, Debian security tracker JSON, Alpine/Wolfi secdb JSON, CISA KEV JSON, FIRST EPSS CSV, NVD CVE API 2.0 JSON or a CVE JSON 5 record)"
    )]
    UnknownFormat { path: String },
    #[error("`{path}`: cannot read zip archive")]
    Zip {
        path: String,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("`{path}`: entry larger than {limit} bytes")]
    TooLarge { path: String, limit: u64 },
}

impl From<ImportError> for DbError {
    fn from(error: ImportError) -> DbError {
        DbError::Import(Box::new(error))
    }
}

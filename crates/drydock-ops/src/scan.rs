//! `scan`: catalog a source (or read an SBOM), match its packages against
//! the vulnerability database, apply VEX statements.
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use drydock_core::Problem;
use drydock_sbom::Sbom;
use drydock_vuln::{
    Database, DbError, FixState, ScanDatabase, ScanDistro, ScanResult, ScanSource, VexDocument,
    VexError,
};

use crate::{EnvVars, Progress, SbomSettings};

/// What `scan` needs to know.
#[derive(Clone, Debug, Default)]
pub struct ScanSettings {
    /// The source: any `sbom` source, or `sbom:PATH` (CycloneDX, SPDX or
    /// drydock native JSON).
    pub sbom: SbomSettings,
    /// `--db-dir`; else `DRYDOCK_DB_DIR`, else the XDG default.
    pub db_dir: Option<PathBuf>,
    /// `--vex FILE`, OpenVEX or CycloneDX VEX.
    pub vex: Vec<PathBuf>,
    /// Keep only findings with a fixed version.
    pub only_fixed: bool,
    /// List suppressed findings in the result (they are counted anyway).
    pub show_suppressed: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Sbom(#[from] crate::SbomError),
    #[error("cannot read the SBOM `{path}`")]
    ReadSbom {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is not an SBOM drydock can scan")]
    ParseSbom {
        path: PathBuf,
        #[source]
        source: drydock_sbom::ReadError,
    },
    #[error(
        "no vulnerability database directory: pass `--db-dir` or set DRYDOCK_DB_DIR (neither XDG_DATA_HOME nor HOME is set)"
    )]
    NoDbDir,
    #[error("cannot open the vulnerability database in `{dir}`")]
    Database {
        dir: PathBuf,
        #[source]
        source: Box<DbError>,
    },
    #[error(
        "the vulnerability database in `{dir}` is empty\n\nhint: run `drydock db import PATH...` or `drydock db update` first"
    )]
    EmptyDatabase { dir: PathBuf },
    #[error("cannot read the VEX document `{path}`")]
    ReadVex {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Vex(#[from] VexError),
}

/// A scan's result plus what the front end should tell the user aside.
#[derive(Debug, Clone)]
pub struct ScanOutcome {
    pub result: ScanResult,
    /// Problems met while cataloging or reading the SBOM.
    pub problems: Vec<Problem>,
    /// Gaps in coverage: ecosystems of scanned packages that the database
    /// has no records for, packages drydock has no advisories for.
    pub warnings: Vec<String>,
    /// Wall time of each phase, in order: `open-database`, `sbom` (catalog
    /// or read the SBOM), `match` (including loading the shards the
    /// packages need), `vex`. Printed with `DRYDOCK_TIMINGS=1`.
    pub timings: Vec<(&'static str, Duration)>,
}

/// The database directory: `explicit`, else `DRYDOCK_DB_DIR`, else
/// `$XDG_DATA_HOME/drydock/db`, else `~/.local/share/drydock/db`.
pub fn resolve_db_dir(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(dir) = explicit {
        return Some(dir.to_owned());
    }
    let non_empty = |name: &str| EnvVars::get(name).filter(|value| !value.is_empty());
    if let Some(dir) = non_empty(EnvVars::DRYDOCK_DB_DIR) {
        return Some(PathBuf::from(dir));
    }
    if let Some(data) = non_empty(EnvVars::XDG_DATA_HOME) {
        return Some(PathBuf::from(data).join("drydock").join("db"));
    }
    non_empty(EnvVars::HOME).map(|home| PathBuf::from(home).join(".local/share/drydock/db"))
}

/// Reads `sbom:PATH` inputs, catalogs anything else.
fn load_sbom(settings: &SbomSettings, progress: &dyn Progress) -> Result<Sbom, ScanError> {
    let Some(path) = settings.source.strip_prefix("sbom:") else {
        return Ok(crate::sbom(settings, progress)?);
    };
    let path = PathBuf::from(path);
    let bytes = fs_err::read(&path).map_err(|source| ScanError::ReadSbom {
        path: path.clone(),
        source,
    })?;
    let (sbom, _format) = drydock_sbom::read_sbom(&bytes, &settings.source)
        .map_err(|source| ScanError::ParseSbom { path, source })?;
    Ok(sbom)
}

/// Scans a source.
pub fn scan(settings: &ScanSettings, progress: &dyn Progress) -> Result<ScanOutcome, ScanError> {
    let mut timings = Vec::new();
    let mut clock = Instant::now();
    let mut lap = |phase: &'static str| {
        let now = Instant::now();
        timings.push((phase, now.duration_since(clock)));
        clock = now;
    };
    let dir = resolve_db_dir(settings.db_dir.as_deref()).ok_or(ScanError::NoDbDir)?;
    let database = Database::open(&dir).map_err(|source| ScanError::Database {
        dir: dir.clone(),
        source: Box::new(source),
    })?;
    if database.ecosystems().next().is_none() {
        return Err(ScanError::EmptyDatabase { dir });
    }
    let mut vex: Vec<VexDocument> = Vec::with_capacity(settings.vex.len());
    for path in &settings.vex {
        let bytes = fs_err::read(path).map_err(|source| ScanError::ReadVex {
            path: path.clone(),
            source,
        })?;
        vex.push(drydock_vuln::parse_vex(
            &path.display().to_string(),
            &bytes,
        )?);
    }
    lap("open-database");
    let sbom = load_sbom(&settings.sbom, progress)?;
    lap("sbom");
    let outcome = drydock_vuln::match_packages(&database, &sbom.packages, sbom.distro.as_ref())
        .map_err(|source| ScanError::Database {
            dir: dir.clone(),
            source: Box::new(source),
        })?;
    lap("match");

    let digest = sbom
        .source
        .image
        .as_ref()
        .and_then(|image| image.manifest_digest.as_ref())
        .map(ToString::to_string);
    let mut source_ids = vec![sbom.source.name.clone()];
    source_ids.extend(digest.clone());
    let (mut findings, mut suppressed) =
        drydock_vuln::apply_vex(outcome.findings, &vex, &source_ids);
    if settings.only_fixed {
        findings.retain(|finding| finding.state == FixState::Fixed);
        suppressed.retain(|finding| finding.state == FixState::Fixed);
    }
    lap("vex");
    let suppressed_count = suppressed.len();
    if !settings.show_suppressed {
        suppressed.clear();
    }

    let mut warnings = Vec::new();
    let known: Vec<&str> = database.ecosystems().collect();
    let mut missing: Vec<&str> = outcome
        .packages
        .iter()
        .filter_map(|package| package.ecosystem.as_deref())
        .filter(|ecosystem| !known.contains(ecosystem))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    for ecosystem in missing {
        let count = outcome
            .packages
            .iter()
            .filter(|package| package.ecosystem.as_deref() == Some(ecosystem))
            .count();
        warnings.push(format!(
            "the database has no `{ecosystem}` advisories: {count} package{} not checked",
            if count == 1 { "" } else { "s" }
        ));
    }
    let unmatched = outcome
        .packages
        .iter()
        .filter(|package| package.ecosystem.is_none())
        .count();
    if unmatched > 0 {
        warnings.push(format!(
            "{unmatched} package{} of kinds without advisory data not checked (see `packages[].note` in `-f json`)",
            if unmatched == 1 { "" } else { "s" }
        ));
    }

    let status = database.status();
    let result = ScanResult {
        created: crate::created_timestamp(),
        source: ScanSource {
            name: sbom.source.name.clone(),
            kind: sbom.source.kind.clone(),
            digest,
        },
        distro: sbom.distro.as_ref().map(|distro| ScanDistro {
            id: distro.id.clone(),
            version_id: distro.version_id.clone(),
        }),
        database: ScanDatabase {
            schema_version: status.schema_version,
            last_update: status.last_update.clone(),
        },
        packages: outcome.packages,
        findings,
        suppressed_count,
        suppressed,
    };
    Ok(ScanOutcome {
        result,
        problems: sbom.problems,
        warnings,
        timings,
    })
}

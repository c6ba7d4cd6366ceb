//! The SBOM model and its writers: CycloneDX 1.6 JSON, SPDX 2.3 JSON, drydock's
//! native JSON (which can also be read back) and a plain-text table.
//!
//! Every writer is deterministic: the same [`Sbom`] gives the same bytes. Packages
//! are sorted, identifiers are derived from content, and the writers never read
//! the clock (the caller supplies [`Sbom::created`]).
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod cyclonedx;
mod ids;
pub mod license;
mod native;
mod purl;
mod read;
mod spdx;
mod table;

use std::fmt;
use std::str::FromStr;

use drydock_core::{Distro, Package, Problem, Relationship, SourceMetadata};

pub use cyclonedx::write_cyclonedx_json;
pub use native::{NATIVE_SCHEMA_VERSION, read_native, write_native_json};
pub use purl::{PurlParseError, parse_purl};
pub use read::{InputFormat, ReadError, read_sbom};
pub use spdx::write_spdx_json;
pub use table::write_table;

/// Everything drydock knows about one source, ready to be written out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sbom {
    pub source: SourceMetadata,
    pub distro: Option<Distro>,
    pub packages: Vec<Package>,
    pub relationships: Vec<Relationship>,
    pub problems: Vec<Problem>,
    pub tool: Tool,
    /// RFC 3339 UTC timestamp, e.g. `2024-01-02T03:04:05Z`, chosen by the caller
    /// (which honours `SOURCE_DATE_EPOCH`).
    pub created: String,
}

/// The tool that produced an SBOM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Tool {
    /// `drydock` at the version of this build.
    pub fn drydock() -> Tool {
        Tool {
            name: "drydock".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SbomError {
    #[error("cannot write the {format} SBOM")]
    Write {
        format: Format,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot serialise the {format} SBOM")]
    Serialize {
        format: Format,
        #[source]
        source: serde_json::Error,
    },
    #[error("the input is not a drydock native JSON SBOM")]
    ReadNative {
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "native JSON schema version `{found}` is not supported (expected `{NATIVE_SCHEMA_VERSION}`)"
    )]
    UnsupportedSchemaVersion { found: String },
    #[error("native JSON: package `{package}` has an invalid purl")]
    InvalidPurl {
        package: String,
        #[source]
        source: PurlParseError,
    },
}

/// An output format, as named on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    CycloneDxJson,
    SpdxJson,
    Json,
    Table,
}

impl Format {
    pub const ALL: [Format; 4] = [
        Format::CycloneDxJson,
        Format::SpdxJson,
        Format::Json,
        Format::Table,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::CycloneDxJson => "cyclonedx-json",
            Format::SpdxJson => "spdx-json",
            Format::Json => "json",
            Format::Table => "table",
        }
    }

    /// Write `sbom` in this format.
    pub fn write(self, sbom: &Sbom, out: &mut dyn std::io::Write) -> Result<(), SbomError> {
        match self {
            Format::CycloneDxJson => write_cyclonedx_json(sbom, out),
            Format::SpdxJson => write_spdx_json(sbom, out),
            Format::Json => write_native_json(sbom, out),
            Format::Table => write_table(sbom, out),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown SBOM format `{0}` (expected one of: cyclonedx-json, spdx-json, json, table)")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|format| format.as_str() == s)
            .ok_or_else(|| UnknownFormat(s.to_owned()))
    }
}

/// The packages in output order: kind, name, version, arch, first location,
/// then purl. The sort is stable, so full ties keep their input order.
pub fn sorted_packages(packages: &[Package]) -> Vec<&Package> {
    let mut sorted: Vec<&Package> = packages.iter().collect();
    sorted.sort_by(|a, b| {
        (a.kind, &a.name, &a.version, &a.arch, a.locations.first())
            .cmp(&(b.kind, &b.name, &b.version, &b.arch, b.locations.first()))
            .then_with(|| a.purl.cmp(&b.purl))
    });
    sorted
}

/// One package per identity (purl and installed/declared), with the
/// locations (and owned files) of every copy: what CycloneDX and SPDX list
/// as one component. Copies are taken in output order ([`sorted_packages`]),
/// so the result does not depend on the input's order; the first copy's
/// other fields are kept. The native JSON and the table keep one entry per
/// location.
pub fn merged_packages(packages: &[Package]) -> Vec<Package> {
    let mut index: std::collections::HashMap<(String, bool), usize> =
        std::collections::HashMap::new();
    let mut out: Vec<Package> = Vec::new();
    for package in sorted_packages(packages) {
        let key = (package.purl.to_string(), package.installed);
        let Some(&at) = index.get(&key) else {
            index.insert(key, out.len());
            out.push(package.clone());
            continue;
        };
        let Some(merged) = out.get_mut(at) else {
            continue;
        };
        for location in &package.locations {
            if !merged.locations.contains(location) {
                merged.locations.push(location.clone());
            }
        }
        if !package.files.is_empty() {
            let known: std::collections::HashSet<drydock_core::ImagePath> =
                merged.files.iter().map(|file| file.path.clone()).collect();
            merged.files.extend(
                package
                    .files
                    .iter()
                    .filter(|file| !known.contains(&file.path))
                    .cloned(),
            );
        }
    }
    out
}

/// Serialise `value` as pretty JSON followed by a newline.
fn write_json<T: serde::Serialize>(
    format: Format,
    value: &T,
    out: &mut dyn std::io::Write,
) -> Result<(), SbomError> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|source| SbomError::Serialize { format, source })?;
    bytes.push(b'\n');
    out.write_all(&bytes)
        .and_then(|()| out.flush())
        .map_err(|source| SbomError::Write { format, source })
}

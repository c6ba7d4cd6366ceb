//! Scan result writers: a priority-sorted table, drydock's scan JSON
//! (docs/scan-json.md), CycloneDX 1.6 with `vulnerabilities` (VDR, with VEX
//! `analysis` for suppressed findings) and SARIF 2.1.0.
//!
//! Every writer is deterministic: the same [`ScanResult`] gives the same
//! bytes.
mod cyclonedx;
mod sarif;
mod table;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::finding::{ScanResult, SeverityLevel};

pub use cyclonedx::write_cyclonedx_json;
pub use sarif::write_sarif;
pub use table::{TableOptions, write_table, write_table_with};

/// Version of the scan JSON document.
pub const SCAN_JSON_SCHEMA_VERSION: &str = "1";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReportFormat {
    Table,
    Json,
    CycloneDxJson,
    Sarif,
}

impl ReportFormat {
    pub const ALL: [ReportFormat; 4] = [
        ReportFormat::Table,
        ReportFormat::Json,
        ReportFormat::CycloneDxJson,
        ReportFormat::Sarif,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Table => "table",
            ReportFormat::Json => "json",
            ReportFormat::CycloneDxJson => "cyclonedx-json",
            ReportFormat::Sarif => "sarif",
        }
    }

    pub fn write(
        self,
        result: &ScanResult,
        out: &mut dyn std::io::Write,
    ) -> Result<(), ReportError> {
        match self {
            ReportFormat::Table => write_table(result, out),
            ReportFormat::Json => write_json(result, out),
            ReportFormat::CycloneDxJson => write_cyclonedx_json(result, out),
            ReportFormat::Sarif => write_sarif(result, out),
        }
    }
}

impl fmt::Display for ReportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scan output format `{0}` (expected one of: table, json, cyclonedx-json, sarif)")]
pub struct UnknownReportFormat(pub String);

impl FromStr for ReportFormat {
    type Err = UnknownReportFormat;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ReportFormat::ALL
            .into_iter()
            .find(|format| format.as_str() == text)
            .ok_or_else(|| UnknownReportFormat(text.to_owned()))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write the {format} scan report")]
    Write {
        format: ReportFormat,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot serialise the {format} scan report")]
    Serialize {
        format: ReportFormat,
        #[source]
        source: serde_json::Error,
    },
}

#[derive(Serialize)]
struct JsonDocument<'a> {
    schema_version: &'static str,
    tool: Tool,
    #[serde(flatten)]
    result: &'a ScanResult,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

const TOOL: Tool = Tool {
    name: "drydock",
    version: env!("CARGO_PKG_VERSION"),
};

/// drydock's scan JSON.
pub fn write_json(result: &ScanResult, out: &mut dyn std::io::Write) -> Result<(), ReportError> {
    let document = JsonDocument {
        schema_version: SCAN_JSON_SCHEMA_VERSION,
        tool: TOOL,
        result,
    };
    emit_json(ReportFormat::Json, &document, out)
}

fn emit_json<T: Serialize>(
    format: ReportFormat,
    value: &T,
    out: &mut dyn std::io::Write,
) -> Result<(), ReportError> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|source| ReportError::Serialize { format, source })?;
    bytes.push(b'\n');
    out.write_all(&bytes)
        .and_then(|()| out.flush())
        .map_err(|source| ReportError::Write { format, source })
}

/// A score standing for a severity where no CVSS score exists (SARIF's
/// `security-severity`): the middle of the CVSS band.
fn nominal_score(severity: SeverityLevel) -> f64 {
    match severity {
        SeverityLevel::Critical => 9.5,
        SeverityLevel::High => 8.0,
        SeverityLevel::Medium => 5.5,
        SeverityLevel::Low => 2.0,
        SeverityLevel::Negligible | SeverityLevel::Unknown => 0.0,
    }
}

/// 64-bit FNV-1a, for content-derived identifiers.
fn fnv1a(seed: u64, bytes: &[u8]) -> u64 {
    let mut hash = seed;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

//! What a scan reports: one [`Finding`] per (vulnerability, package), and the
//! [`ScanResult`] that carries them with the packages and the source.
//!
//! The JSON shape of these types is drydock's scan JSON, documented in
//! docs/scan-json.md.
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A qualitative severity, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SeverityLevel {
    /// No CVSS vector and no label from the source.
    #[default]
    Unknown,
    /// Debian's `unimportant`, a CVSS score of 0.0.
    Negligible,
    Low,
    Medium,
    High,
    Critical,
}

impl SeverityLevel {
    pub const ALL: [SeverityLevel; 6] = [
        SeverityLevel::Unknown,
        SeverityLevel::Negligible,
        SeverityLevel::Low,
        SeverityLevel::Medium,
        SeverityLevel::High,
        SeverityLevel::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SeverityLevel::Unknown => "unknown",
            SeverityLevel::Negligible => "negligible",
            SeverityLevel::Low => "low",
            SeverityLevel::Medium => "medium",
            SeverityLevel::High => "high",
            SeverityLevel::Critical => "critical",
        }
    }

    /// The CVSS v3/v4 qualitative rating of a base score (v2 has no
    /// `critical`: pass `v2 = true`).
    pub fn from_cvss_score(score: f64, v2: bool) -> SeverityLevel {
        if score <= 0.0 {
            SeverityLevel::Negligible
        } else if score < 4.0 {
            SeverityLevel::Low
        } else if score < 7.0 {
            SeverityLevel::Medium
        } else if score < 9.0 || v2 {
            SeverityLevel::High
        } else {
            SeverityLevel::Critical
        }
    }

    /// A label as sources write it: GHSA `CRITICAL|HIGH|MODERATE|LOW`,
    /// Debian urgency `unimportant|low|medium|high`, Ubuntu priorities.
    pub fn from_label(label: &str) -> Option<SeverityLevel> {
        let level = match label.trim().to_ascii_lowercase().as_str() {
            "critical" => SeverityLevel::Critical,
            "high" | "important" => SeverityLevel::High,
            "medium" | "moderate" => SeverityLevel::Medium,
            "low" => SeverityLevel::Low,
            "unimportant" | "negligible" | "none" => SeverityLevel::Negligible,
            _ => return None,
        };
        Some(level)
    }
}

impl fmt::Display for SeverityLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity `{0}` (expected one of: negligible, low, medium, high, critical)")]
pub struct UnknownSeverity(pub String);

impl FromStr for SeverityLevel {
    type Err = UnknownSeverity;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        SeverityLevel::ALL
            .into_iter()
            .find(|level| level.as_str().eq_ignore_ascii_case(text))
            .ok_or_else(|| UnknownSeverity(text.to_owned()))
    }
}

/// Whether a fix exists for the installed package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FixState {
    /// A fixed version exists (see `fixed_versions`): upgrading fixes it.
    Fixed,
    /// No fixed version yet.
    NotFixed,
    /// The source says it will not be fixed in this release (Debian:
    /// `nodsa`, urgency `unimportant` or `end-of-life`).
    WontFix,
}

impl FixState {
    pub fn as_str(self) -> &'static str {
        match self {
            FixState::Fixed => "fixed",
            FixState::NotFixed => "not-fixed",
            FixState::WontFix => "wont-fix",
        }
    }
}

/// The package a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct FindingPackage {
    pub name: String,
    pub version: String,
    /// The ecosystem the package was matched in: `PyPI`, `Debian:12`, …
    pub ecosystem: String,
    pub purl: String,
    /// The file that declared the package (first location), `/`-rooted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// The name and version the advisory was matched against: the source
/// package for Debian/Ubuntu (`openssl` for `libssl3`), the origin for apk,
/// the source rpm for rpm, the package itself otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct MatchedVia {
    pub name: String,
    pub version: String,
}

/// One CVSS vector with its computed base score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CvssScore {
    /// `2.0`, `3.0`, `3.1` or `4.0`.
    pub version: String,
    pub vector: String,
    pub base_score: f64,
}

/// One CVSS vector known for a finding, with who scored it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CvssVector {
    /// `advisory` (the matched record's own `severity[]`), `nvd` (NVD's
    /// own analysis), `cna` or `adp` (see docs/scan-json.md).
    pub origin: String,
    /// Who scored it: the advisory's data source (`osv:PyPI`), NVD's
    /// `source` (`nvd@nist.gov`, a CNA's address or UUID) or the CVE
    /// record container's short name (`redhat`, `CISA-ADP`).
    pub source: String,
    /// NVD's `type` (`Primary`, `Secondary`) or the CVE record's container
    /// (`cna`, `adp`); absent for advisory vectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The CVE the vector is about (absent for advisory vectors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cve: Option<String>,
    /// `2.0`, `3.0`, `3.1` or `4.0`.
    pub version: String,
    pub vector: String,
    /// The base score drydock computes from `vector`; absent when drydock's
    /// CVSS code refuses the vector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_score: Option<f64>,
    /// The base score the source file states, when it states one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stated_score: Option<f64>,
}

/// The CISA KEV entry of one of the finding's CVEs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KevInfo {
    pub cve: String,
    pub date_added: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub due_date: String,
    /// `Known` or `Unknown`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub known_ransomware_campaign_use: String,
}

/// The highest FIRST EPSS score among the finding's CVEs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpssInfo {
    pub cve: String,
    pub score: f64,
    pub percentile: f64,
}

/// A VEX statement that suppresses a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppression {
    /// `not_affected` or `fixed` (CycloneDX `resolved` reads as `fixed`,
    /// `false_positive` as `not_affected`).
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// The VEX document: its `@id` or file name.
    pub document: String,
}

/// One vulnerability in one package.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The vulnerability id: the OSV record's id for language advisories, the
    /// upstream id (`CVE-…`) for distro advisories.
    pub id: String,
    /// Every other id of the same vulnerability (aliases, upstream ids and
    /// the ids of merged duplicate records), sorted.
    pub aliases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    pub package: FindingPackage,
    pub matched_via: MatchedVia,
    pub severity: SeverityLevel,
    /// Where `severity` came from: `debian-urgency`, `ubuntu-priority`,
    /// `cvss-v3.1` (the advisory's own vector), `ghsa-severity`, …, then
    /// `nvd-cvss-v3.1`, `cna-cvss-v3.1`, `adp-cvss-v3.1` from imported NVD /
    /// CVE records (absent for `unknown`). Precedence in docs/scan-json.md.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity_source: Option<String>,
    /// Who assigned the severity: the advisory's data source, or the
    /// scorer of the NVD / CVE record vector (`nvd@nist.gov`, `redhat`,
    /// `CISA-ADP`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity_provider: Option<String>,
    /// The vector behind `severity` when a CVSS vector decided it; else the
    /// advisory's newest CVSS vector (highest score on ties), if any.
    pub cvss: Option<CvssScore>,
    /// Every CVSS vector known for the finding: the matched records' own and
    /// those of NVD / CVE records about its CVEs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cvss_vectors: Vec<CvssVector>,
    /// CWE ids of the finding's CVEs (from NVD / CVE records), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cwes: Vec<String>,
    /// The earliest publication time among the finding's CVEs (NVD / CVE
    /// records), else the matched record's `published`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// Versions that fix it, sorted; empty when none is known.
    pub fixed_versions: Vec<String>,
    pub state: FixState,
    pub kev: Option<KevInfo>,
    pub epss: Option<EpssInfo>,
    /// The data sources of the matched records, comma-separated when
    /// several (`osv:PyPI`, `debian-security-tracker`).
    pub data_source: String,
    /// The database records that matched (drydock storage ids).
    pub records: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// Set when a VEX statement suppresses the finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
}

impl Finding {
    /// The id and every alias.
    pub fn all_ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.aliases.iter().map(String::as_str))
    }

    /// Priority order for reports: KEV first, then severity, then EPSS, then
    /// findings with a fix before those without; ties by package and id.
    pub fn priority_cmp(&self, other: &Finding) -> Ordering {
        let epss = |finding: &Finding| finding.epss.as_ref().map_or(-1.0, |epss| epss.score);
        other
            .kev
            .is_some()
            .cmp(&self.kev.is_some())
            .then_with(|| other.severity.cmp(&self.severity))
            .then_with(|| epss(other).total_cmp(&epss(self)))
            .then_with(|| (self.state != FixState::Fixed).cmp(&(other.state != FixState::Fixed)))
            .then_with(|| self.package.cmp(&other.package))
            .then_with(|| self.id.cmp(&other.id))
    }
}

/// Sorts findings by [`Finding::priority_cmp`].
pub fn sort_by_priority(findings: &mut Vec<Finding>) {
    // Sorts positions, not the (large) findings, then moves each finding
    // once; stable, so the order is that of a stable sort of the findings.
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by(|&a, &b| match (findings.get(a), findings.get(b)) {
        (Some(a), Some(b)) => a.priority_cmp(b),
        _ => a.cmp(&b),
    });
    let mut slots: Vec<Option<Finding>> = findings.drain(..).map(Some).collect();
    findings.extend(
        order
            .into_iter()
            .filter_map(|index| slots.get_mut(index).and_then(Option::take)),
    );
}

/// What was scanned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanSource {
    /// The source as the user named it.
    pub name: String,
    /// `oci-dir`, `docker-archive`, `dir`, `sbom`, …
    pub kind: String,
    /// The image's manifest digest, when the source is an image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanDistro {
    pub id: String,
    pub version_id: String,
}

/// A package that was looked up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScannedPackage {
    pub name: String,
    pub version: String,
    /// The purl type: `deb`, `pypi`, …
    pub kind: String,
    pub purl: String,
    /// The ecosystem it was matched in; absent when drydock has no
    /// advisories for this kind of package (see `note`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ecosystem: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Why the package was not matched, or was matched differently.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The database a scan used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScanDatabase {
    pub schema_version: u32,
    pub last_update: Option<String>,
}

/// A whole scan: drydock's scan JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanResult {
    /// RFC 3339 time of the scan (honours `SOURCE_DATE_EPOCH`).
    pub created: String,
    pub source: ScanSource,
    pub distro: Option<ScanDistro>,
    pub database: ScanDatabase,
    pub packages: Vec<ScannedPackage>,
    /// Findings not suppressed by VEX, in priority order.
    pub findings: Vec<Finding>,
    /// How many findings VEX statements suppressed.
    pub suppressed_count: usize,
    /// The suppressed findings (each with `suppressed` set), in priority
    /// order; listed only with `--show-suppressed`.
    pub suppressed: Vec<Finding>,
}

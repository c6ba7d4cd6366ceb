//! CVE records: what NVD (CVE API 2.0 JSON) and the CVE Program (CVE JSON
//! 5) say about one CVE — CVSS vectors with who scored them, CWE ids, the
//! publication date and the description — stored once per CVE and attached
//! to every advisory that names the CVE.
//!
//! Severity tiers (see docs/database.md, "Severity"): NVD's own rating
//! (`Primary`), then the CNA's (NVD `Secondary`, or the CVE record's `cna`
//! container), then an ADP's (the CVE record's `adp` containers, or an NVD
//! `Secondary` metric whose source is CISA's ADP).
use serde::{Deserialize, Serialize};

/// CISA's ADP organisation id, as NVD names it in `source`.
pub const CISA_ADP_ORG_ID: &str = "134c704f-9b21-4f2e-91b3-4a467353bcc0";

/// What drydock knows about one CVE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CveRecord {
    /// `CVE-YYYY-NNNN…`.
    pub id: String,
    /// RFC 3339 publication time (NVD's `published`, else the CVE record's
    /// `datePublished`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// The English description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `CWE-79`, … (NVD's placeholders `NVD-CWE-Other`/`NVD-CWE-noinfo` are
    /// dropped), sorted, unique.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cwes: Vec<String>,
    /// Every CVSS vector, from both origins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<CveMetric>,
    /// `lastModified` of the NVD record merged in (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nvd_modified: Option<String>,
    /// `dateUpdated` of the CVE JSON 5 record merged in (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cve_modified: Option<String>,
}

/// Which file format a metric came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricOrigin {
    /// NVD CVE API 2.0 JSON.
    Nvd,
    /// CVE JSON 5 (the CVE Program's record).
    Cve,
}

/// Who scored a vector, in precedence order (NVD first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MetricTier {
    /// NVD's own analysis (`type: Primary`).
    Nvd,
    /// The CVE Numbering Authority: NVD `Secondary`, or the `cna` container.
    Cna,
    /// An Authorized Data Publisher (CISA's "Vulnrichment"): an `adp`
    /// container, or NVD `Secondary` from CISA's ADP.
    Adp,
}

impl MetricTier {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricTier::Nvd => "nvd",
            MetricTier::Cna => "cna",
            MetricTier::Adp => "adp",
        }
    }
}

/// One CVSS vector about a CVE.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CveMetric {
    pub origin: MetricOrigin,
    pub tier: MetricTier,
    /// Who scored it: NVD's `source` (`nvd@nist.gov`, `secalert@redhat.com`,
    /// an org UUID), or the container's `providerMetadata.shortName`
    /// (`redhat`, `CISA-ADP`).
    pub source: String,
    /// NVD's `type` (`Primary`, `Secondary`) or the container (`cna`, `adp`).
    pub kind: String,
    /// `2.0`, `3.0`, `3.1` or `4.0`, as the file labels the vector.
    pub version: String,
    pub vector: String,
    /// The base score the file states (drydock recomputes it from `vector`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_score: Option<f64>,
}

impl CveRecord {
    pub(crate) fn empty(id: &str) -> CveRecord {
        CveRecord {
            id: id.to_owned(),
            published: None,
            description: None,
            cwes: Vec::new(),
            metrics: Vec::new(),
            nvd_modified: None,
            cve_modified: None,
        }
    }

    /// Merges `incoming` (holding the metrics of one origin) into `self`:
    /// the metrics of that origin are replaced unless `self` has a newer
    /// record from it; other fields are filled where missing (NVD's text
    /// wins for the description, being the one scanners show).
    pub(crate) fn merge(&mut self, incoming: CveRecord, origin: MetricOrigin) -> bool {
        let (mine, theirs) = match origin {
            MetricOrigin::Nvd => (&self.nvd_modified, &incoming.nvd_modified),
            MetricOrigin::Cve => (&self.cve_modified, &incoming.cve_modified),
        };
        if let (Some(mine), Some(theirs)) = (mine, theirs)
            && crate::time::compare_times(theirs, mine) == std::cmp::Ordering::Less
        {
            return false;
        }
        self.metrics.retain(|metric| metric.origin != origin);
        self.metrics.extend(incoming.metrics);
        self.metrics.sort_by(|a, b| {
            (a.tier, a.origin, &a.source, &a.version, &a.vector)
                .cmp(&(b.tier, b.origin, &b.source, &b.version, &b.vector))
        });
        match origin {
            MetricOrigin::Nvd => {
                self.nvd_modified = incoming.nvd_modified;
                if incoming.published.is_some() {
                    self.published = incoming.published;
                }
                if incoming.description.is_some() {
                    self.description = incoming.description;
                }
            }
            MetricOrigin::Cve => {
                self.cve_modified = incoming.cve_modified;
                if self.published.is_none() {
                    self.published = incoming.published;
                }
                if self.description.is_none() {
                    self.description = incoming.description;
                }
            }
        }
        self.cwes.extend(incoming.cwes);
        self.cwes.sort();
        self.cwes.dedup();
        true
    }
}

/// NVD writes times without a zone (`2023-10-03T18:15:10.463`, UTC); drydock
/// stores RFC 3339.
pub(crate) fn normalize_time(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let zoned = match text.split_once('T') {
        Some((_, clock))
            if !(clock.ends_with(['Z', 'z']) || clock.contains('+') || clock.contains('-')) =>
        {
            format!("{text}Z")
        }
        _ => text.to_owned(),
    };
    crate::time::parse_rfc3339(&zoned)
        .is_some()
        .then_some(zoned)
}

/// `CWE-79` kept, NVD's `NVD-CWE-Other`/`NVD-CWE-noinfo` dropped.
pub(crate) fn is_cwe(id: &str) -> bool {
    id.strip_prefix("CWE-")
        .is_some_and(|number| !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()))
}

/// A `CVE-YYYY-N…` id.
pub fn is_cve_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, number)) = rest.split_once('-') else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && number.len() >= 4
        && number.bytes().all(|b| b.is_ascii_digit())
}

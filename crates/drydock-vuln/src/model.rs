//! The advisory model: OSV (<https://ossf.github.io/osv-schema/>), which
//! every source is converted into.
//!
//! Reading is tolerant where OSV producers are sloppy (`null` for an empty
//! list, unknown fields) and strict where matching depends on it (range
//! types, event kinds, a `modified` date).
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// One vulnerability record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    pub id: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub aliases: Vec<String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub upstream: Vec<String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub related: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// RFC 3339 time of the last change; newer wins on re-import.
    pub modified: String,
    /// Set when the record was withdrawn: kept in the database, skipped by
    /// the matcher.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub severity: Vec<Severity>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub affected: Vec<Affected>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub references: Vec<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
    /// drydock: where the record came from (`osv:PyPI`,
    /// `debian-security-tracker`, `alpine-secdb`, `wolfi-secdb`). Empty in
    /// OSV input; set by the importer.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub data_source: String,
}

impl Advisory {
    pub fn is_withdrawn(&self) -> bool {
        self.withdrawn.is_some()
    }

    /// The CVE ids this record is about: its own id, aliases and upstream.
    pub fn cve_ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str())
            .chain(self.aliases.iter().map(String::as_str))
            .chain(self.upstream.iter().map(String::as_str))
            .filter(|id| id.starts_with("CVE-"))
    }

    /// The CVEs whose NVD / CVE record data applies to this record: those
    /// of [`Advisory::cve_ids`]; when there are none and the record is a
    /// distribution's (Ubuntu, AlmaLinux, Rocky Linux, Red Hat), the CVE an
    /// `UBUNTU-CVE-…` id is named after and the CVEs in `related` (where
    /// Ubuntu's older records and the RHEL family's notices list the CVEs
    /// they fix; elsewhere `related` means "not the same vulnerability").
    /// Sorted, unique.
    pub fn described_cves(&self) -> Vec<String> {
        let mut cves: Vec<String> = self.cve_ids().map(str::to_owned).collect();
        let distro_notice = self.affected.iter().any(|affected| {
            matches!(
                affected.package.ecosystem_base(),
                "Ubuntu" | "AlmaLinux" | "Rocky Linux" | "Red Hat"
            )
        });
        if cves.is_empty() && distro_notice {
            if let Some(cve) = self.id.strip_prefix("UBUNTU-")
                && crate::cve::is_cve_id(cve)
            {
                cves.push(cve.to_owned());
            }
            cves.extend(
                self.related
                    .iter()
                    .filter(|id| crate::cve::is_cve_id(id))
                    .cloned(),
            );
        }
        cves.sort();
        cves.dedup();
        cves
    }
}

/// `severity[]`: a CVSS vector or an ecosystem's label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Severity {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`, or drydock's `Debian`
    /// (tracker urgency) / `Alpine`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The vector (for CVSS) or the label.
    pub score: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    pub package: AffectedPackage,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ranges: Vec<Range>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub versions: Vec<String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub severity: Vec<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

impl Affected {
    /// drydock's fix state for distro records (`database_specific.state`):
    /// `"fixed"`, `"not-fixed"` or `"wont-fix"`; `None` for OSV records.
    pub fn state(&self) -> Option<&str> {
        self.database_specific.as_ref()?.get("state")?.as_str()
    }

    /// Every `fixed` event of every range.
    pub fn fixed_versions(&self) -> impl Iterator<Item = &str> {
        self.ranges.iter().flat_map(|range| {
            range.events.iter().filter_map(|event| match event {
                Event::Fixed(version) => Some(version.as_str()),
                _ => None,
            })
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedPackage {
    /// `PyPI`, `crates.io`, `Debian:12`, `Alpine:v3.19`, `Wolfi`, …
    pub ecosystem: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

impl AffectedPackage {
    /// The ecosystem without its release suffix: `Debian:12` → `Debian`.
    pub fn ecosystem_base(&self) -> &str {
        ecosystem_base(&self.ecosystem)
    }
}

/// `Debian:12` → `Debian`, `Alpine:v3.19` → `Alpine`, `PyPI` → `PyPI`.
pub fn ecosystem_base(ecosystem: &str) -> &str {
    ecosystem
        .split_once(':')
        .map_or(ecosystem, |(base, _)| base)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    #[serde(rename = "type")]
    pub kind: RangeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub events: Vec<Event>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RangeKind {
    Ecosystem,
    Semver,
    Git,
}

/// One range event. In OSV JSON an object with exactly one key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

impl Event {
    pub fn version(&self) -> &str {
        match self {
            Event::Introduced(version)
            | Event::Fixed(version)
            | Event::LastAffected(version)
            | Event::Limit(version) => version,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
}

/// A CISA Known Exploited Vulnerabilities catalog entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KevEntry {
    #[serde(rename = "cveID")]
    pub cve_id: String,
    #[serde(default)]
    pub vendor_project: String,
    #[serde(default)]
    pub product: String,
    #[serde(default)]
    pub vulnerability_name: String,
    /// `YYYY-MM-DD`.
    pub date_added: String,
    #[serde(default)]
    pub short_description: String,
    #[serde(default)]
    pub required_action: String,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    pub due_date: String,
    /// `Known` or `Unknown`.
    #[serde(default)]
    pub known_ransomware_campaign_use: String,
    #[serde(default)]
    pub notes: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub cwes: Vec<String>,
}

/// A FIRST EPSS score for one CVE.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Epss {
    /// Probability of exploitation activity in the next 30 days, 0..=1.
    pub score: f64,
    /// Percentile of `score` among all scored CVEs, 0..=1.
    pub percentile: f64,
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// The package name as the database indexes it, per ecosystem: PEP 503 for
/// PyPI, lowercase for NuGet, Packagist, Hex and Pub (case-insensitive
/// registries), as written elsewhere (npm, crates.io, Go, Maven, RubyGems and
/// distro packages are case-sensitive, and crates.io keeps `-` and `_`
/// distinct).
pub fn normalize_name(ecosystem: &str, name: &str) -> String {
    match ecosystem_base(ecosystem) {
        "PyPI" => pep503(name),
        "NuGet" | "Packagist" | "Hex" | "Pub" => name.to_ascii_lowercase(),
        _ => name.to_owned(),
    }
}

/// PEP 503: lowercase, runs of `-`, `_` and `.` become one `-`.
fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut in_run = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_run = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pep503_names() {
        assert_eq!(normalize_name("PyPI", "Foo.Bar__baz-"), "foo-bar-baz-");
        assert_eq!(normalize_name("PyPI", "PyYAML"), "pyyaml");
        assert_eq!(normalize_name("crates.io", "serde_json"), "serde_json");
        assert_eq!(
            normalize_name("NuGet", "Newtonsoft.Json"),
            "newtonsoft.json"
        );
    }

    #[test]
    fn events_and_nulls() {
        let json = r#"{"id":"X-1","modified":"2024-01-01T00:00:00Z","aliases":null,
            "affected":[{"package":{"ecosystem":"PyPI","name":"a"},"ranges":[{"type":"ECOSYSTEM",
            "events":[{"introduced":"0"},{"fixed":"1.0"},{"last_affected":"0.9"},{"limit":"2"}]}]}],
            "unknown_field": 3}"#;
        let advisory: Advisory = serde_json::from_str(json).unwrap();
        assert!(advisory.aliases.is_empty());
        let events = &advisory.affected[0].ranges[0].events;
        assert_eq!(events[1], Event::Fixed("1.0".into()));
        assert_eq!(events[2], Event::LastAffected("0.9".into()));
        let bad = json.replace("ECOSYSTEM", "WHATEVER");
        assert!(serde_json::from_str::<Advisory>(&bad).is_err());
    }
}

//! Matching packages against the advisory database.
//!
//! - OS packages are looked up in their distro release's ecosystem
//!   (`Debian:12`, `Alpine:v3.19`, …) under their SOURCE package: a deb's
//!   `Source:` name and version (a binNMU `+bN` suffix of a binary version
//!   is dropped when no source version is recorded), an apk's origin, an
//!   rpm's source rpm.
//! - Language packages are looked up in their OSV ecosystem under the name
//!   the database normalises (PEP 503 for PyPI, …); Maven names are
//!   `group:artifact`, Go, npm and Packagist names carry their namespace.
//! - A language package whose metadata file is owned by an OS package (a
//!   Python module installed by a .deb) is not matched against language
//!   advisories: the distro's advisories for the owning package cover it.
//! - OSV semantics: `ECOSYSTEM` and `SEMVER` ranges are evaluated with the
//!   ecosystem's exact ordering (drydock-version); `GIT` ranges are not
//!   version ranges and are ignored (the `versions` list covers them);
//!   `introduced`/`fixed`/`last_affected`/`limit` as the OSV spec's
//!   evaluation algorithm; explicit `versions` lists; withdrawn records are
//!   skipped.
//! - Records about the same vulnerability (overlapping id/aliases/upstream)
//!   that match the same package are merged: one finding per
//!   (vulnerability, package).
use std::collections::{BTreeSet, HashMap, HashSet};

use drydock_core::{Distro, Package, PackageKind};
use drydock_version::Ecosystem;
use serde_json::Value;

use crate::database::Database;
use crate::error::DbError;
use crate::finding::{
    CvssScore, EpssInfo, Finding, FindingPackage, FixState, KevInfo, MatchedVia, ScannedPackage,
    SeverityLevel, sort_by_priority,
};
use crate::model::{Advisory, Affected, Event, Range, RangeKind, normalize_name};

/// Data sources whose record ids are drydock's storage keys, not
/// vulnerability ids (`DEBIAN:12/openssl/CVE-…`).
const DISTRO_SOURCES: &[&str] = &[
    "debian-security-tracker",
    "alpine-secdb",
    "wolfi-secdb",
    "chainguard-secdb",
];

/// Findings and the per-package record of what was looked up.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchOutcome {
    /// In priority order ([`crate::Finding::priority_cmp`]).
    pub findings: Vec<Finding>,
    /// One entry per input package, in input order.
    pub packages: Vec<ScannedPackage>,
}

/// What one package is looked up as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Ecosystems to look in, most specific first (`Ubuntu:22.04:LTS`,
    /// `Ubuntu:22.04`).
    pub ecosystems: Vec<String>,
    pub name: String,
    pub version: String,
    pub scheme: Ecosystem,
}

/// The OSV ecosystems of a distro release: `Debian:12`, `Alpine:v3.19`,
/// `Ubuntu:22.04`, `Wolfi`, … (empty when drydock has no mapping).
pub fn distro_ecosystems(distro: &Distro) -> Vec<String> {
    let id = distro.id.to_ascii_lowercase();
    let version = distro.version_id.as_str();
    let major_minor = || {
        let mut parts = version.split('.');
        match (parts.next(), parts.next()) {
            (Some(major), Some(minor)) => format!("{major}.{minor}"),
            (Some(major), None) => major.to_owned(),
            _ => String::new(),
        }
    };
    let major = version.split('.').next().unwrap_or_default();
    match id.as_str() {
        "debian" => {
            let release = if version.is_empty() {
                distro
                    .version_codename
                    .as_deref()
                    .map_or("sid", crate::import::debian_release_number)
                    .to_owned()
            } else {
                major.to_owned()
            };
            vec![format!("Debian:{release}")]
        }
        "ubuntu" => {
            vec![format!("Ubuntu:{version}:LTS"), format!("Ubuntu:{version}")]
        }
        "alpine" if !version.is_empty() => vec![format!("Alpine:v{}", major_minor())],
        "wolfi" => vec!["Wolfi".to_owned()],
        "chainguard" => vec!["Chainguard".to_owned()],
        "rocky" if !major.is_empty() => vec![format!("Rocky Linux:{major}")],
        "almalinux" if !major.is_empty() => vec![format!("AlmaLinux:{major}")],
        "mageia" if !major.is_empty() => vec![format!("Mageia:{major}")],
        "opensuse-leap" if !version.is_empty() => vec![format!("openSUSE:Leap {version}")],
        _ => Vec::new(),
    }
}

/// How `package` is looked up, or why it is not.
pub fn query_for(package: &Package, distro: Option<&Distro>) -> Result<Query, String> {
    if package.kind.is_os() {
        let Some(distro) = distro else {
            return Err(format!(
                "{} package without a known distro release",
                package.kind.as_str()
            ));
        };
        let ecosystems = distro_ecosystems(distro);
        let Some(first) = ecosystems.first() else {
            return Err(format!(
                "no advisory ecosystem for distro `{}`",
                distro.purl_qualifier()
            ));
        };
        let scheme = first
            .parse::<Ecosystem>()
            .map_err(|error| error.to_string())?;
        let (name, version) = match (&package.kind, &package.source) {
            (PackageKind::Deb, Some(source)) => {
                let version = if source.version == package.version {
                    strip_binnmu(&source.version).to_owned()
                } else {
                    source.version.clone()
                };
                (source.name.clone(), version)
            }
            (PackageKind::Deb, None) => (
                package.name.clone(),
                strip_binnmu(&package.version).to_owned(),
            ),
            (PackageKind::Apk, Some(source)) => (source.name.clone(), package.version.clone()),
            (PackageKind::Rpm, Some(source)) => (source.name.clone(), source.version.clone()),
            _ => (package.name.clone(), package.version.clone()),
        };
        return Ok(Query {
            ecosystems,
            name,
            version,
            scheme,
        });
    }
    if !package.installed && package.purl.version().is_none() {
        return Err(if package.version.is_empty() {
            "declared without a version: not matched".to_owned()
        } else {
            format!(
                "declared as `{}`, not an exact version: not matched",
                package.version
            )
        });
    }
    let Some(ecosystem) = package.kind.language_ecosystem() else {
        return Err(format!(
            "no advisory ecosystem for {} packages",
            package.kind.as_str()
        ));
    };
    let scheme = ecosystem
        .parse::<Ecosystem>()
        .map_err(|error| error.to_string())?;
    let namespace = package
        .purl
        .namespace()
        .filter(|namespace| !namespace.is_empty());
    let name = match (package.kind, namespace) {
        (PackageKind::Maven, Some(group)) => format!("{group}:{}", package.purl.name()),
        (PackageKind::Golang | PackageKind::Npm | PackageKind::Composer, Some(namespace)) => {
            format!("{namespace}/{}", package.purl.name())
        }
        _ => package.name.clone(),
    };
    // The purl's version is the one to look up: an SBOM written by another
    // tool may show another (Syft's Go toolchain is `go1.21.3`, its purl
    // `1.21.3`); drydock's catalogers write the same in both.
    let version = package.purl.version().unwrap_or(&package.version);
    let version = match package.kind {
        PackageKind::Golang => version.strip_prefix('v').unwrap_or(version).to_owned(),
        _ => version.to_owned(),
    };
    Ok(Query {
        ecosystems: vec![ecosystem.to_owned()],
        name,
        version,
        scheme,
    })
}

/// `1.20.7-10+b1` → `1.20.7-10`: a binNMU rebuilds the same source.
pub fn strip_binnmu(version: &str) -> &str {
    match version.rsplit_once("+b") {
        Some((base, build)) if !build.is_empty() && build.bytes().all(|b| b.is_ascii_digit()) => {
            base
        }
        _ => version,
    }
}

/// Matches every package against `db`.
pub fn match_packages(
    db: &Database,
    packages: &[Package],
    distro: Option<&Distro>,
) -> Result<MatchOutcome, DbError> {
    // Files owned by OS packages: language packages declared there are the
    // distro's to report.
    let owned: HashSet<&[u8]> = packages
        .iter()
        .filter(|package| package.kind.is_os())
        .flat_map(|package| package.files.iter().map(|file| file.path.as_bytes()))
        .collect();
    let mut findings = Vec::new();
    let mut scanned = Vec::with_capacity(packages.len());
    for package in packages {
        let location = package
            .locations
            .first()
            .map(|location| location.path.to_display());
        let mut entry = ScannedPackage {
            name: package.name.clone(),
            version: package.version.clone(),
            kind: package.kind.as_str().to_owned(),
            purl: package.purl.to_string(),
            ecosystem: None,
            location: location.clone(),
            note: None,
        };
        let query = match query_for(package, distro) {
            Ok(query) => query,
            Err(reason) => {
                entry.note = Some(reason);
                scanned.push(entry);
                continue;
            }
        };
        if !package.kind.is_os()
            && !package.locations.is_empty()
            && package
                .locations
                .iter()
                .any(|location| owned.contains(location.path.as_bytes()))
        {
            entry.note =
                Some("installed by an OS package: covered by the distro's advisories".to_owned());
            scanned.push(entry);
            continue;
        }
        let mut ecosystem_used = query.ecosystems.first().cloned().unwrap_or_default();
        let mut matched: Vec<(&Advisory, AffectedMatch)> = Vec::new();
        for ecosystem in &query.ecosystems {
            let advisories = db.advisories(ecosystem, &query.name)?;
            if advisories.is_empty() {
                continue;
            }
            ecosystem_used.clone_from(ecosystem);
            let key = normalize_name(ecosystem, &query.name);
            let comparable = Comparable::default();
            for advisory in advisories {
                if advisory.is_withdrawn() {
                    continue;
                }
                if let Some(found) = match_advisory(advisory, ecosystem, &key, &query, &comparable)
                {
                    matched.push((advisory, found));
                }
            }
            break;
        }
        entry.ecosystem = Some(ecosystem_used.clone());
        scanned.push(entry);
        let target = FindingPackage {
            name: package.name.clone(),
            version: package.version.clone(),
            ecosystem: ecosystem_used,
            purl: package.purl.to_string(),
            location,
        };
        let via = MatchedVia {
            name: query.name.clone(),
            version: query.version.clone(),
        };
        for group in group_by_vulnerability(matched) {
            findings.push(build_finding(db, &target, &via, &query, &group));
        }
    }
    sort_by_priority(&mut findings);
    Ok(MatchOutcome {
        findings,
        packages: scanned,
    })
}

/// What matched in one advisory.
#[derive(Debug, Clone, Default)]
struct AffectedMatch {
    /// The `fixed` versions that close the intervals the version is in.
    fixed: Vec<String>,
    /// `database_specific.state` of the matching distro entry.
    state: Option<String>,
    /// The matching `affected` entries (for per-entry severity).
    affected: Vec<usize>,
}

/// Whether the queried version is comparable under each range type's
/// ordering, computed once per query (`None`: not yet known).
#[derive(Default)]
struct Comparable {
    ecosystem: std::cell::Cell<Option<bool>>,
    semver: std::cell::Cell<Option<bool>>,
}

impl Comparable {
    fn check(&self, compare: RangeCompare, version: &str) -> bool {
        let cell = match compare {
            RangeCompare::Ecosystem(_) => &self.ecosystem,
            RangeCompare::Semver(_) => &self.semver,
        };
        if let Some(known) = cell.get() {
            return known;
        }
        let known = compare.compare(version, version).is_some();
        cell.set(Some(known));
        known
    }
}

fn match_advisory(
    advisory: &Advisory,
    ecosystem: &str,
    key: &str,
    query: &Query,
    comparable: &Comparable,
) -> Option<AffectedMatch> {
    let mut found: Option<AffectedMatch> = None;
    for (index, affected) in advisory.affected.iter().enumerate() {
        if affected.package.ecosystem != ecosystem
            || (affected.package.name != key
                && normalize_name(ecosystem, &affected.package.name) != key)
        {
            continue;
        }
        let Some(fixed) = affected_by(affected, query, comparable) else {
            continue;
        };
        let slot = found.get_or_insert_with(AffectedMatch::default);
        slot.fixed.extend(fixed);
        slot.affected.push(index);
        if slot.state.is_none() {
            slot.state = affected.state().map(str::to_owned);
        }
    }
    found
}

/// `Some(fixed versions of the matching intervals)` when `query.version` is
/// affected by this entry.
fn affected_by(affected: &Affected, query: &Query, comparable: &Comparable) -> Option<Vec<String>> {
    let version = query.version.as_str();
    let mut hit = affected.versions.iter().any(|listed| {
        listed == version
            || (query.scheme == Ecosystem::Go
                && listed.strip_prefix('v').unwrap_or(listed) == version)
    });
    let mut fixed = Vec::new();
    for range in &affected.ranges {
        let compare = match range.kind {
            RangeKind::Git => continue,
            RangeKind::Ecosystem => RangeCompare::Ecosystem(query.scheme),
            RangeKind::Semver => RangeCompare::Semver(query.scheme),
        };
        if !comparable.check(compare, version) {
            // The version itself must be comparable, else the range says
            // nothing.
            continue;
        }
        if let Some(closing) = in_range(range, version, compare) {
            hit = true;
            fixed.extend(closing);
        }
    }
    hit.then_some(fixed)
}

#[derive(Clone, Copy)]
enum RangeCompare {
    Ecosystem(Ecosystem),
    Semver(Ecosystem),
}

impl RangeCompare {
    fn compare(self, a: &str, b: &str) -> Option<std::cmp::Ordering> {
        match self {
            RangeCompare::Ecosystem(scheme) => drydock_version::compare(scheme, a, b).ok(),
            RangeCompare::Semver(Ecosystem::Go) => drydock_version::semver::compare_go(a, b).ok(),
            RangeCompare::Semver(_) => drydock_version::semver::compare_cargo(a, b)
                .or_else(|_| drydock_version::semver::compare_npm(a, b))
                .ok(),
        }
    }
}

/// The OSV evaluation of one range: events sorted by version (`introduced:
/// 0` first), the last event at or below the version decides; `limit`s cap
/// the range. `Some(closing fixed versions)` when affected. The caller
/// checks that `version` itself is comparable.
fn in_range(range: &Range, version: &str, compare: RangeCompare) -> Option<Vec<String>> {
    use std::cmp::Ordering::{Equal, Greater, Less};
    // The common shape `introduced: 0, fixed: X`, when `version` and `X`
    // compare: the general evaluation below gives exactly this.
    if let [Event::Introduced(zero), Event::Fixed(end)] = range.events.as_slice()
        && zero == "0"
        && let Some(order) = compare.compare(version, end)
    {
        return (order == Less).then(|| vec![end.clone()]);
    }
    // `introduced: A, fixed: B` with A, B and `version` comparable and A not
    // above B: sorted as written; affected exactly when A <= version < B.
    if let [Event::Introduced(start), Event::Fixed(end)] = range.events.as_slice()
        && start != "0"
        && let Some(from_start) = compare.compare(version, start)
        && let Some(from_end) = compare.compare(version, end)
        && compare
            .compare(start, end)
            .is_some_and(|order| order != Greater)
    {
        return (from_start != Less && from_end == Less).then(|| vec![end.clone()]);
    }
    let limits: Vec<&str> = range
        .events
        .iter()
        .filter_map(|event| match event {
            Event::Limit(limit) if limit != "*" => Some(limit.as_str()),
            _ => None,
        })
        .collect();
    if !limits.is_empty()
        && !limits
            .iter()
            .any(|limit| compare.compare(version, limit) == Some(Less))
    {
        return None;
    }
    // Comparable events, sorted; "0" is below everything.
    let mut events: Vec<&Event> = range
        .events
        .iter()
        .filter(|event| !matches!(event, Event::Limit(_)))
        .filter(|event| {
            matches!(event, Event::Introduced(v) if v == "0")
                || compare.compare(event.version(), event.version()).is_some()
        })
        .collect();
    let order = |a: &&Event, b: &&Event| -> std::cmp::Ordering {
        let zero = |event: &Event| matches!(event, Event::Introduced(v) if v == "0");
        match (zero(a), zero(b)) {
            (true, true) => Equal,
            (true, false) => Less,
            (false, true) => Greater,
            (false, false) => compare.compare(a.version(), b.version()).unwrap_or(Equal),
        }
    };
    events.sort_by(order);
    let mut affected = false;
    let mut position = None;
    for (index, event) in events.iter().enumerate() {
        let applies = match event {
            Event::Introduced(start) => {
                start == "0" || compare.compare(version, start).is_some_and(|o| o != Less)
            }
            Event::Fixed(end) => compare.compare(version, end).is_some_and(|o| o != Less),
            Event::LastAffected(end) => compare.compare(version, end) == Some(Greater),
            Event::Limit(_) => false,
        };
        if !applies {
            continue;
        }
        affected = matches!(event, Event::Introduced(_));
        position = Some(index);
    }
    if !affected {
        return None;
    }
    // The fix that closes this interval: the next `fixed` event above.
    let start = position.map_or(0, |index| index.saturating_add(1));
    let closing = events
        .iter()
        .skip(start)
        .find_map(|event| match event {
            Event::Fixed(end) => Some(end.clone()),
            Event::Introduced(_) | Event::LastAffected(_) => Some(String::new()),
            Event::Limit(_) => None,
        })
        .filter(|end| !end.is_empty());
    Some(closing.into_iter().collect())
}

/// Matched records about one vulnerability.
type Group<'a> = Vec<(&'a Advisory, AffectedMatch)>;

/// Groups matched records that share any id (id, aliases, upstream):
/// union-find over the records, joined through a map from each id to the
/// first record that names it.
fn group_by_vulnerability(matched: Group<'_>) -> Vec<Group<'_>> {
    fn root(parents: &mut [usize], mut node: usize) -> usize {
        while let Some(&parent) = parents.get(node) {
            if parent == node {
                break;
            }
            // Path halving.
            let grandparent = parents.get(parent).copied().unwrap_or(parent);
            if let Some(slot) = parents.get_mut(node) {
                *slot = grandparent;
            }
            node = grandparent;
        }
        node
    }
    let mut parents: Vec<usize> = (0..matched.len()).collect();
    let mut first_with: HashMap<&str, usize> = HashMap::new();
    for (index, (advisory, _)) in matched.iter().enumerate() {
        let ids = std::iter::once(&advisory.id)
            .chain(&advisory.aliases)
            .chain(&advisory.upstream);
        for id in ids {
            let other = *first_with.entry(id.as_str()).or_insert(index);
            let (a, b) = (root(&mut parents, index), root(&mut parents, other));
            if a != b {
                let (low, high) = (a.min(b), a.max(b));
                if let Some(slot) = parents.get_mut(high) {
                    *slot = low;
                }
            }
        }
    }
    let roots: Vec<usize> = (0..matched.len())
        .map(|index| root(&mut parents, index))
        .collect();
    let mut slots: HashMap<usize, usize> = HashMap::new();
    let mut out: Vec<Group<'_>> = Vec::new();
    for (member, group_root) in matched.into_iter().zip(roots) {
        let slot = *slots.entry(group_root).or_insert_with(|| {
            out.push(Vec::new());
            out.len() - 1
        });
        if let Some(group) = out.get_mut(slot) {
            group.push(member);
        }
    }
    for members in &mut out {
        members.sort_by(|a, b| a.0.id.cmp(&b.0.id));
    }
    out.sort_by(|a, b| a.first().map(|m| &m.0.id).cmp(&b.first().map(|m| &m.0.id)));
    out
}

fn is_distro_record(advisory: &Advisory) -> bool {
    DISTRO_SOURCES.contains(&advisory.data_source.as_str())
}

/// The vulnerability id a record stands for: its own id, or for distro
/// records the upstream id (`CVE-…`, `TEMP-…`) it was made from.
fn vulnerability_id(advisory: &Advisory) -> &str {
    if is_distro_record(advisory) {
        if let Some(upstream) = advisory.upstream.first() {
            return upstream;
        }
        if let Some(alias) = advisory.aliases.first() {
            return alias;
        }
        // `DEBIAN:12/pkg/TEMP-…`: the last path segment.
        return advisory.id.rsplit('/').next().unwrap_or(&advisory.id);
    }
    &advisory.id
}

fn build_finding(
    db: &Database,
    package: &FindingPackage,
    via: &MatchedVia,
    query: &Query,
    group: &[(&Advisory, AffectedMatch)],
) -> Finding {
    // Primary id: a distro record's upstream id when a distro record
    // matched (the distro is the authority for its packages), else the
    // smallest record id (members are sorted by id).
    let primary = group
        .iter()
        .find(|(advisory, _)| is_distro_record(advisory))
        .or_else(|| group.first())
        .map(|(advisory, _)| vulnerability_id(advisory).to_owned())
        .unwrap_or_default();
    let mut ids: BTreeSet<String> = BTreeSet::new();
    for (advisory, _) in group {
        ids.insert(vulnerability_id(advisory).to_owned());
        ids.extend(advisory.aliases.iter().cloned());
        ids.extend(advisory.upstream.iter().cloned());
    }
    ids.remove(&primary);
    let records: Vec<String> = group
        .iter()
        .map(|(advisory, _)| advisory.id.clone())
        .collect();
    let mut sources: Vec<&str> = group
        .iter()
        .map(|(advisory, _)| advisory.data_source.as_str())
        .collect();
    sources.sort_unstable();
    sources.dedup();
    let summary = group
        .iter()
        .find_map(|(advisory, _)| advisory.summary.clone().filter(|s| !s.is_empty()));

    let mut fixed: Vec<String> = group
        .iter()
        .flat_map(|(_, found)| found.fixed.iter().cloned())
        .collect();
    fixed.sort_by(|a, b| drydock_version::compare(query.scheme, a, b).unwrap_or_else(|_| a.cmp(b)));
    fixed.dedup();
    let state = if fixed.is_empty() {
        if group
            .iter()
            .any(|(_, found)| found.state.as_deref() == Some("wont-fix"))
        {
            FixState::WontFix
        } else {
            FixState::NotFixed
        }
    } else {
        FixState::Fixed
    };

    let (severity, severity_source, cvss) = severity_of(group);

    let all_ids: Vec<&str> = std::iter::once(primary.as_str())
        .chain(ids.iter().map(String::as_str))
        .collect();
    let cves: Vec<&str> = all_ids
        .iter()
        .copied()
        .filter(|id| id.starts_with("CVE-"))
        .collect();
    let kev = cves
        .iter()
        .find_map(|cve| db.kev(cve))
        .map(|entry| KevInfo {
            cve: entry.cve_id.clone(),
            date_added: entry.date_added.clone(),
            due_date: entry.due_date.clone(),
            known_ransomware_campaign_use: entry.known_ransomware_campaign_use.clone(),
        });
    let epss = cves
        .iter()
        .filter_map(|cve| db.epss(cve).map(|epss| (cve, epss)))
        .max_by(|a, b| a.1.score.total_cmp(&b.1.score))
        .map(|(cve, epss)| EpssInfo {
            cve: (*cve).to_owned(),
            score: epss.score,
            percentile: epss.percentile,
        });
    let mut references: Vec<String> = group
        .iter()
        .flat_map(|(advisory, _)| advisory.references.iter())
        .filter(|reference| reference.kind == "ADVISORY")
        .map(|reference| reference.url.clone())
        .collect();
    references.dedup();

    Finding {
        id: primary,
        aliases: ids.into_iter().collect(),
        summary,
        package: package.clone(),
        matched_via: via.clone(),
        severity,
        severity_source,
        cvss,
        fixed_versions: fixed,
        state,
        kev,
        epss,
        data_source: sources.join(","),
        records,
        references,
        suppressed: None,
    }
}

/// Severity of a merged finding. A distro record's own rating wins (the
/// distro judged the issue for its build); otherwise the newest CVSS
/// version's base score (highest on ties); otherwise a label
/// (`database_specific.severity` as GHSA writes it, or a non-CVSS
/// `severity[]` entry); otherwise `unknown`.
fn severity_of(
    group: &[(&Advisory, AffectedMatch)],
) -> (SeverityLevel, Option<String>, Option<CvssScore>) {
    let mut vectors: Vec<CvssScore> = Vec::new();
    let mut distro_label: Option<(SeverityLevel, String)> = None;
    let mut other_label: Option<(SeverityLevel, String)> = None;
    for (advisory, found) in group {
        let entries = advisory.severity.iter().chain(
            found
                .affected
                .iter()
                .filter_map(|&index| advisory.affected.get(index))
                .flat_map(|affected| affected.severity.iter()),
        );
        for entry in entries {
            if entry.kind.starts_with("CVSS_") {
                if let Some(score) = cvss_score(&entry.score) {
                    vectors.push(score);
                }
                continue;
            }
            let Some(level) = SeverityLevel::from_label(&entry.score) else {
                continue;
            };
            let source = format!("{}-severity", entry.kind.to_ascii_lowercase());
            let slot = if is_distro_record(advisory) {
                &mut distro_label
            } else {
                &mut other_label
            };
            if slot.as_ref().is_none_or(|(known, _)| level > *known) {
                *slot = Some((
                    level,
                    if entry.kind == "Debian" {
                        "debian-urgency".to_owned()
                    } else {
                        source
                    },
                ));
            }
        }
        let label = advisory
            .database_specific
            .as_ref()
            .and_then(|specific| specific.get("severity"))
            .and_then(Value::as_str)
            .and_then(SeverityLevel::from_label);
        if let Some(level) = label
            && other_label.as_ref().is_none_or(|(known, _)| level > *known)
        {
            other_label = Some((level, "database-specific-severity".to_owned()));
        }
    }
    let best = vectors.into_iter().max_by(|a, b| {
        version_rank(&a.version)
            .cmp(&version_rank(&b.version))
            .then_with(|| a.base_score.total_cmp(&b.base_score))
    });
    if let Some((level, source)) = distro_label {
        return (level, Some(source), best);
    }
    if let Some(score) = &best {
        let level = SeverityLevel::from_cvss_score(score.base_score, score.version == "2.0");
        return (level, Some(format!("cvss-v{}", score.version)), best);
    }
    if let Some((level, source)) = other_label {
        return (level, Some(source), None);
    }
    (SeverityLevel::Unknown, None, None)
}

fn version_rank(version: &str) -> u8 {
    match version {
        "4.0" => 4,
        "3.1" => 3,
        "3.0" => 2,
        _ => 1,
    }
}

/// Base score of a CVSS vector (v2, v3.x, v4.0); `None` for a vector the
/// CVSS module rejects.
fn cvss_score(vector: &str) -> Option<CvssScore> {
    let score = crate::cvss::score(vector).ok()?;
    let version = match score.version {
        crate::cvss::Version::V2 => "2.0",
        crate::cvss::Version::V3_0 => "3.0",
        crate::cvss::Version::V3_1 => "3.1",
        crate::cvss::Version::V4 => "4.0",
    };
    Some(CvssScore {
        version: version.to_owned(),
        vector: vector.to_owned(),
        base_score: score.base_score,
    })
}

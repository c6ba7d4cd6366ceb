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

use crate::cve::{CveRecord, MetricTier};
use crate::database::Database;
use crate::error::DbError;
use crate::finding::{
    CvssScore, CvssVector, EpssInfo, Finding, FindingPackage, FixState, KevInfo, MatchedVia,
    ScannedPackage, SeverityLevel, sort_by_priority,
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
    /// Further (name, version) pairs looked up in the same ecosystems,
    /// after `name`: an rpm's source rpm (records of the RHEL family name
    /// binary packages, some sources name the source rpm).
    pub also: Vec<(String, String)>,
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
        // Ubuntu's OSV records: `Ubuntu:22.04:LTS` for LTS releases,
        // `Ubuntu:24.10` for interim ones, `Ubuntu:Pro:22.04:LTS` for what
        // Ubuntu Pro (ESM) fixes in the same release; all are searched.
        "ubuntu" if !version.is_empty() => vec![
            format!("Ubuntu:{version}:LTS"),
            format!("Ubuntu:Pro:{version}:LTS"),
            format!("Ubuntu:{version}"),
        ],
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
            (PackageKind::Rpm, Some(source)) if !rpm_binary_first(first) => {
                (source.name.clone(), source.version.clone())
            }
            _ => (package.name.clone(), package.version.clone()),
        };
        let mut also = Vec::new();
        if let (PackageKind::Rpm, Some(source)) = (&package.kind, &package.source)
            && rpm_binary_first(first)
            && source.name != package.name
        {
            // A source rpm's file name has no epoch: the binary's applies.
            let version = match package.version.split_once(':') {
                Some((epoch, _)) if !source.version.contains(':') => {
                    format!("{epoch}:{}", source.version)
                }
                _ => source.version.clone(),
            };
            also.push((source.name.clone(), version));
        }
        return Ok(Query {
            ecosystems,
            name,
            version,
            scheme,
            also,
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
        also: Vec::new(),
    })
}

/// Ecosystems whose records name binary rpms (`openssl-libs`) with their
/// full `epoch:version-release`: AlmaLinux and Rocky Linux.
fn rpm_binary_first(ecosystem: &str) -> bool {
    matches!(
        crate::model::ecosystem_base(ecosystem),
        "AlmaLinux" | "Rocky Linux"
    )
}

/// An rpm release built for a module stream (`…module_el8.6.0+…`,
/// `…module+el8…`).
fn is_modular(version: &str) -> bool {
    version.contains(".module") || version.contains("module+")
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
        let mut ecosystem_used: Option<String> = None;
        let mut matched: Vec<(&Advisory, AffectedMatch)> = Vec::new();
        let lookups = std::iter::once((query.name.as_str(), query.version.as_str())).chain(
            query
                .also
                .iter()
                .map(|(name, version)| (name.as_str(), version.as_str())),
        );
        for (name, version) in lookups {
            let lookup = Query {
                name: name.to_owned(),
                version: version.to_owned(),
                ecosystems: Vec::new(),
                scheme: query.scheme,
                also: Vec::new(),
            };
            let comparable = Comparable::default();
            for ecosystem in &query.ecosystems {
                let advisories = db.advisories(ecosystem, name)?;
                if advisories.is_empty() {
                    continue;
                }
                if ecosystem_used.is_none() {
                    ecosystem_used = Some(ecosystem.clone());
                }
                let key = normalize_name(ecosystem, name);
                for advisory in advisories {
                    if advisory.is_withdrawn() {
                        continue;
                    }
                    let Some(found) =
                        match_advisory(advisory, ecosystem, &key, &lookup, &comparable)
                    else {
                        continue;
                    };
                    // One record found again (another ecosystem of the same
                    // release, or under the source name): one match.
                    if let Some((_, existing)) = matched.iter_mut().find(|(known, _)| {
                        std::ptr::eq(*known, advisory) || known.id == advisory.id
                    }) {
                        existing.fixed.extend(found.fixed);
                        existing.affected.extend(found.affected);
                        if existing.state.is_none() {
                            existing.state = found.state;
                        }
                    } else {
                        matched.push((advisory, found));
                    }
                }
            }
        }
        let ecosystem_used = ecosystem_used
            .or_else(|| query.ecosystems.first().cloned())
            .unwrap_or_default();
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
            findings.push(build_finding(db, &target, &via, &query, &group)?);
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
        if query.scheme == Ecosystem::RedHat {
            // Module streams are versioned apart: a modular fix says
            // nothing about the non-modular package and the reverse.
            let installed = is_modular(&query.version);
            let listed = affected
                .ranges
                .iter()
                .flat_map(|range| &range.events)
                .map(Event::version)
                .filter(|version| *version != "0")
                .any(is_modular);
            if installed != listed {
                continue;
            }
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
///
/// A notice naming several upstream vulnerabilities (an Ubuntu `USN-…`
/// with `upstream: [UBUNTU-CVE-A, UBUNTU-CVE-B]`) does not join them: it is
/// added to the group of each vulnerability it names that matched, and
/// forms its own group only when none did.
fn group_by_vulnerability(matched: Group<'_>) -> Vec<Group<'_>> {
    let is_notice = |advisory: &Advisory| advisory.upstream.len() > 1;
    let (notices, matched): (Group<'_>, Group<'_>) = matched
        .into_iter()
        .partition(|(advisory, _)| is_notice(advisory));
    let mut out = group_records(matched);
    for (notice, found) in notices {
        let mut placed = false;
        for group in &mut out {
            let names_member = group.iter().any(|(member, _)| {
                notice.upstream.iter().any(|id| {
                    *id == member.id || member.aliases.contains(id) || member.upstream.contains(id)
                })
            });
            if names_member {
                group.push((notice, found.clone()));
                group.sort_by(|a, b| a.0.id.cmp(&b.0.id));
                placed = true;
            }
        }
        if !placed {
            out.push(vec![(notice, found)]);
        }
    }
    out.sort_by(|a, b| a.first().map(|m| &m.0.id).cmp(&b.first().map(|m| &m.0.id)));
    out
}

fn group_records(matched: Group<'_>) -> Vec<Group<'_>> {
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
) -> Result<Finding, DbError> {
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
        // A notice's upstream ids are other vulnerabilities too.
        if advisory.upstream.len() <= 1 {
            ids.extend(advisory.upstream.iter().cloned());
        }
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

    // The CVEs the records describe, and what NVD / CVE records say about
    // them.
    let mut described: Vec<String> = group
        .iter()
        .flat_map(|(advisory, _)| advisory.described_cves())
        .collect();
    described.sort();
    described.dedup();
    let mut cve_records: Vec<&CveRecord> = Vec::new();
    for cve in &described {
        cve_records.extend(db.cve(cve)?);
    }
    let severity = severity_of(group, &cve_records);
    // CVEs named only in `related` (ALSA notices, older Ubuntu records)
    // are listed with the other ids.
    for cve in &described {
        if *cve != primary {
            ids.insert(cve.clone());
        }
    }
    let summary = summary.or_else(|| {
        cve_records
            .iter()
            .find_map(|record| record.description.clone())
    });
    let mut cwes: Vec<String> = cve_records
        .iter()
        .flat_map(|record| record.cwes.iter().cloned())
        .collect();
    cwes.sort();
    cwes.dedup();
    let published = cve_records
        .iter()
        .filter_map(|record| record.published.clone())
        .min_by(|a, b| crate::time::compare_times(a, b))
        .or_else(|| {
            group
                .iter()
                .filter_map(|(advisory, _)| advisory.published.clone())
                .min_by(|a, b| crate::time::compare_times(a, b))
        });

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

    Ok(Finding {
        id: primary,
        aliases: ids.into_iter().collect(),
        summary,
        package: package.clone(),
        matched_via: via.clone(),
        severity: severity.level,
        severity_source: severity.source,
        severity_provider: severity.provider,
        cvss: severity.cvss,
        cvss_vectors: severity.vectors,
        cwes,
        published,
        fixed_versions: fixed,
        state,
        kev,
        epss,
        data_source: sources.join(","),
        records,
        references,
        suppressed: None,
    })
}

/// What decided a finding's severity, and every vector seen.
struct SeverityOutcome {
    level: SeverityLevel,
    source: Option<String>,
    provider: Option<String>,
    cvss: Option<CvssScore>,
    vectors: Vec<CvssVector>,
}

/// Severity of a merged finding, in this order (docs/scan-json.md):
/// 1. the distribution's own rating of a matched record (Debian urgency,
///    Ubuntu priority): the distro judged the issue for its build;
/// 2. the matched records' own CVSS vectors (newest CVSS version, highest
///    score on ties);
/// 3. the matched records' own label (`database_specific.severity` as GHSA
///    writes it, a non-CVSS `severity[]` entry);
/// 4. NVD's own vectors (`Primary`) of the finding's CVEs, then the CNA's
///    (NVD `Secondary`, the CVE record's `cna` container), then an ADP's
///    (e.g. CISA's), each tier as in 2;
/// 5. otherwise `unknown` — never guessed.
fn severity_of(group: &[(&Advisory, AffectedMatch)], cves: &[&CveRecord]) -> SeverityOutcome {
    let mut vectors: Vec<CvssVector> = Vec::new();
    let mut own: Vec<(CvssScore, String)> = Vec::new();
    let mut distro_label: Option<(SeverityLevel, String, String)> = None;
    let mut other_label: Option<(SeverityLevel, String, String)> = None;
    let keep_highest = |slot: &mut Option<(SeverityLevel, String, String)>,
                        level: SeverityLevel,
                        source: String,
                        provider: &str| {
        if slot.as_ref().is_none_or(|(known, _, _)| level > *known) {
            *slot = Some((level, source, provider.to_owned()));
        }
    };
    for (advisory, found) in group {
        let matched_entries = || {
            found
                .affected
                .iter()
                .filter_map(|&index| advisory.affected.get(index))
        };
        let entries = advisory
            .severity
            .iter()
            .chain(matched_entries().flat_map(|affected| affected.severity.iter()));
        for entry in entries {
            if entry.kind.starts_with("CVSS_") {
                let score = cvss_score(&entry.score);
                if !vectors.iter().any(|known| {
                    known.origin == "advisory"
                        && known.vector == entry.score
                        && known.source == advisory.data_source
                }) {
                    vectors.push(CvssVector {
                        origin: "advisory".to_owned(),
                        source: advisory.data_source.clone(),
                        kind: None,
                        cve: None,
                        version: score.as_ref().map_or_else(
                            || entry.kind.trim_start_matches("CVSS_V").to_owned(),
                            |score| score.version.clone(),
                        ),
                        vector: entry.score.clone(),
                        base_score: score.as_ref().map(|score| score.base_score),
                        stated_score: None,
                    });
                }
                if let Some(score) = score {
                    own.push((score, advisory.data_source.clone()));
                }
                continue;
            }
            let Some(level) = SeverityLevel::from_label(&entry.score) else {
                continue;
            };
            match entry.kind.as_str() {
                "Debian" => keep_highest(
                    &mut distro_label,
                    level,
                    "debian-urgency".to_owned(),
                    &advisory.data_source,
                ),
                "Ubuntu" => keep_highest(
                    &mut distro_label,
                    level,
                    "ubuntu-priority".to_owned(),
                    &advisory.data_source,
                ),
                kind => {
                    let source = format!("{}-severity", kind.to_ascii_lowercase());
                    let slot = if is_distro_record(advisory) {
                        &mut distro_label
                    } else {
                        &mut other_label
                    };
                    keep_highest(slot, level, source, &advisory.data_source);
                }
            }
        }
        // Ubuntu's priority of the matched package (`untriaged` is none).
        for affected in matched_entries() {
            if let Some(level) = affected
                .ecosystem_specific
                .as_ref()
                .and_then(|specific| specific.get("ubuntu_priority"))
                .and_then(Value::as_str)
                .and_then(SeverityLevel::from_label)
            {
                keep_highest(
                    &mut distro_label,
                    level,
                    "ubuntu-priority".to_owned(),
                    &advisory.data_source,
                );
            }
        }
        let label = advisory
            .database_specific
            .as_ref()
            .and_then(|specific| specific.get("severity"))
            .and_then(Value::as_str)
            .and_then(SeverityLevel::from_label);
        if let Some(level) = label {
            keep_highest(
                &mut other_label,
                level,
                "database-specific-severity".to_owned(),
                &advisory.data_source,
            );
        }
    }
    let mut tiers: [Vec<(CvssScore, String)>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for cve in cves {
        for metric in &cve.metrics {
            let score = cvss_score(&metric.vector);
            vectors.push(CvssVector {
                origin: metric.tier.as_str().to_owned(),
                source: metric.source.clone(),
                kind: Some(metric.kind.clone()),
                cve: Some(cve.id.clone()),
                version: metric.version.clone(),
                vector: metric.vector.clone(),
                base_score: score.as_ref().map(|score| score.base_score),
                stated_score: metric.base_score,
            });
            let slot = match metric.tier {
                MetricTier::Nvd => &mut tiers[0],
                MetricTier::Cna => &mut tiers[1],
                MetricTier::Adp => &mut tiers[2],
            };
            if let Some(score) = score {
                slot.push((score, metric.source.clone()));
            }
        }
    }
    let best = |candidates: Vec<(CvssScore, String)>| {
        candidates.into_iter().max_by(|a, b| {
            version_rank(&a.0.version)
                .cmp(&version_rank(&b.0.version))
                .then_with(|| a.0.base_score.total_cmp(&b.0.base_score))
        })
    };
    let own_best = best(own);
    let outcome = |level, source: String, provider: String, cvss| SeverityOutcome {
        level,
        source: Some(source),
        provider: Some(provider),
        cvss,
        vectors: Vec::new(),
    };
    let mut result = if let Some((level, source, provider)) = distro_label {
        outcome(level, source, provider, own_best.map(|(score, _)| score))
    } else if let Some((score, provider)) = own_best {
        let level = SeverityLevel::from_cvss_score(score.base_score, score.version == "2.0");
        outcome(
            level,
            format!("cvss-v{}", score.version),
            provider,
            Some(score),
        )
    } else if let Some((level, source, provider)) = other_label {
        outcome(level, source, provider, None)
    } else {
        let [nvd, cna, adp] = tiers;
        let decided = [("nvd", nvd), ("cna", cna), ("adp", adp)]
            .into_iter()
            .find_map(|(tier, candidates)| best(candidates).map(|found| (tier, found)));
        match decided {
            Some((tier, (score, provider))) => {
                let level =
                    SeverityLevel::from_cvss_score(score.base_score, score.version == "2.0");
                outcome(
                    level,
                    format!("{tier}-cvss-v{}", score.version),
                    provider,
                    Some(score),
                )
            }
            None => SeverityOutcome {
                level: SeverityLevel::Unknown,
                source: None,
                provider: None,
                cvss: None,
                vectors: Vec::new(),
            },
        }
    };
    result.vectors = vectors;
    result
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

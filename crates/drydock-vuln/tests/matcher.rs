//! The matcher against real advisories and real installed packages, with
//! expectations computed independently of the code under test:
//! - PyPI: old wheels pip-installed into a test root (the Python fixture of
//!   drydock-catalog), matched against ../shared/data/osv/PyPI; expected =
//!   the records whose `affected[].versions` list the installed version.
//! - crates.io: a Cargo.lock of real crates (the Rust fixture), matched
//!   against ../shared/data/osv/crates.io; expected = what `cargo audit`
//!   reports for the same lock file from the same RustSec data.
//! - Debian: the real Debian image fixture's dpkg database (as `dpkg-query`
//!   lists it) against a crafted tracker JSON; expected = the tracker's
//!   states evaluated with `dpkg --compare-versions`.
//! - OSV semantics on small constructed records (events, limits, versions
//!   lists, withdrawn, alias merging, severity, KEV/EPSS, distro ownership).
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use drydock_core::{
    Distro, ImagePath, Location, OwnedFile, Package, PackageKind, Purl, SourcePackage,
};
use drydock_vuln::{Database, Epss, FixState, KevEntry, SeverityLevel, match_packages};
use serde_json::{Value, json};

#[path = "../../drydock-catalog/tests/fixtures/rust/fixture.rs"]
mod rust_fixture;

fn shared_data() -> Option<PathBuf> {
    let dir = drydock_test::workspace_root().join("../shared/data");
    if dir.join("osv/PyPI").is_dir() {
        Some(dir)
    } else {
        drydock_test::missing(&format!("the shared advisory data in {}", dir.display()));
        None
    }
}

fn import(paths: &[PathBuf]) -> (tempfile::TempDir, Database) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    Database::import_at(&dir, paths, 1_700_000_000).unwrap();
    let db = Database::open(&dir).unwrap();
    (tmp, db)
}

fn package(kind: PackageKind, name: &str, version: &str) -> Package {
    Package {
        name: name.to_owned(),
        version: version.to_owned(),
        kind,
        purl: Purl::new(kind.as_str(), name).with_version(version),
        arch: None,
        source: None,
        licenses: Vec::new(),
        maintainer: None,
        installed_size: None,
        checksum: None,
        installed: true,
        locations: Vec::new(),
        layer: None,
        files: Vec::new(),
    }
}

/// PEP 503, written here independently of the crate's.
fn pep503(name: &str) -> String {
    let mut out = String::new();
    let mut last_sep = false;
    for c in name.chars() {
        if c == '-' || c == '_' || c == '.' {
            if !last_sep {
                out.push('-');
            }
            last_sep = true;
        } else {
            out.push(c.to_ascii_lowercase());
            last_sep = false;
        }
    }
    out
}

// ------------------------------------------------------------------ PyPI

/// The Python fixture's root (built by drydock-catalog's script, cached).
fn python_fixture() -> Option<PathBuf> {
    let script = drydock_test::workspace_root()
        .join("crates/drydock-catalog/tests/fixtures/python/build-site-packages.sh");
    let key = &drydock_test::sha256_hex(&std::fs::read(&script).unwrap())[..16];
    let dir = drydock_test::fixture_cache().join(format!("python-{key}"));
    if dir.join(".complete").exists() {
        return Some(dir);
    }
    if !drydock_test::require_tools(&["python3", "bash"]) {
        return None;
    }
    let staging = drydock_test::fixture_cache().join(format!("python-{key}.matcher-partial"));
    let _ = std::fs::remove_dir_all(&staging);
    let status = Command::new("bash")
        .arg(&script)
        .arg(&staging)
        .status()
        .unwrap();
    assert!(status.success(), "build-site-packages.sh failed");
    std::fs::File::create(staging.join(".complete")).unwrap();
    if !dir.join(".complete").exists() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&staging, &dir).unwrap();
    }
    Some(dir)
}

/// `(name, version)` of what pip says is installed.
fn pip_installed(dir: &Path) -> Vec<(String, String)> {
    let inspect: Value =
        serde_json::from_slice(&std::fs::read(dir.join("pip-inspect.json")).unwrap()).unwrap();
    inspect["installed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["metadata"]["name"].as_str().unwrap().to_owned(),
                entry["metadata"]["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Expected: (record id, normalised name, version) for every non-withdrawn
/// record whose `affected[].versions` for the package lists the version.
fn expected_from_versions_lists(
    osv_dir: &Path,
    installed: &[(String, String)],
) -> BTreeSet<(String, String, String)> {
    let wanted: BTreeMap<String, &str> = installed
        .iter()
        .map(|(name, version)| (pep503(name), version.as_str()))
        .collect();
    let mut expected = BTreeSet::new();
    for entry in std::fs::read_dir(osv_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let record: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        if record.get("withdrawn").is_some_and(|w| !w.is_null()) {
            continue;
        }
        for affected in record["affected"].as_array().into_iter().flatten() {
            let name = pep503(affected["package"]["name"].as_str().unwrap());
            let Some(version) = wanted.get(&name) else {
                continue;
            };
            let listed = affected["versions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|v| v.as_str() == Some(version));
            if listed {
                expected.insert((
                    record["id"].as_str().unwrap().to_owned(),
                    name,
                    (*version).to_owned(),
                ));
            }
        }
    }
    expected
}

#[test]
fn pypi_findings_equal_the_osv_versions_lists() {
    let Some(data) = shared_data() else { return };
    let Some(fixture) = python_fixture() else {
        return;
    };
    let installed = pip_installed(&fixture);
    assert!(installed.len() >= 20, "{installed:?}");
    let expected = expected_from_versions_lists(&data.join("osv/PyPI"), &installed);
    let (_tmp, db) = import(&[data.join("osv/PyPI")]);
    let packages: Vec<Package> = installed
        .iter()
        .map(|(name, version)| package(PackageKind::Pypi, name, version))
        .collect();
    let outcome = match_packages(&db, &packages, None).unwrap();
    let mut actual = BTreeSet::new();
    for finding in &outcome.findings {
        for record in &finding.records {
            actual.insert((
                record.clone(),
                pep503(&finding.package.name),
                finding.package.version.clone(),
            ));
        }
        assert_eq!(finding.package.ecosystem, "PyPI");
    }
    let missing: Vec<_> = expected.difference(&actual).collect();
    let extra: Vec<_> = actual.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );
    // A real spread: many packages, many records.
    let packages_hit: BTreeSet<_> = actual.iter().map(|(_, name, _)| name).collect();
    assert!(
        actual.len() >= 50 && packages_hit.len() >= 10,
        "{} findings in {packages_hit:?}",
        actual.len()
    );
    // One finding per (vulnerability, package): no finding shares an id or
    // alias with another finding of the same package.
    for (index, a) in outcome.findings.iter().enumerate() {
        for b in outcome.findings.iter().skip(index + 1) {
            if a.package == b.package {
                let ids_a: BTreeSet<&str> = a.all_ids().collect();
                assert!(
                    b.all_ids().all(|id| !ids_a.contains(id)),
                    "{} and {} overlap",
                    a.id,
                    b.id
                );
            }
        }
    }
}

// ------------------------------------------------------------- crates.io

#[test]
fn crates_io_findings_equal_cargo_audit() {
    let Some(data) = shared_data() else { return };
    let Some(dir) = rust_fixture::rust_fixture() else {
        return;
    };
    let (_tmp, db) = import(&[data.join("osv/crates.io")]);
    let packages: Vec<Package> = rust_fixture::cargo_metadata(&dir)
        .into_iter()
        .map(|(name, version)| package(PackageKind::Cargo, &name, &version))
        .collect();
    let outcome = match_packages(&db, &packages, None).unwrap();
    // cargo-audit lists vulnerabilities; informational advisories
    // (unmaintained, unsound) are warnings it lists separately.
    let mut actual = BTreeSet::new();
    let mut informational = BTreeSet::new();
    for finding in &outcome.findings {
        assert_eq!(finding.records.len(), 1, "{finding:?}");
        let record = db.by_id(&finding.records[0]).unwrap().unwrap();
        let key = (
            record.id.clone(),
            finding.package.name.clone(),
            finding.package.version.clone(),
        );
        let is_informational = record.affected.iter().any(|a| {
            a.database_specific
                .as_ref()
                .is_some_and(|d| !d["informational"].is_null())
        });
        if is_informational {
            informational.insert(key);
        } else {
            actual.insert(key);
        }
    }
    let expected: BTreeSet<(String, String, String)> = rust_fixture::audit(&dir, "audit-lock.json")
        .into_iter()
        .collect();
    let audit_json: Value =
        serde_json::from_slice(&std::fs::read(dir.join("audit-lock.json")).unwrap()).unwrap();
    let vulnerable: BTreeSet<(String, String, String)> = audit_json["vulnerabilities"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["advisory"]["id"].as_str().unwrap().to_owned(),
                v["package"]["name"].as_str().unwrap().to_owned(),
                v["package"]["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(actual, vulnerable);
    assert!(vulnerable.len() >= 4, "{vulnerable:?}");
    // Whatever cargo-audit flagged at all (vulnerabilities and warnings) is
    // among drydock's findings.
    let all: BTreeSet<_> = actual.union(&informational).cloned().collect();
    assert!(expected.is_subset(&all), "{expected:?} vs {all:?}");
    // RustSec records carry CVSS vectors: the severity is computed.
    let time = outcome
        .findings
        .iter()
        .find(|f| f.records[0] == "RUSTSEC-2020-0071")
        .expect("time 0.1.45 finding");
    assert!(time.cvss.is_some(), "{time:?}");
    assert_eq!(time.state, FixState::Fixed);
}

// ---------------------------------------------------------------- Debian

fn dpkg_lt(a: &str, b: &str) -> bool {
    Command::new("dpkg")
        .args(["--compare-versions", a, "lt", b])
        .status()
        .unwrap()
        .success()
}

#[test]
fn debian_image_against_a_tracker_fixture() {
    if !drydock_test::require_tool("dpkg") {
        return;
    }
    let Some(fixture) = drydock_test::debian_fixture() else {
        return;
    };
    let tracker_path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tracker-debian-image.json");
    let (_tmp, db) = import(std::slice::from_ref(&tracker_path));
    // The image's packages as dpkg-query lists them.
    let packages: Vec<Package> = fixture
        .expected_final
        .iter()
        .map(|entry| {
            let mut p = package(PackageKind::Deb, &entry.name, &entry.version);
            p.source = Some(SourcePackage {
                name: entry.source_name.clone(),
                version: entry.source_version.clone(),
            });
            p
        })
        .collect();
    let distro = Distro {
        id: "debian".into(),
        version_id: "12".into(),
        ..Distro::default()
    };
    let outcome = match_packages(&db, &packages, Some(&distro)).unwrap();
    let actual: BTreeSet<(String, String, String, Vec<String>)> = outcome
        .findings
        .iter()
        .map(|f| {
            (
                f.id.clone(),
                f.package.name.clone(),
                f.state.as_str().to_owned(),
                f.fixed_versions.clone(),
            )
        })
        .collect();

    // Expected, from the tracker and dpkg.
    let tracker: Value = serde_json::from_slice(&std::fs::read(&tracker_path).unwrap()).unwrap();
    let mut expected = BTreeSet::new();
    for (source, issues) in tracker.as_object().unwrap() {
        for (issue, info) in issues.as_object().unwrap() {
            let Some(release) = info["releases"].get("bookworm") else {
                continue;
            };
            let status = release["status"].as_str().unwrap();
            let fixed = release["fixed_version"].as_str();
            let urgency = release["urgency"].as_str().unwrap_or_default();
            for entry in fixture
                .expected_final
                .iter()
                .filter(|e| &e.source_name == source)
            {
                let item = match (status, fixed) {
                    ("resolved", Some("0")) => None,
                    ("resolved", Some(fixed)) => dpkg_lt(&entry.source_version, fixed)
                        .then(|| ("fixed".to_owned(), vec![fixed.to_owned()])),
                    _ => {
                        let wont = release.get("nodsa").is_some()
                            || urgency == "unimportant"
                            || urgency == "end-of-life";
                        Some((
                            if wont { "wont-fix" } else { "not-fixed" }.to_owned(),
                            Vec::new(),
                        ))
                    }
                };
                if let Some((state, fixed)) = item {
                    expected.insert((issue.clone(), entry.name.clone(), state, fixed));
                }
            }
        }
    }
    assert_eq!(actual, expected);
    // The interesting cases are really there.
    let ids = |name: &str| -> Vec<&str> {
        outcome
            .findings
            .iter()
            .filter(|f| f.package.name == name)
            .map(|f| f.id.as_str())
            .collect()
    };
    assert_eq!(
        ids("libgpm2"),
        ["CVE-2024-90001"],
        "binNMU: source version 1.20.7-10 is fixed for 90011"
    );
    assert_eq!(ids("dc"), ["CVE-2024-90002"]);
    assert_eq!(
        ids("bash"),
        ["CVE-2024-90009"],
        "fix above the source version, below the binary's"
    );
    let libgpm2 = outcome
        .findings
        .iter()
        .find(|f| f.package.name == "libgpm2")
        .unwrap();
    assert_eq!(
        (
            libgpm2.matched_via.name.as_str(),
            libgpm2.matched_via.version.as_str()
        ),
        ("gpm", "1.20.7-10")
    );
    assert_eq!(libgpm2.package.ecosystem, "Debian:12");
    assert_eq!(libgpm2.severity, SeverityLevel::Low);
    let util_linux = fixture
        .expected_final
        .iter()
        .filter(|e| e.source_name == "util-linux")
        .count();
    assert_eq!(
        outcome
            .findings
            .iter()
            .filter(|f| f.id == "CVE-2024-90004")
            .count(),
        util_linux
    );
    let ncurses = outcome
        .findings
        .iter()
        .find(|f| f.id == "CVE-2024-90006")
        .unwrap();
    assert_eq!(
        (ncurses.state, ncurses.severity),
        (FixState::WontFix, SeverityLevel::Negligible)
    );
    assert!(
        outcome
            .findings
            .iter()
            .any(|f| f.id == "TEMP-0000000-A1B2C3")
    );
}

// ------------------------------------------------------- OSV semantics

fn record(id: &str, ecosystem: &str, name: &str, mut affected: Value) -> Value {
    json!({
        "id": id, "modified": "2024-01-01T00:00:00Z",
        "affected": [{ "package": { "ecosystem": ecosystem, "name": name }, "ranges": affected["ranges"].take(), "versions": affected["versions"].take() }],
    })
}

fn db_of(records: &[Value], kev: Vec<KevEntry>, epss: Vec<(String, Epss)>) -> Database {
    let advisories = records
        .iter()
        .map(|r| {
            let mut advisory: drydock_vuln::Advisory = serde_json::from_value(r.clone()).unwrap();
            advisory.data_source = "osv:test".into();
            advisory
        })
        .collect::<Vec<_>>();
    Database::from_records(advisories, kev, epss)
}

fn ids_for(db: &Database, kind: PackageKind, name: &str, version: &str) -> Vec<String> {
    let outcome = match_packages(db, &[package(kind, name, version)], None).unwrap();
    let mut ids: Vec<String> = outcome.findings.into_iter().map(|f| f.id).collect();
    ids.sort();
    ids
}

#[test]
fn osv_events_limits_versions_and_withdrawn() {
    let db = db_of(
        &[
            // introduced/fixed pairs, two intervals
            record(
                "A-1",
                "PyPI",
                "pkg",
                json!({ "ranges": [{ "type": "ECOSYSTEM", "events": [
                { "introduced": "1.0" }, { "fixed": "1.2" }, { "introduced": "2.0" }, { "fixed": "2.0.5" }] }] }),
            ),
            // last_affected is inclusive
            record(
                "A-2",
                "PyPI",
                "pkg",
                json!({ "ranges": [{ "type": "ECOSYSTEM", "events": [
                { "introduced": "0" }, { "last_affected": "1.1" }] }] }),
            ),
            // limit caps an open range
            record(
                "A-3",
                "PyPI",
                "pkg",
                json!({ "ranges": [{ "type": "ECOSYSTEM", "events": [
                { "introduced": "0" }, { "limit": "1.5" }] }] }),
            ),
            // explicit versions only (with a GIT range that is ignored)
            record(
                "A-4",
                "PyPI",
                "pkg",
                json!({ "ranges": [{ "type": "GIT", "repo": "https://example.invalid/r", "events": [
                { "introduced": "abc" }] }], "versions": ["3.0rc1"] }),
            ),
            // withdrawn
            json!({ "id": "A-5", "modified": "2024-01-01T00:00:00Z", "withdrawn": "2024-02-01T00:00:00Z",
                "affected": [{ "package": { "ecosystem": "PyPI", "name": "pkg" }, "ranges": [{ "type": "ECOSYSTEM", "events": [{ "introduced": "0" }] }] }] }),
            // PEP 440 ordering, not string ordering
            record(
                "A-6",
                "PyPI",
                "pkg",
                json!({ "ranges": [{ "type": "ECOSYSTEM", "events": [
                { "introduced": "1.10" }, { "fixed": "1.10.post1" }] }] }),
            ),
        ],
        Vec::new(),
        Vec::new(),
    );
    let ids = |version: &str| ids_for(&db, PackageKind::Pypi, "PKG", version);
    assert_eq!(ids("0.9"), ["A-2", "A-3"]);
    assert_eq!(ids("1.0"), ["A-1", "A-2", "A-3"]);
    assert_eq!(ids("1.1"), ["A-1", "A-2", "A-3"]);
    assert_eq!(ids("1.1.1"), ["A-1", "A-3"]);
    assert_eq!(ids("1.2"), ["A-3"]);
    assert_eq!(ids("1.5"), Vec::<String>::new());
    assert_eq!(ids("1.10"), ["A-6"]);
    assert_eq!(ids("1.9"), Vec::<String>::new(), "1.9 < 1.10 under PEP 440");
    assert_eq!(ids("2.0.4"), ["A-1"]);
    assert_eq!(ids("2.0.5"), Vec::<String>::new());
    assert_eq!(ids("3.0rc1"), ["A-4"]);
    // Fixed versions are the fix of the interval the version is in.
    let outcome = match_packages(&db, &[package(PackageKind::Pypi, "pkg", "2.0.1")], None).unwrap();
    assert_eq!(outcome.findings[0].fixed_versions, ["2.0.5"]);
    let outcome = match_packages(&db, &[package(PackageKind::Pypi, "pkg", "0.5")], None).unwrap();
    let a2 = outcome.findings.iter().find(|f| f.id == "A-2").unwrap();
    assert_eq!((a2.state, a2.fixed_versions.len()), (FixState::NotFixed, 0));
}

#[test]
fn semver_ranges_and_go_versions() {
    let db = db_of(
        &[
            record(
                "S-1",
                "crates.io",
                "foo_bar",
                json!({ "ranges": [{ "type": "SEMVER", "events": [
                { "introduced": "0.4.0-0" }, { "fixed": "0.4.5" }] }] }),
            ),
            record(
                "G-1",
                "Go",
                "golang.org/x/net",
                json!({ "ranges": [{ "type": "SEMVER", "events": [
                { "introduced": "0" }, { "fixed": "0.17.0" }] }] }),
            ),
        ],
        Vec::new(),
        Vec::new(),
    );
    assert_eq!(
        ids_for(&db, PackageKind::Cargo, "foo_bar", "0.4.5-alpha"),
        ["S-1"]
    );
    assert_eq!(
        ids_for(&db, PackageKind::Cargo, "foo_bar", "0.4.5"),
        Vec::<String>::new()
    );
    assert_eq!(
        ids_for(&db, PackageKind::Cargo, "foo-bar", "0.4.1"),
        Vec::<String>::new(),
        "crates.io keeps - and _ distinct"
    );
    let mut go = package(PackageKind::Golang, "net", "v0.16.0");
    go.purl = Purl::new("golang", "net")
        .with_namespace("golang.org/x")
        .with_version("v0.16.0");
    let outcome = match_packages(&db, &[go], None).unwrap();
    assert_eq!(outcome.findings.len(), 1);
    assert_eq!(outcome.findings[0].matched_via.name, "golang.org/x/net");
}

#[test]
fn duplicates_merge_into_one_finding_with_severity_kev_and_epss() {
    let mut pysec = record(
        "PYSEC-1",
        "PyPI",
        "dup",
        json!({ "ranges": [{ "type": "ECOSYSTEM", "events": [
        { "introduced": "0" }, { "fixed": "2.0" }] }] }),
    );
    pysec["aliases"] = json!(["CVE-2021-0001", "GHSA-aaaa-bbbb-cccc"]);
    let mut ghsa = record(
        "GHSA-aaaa-bbbb-cccc",
        "PyPI",
        "dup",
        json!({ "ranges": [{ "type": "ECOSYSTEM", "events": [
        { "introduced": "1.0" }, { "fixed": "2.1" }] }] }),
    );
    ghsa["aliases"] = json!(["CVE-2021-0001"]);
    ghsa["severity"] =
        json!([{ "type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" }]);
    ghsa["database_specific"] = json!({ "severity": "MODERATE" });
    let mut other = record("PYSEC-2", "PyPI", "dup", json!({ "versions": ["1.5"] }));
    other["database_specific"] = json!({ "severity": "LOW" });
    let kev = KevEntry {
        cve_id: "CVE-2021-0001".into(),
        vendor_project: String::new(),
        product: String::new(),
        vulnerability_name: String::new(),
        date_added: "2022-01-01".into(),
        short_description: String::new(),
        required_action: String::new(),
        due_date: "2022-02-01".into(),
        known_ransomware_campaign_use: "Unknown".into(),
        notes: String::new(),
        cwes: Vec::new(),
    };
    let epss = vec![(
        "CVE-2021-0001".to_owned(),
        Epss {
            score: 0.5,
            percentile: 0.9,
        },
    )];
    let db = db_of(&[pysec, ghsa, other], vec![kev], epss);
    let outcome = match_packages(&db, &[package(PackageKind::Pypi, "dup", "1.5")], None).unwrap();
    assert_eq!(outcome.findings.len(), 2, "{:#?}", outcome.findings);
    let merged = &outcome.findings[0];
    assert_eq!(
        merged.id, "GHSA-aaaa-bbbb-cccc",
        "smallest record id; KEV sorts it first"
    );
    assert_eq!(merged.aliases, ["CVE-2021-0001", "PYSEC-1"]);
    assert_eq!(merged.records, ["GHSA-aaaa-bbbb-cccc", "PYSEC-1"]);
    assert_eq!(merged.fixed_versions, ["2.0", "2.1"]);
    // CVSS 3.1 AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H = 9.8 (FIRST calculator).
    assert_eq!(merged.severity, SeverityLevel::Critical);
    assert!((merged.cvss.as_ref().unwrap().base_score - 9.8).abs() < 1e-9);
    assert_eq!(merged.kev.as_ref().unwrap().date_added, "2022-01-01");
    assert!((merged.epss.as_ref().unwrap().score - 0.5).abs() < 1e-9);
    let label_only = &outcome.findings[1];
    assert_eq!(
        (label_only.id.as_str(), label_only.severity),
        ("PYSEC-2", SeverityLevel::Low)
    );
}

#[test]
fn distro_owned_language_packages_are_left_to_the_distro() {
    let db = db_of(
        &[record(
            "PY-1",
            "PyPI",
            "urllib3",
            json!({ "versions": ["1.26.12"] }),
        )],
        Vec::new(),
        Vec::new(),
    );
    let metadata = "usr/lib/python3/dist-packages/urllib3-1.26.12.dist-info/METADATA";
    let mut deb = package(PackageKind::Deb, "python3-urllib3", "1.26.12-1");
    deb.files = vec![OwnedFile {
        path: ImagePath::new(metadata).unwrap(),
        digest: None,
    }];
    let mut owned = package(PackageKind::Pypi, "urllib3", "1.26.12");
    owned.locations = vec![Location {
        path: ImagePath::new(metadata).unwrap(),
        layer: None,
    }];
    let mut pip = owned.clone();
    pip.locations = vec![Location {
        path: ImagePath::new(
            "usr/local/lib/python3.11/dist-packages/urllib3-1.26.12.dist-info/METADATA",
        )
        .unwrap(),
        layer: None,
    }];
    let distro = Distro {
        id: "debian".into(),
        version_id: "12".into(),
        ..Distro::default()
    };
    let outcome = match_packages(&db, &[deb, owned, pip], Some(&distro)).unwrap();
    assert_eq!(outcome.findings.len(), 1);
    assert!(
        outcome.findings[0]
            .package
            .location
            .as_deref()
            .unwrap()
            .starts_with("/usr/local/")
    );
    assert!(
        outcome.packages[1]
            .note
            .as_deref()
            .unwrap()
            .contains("OS package")
    );
}

//! Debian security tracker JSON and EPSS CSV: small fixtures in the
//! documented formats (none is in the shared data).
use std::path::PathBuf;

use drydock_vuln::{Database, Event};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn state<'a>(
    db: &'a Database,
    ecosystem: &str,
    package: &str,
    cve: &str,
) -> Option<(&'a str, Vec<Event>)> {
    let found = db.advisories(ecosystem, package).unwrap();
    let advisory = found
        .into_iter()
        .find(|a| a.upstream.iter().any(|u| u == cve) || a.id.ends_with(cve))?;
    let affected = &advisory.affected[0];
    Some((affected.state().unwrap(), affected.ranges[0].events.clone()))
}

#[test]
fn debian_tracker_records_per_release_and_source_package() {
    let tmp = tempfile::tempdir().unwrap();
    let db_dir = tmp.path().join("db");
    let report =
        Database::import_at(&db_dir, &[fixture("debian-tracker.json")], 1_700_000_000).unwrap();
    // 3 + 2 + 3 + 2 + 1 release entries, minus the `fixed_version: 0` one.
    assert_eq!(report.records_read, 10);
    let db = Database::open(&db_dir).unwrap();

    let (state_, events) = state(&db, "Debian:12", "openssl", "CVE-2023-5678").unwrap();
    assert_eq!(state_, "fixed");
    assert_eq!(
        events,
        vec![
            Event::Introduced("0".into()),
            Event::Fixed("3.0.13-1~deb12u1".into())
        ]
    );
    let (_, events) = state(&db, "Debian:11", "openssl", "CVE-2023-5678").unwrap();
    assert_eq!(events[1], Event::Fixed("1.1.1w-0+deb11u2".into()));
    assert!(state(&db, "Debian:sid", "openssl", "CVE-2023-5678").is_some());

    // Open + unimportant, open + nodsa, open + end-of-life: won't fix; open + low: not fixed.
    assert_eq!(
        state(&db, "Debian:12", "openssl", "CVE-2010-0928")
            .unwrap()
            .0,
        "wont-fix"
    );
    assert_eq!(
        state(&db, "Debian:12", "curl", "CVE-2024-2398").unwrap().0,
        "wont-fix"
    );
    assert_eq!(
        state(&db, "Debian:10", "curl", "CVE-2024-2398").unwrap().0,
        "wont-fix"
    );
    let (state_, events) = state(&db, "Debian:12", "curl", "CVE-2024-9681").unwrap();
    assert_eq!(
        (state_, events),
        ("not-fixed", vec![Event::Introduced("0".into())])
    );
    assert_eq!(
        state(&db, "Debian:13", "curl", "CVE-2024-2398").unwrap().0,
        "fixed"
    );
    // `fixed_version: 0`: never affected, no record.
    assert!(state(&db, "Debian:11", "curl", "CVE-2024-9681").is_none());
    // Tracker-only TEMP ids are kept, undetermined = not fixed, no upstream CVE.
    let glibc = db.advisories("Debian:12", "glibc").unwrap();
    assert_eq!(glibc.len(), 1);
    assert!(glibc[0].upstream.is_empty());
    assert_eq!(glibc[0].affected[0].state(), Some("not-fixed"));

    let counts: Vec<_> = db
        .status()
        .ecosystems
        .iter()
        .map(|e| (e.ecosystem.as_str(), e.records))
        .collect();
    assert_eq!(
        counts,
        vec![
            ("Debian:10", 1),
            ("Debian:11", 2),
            ("Debian:12", 5),
            ("Debian:13", 1),
            ("Debian:sid", 1)
        ]
    );
    let advisory = db
        .by_id("DEBIAN:12/openssl/CVE-2023-5678")
        .unwrap()
        .unwrap();
    assert_eq!(advisory.data_source, "debian-security-tracker");
    assert_eq!(advisory.modified, "2023-11-14T22:13:20Z");

    // Re-import at a later time: same records, replaced (the tracker has no dates).
    let report =
        Database::import_at(&db_dir, &[fixture("debian-tracker.json")], 1_700_000_500).unwrap();
    assert_eq!((report.added, report.replaced), (0, 10));
}

#[test]
fn epss_csv_plain_and_gzip() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["epss.csv", "epss.csv.gz"] {
        let db_dir = tmp.path().join(name);
        let report = Database::import_at(&db_dir, &[fixture(name)], 1).unwrap();
        assert_eq!(report.epss_entries, 4);
        let db = Database::open(&db_dir).unwrap();
        let score = db.epss("CVE-2020-11651").unwrap();
        assert!((score.score - 0.97491).abs() < 1e-12);
        assert!((score.percentile - 0.9998).abs() < 1e-12);
        assert!(db.epss("CVE-2000-0000").is_none());
        let status = db.status().epss.clone().unwrap();
        assert_eq!(status.model_version, "v2023.03.01");
        assert_eq!(status.score_date, "2024-01-01T00:00:00+0000");
        assert_eq!(status.count, 4);
    }
}

#[test]
fn epss_rejects_bad_rows_naming_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("scores.csv");
    std::fs::write(
        &file,
        "cve,epss,percentile\nCVE-2020-1,0.5,0.5\nCVE-2020-2,1.5,0.2\n",
    )
    .unwrap();
    let error = Database::import_at(&tmp.path().join("db"), &[file], 1).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("scores.csv") && message.contains("line 3"),
        "{message}"
    );
}

#[test]
fn unknown_formats_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("thing.json");
    std::fs::write(&file, r#"{"hello": "world"}"#).unwrap();
    let error = Database::import_at(&tmp.path().join("db"), &[file], 1).unwrap_err();
    assert!(error.to_string().contains("thing.json"), "{error}");
    assert!(error.to_string().contains("unrecognised format"), "{error}");
}

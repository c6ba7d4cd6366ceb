//! `drydock scan` of an Ubuntu 22.04 root and an AlmaLinux 9 root built from
//! what the real OSV records of ../shared/data/osv/{Ubuntu,AlmaLinux} name
//! (`tests/fixtures/distro-osv/make_roots.py`: a dpkg status with Ubuntu's
//! source and binary names; an rpm database written by `rpmbuild` + `rpm -i
//! --justdb` with AlmaLinux's names, epochs and versions). The expected
//! findings are computed by that script with `dpkg --compare-versions` and
//! rpm's own `rpm.vercmp`, not by drydock: every affected package is found,
//! none of the fixed ones.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn data_dir() -> PathBuf {
    drydock_test::workspace_root().join("../shared/data")
}

fn drydock(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_drydock"))
        .args(args)
        .output()
        .expect("spawn drydock")
}

fn tsv(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .lines()
        .filter(|line| !line.is_empty())
        .map(|line| line.split('\t').map(str::to_owned).collect())
        .collect()
}

/// Builds both roots into a temporary directory (None after a loud skip).
fn roots() -> Option<(tempfile::TempDir, PathBuf)> {
    if !data_dir().join("osv/Ubuntu").is_dir() || !data_dir().join("osv/AlmaLinux").is_dir() {
        drydock_test::missing(&format!(
            "the Ubuntu/AlmaLinux OSV data in {}",
            data_dir().display()
        ));
        return None;
    }
    if !drydock_test::require_tools(&["python3", "dpkg", "rpm", "rpmbuild"]) {
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("roots");
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/distro-osv/make_roots.py");
    let run = Command::new("python3")
        .arg(script)
        .arg(data_dir())
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "make_roots.py: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    Some((tmp, out))
}

fn scan(root: &Path, db: &Path) -> Value {
    let source = format!("dir:{}", root.display());
    let output = drydock(&[
        "scan",
        &source,
        "--db-dir",
        db.to_str().unwrap(),
        "-f",
        "json",
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn import(db: &Path, paths: &[PathBuf]) {
    let mut args = vec![
        "db".to_owned(),
        "import".to_owned(),
        "--db-dir".to_owned(),
        db.display().to_string(),
    ];
    args.extend(paths.iter().map(|path| path.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = drydock(&args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// (record, package) for every record of every finding.
fn pairs(scan: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for finding in scan["findings"].as_array().unwrap() {
        for record in finding["records"].as_array().unwrap() {
            out.insert((
                record.as_str().unwrap().to_owned(),
                finding["package"]["name"].as_str().unwrap().to_owned(),
            ));
        }
    }
    out
}

fn assert_same(actual: &BTreeSet<(String, String)>, expected: &BTreeSet<(String, String)>) {
    let missing: Vec<_> = expected.difference(actual).collect();
    let unexpected: Vec<_> = actual.difference(expected).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty(),
        "missing: {missing:#?}\nunexpected: {unexpected:#?}"
    );
}

#[test]
fn ubuntu_and_almalinux_roots_against_their_real_osv_records() {
    let Some((tmp, out)) = roots() else {
        return;
    };
    let db = tmp.path().join("db");
    import(
        &db,
        &[
            data_dir().join("osv/Ubuntu"),
            data_dir().join("osv/AlmaLinux"),
            data_dir().join("nvd"),
            data_dir().join("cve"),
        ],
    );

    // ---- Ubuntu 22.04
    let expected_rows = tsv(&out.join("ubuntu/expected.tsv"));
    let ubuntu = scan(&out.join("ubuntu/root"), &db);
    assert_eq!(ubuntu["distro"]["id"], "ubuntu");
    assert_eq!(ubuntu["distro"]["version_id"], "22.04");
    let expected: BTreeSet<(String, String)> = expected_rows
        .iter()
        .map(|row| (row[0].clone(), row[1].clone()))
        .collect();
    assert!(expected.len() >= 20, "{expected:?}");
    assert_same(&pairs(&ubuntu), &expected);
    let row_of: BTreeMap<(&str, &str), &Vec<String>> = expected_rows
        .iter()
        .map(|row| ((row[0].as_str(), row[1].as_str()), row))
        .collect();
    let level = |label: &str| {
        ["negligible", "low", "medium", "high", "critical"]
            .iter()
            .position(|known| *known == label)
    };
    let mut not_fixed = 0;
    for finding in ubuntu["findings"].as_array().unwrap() {
        let package = finding["package"]["name"].as_str().unwrap();
        let rows: Vec<&Vec<String>> = finding["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|record| row_of[&(record.as_str().unwrap(), package)])
            .collect();
        assert_eq!(
            finding["package"]["version"],
            rows[0][2].as_str(),
            "{finding}"
        );
        // Ubuntu's priority of the matching entries is the severity.
        let priority = rows.iter().filter_map(|row| level(&row[4])).max();
        if let Some(priority) = priority {
            assert_eq!(
                level(finding["severity"].as_str().unwrap()),
                Some(priority),
                "{finding}"
            );
            assert_eq!(finding["severity_source"], "ubuntu-priority", "{finding}");
        }
        // Unfixed (and deferred) entries are kept, as not fixed.
        let fixed = rows.iter().any(|row| row[3] == "fixed");
        assert_eq!(
            finding["state"],
            if fixed { "fixed" } else { "not-fixed" },
            "{finding}"
        );
        not_fixed += usize::from(!fixed);
    }
    assert!(not_fixed > 0, "the fixture has unfixed Ubuntu entries");
    // The package no record names is scanned and has no finding.
    assert!(
        ubuntu["packages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "drydock-unrelated" && p["ecosystem"] == "Ubuntu:22.04:LTS")
    );

    // ---- AlmaLinux 9
    let alma = scan(&out.join("alma/root"), &db);
    assert_eq!(alma["distro"]["id"], "almalinux");
    let expected: BTreeSet<(String, String)> = tsv(&out.join("alma/expected.tsv"))
        .iter()
        .map(|row| (row[0].clone(), row[1].clone()))
        .collect();
    let not_affected: BTreeSet<(String, String)> = tsv(&out.join("alma/not-affected.tsv"))
        .iter()
        .map(|row| (row[0].clone(), row[1].clone()))
        .filter(|pair| !expected.contains(pair))
        .collect();
    assert!(expected.len() >= 10 && !not_affected.is_empty());
    let actual = pairs(&alma);
    assert_same(&actual, &expected);
    assert!(actual.is_disjoint(&not_affected));
    // The epoch decides: squid at the fixed version-release but epoch 0.
    assert!(expected.contains(&("ALSA-2022:5527".to_owned(), "squid".to_owned())));
    for finding in alma["findings"].as_array().unwrap() {
        assert_eq!(finding["package"]["ecosystem"], "AlmaLinux:9");
        assert_eq!(finding["data_source"], "osv:AlmaLinux");
        // The CVEs an ALSA notice lists (in `related`) are named.
        assert!(
            finding["aliases"]
                .as_array()
                .unwrap()
                .iter()
                .any(|id| id.as_str().unwrap().starts_with("CVE-")),
            "{finding}"
        );
    }
}

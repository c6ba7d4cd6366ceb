//! `drydock scan` of Rust artefacts against the crates.io advisories in
//! ../shared/data/osv/crates.io, compared with cargo-audit (from crates.io)
//! run here on the same files against the same RustSec database
//! (../shared/data/rustsec-advisory-db, the source the OSV records were
//! converted from):
//! - the fixture's cargo-auditable binary (`cargo audit bin BINARY`) and its
//!   Cargo.lock (`cargo audit -f Cargo.lock`), each given as `file:`;
//! - both placed in an image's application layer (`oci-dir:`): the same
//!   findings, located at the binary and at the lock file;
//! - a lock file of crates with informational advisories (unmaintained,
//!   unsound, notice), which cargo-audit lists as warnings.
//!
//! What is compared: `(advisory id, crate, version)` of every finding —
//! drydock's finding `id` is the RustSec id (the OSV record's id), `records`
//! holds exactly it, and `aliases` equal the advisory's aliases as cargo-audit
//! prints them. On cargo-audit's side: `vulnerabilities.list` plus the
//! `warnings` that carry an advisory (kinds `unmaintained`, `unsound`,
//! `notice`): drydock reports informational advisories as findings like any
//! other (docs/scan-json.md). cargo-audit's `yanked` warnings are not
//! advisories (they come from the crates.io index, not the database) and are
//! left out of the comparison.
//!
//! (The PyPI half of the acceptance is tests/scan.rs.)
#[path = "../../drydock-catalog/tests/fixtures/rust/fixture.rs"]
mod fixture;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use drydock_test::{Blob, OciImage, RawTar, TarEntry};
use serde_json::Value;

/// `(advisory id, crate name, crate version)`.
type Key = (String, String, String);

fn data_dir() -> PathBuf {
    drydock_test::workspace_root().join("../shared/data")
}

fn drydock(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_drydock"))
        .args(args)
        .output()
        .expect("spawn drydock")
}

fn ok(output: &Output) -> &[u8] {
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    &output.stdout
}

/// A database with the crates.io OSV records, imported by `drydock db import`.
fn database() -> Option<&'static Path> {
    static DB: OnceLock<Option<(tempfile::TempDir, PathBuf)>> = OnceLock::new();
    DB.get_or_init(|| {
        let osv = data_dir().join("osv/crates.io");
        let rustsec = data_dir().join("rustsec-advisory-db");
        if !osv.is_dir() || !rustsec.is_dir() {
            drydock_test::missing(&format!("the shared data in {}", data_dir().display()));
            return None;
        }
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("db");
        let out = drydock(&[
            "db",
            "import",
            osv.to_str().unwrap(),
            "--db-dir",
            dir.to_str().unwrap(),
        ]);
        let text = String::from_utf8_lossy(ok(&out)).into_owned();
        let records = std::fs::read_dir(&osv).unwrap().count();
        assert!(
            text.contains(&format!("imported {records} records")),
            "{text}"
        );
        Some((tmp, dir))
    })
    .as_ref()
    .map(|(_, dir)| dir.as_path())
}

/// cargo-audit as the fixture build installed it (`cargo audit …`).
fn cargo_audit(args: &[&str]) -> Value {
    let tools = drydock_test::fixture_cache().join("tools/cargo-audit/bin");
    assert!(
        tools.join("cargo-audit").is_file(),
        "the Rust fixture build installs cargo-audit in {}",
        tools.display()
    );
    let db = data_dir().join("rustsec-advisory-db");
    // `cargo audit ARGS` runs `cargo-audit audit ARGS`.
    let out = Command::new(tools.join("cargo-audit"))
        .args([
            "audit",
            "--db",
            db.to_str().unwrap(),
            "--no-fetch",
            "--json",
        ])
        .args(args)
        .output()
        .expect("run cargo audit");
    // Exit 1 means "vulnerabilities found"; the JSON report is what counts.
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "cargo audit {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "cargo audit {args:?}: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// `(advisory id, aliases)` of every advisory reported.
type Aliases = Vec<(String, Vec<String>)>;

/// What cargo-audit reports: vulnerabilities and advisory warnings, with
/// each advisory's aliases; yanked warnings are counted apart.
struct Audit {
    vulnerabilities: BTreeSet<Key>,
    informational: BTreeSet<Key>,
    aliases: Aliases,
}

fn key_of(entry: &Value) -> Key {
    (
        entry["advisory"]["id"].as_str().unwrap().to_owned(),
        entry["package"]["name"].as_str().unwrap().to_owned(),
        entry["package"]["version"].as_str().unwrap().to_owned(),
    )
}

fn audit_of(report: &Value) -> Audit {
    let mut audit = Audit {
        vulnerabilities: BTreeSet::new(),
        informational: BTreeSet::new(),
        aliases: Vec::new(),
    };
    let mut note_aliases = |entry: &Value| {
        let mut aliases: Vec<String> = entry["advisory"]["aliases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect();
        aliases.sort();
        audit.aliases.push((
            entry["advisory"]["id"].as_str().unwrap().to_owned(),
            aliases,
        ));
    };
    for entry in report["vulnerabilities"]["list"].as_array().unwrap() {
        audit.vulnerabilities.insert(key_of(entry));
        note_aliases(entry);
    }
    for (kind, list) in report["warnings"].as_object().unwrap() {
        for entry in list.as_array().unwrap() {
            assert_eq!(entry["kind"].as_str(), Some(kind.as_str()), "{entry}");
            match kind.as_str() {
                "unmaintained" | "unsound" | "notice" => {
                    assert_eq!(
                        entry["advisory"]["informational"].as_str(),
                        Some(kind.as_str()),
                        "{entry}"
                    );
                    audit.informational.insert(key_of(entry));
                    note_aliases(entry);
                }
                // Not an advisory: the crates.io index says the version was yanked.
                "yanked" => assert!(entry["advisory"].is_null(), "{entry}"),
                other => panic!("cargo-audit warning kind `{other}` not understood: {entry}"),
            }
        }
    }
    audit.aliases.sort();
    audit.aliases.dedup();
    audit
}

/// The informational RustSec ids, read from the OSV files themselves.
fn informational_ids() -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for entry in std::fs::read_dir(data_dir().join("osv/crates.io")).unwrap() {
        let record: Value =
            serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
        if record["affected"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["database_specific"]["informational"].is_string())
        {
            ids.insert(record["id"].as_str().unwrap().to_owned());
        }
    }
    ids
}

fn scan(source: &str) -> Value {
    let db = database().unwrap();
    let out = drydock(&[
        "scan",
        source,
        "-f",
        "json",
        "--db-dir",
        db.to_str().unwrap(),
    ]);
    serde_json::from_slice(ok(&out)).unwrap()
}

/// drydock's findings as `(id, crate, version)` with the location of the
/// package; each finding is exactly one RustSec record, named by its id.
fn findings(scan: &Value) -> (BTreeSet<(Key, String)>, Aliases) {
    let mut keys = BTreeSet::new();
    let mut aliases = Vec::new();
    for finding in scan["findings"].as_array().unwrap() {
        let id = finding["id"].as_str().unwrap().to_owned();
        assert!(id.starts_with("RUSTSEC-"), "{finding}");
        assert_eq!(finding["records"], serde_json::json!([id]), "{finding}");
        assert_eq!(finding["data_source"], "osv:crates.io", "{finding}");
        let package = &finding["package"];
        assert_eq!(package["ecosystem"], "crates.io", "{finding}");
        let name = package["name"].as_str().unwrap().to_owned();
        let version = package["version"].as_str().unwrap().to_owned();
        assert_eq!(
            package["purl"].as_str().unwrap(),
            format!("pkg:cargo/{name}@{version}")
        );
        let location = package["location"].as_str().unwrap().to_owned();
        aliases.push((
            id.clone(),
            finding["aliases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_owned())
                .collect(),
        ));
        assert!(
            keys.insert(((id, name, version), location)),
            "one finding per advisory and package: {finding}"
        );
    }
    aliases.sort();
    aliases.dedup();
    (keys, aliases)
}

fn without_location(keys: &BTreeSet<(Key, String)>) -> BTreeSet<Key> {
    keys.iter().map(|(key, _)| key.clone()).collect()
}

fn split(keys: &BTreeSet<Key>, informational: &BTreeSet<String>) -> (BTreeSet<Key>, BTreeSet<Key>) {
    keys.iter()
        .cloned()
        .partition(|(id, _, _)| !informational.contains(id))
}

/// The binary and its lock file, each as `file:`, against cargo-audit's
/// `bin` and `-f` reports: the same advisories on the same crates.
#[test]
fn binary_and_lock_file_findings_equal_cargo_audit() {
    let (Some(_), Some(dir)) = (database(), fixture::rust_fixture()) else {
        return;
    };
    let informational = informational_ids();
    let binary = dir.join("app");
    let lock = dir.join("Cargo.lock");
    for (file, audit_args) in [
        (&binary, vec!["bin", binary.to_str().unwrap()]),
        (&lock, vec!["-f", lock.to_str().unwrap()]),
    ] {
        let audit = audit_of(&cargo_audit(&audit_args));
        let (got, aliases) = findings(&scan(&format!("file:{}", file.display())));
        // A `file:` source is a root holding that one file.
        let name = file.file_name().unwrap().to_str().unwrap();
        for (_, location) in &got {
            assert_eq!(
                location,
                &format!("/{name}"),
                "findings located at the file"
            );
        }
        let (vulnerabilities, informational_found) = split(&without_location(&got), &informational);
        assert_eq!(vulnerabilities, audit.vulnerabilities, "{}", file.display());
        assert_eq!(
            informational_found,
            audit.informational,
            "{}",
            file.display()
        );
        assert_eq!(aliases, audit.aliases, "{}", file.display());
        // The fixture's known advisories are really there.
        let ids: BTreeSet<&str> = vulnerabilities
            .iter()
            .map(|(id, _, _)| id.as_str())
            .collect();
        for known in [
            "RUSTSEC-2020-0071",
            "RUSTSEC-2020-0159",
            "RUSTSEC-2021-0003",
            "RUSTSEC-2022-0013",
        ] {
            assert!(
                ids.contains(known),
                "{}: {known} in {ids:?}",
                file.display()
            );
        }
    }
}

/// The binary and the lock file in an image's application layer: the
/// findings of both, each located at its file in the image.
#[test]
fn application_layer_in_an_image_equals_cargo_audit() {
    let (Some(_), Some(dir)) = (database(), fixture::rust_fixture()) else {
        return;
    };
    let binary = std::fs::read(dir.join("app")).unwrap();
    let lock = std::fs::read(dir.join("Cargo.lock")).unwrap();
    let mut app = TarEntry::file("usr/local/bin/app", &binary);
    app.mode = 0o755;
    let base = RawTar::new()
        .dir("etc")
        .file("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n")
        .finish();
    let application = RawTar::new()
        .dir("usr")
        .dir("usr/local")
        .dir("usr/local/bin")
        .entry(&app)
        .dir("srv")
        .dir("srv/app")
        .file("srv/app/Cargo.lock", &lock)
        .finish();
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    OciImage::new()
        .layer(Blob::tar_gzip(&base))
        .layer(Blob::tar_gzip(&application))
        .write(&layout);
    let document = scan(&format!("oci-dir:{}", layout.display()));
    assert_eq!(document["source"]["kind"], "oci-dir");
    let (got, _) = findings(&document);

    let mut expected = BTreeSet::new();
    for (location, audit_args) in [
        (
            "/usr/local/bin/app",
            vec!["bin".to_owned(), dir.join("app").display().to_string()],
        ),
        (
            "/srv/app/Cargo.lock",
            vec![
                "-f".to_owned(),
                dir.join("Cargo.lock").display().to_string(),
            ],
        ),
    ] {
        let args: Vec<&str> = audit_args.iter().map(String::as_str).collect();
        let audit = audit_of(&cargo_audit(&args));
        for key in audit.vulnerabilities.into_iter().chain(audit.informational) {
            expected.insert((key, location.to_owned()));
        }
    }
    assert_eq!(got, expected);
    assert!(got.len() >= 8, "{got:?}");

    // The table: one row per (advisory, crate, version), with the number of
    // places it was found (binary and lock file), and a summary that
    // counts unique findings.
    let mut locations: std::collections::BTreeMap<&Key, usize> = std::collections::BTreeMap::new();
    for (key, _) in &got {
        *locations.entry(key).or_default() += 1;
    }
    assert!(locations.values().any(|&count| count == 2), "{locations:?}");
    let db = database().unwrap();
    let table = drydock(&[
        "scan",
        &format!("oci-dir:{}", layout.display()),
        "--db-dir",
        db.to_str().unwrap(),
    ]);
    let text = String::from_utf8(ok(&table).to_vec()).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(header.ends_with("LOCATIONS"), "{text}");
    let rows: Vec<Vec<&str>> = lines
        .by_ref()
        .take_while(|line| !line.is_empty())
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), locations.len(), "{text}");
    for row in &rows {
        let key = (row[2].to_owned(), row[0].to_owned(), row[1].to_owned());
        assert_eq!(
            row.last().unwrap().parse::<usize>().unwrap(),
            locations[&key],
            "{text}"
        );
    }
    let summary = lines.next().unwrap();
    assert!(
        summary.starts_with(&format!(
            "{} findings at {} locations in ",
            locations.len(),
            got.len()
        )),
        "{summary}"
    );
}

/// Informational advisories (unmaintained, unsound, notice) are findings:
/// for a lock file of crates that have them, drydock's findings equal
/// cargo-audit's vulnerabilities plus its advisory warnings.
#[test]
fn informational_advisories_are_reported_as_cargo_audit_warns() {
    if database().is_none() || !drydock_test::require_tool("cargo") {
        return;
    }
    // Ensures cargo-audit is installed (the fixture build does it).
    if fixture::rust_fixture().is_none() {
        return;
    }
    let crates = [
        ("ansi_term", "0.12.1"),
        ("atty", "0.2.14"),
        ("lock_api", "0.4.1"),
        ("personnummer", "3.0.0"),
        ("serde_cbor", "0.11.2"),
        ("yaml-rust", "0.4.0"),
    ];
    let mut text = String::from("version = 3\n");
    for (name, version) in crates {
        write!(
            text,
            "\n[[package]]\nname = \"{name}\"\nversion = \"{version}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n"
        )
        .unwrap();
    }
    let work = tempfile::tempdir().unwrap();
    let lock = work.path().join("Cargo.lock");
    std::fs::write(&lock, text).unwrap();

    let audit = audit_of(&cargo_audit(&["-f", lock.to_str().unwrap()]));
    let (got, aliases) = findings(&scan(&format!("file:{}", lock.display())));
    let (vulnerabilities, informational) = split(&without_location(&got), &informational_ids());
    assert_eq!(vulnerabilities, audit.vulnerabilities);
    assert_eq!(informational, audit.informational);
    assert_eq!(aliases, audit.aliases);
    // Every kind is represented, so the comparison means something.
    let report = cargo_audit(&["-f", lock.to_str().unwrap()]);
    for kind in ["unmaintained", "unsound", "notice"] {
        assert!(
            report["warnings"][kind]
                .as_array()
                .is_some_and(|l| !l.is_empty()),
            "no `{kind}` warning: {report}"
        );
    }
    assert!(!audit.vulnerabilities.is_empty());
}

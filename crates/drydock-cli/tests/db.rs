//! `drydock db import | update | status` through the real binary: counts,
//! atomicity under a failing input and under `kill -9`, the writer lock,
//! and `db update` against an HTTP server on loopback (and offline).
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use serde_json::Value;

fn data() -> Option<PathBuf> {
    let path = drydock_test::workspace_root().join("../shared/data");
    if path.is_dir() {
        return Some(path);
    }
    drydock_test::missing("../shared/data (the shared test data)");
    None
}

fn fixtures() -> PathBuf {
    drydock_test::workspace_root().join("crates/drydock-vuln/tests/fixtures")
}

fn drydock(db_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_drydock"))
        .arg("db")
        .arg("--db-dir")
        .arg(db_dir)
        .args(args)
        .env_remove("DRYDOCK_DB_DIR")
        .output()
        .unwrap()
}

fn status(db_dir: &Path) -> Value {
    let output = drydock(db_dir, &["status", "--format", "json"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn records(status: &Value) -> BTreeMap<String, u64> {
    status["ecosystems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["ecosystem"].as_str().unwrap().to_owned(),
                e["records"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn import_then_status_table_and_json() {
    let Some(data) = data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    let output = drydock(
        &db,
        &[
            "import",
            data.join("osv/npm").to_str().unwrap(),
            data.join("kev/known_exploited_vulnerabilities.json")
                .to_str()
                .unwrap(),
            fixtures().join("epss.csv.gz").to_str().unwrap(),
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("imported 467 records"), "{stdout}");
    assert!(stdout.contains("KEV: 1404 entries"), "{stdout}");

    let json = status(&db);
    assert_eq!(json["schema_version"], 1);
    assert_eq!(records(&json), BTreeMap::from([("npm".to_owned(), 467)]));
    assert_eq!(json["kev"]["count"], 1404);
    assert_eq!(json["epss"]["count"], 4);
    assert_eq!(json["sources"][0]["name"], "osv:npm");

    let table = drydock(&db, &["status"]);
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.contains("schema version  1"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("npm ") && l.contains(" 467 ")),
        "{text}"
    );
    assert!(text.contains("KEV   catalog 2025.08.25"), "{text}");
}

#[test]
fn failing_import_exits_2_names_the_file_and_keeps_the_database() {
    let Some(data) = data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    assert!(
        drydock(&db, &["import", data.join("osv/npm").to_str().unwrap()])
            .status
            .success()
    );
    let before = status(&db);
    let bad = tmp.path().join("broken.json");
    std::fs::write(&bad, "{\"id\": \"X-1\", \"modified\": ").unwrap();
    let output = drydock(
        &db,
        &[
            "import",
            data.join("osv/crates.io").to_str().unwrap(),
            bad.to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("broken.json") && stderr.contains("invalid JSON"),
        "{stderr}"
    );
    assert_eq!(status(&db), before);
}

#[test]
fn kill_9_during_a_long_import_leaves_the_previous_database_usable() {
    let Some(data) = data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    assert!(
        drydock(&db, &["import", data.join("osv/npm").to_str().unwrap()])
            .status
            .success()
    );
    let before = status(&db);
    let big: Vec<PathBuf> = vec![
        data.join("osv"),
        data.join("osv-zips"),
        data.join("alpine-secdb"),
    ];

    // How long a full import takes here, to kill the next one midway.
    let probe = tmp.path().join("probe");
    let start = Instant::now();
    let mut args = vec!["import".to_owned()];
    args.extend(big.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert!(drydock(&probe, &args).status.success());
    let full = start.elapsed();

    // After a kill the database is either the previous one or the complete
    // new one (the import may commit just before the signal lands, more so
    // on a loaded machine), never a partial one.
    let full_records = records(&status(&probe));
    let mut expected = records(&before);
    let mut killed_at_least_once = false;
    for fraction in [0.3, 0.6, 0.9] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_drydock"))
            .arg("db")
            .arg("--db-dir")
            .arg(&db)
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(full.mul_f64(fraction));
        // While it runs, a second writer is refused (the lock), readers are not.
        if child.try_wait().unwrap().is_none() {
            let second = drydock(&db, &["import", data.join("osv/npm").to_str().unwrap()]);
            if !second.status.success() {
                assert_eq!(second.status.code(), Some(2));
                let stderr = String::from_utf8_lossy(&second.stderr);
                assert!(stderr.contains("locked by another import"), "{stderr}");
            }
            let seen = records(&status(&db));
            assert!(
                seen == expected || seen == full_records,
                "a reader saw a partial database: {seen:?}"
            );
        }
        let still_running = child.try_wait().unwrap().is_none();
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        killed_at_least_once |= still_running;
        let now = records(&status(&db));
        assert!(
            now == expected || now == full_records,
            "killed at {fraction} of the import: a partial database {now:?}"
        );
        expected = now;
    }
    assert!(
        killed_at_least_once,
        "the import finished before it could be killed"
    );
    // The lock died with the process; the leftovers are cleaned by the next import.
    assert!(
        drydock(
            &db,
            &["import", data.join("osv/crates.io").to_str().unwrap()]
        )
        .status
        .success()
    );
    let after = status(&db);
    assert_eq!(records(&after).get("crates.io"), Some(&1205));
    let generations = std::fs::read_dir(&db)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("gen-")
        })
        .count();
    assert!(generations <= 2, "{generations} generations left");
}

/// A tiny HTTP/1.1 server on loopback: `GET /NAME` answers the file
/// `routes[NAME]`, anything else 404. Returns the base URL.
fn serve(routes: BTreeMap<String, PathBuf>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
            }
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .trim_start_matches('/')
                .to_owned();
            match routes.get(&path) {
                Some(file) => {
                    let body = std::fs::read(file).unwrap();
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(&body);
                }
                None => {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    );
                }
            }
        }
    });
    format!("http://{address}")
}

#[test]
fn update_from_a_loopback_server_then_offline_keeps_the_database() {
    let Some(data) = data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    // One NVD CVE API 2.0 page holding every NVD record of the shared data.
    let mut vulnerabilities = Vec::new();
    let mut nvd_files: Vec<PathBuf> = std::fs::read_dir(data.join("nvd"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    nvd_files.sort();
    for path in &nvd_files {
        let cve: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        vulnerabilities.push(serde_json::json!({ "cve": cve }));
    }
    let page = tmp.path().join("nvd-page.json");
    std::fs::write(
        &page,
        serde_json::json!({ "resultsPerPage": vulnerabilities.len(), "startIndex": 0,
            "totalResults": vulnerabilities.len(), "format": "NVD_CVE", "version": "2.0",
            "vulnerabilities": vulnerabilities })
        .to_string(),
    )
    .unwrap();
    let base = serve(BTreeMap::from([
        ("nvd/page-0.json".to_owned(), page.clone()),
        (
            "cve/CVE-2024-6387.json".to_owned(),
            data.join("cve/CVE-2024-6387.json"),
        ),
        (
            "PyPI/all.zip".to_owned(),
            data.join("osv-zips/PyPI-all.zip"),
        ),
        (
            "crates.io/all.zip".to_owned(),
            data.join("osv-zips/crates.io-all.zip"),
        ),
        (
            "kev.json".to_owned(),
            data.join("kev/known_exploited_vulnerabilities.json"),
        ),
        (
            "tracker/data/json".to_owned(),
            fixtures().join("debian-tracker.json"),
        ),
        (
            "v3.10/main.json".to_owned(),
            data.join("alpine-secdb/v3.10/main.json"),
        ),
        (
            "epss_scores-current.csv.gz".to_owned(),
            fixtures().join("epss.csv.gz"),
        ),
    ]));
    // Sources from `sources.toml` (defaults off) plus one from the command line.
    std::fs::create_dir_all(&db).unwrap();
    std::fs::write(
        db.join("sources.toml"),
        format!(
            "defaults = false\n[sources]\nosv-PyPI = \"{base}/PyPI/all.zip\"\nkev = \"{base}/kev.json\"\n\
             debian-tracker = \"{base}/tracker/data/json\"\n\"alpine-v3.10-main\" = \"{base}/v3.10/main.json\"\n\
             epss = \"{base}/epss_scores-current.csv.gz\"\nnvd-page-0 = \"{base}/nvd/page-0.json\"\n\
             cve-6387 = \"{base}/cve/CVE-2024-6387.json\"\n"
        ),
    )
    .unwrap();
    let output = drydock(
        &db,
        &[
            "update",
            "--source",
            &format!("osv-crates.io={base}/crates.io/all.zip"),
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("fetched `osv-PyPI`"), "{stdout}");
    let json = status(&db);
    let counts = records(&json);
    assert_eq!(counts.get("PyPI"), Some(&2661));
    assert_eq!(counts.get("crates.io"), Some(&1205));
    assert_eq!(counts.get("Debian:12"), Some(&5));
    assert!(counts.get("Alpine:v3.10").is_some_and(|n| *n > 1000));
    assert_eq!(json["kev"]["count"], 1404);
    assert_eq!(json["epss"]["count"], 4);
    // NVD and CVE JSON 5 sources at configured URLs.
    assert!(stdout.contains("fetched `nvd-page-0`"), "{stdout}");
    assert_eq!(json["cve"]["count"], nvd_files.len());
    assert!(
        stdout.contains(&format!("CVE records: {} read", nvd_files.len() + 1)),
        "{stdout}"
    );
    let last_update = json["last_update"].as_str().unwrap().to_owned();

    // Offline: a source nobody listens on. Clear message, exit 2, database intact.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let output = drydock(
        &db,
        &[
            "update",
            "--source",
            &format!("kev=http://127.0.0.1:{port}/kev.json"),
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains(&format!("cannot reach `http://127.0.0.1:{port}/kev.json`")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "keeping the current database (last updated {last_update})"
        )),
        "{stderr}"
    );
    assert_eq!(status(&db), json);

    // A source that answers 404: named, database intact.
    let output = drydock(
        &db,
        &["update", "--source", &format!("kev={base}/missing.json")],
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("HTTP 404") && stderr.contains("`kev`"),
        "{stderr}"
    );
    assert_eq!(status(&db), json);
    // No download leftovers.
    assert!(std::fs::read_dir(&db).unwrap().all(|e| {
        !e.unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with(".download")
    }));
}

#[test]
fn default_sources_are_the_official_urls() {
    let urls: BTreeMap<&str, &str> = drydock_ops::DEFAULT_SOURCES.iter().copied().collect();
    assert_eq!(
        urls["osv-PyPI"],
        "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"
    );
    assert_eq!(
        urls["debian-tracker"],
        "https://security-tracker.debian.org/tracker/data/json"
    );
    assert_eq!(
        urls["kev"],
        "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
    );
}

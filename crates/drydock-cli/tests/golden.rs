//! `drydock golden …` end to end against a real `docker-registry`: submit,
//! approve (and its refusal), promote (tags `current` and the version tag
//! move in the registry, the signature verifies), illegal transitions,
//! enforcement with a fixed clock, and the audit chain (a row edited in the
//! SQLite file is caught and named).
use std::path::Path;
use std::process::Command;

use drydock_test::{REGISTRY, Registry, RegistryConfig, missing, require_tools};
use golden_support::{drydock, image, ok, submitted_digest};
use serde_json::{Value, json};

mod golden_support;

fn tags(host: &str, repository: &str) -> Vec<String> {
    let output = Command::new("skopeo")
        .args(["list-tags", "--tls-verify=false"])
        .arg(format!("docker://{host}/{repository}"))
        .output()
        .unwrap();
    let listed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut tags: Vec<String> = listed["Tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .filter(|t| !t.starts_with("sha256-"))
        .collect();
    tags.sort();
    tags
}

fn digest_of_tag(host: &str, reference: &str) -> String {
    let output = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--raw"])
        .arg(format!("docker://{host}/{reference}"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    format!("sha256:{}", drydock_test::sha256_hex(&output.stdout))
}

fn sqlite(db: &Path, statement: &str) {
    let status = Command::new("python3")
        .args(["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()"])
        .arg(db)
        .arg(statement)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn lifecycle_in_a_real_registry_with_a_verifiable_audit_chain() {
    if !Path::new(REGISTRY).is_file() {
        missing("`docker-registry` (apt-get install docker-registry)");
        return;
    }
    if !require_tools(&["skopeo", "python3"]) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("fleet.db");
    let store = format!("sqlite:{}", db.display());
    lifecycle(&store, |statement| sqlite(&db, statement));
}

/// The same lifecycle on a PostgreSQL store (the catalog and the audit
/// chain are the same SQL on both backends).
#[test]
fn lifecycle_on_postgres() {
    if !Path::new(REGISTRY).is_file() {
        missing("`docker-registry` (apt-get install docker-registry)");
        return;
    }
    if !require_tools(&["skopeo"]) {
        return;
    }
    let Some(postgres) = drydock_test::Postgres::start() else {
        return;
    };
    let store = postgres.database("golden");
    lifecycle(&store, |statement| postgres.execute("golden", statement));
}

/// Submit, approve, promote, deprecate, enforce, log; then `tamper` edits
/// one audit row directly in the store and `golden log --verify` names it.
fn lifecycle(store: &str, tamper: impl Fn(&str)) {
    let dir = tempfile::tempdir().unwrap();
    let store = store.to_owned();
    let registry = Registry::start(&RegistryConfig::default());
    let host = registry.host();
    let repo = format!("{host}/golden/python3");
    let key_dir = dir.path();
    let keygen = Command::new(env!("CARGO_BIN_EXE_drydock"))
        .args(["key", "generate", "--prefix", "golden"])
        .current_dir(key_dir)
        .env("DRYDOCK_PASSWORD", "")
        .output()
        .unwrap();
    ok(&keygen);
    let key = key_dir.join("golden.key").display().to_string();
    let public = key_dir.join("golden.pub").display().to_string();

    // Two versions pushed as candidates.
    let mut digests = Vec::new();
    for (index, version) in ["3.11.1", "3.11.2"].iter().enumerate() {
        let source = image(dir.path(), &format!("v{index}"));
        let candidate = format!("{repo}:candidate-{index}");
        ok(&drydock(
            &store,
            "2026-01-02T00:00:00Z",
            &["copy", &source, &candidate],
        ));
        let out = ok(&drydock(
            &store,
            "2026-01-02T00:00:00Z",
            &[
                "golden",
                "submit",
                &format!("registry:{candidate}"),
                "--line",
                "python3",
                "--image-version",
                version,
                "--by",
                "ci",
            ],
        ));
        let digest = submitted_digest(&out);
        assert!(out.ends_with("candidate (policy incomplete)\n"), "{out}");
        digests.push(digest);
    }
    let target = |index: usize| format!("python3@{}", digests[index]);
    let step = |now: &str, args: &[&str]| drydock(&store, now, args);

    // Illegal: promote a candidate.
    let refused = step(
        "2026-01-03T00:00:00Z",
        &[
            "golden",
            "promote",
            &target(0),
            "--by",
            "alice",
            "--reason",
            "x",
            "--key",
            &key,
        ],
    );
    assert_eq!(refused.status.code(), Some(2));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("is candidate: it cannot become current"),
        "{message}"
    );
    // The policy was incomplete (no database, no key): approval needs --override.
    let refused = step(
        "2026-01-03T00:00:00Z",
        &[
            "golden",
            "approve",
            &target(0),
            "--by",
            "alice",
            "--reason",
            "x",
        ],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("needs `--override`"));
    ok(&step(
        "2026-01-03T00:00:00Z",
        &[
            "golden",
            "approve",
            &target(0),
            "--by",
            "alice",
            "--reason",
            "signed off in review 12",
            "--override",
        ],
    ));
    ok(&step(
        "2026-01-04T00:00:00Z",
        &[
            "golden",
            "promote",
            &target(0),
            "--by",
            "alice",
            "--reason",
            "first",
            "--key",
            &key,
        ],
    ));
    assert_eq!(
        tags(&host, "golden/python3"),
        ["3.11.1", "candidate-0", "candidate-1", "current"]
    );
    assert_eq!(digest_of_tag(&host, "golden/python3:current"), digests[0]);
    let verified = step(
        "2026-01-04T00:00:00Z",
        &["verify", "--key", &public, &format!("{repo}:current")],
    );
    ok(&verified);

    // Promote the second: `current` moves, the first is deprecated.
    ok(&step(
        "2026-01-05T00:00:00Z",
        &[
            "golden",
            "approve",
            &target(1),
            "--by",
            "bob",
            "--reason",
            "ok",
            "--override",
        ],
    ));
    let out = ok(&step(
        "2026-01-06T00:00:00Z",
        &[
            "golden",
            "promote",
            &target(1),
            "--by",
            "bob",
            "--reason",
            "cve fixes",
            "--key",
            &key,
        ],
    ));
    assert!(
        out.contains("approved → current") && out.contains("current → deprecated"),
        "{out}"
    );
    assert_eq!(digest_of_tag(&host, "golden/python3:current"), digests[1]);
    assert_eq!(digest_of_tag(&host, "golden/python3:3.11.2"), digests[1]);
    ok(&step(
        "2026-01-06T00:00:00Z",
        &["verify", "--key", &public, &format!("{repo}:current")],
    ));

    // Enforce with a fixed clock: retire deprecated versions after 30 days.
    ok(&step(
        "2026-01-06T00:00:00Z",
        &["golden", "timeline", "*", "--retire-after-days", "30"],
    ));
    let none = ok(&step(
        "2026-02-04T00:00:00Z",
        &["golden", "enforce", "-f", "json"],
    ));
    assert_eq!(serde_json::from_str::<Value>(&none).unwrap(), json!([]));
    let retired = ok(&step(
        "2026-02-05T00:00:00Z",
        &["golden", "enforce", "-f", "json"],
    ));
    assert_eq!(
        serde_json::from_str::<Value>(&retired).unwrap(),
        json!([{"line": "python3", "digest": digests[0], "from": "deprecated", "to": "retired"}])
    );
    let listed: Value = serde_json::from_str(&ok(&step(
        "2026-02-05T00:00:00Z",
        &["golden", "list", "-f", "json"],
    )))
    .unwrap();
    let mut states: Vec<(&str, &str)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["state"].as_str().unwrap(), v["digest"].as_str().unwrap()))
        .collect();
    states.sort_unstable();
    assert_eq!(
        states,
        [
            ("current", digests[1].as_str()),
            ("retired", digests[0].as_str())
        ]
    );
    let promoted = ok(&step(
        "2026-02-05T00:00:00Z",
        &["golden", "show", &target(1)],
    ));
    let promoted: Value = serde_json::from_str(&promoted).unwrap();
    assert!(
        promoted[0]["evidence"]["sbom_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );

    // The audit log: every step, hash-chained, exported as JSON Lines.
    let log = step(
        "2026-02-05T00:00:00Z",
        &["golden", "log", "--verify", "-f", "jsonl"],
    );
    let lines = ok(&log);
    assert!(String::from_utf8_lossy(&log.stderr).contains("audit chain intact (10 entries)"));
    let entries: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "submit",
            "submit",
            "override",
            "approve",
            "promote",
            "override",
            "approve",
            "deprecate",
            "promote",
            "enforce"
        ]
    );
    let promote = &entries[4];
    assert_eq!(promote["actor"], "alice");
    assert_eq!(promote["evidence"]["tags"], json!(["current", "3.11.1"]));
    assert!(
        promote["evidence"]["signature_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );

    // Edit a row directly in the store: caught, and named.
    tamper("UPDATE golden_audit SET reason = 'nothing to see' WHERE seq = 4");
    let broken = step("2026-02-05T00:00:00Z", &["golden", "log", "--verify"]);
    assert_eq!(broken.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&broken.stderr)
            .contains("audit chain broken at entry 4: its content does not match its hash"),
        "{}",
        String::from_utf8_lossy(&broken.stderr)
    );
}

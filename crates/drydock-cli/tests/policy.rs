//! `drydock policy check` end to end: every rule on a passing and a failing
//! image built here (OCI layouts from `drydock_test` builders), the real
//! Debian fixture against the default policy (exact rules and evidence),
//! SARIF structure, and bad input (exit 2, naming file and line).
use std::path::Path;
use std::process::{Command, Output};

use drydock_test::{Blob, OciImage, RawTar};
use serde_json::{Value, json};

const NOW: &str = "2026-06-01T00:00:00Z";

fn drydock(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_drydock"));
    command
        .args(args)
        .env("DRYDOCK_NOW", NOW)
        .env("DRYDOCK_DB_DIR", "/nonexistent/drydock-db")
        .env_remove("DRYDOCK_STORE")
        .env("XDG_DATA_HOME", "/nonexistent/xdg");
    for (key, value) in envs {
        command.env(key, value);
    }
    command.output().expect("spawn drydock")
}

fn image(
    dir: &Path,
    name: &str,
    runtime: Value,
    created: Option<&str>,
    layers: &[Vec<u8>],
) -> String {
    let mut builder = OciImage::new().runtime_config(runtime);
    if let Some(created) = created {
        builder = builder.created(created);
    }
    for layer in layers {
        builder = builder.layer(Blob::tar(layer.clone()));
    }
    let path = dir.join(name);
    builder.write(&path);
    format!("oci-dir:{}", path.display())
}

/// Runs one policy over `source`; the JSON report and the exit code.
fn check(
    dir: &Path,
    source: &str,
    policy: &str,
    extra: &[&str],
    envs: &[(&str, &str)],
) -> (Value, i32) {
    let policy_path = dir.join("policy.yaml");
    std::fs::write(&policy_path, policy).unwrap();
    let mut args = vec!["policy", "check", source, "-f", "json", "--policy"];
    let policy_arg = policy_path.display().to_string();
    args.push(&policy_arg);
    args.extend_from_slice(extra);
    let output = drydock(&args, envs);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (report, output.status.code().unwrap())
}

/// The one result of a single-rule policy: (status, evidence values + details).
fn only(report: &Value) -> (String, Vec<String>) {
    let results = report["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{report:#}");
    let result = &results[0];
    let evidence = result["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| match e["detail"].as_str() {
            Some(detail) => format!(
                "{} {}: {detail}",
                e["kind"].as_str().unwrap(),
                e["value"].as_str().unwrap()
            ),
            None => format!(
                "{} {}",
                e["kind"].as_str().unwrap(),
                e["value"].as_str().unwrap()
            ),
        })
        .collect();
    (
        result["outcome"]["status"].as_str().unwrap().to_owned(),
        evidence,
    )
}

fn user(user: &str) -> Value {
    json!({"User": user})
}

fn base_files() -> RawTar {
    RawTar::new()
        .dir("etc")
        .file("etc/passwd", "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532::/home/nonroot:/sbin/nologin\napp:x:0:0:sneaky:/:/sbin/nologin\n")
        .dir("usr")
        .dir("usr/bin")
        .file_owned("usr/bin/python3", "ELF", 0o755, 0, 0)
}

struct Case {
    rule: &'static str,
    policy: &'static str,
    pass: Vec<u8>,
    pass_runtime: Value,
    fail: Vec<u8>,
    fail_runtime: Value,
    expected_fail: Vec<&'static str>,
}

#[test]
fn every_file_and_config_rule_passes_and_fails_on_its_fixture() {
    let dir = tempfile::tempdir().unwrap();
    let cases = vec![
        Case {
            rule: "runs-as-root",
            policy: "base: none\nrules:\n  runs-as-root: {}\n",
            pass: base_files().finish(),
            pass_runtime: user("nonroot"),
            fail: base_files().finish(),
            fail_runtime: user("app"),
            expected_fail: vec!["config config.User=\"app\": /etc/passwd maps `app` to uid 0"],
        },
        Case {
            rule: "shell-present",
            policy: "base: none\nrules:\n  shell-present: {}\n",
            // A dangling `sh` is no shell.
            pass: base_files().symlink("usr/bin/sh", "/nonexistent/dash").finish(),
            pass_runtime: user("65532"),
            fail: base_files()
                .dir("bin")
                .file_owned("bin/busybox", "ELF", 0o755, 0, 0)
                .symlink("bin/sh", "busybox")
                .file("usr/share-bash", "not in a system path")
                .finish(),
            fail_runtime: user("65532"),
            expected_fail: vec!["path /bin/busybox", "path /bin/sh: symlink to busybox"],
        },
        Case {
            rule: "package-manager-present",
            policy: "base: none\nrules:\n  package-manager-present: {}\n",
            pass: base_files().dir("usr/share").dir("usr/share/apt").file("usr/share/apt/dpkg", "docs").finish(),
            pass_runtime: user("65532"),
            fail: base_files()
                .dir("sbin")
                .file_owned("sbin/apk", "ELF", 0o755, 0, 0)
                .dir("usr/local")
                .dir("usr/local/bin")
                .file_owned("usr/local/bin/pip3.11", "#!python", 0o755, 0, 0)
                .finish(),
            fail_runtime: user("65532"),
            expected_fail: vec!["path /sbin/apk", "path /usr/local/bin/pip3.11"],
        },
        Case {
            rule: "setuid-files",
            policy: "base: none\nrules:\n  setuid-files: {allow: [/usr/bin/allowed]}\n",
            pass: base_files().file_owned("usr/bin/allowed", "ELF", 0o4755, 0, 0).finish(),
            pass_runtime: user("65532"),
            fail: base_files()
                .file_owned("usr/bin/su", "ELF", 0o4755, 0, 0)
                .file_owned("usr/bin/wall", "ELF", 0o2755, 0, 5)
                .finish(),
            fail_runtime: user("65532"),
            expected_fail: vec![
                "path /usr/bin/su: mode 4755, owner 0:0",
                "path /usr/bin/wall: mode 2755, owner 0:5",
            ],
        },
        Case {
            rule: "world-writable-files",
            policy: "base: none\nrules:\n  world-writable-files: {}\n",
            pass: {
                let mut tmp = drydock_test::TarEntry::file("tmp", b"");
                tmp.typeflag = b'5';
                tmp.mode = 0o1777;
                base_files().entry(&tmp).finish()
            },
            pass_runtime: user("65532"),
            fail: {
                let mut dir = drydock_test::TarEntry::file("var/drop", b"");
                dir.typeflag = b'5';
                dir.mode = 0o777;
                base_files()
                    .dir("var")
                    .entry(&dir)
                    .file_owned("etc/app.conf", "x=1", 0o666, 0, 0)
                    .finish()
            },
            fail_runtime: user("65532"),
            expected_fail: vec![
                "path /etc/app.conf: mode 0666, owner 0:0",
                "path /var/drop: mode 0777, owner 0:0",
            ],
        },
        Case {
            rule: "private-keys",
            policy: "base: none\nrules:\n  private-keys: {}\n",
            pass: base_files()
                .dir("etc/ssl")
                .file("etc/ssl/ca.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
                .finish(),
            pass_runtime: user("65532"),
            fail: base_files()
                .dir("etc/ssl")
                .file("etc/ssl/server.key", "-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\n")
                .dir("root")
                .dir("root/.aws")
                .file("root/.aws/credentials", "[default]\naws_access_key_id = AKIA\n")
                .dir("home")
                .dir("home/app/.ssh")
                .file("home/app/.ssh/id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----\n")
                .finish(),
            fail_runtime: user("65532"),
            expected_fail: vec![
                "path /etc/ssl/server.key: PEM EC PRIVATE KEY",
                "path /home/app/.ssh/id_ed25519: PEM OPENSSH PRIVATE KEY",
                "path /root/.aws/credentials: credential file `.aws/credentials`",
            ],
        },
        Case {
            rule: "required-files",
            policy: "base: none\nrules:\n  required-files:\n    files:\n      - {path: /etc/otel/collector.yaml, owner: \"0:0\", mode: \"0644\", contains: \"endpoint: otel.example.com\"}\n      - {path: /etc/agent/agent.toml, owner: 65533}\n",
            pass: base_files()
                .dir("etc/otel")
                .file_owned("etc/otel/collector.yaml", "exporters:\n  otlp:\n    endpoint: otel.example.com:4317\n", 0o644, 0, 0)
                .dir("etc/agent")
                .file_owned("etc/agent/agent.toml", "x = 1\n", 0o600, 65533, 65533)
                .finish(),
            pass_runtime: user("65532"),
            fail: base_files()
                .dir("etc/otel")
                .file_owned("etc/otel/collector.yaml", "exporters: {}\n", 0o600, 1000, 0)
                .finish(),
            fail_runtime: user("65532"),
            expected_fail: vec![
                "path /etc/agent/agent.toml: missing",
                "path /etc/otel/collector.yaml: does not contain `endpoint: otel.example.com`",
                "path /etc/otel/collector.yaml: mode 0600, expected 0644",
                "path /etc/otel/collector.yaml: owner 1000:0, expected 0:0",
            ],
        },
        Case {
            rule: "required-labels",
            policy: "base: none\nrules:\n  required-labels:\n    labels:\n      - {name: org.opencontainers.image.source}\n      - {name: com.example.team, value: platform}\n",
            pass: base_files().finish(),
            pass_runtime: json!({"User": "65532", "Labels": {"org.opencontainers.image.source": "https://git.example.com/x", "com.example.team": "platform"}}),
            fail: base_files().finish(),
            fail_runtime: json!({"User": "65532", "Labels": {"com.example.team": "payments"}}),
            expected_fail: vec![
                "label com.example.team: is `payments`, expected `platform`",
                "label org.opencontainers.image.source: missing",
            ],
        },
    ];
    for case in cases {
        let pass = image(
            dir.path(),
            &format!("{}-pass", case.rule),
            case.pass_runtime,
            None,
            &[case.pass],
        );
        let (report, code) = check(dir.path(), &pass, case.policy, &[], &[]);
        assert_eq!(
            only(&report),
            ("pass".to_owned(), vec![]),
            "{}: {report:#}",
            case.rule
        );
        assert_eq!(code, 0, "{}", case.rule);
        let fail = image(
            dir.path(),
            &format!("{}-fail", case.rule),
            case.fail_runtime,
            None,
            &[case.fail],
        );
        let (report, code) = check(dir.path(), &fail, case.policy, &[], &[]);
        let expected: Vec<String> = case.expected_fail.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(
            only(&report),
            ("fail".to_owned(), expected),
            "{}: {report:#}",
            case.rule
        );
        assert_eq!(report["results"][0]["id"], case.rule);
        assert_eq!(code, 1, "{}", case.rule);
    }
}

#[test]
fn max_age_uses_the_fixed_clock() {
    let dir = tempfile::tempdir().unwrap();
    let policy = "base: none\nrules:\n  max-age: {days: 30}\n";
    let young = image(
        dir.path(),
        "young",
        user("1"),
        Some("2026-05-20T00:00:00Z"),
        &[base_files().finish()],
    );
    let (report, code) = check(dir.path(), &young, policy, &[], &[]);
    assert_eq!((only(&report).0.as_str(), code), ("pass", 0));
    let old = image(
        dir.path(),
        "old",
        user("1"),
        Some("2026-02-01T00:00:00Z"),
        &[base_files().finish()],
    );
    let (report, code) = check(dir.path(), &old, policy, &[], &[]);
    assert_eq!(
        only(&report),
        (
            "fail".into(),
            vec!["config created=2026-02-01T00:00:00Z: 120 days old, limit 30".into()]
        )
    );
    assert_eq!(code, 1);
    // No `created`: reported as not evaluated, and the gate does not pass.
    let unknown = image(
        dir.path(),
        "unknown",
        user("1"),
        None,
        &[base_files().finish()],
    );
    let (report, code) = check(dir.path(), &unknown, policy, &[], &[]);
    assert_eq!(report["results"][0]["outcome"]["status"], "not-evaluated");
    assert_eq!(code, 1);
}

fn python_package(version: &str) -> Vec<u8> {
    let site = "usr/lib/python3/site-packages";
    let info = format!("{site}/demo_pkg-{version}.dist-info");
    RawTar::new()
        .dir("usr")
        .dir("usr/lib")
        .dir("usr/lib/python3")
        .dir(site)
        .dir(&info)
        .file(
            format!("{info}/METADATA"),
            format!("Metadata-Version: 2.1\nName: demo-pkg\nVersion: {version}\n"),
        )
        .file(format!("{info}/RECORD"), "")
        .finish()
}

#[test]
fn vulnerabilities_rule_with_and_without_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let osv = dir.path().join("osv");
    std::fs::create_dir_all(&osv).unwrap();
    std::fs::write(
        osv.join("PYSEC-0000-1.json"),
        serde_json::to_vec(&json!({
            "schema_version": "1.6.0",
            "id": "PYSEC-0000-1",
            "modified": "2026-01-01T00:00:00Z",
            "published": "2026-01-01T00:00:00Z",
            "aliases": ["CVE-2026-0001"],
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
            "affected": [{
                "package": {"ecosystem": "PyPI", "name": "demo-pkg"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}]
            }]
        }))
        .unwrap(),
    )
    .unwrap();
    let db = dir.path().join("db");
    let db_arg = db.display().to_string();
    let imported = drydock(
        &[
            "db",
            "import",
            "--db-dir",
            &db_arg,
            &osv.display().to_string(),
        ],
        &[],
    );
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let policy =
        "base: none\nrules:\n  vulnerabilities: {min-severity: critical, published-days: 30}\n";
    let vulnerable = image(
        dir.path(),
        "vulnerable",
        user("1"),
        None,
        &[python_package("1.0")],
    );
    let (report, code) = check(dir.path(), &vulnerable, policy, &["--db-dir", &db_arg], &[]);
    assert_eq!(
        only(&report),
        (
            "fail".into(),
            vec!["finding PYSEC-0000-1: critical in demo-pkg 1.0, fixed in 2.0".into()]
        )
    );
    assert_eq!(code, 1);
    let fixed = image(
        dir.path(),
        "fixed",
        user("1"),
        None,
        &[python_package("2.0")],
    );
    let (report, code) = check(dir.path(), &fixed, policy, &["--db-dir", &db_arg], &[]);
    assert_eq!((only(&report).0.as_str(), code), ("pass", 0));
    // Published less than N days ago: not yet due.
    let recent =
        "base: none\nrules:\n  vulnerabilities: {min-severity: critical, published-days: 365}\n";
    let (report, _) = check(dir.path(), &vulnerable, recent, &["--db-dir", &db_arg], &[]);
    assert_eq!(only(&report).0, "pass");
    // No database: not evaluated, never a silent pass.
    let (report, code) = check(dir.path(), &vulnerable, policy, &[], &[]);
    assert_eq!(
        report["results"][0]["outcome"]["status"], "not-evaluated",
        "{report:#}"
    );
    assert_eq!(report["verdict"], "incomplete");
    assert_eq!(code, 1);
}

#[test]
fn unsigned_rule_verifies_with_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let password = [("DRYDOCK_PASSWORD", "")];
    for prefix in ["good", "other"] {
        let output = Command::new(env!("CARGO_BIN_EXE_drydock"))
            .args(["key", "generate", "--prefix", prefix])
            .current_dir(dir.path())
            .env("DRYDOCK_PASSWORD", "")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let policy = "base: none\nrules:\n  unsigned: {}\n";
    let good_pub = dir.path().join("good.pub").display().to_string();
    let signed = image(
        dir.path(),
        "signed",
        user("1"),
        None,
        &[base_files().finish()],
    );
    let unsigned = image(
        dir.path(),
        "unsigned",
        user("1"),
        None,
        &[base_files().file("x", "y").finish()],
    );
    let wrong = image(
        dir.path(),
        "wrong",
        user("1"),
        None,
        &[base_files().file("x", "z").finish()],
    );
    for (source, key) in [(&signed, "good.key"), (&wrong, "other.key")] {
        let key = dir.path().join(key).display().to_string();
        let output = drydock(&["sign", "--key", &key, source], &password);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let (report, code) = check(dir.path(), &signed, policy, &["--key", &good_pub], &[]);
    assert_eq!((only(&report).0.as_str(), code), ("pass", 0), "{report:#}");
    let (report, code) = check(dir.path(), &unsigned, policy, &["--key", &good_pub], &[]);
    assert_eq!(
        only(&report),
        (
            "fail".into(),
            vec!["signature none: no signature found".into()]
        )
    );
    assert_eq!(code, 1);
    let (report, _) = check(dir.path(), &wrong, policy, &["--key", &good_pub], &[]);
    let (status, evidence) = only(&report);
    assert_eq!(status, "fail");
    assert!(
        evidence.len() == 1 && evidence[0].starts_with("signature rejected: bundle sha256:"),
        "{evidence:?}"
    );
    let (report, code) = check(dir.path(), &signed, policy, &[], &[]);
    assert_eq!(
        report["results"][0]["outcome"],
        json!({"status": "not-evaluated", "reason": "no public key given (`--key`)"})
    );
    assert_eq!(code, 1);
}

#[test]
fn base_not_golden_consults_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("fleet.db").display());
    let base_layer = base_files().finish();
    let golden = image(
        dir.path(),
        "golden",
        user("1"),
        None,
        std::slice::from_ref(&base_layer),
    );
    let envs = [("DRYDOCK_STORE", store.as_str())];
    let submitted = drydock(
        &[
            "golden",
            "submit",
            &golden,
            "--line",
            "base",
            "--repository",
            "registry.example/golden/base",
            "--image-version",
            "1",
        ],
        &envs,
    );
    assert!(
        submitted.status.success(),
        "{}",
        String::from_utf8_lossy(&submitted.stderr)
    );
    let digest = String::from_utf8_lossy(&submitted.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches(':')
        .to_owned();
    let policy = "base: none\nrules:\n  base-not-golden: {}\n";
    let app = image(
        dir.path(),
        "app",
        user("1"),
        None,
        &[base_layer, RawTar::new().file("app", "bin").finish()],
    );
    // A candidate is not yet approved.
    let (report, code) = check(dir.path(), &app, policy, &[], &envs);
    assert_eq!(only(&report).0, "fail");
    assert_eq!(code, 1);
    let approved = drydock(
        &[
            "golden",
            "approve",
            &digest,
            "--by",
            "alice",
            "--reason",
            "base",
            "--override",
        ],
        &envs,
    );
    assert!(
        approved.status.success(),
        "{}",
        String::from_utf8_lossy(&approved.stderr)
    );
    let (report, code) = check(dir.path(), &app, policy, &[], &envs);
    assert_eq!((only(&report).0.as_str(), code), ("pass", 0), "{report:#}");
    let other = image(
        dir.path(),
        "other",
        user("1"),
        None,
        &[RawTar::new().file("other", "x").finish()],
    );
    let (report, _) = check(dir.path(), &other, policy, &[], &envs);
    let (status, evidence) = only(&report);
    assert_eq!(status, "fail");
    assert!(
        evidence[0].ends_with("the first layers match none of 1 approved golden image"),
        "{evidence:?}"
    );
    // No store configured: not evaluated.
    let (report, _) = check(dir.path(), &app, policy, &[], &[]);
    assert_eq!(report["results"][0]["outcome"]["status"], "not-evaluated");
}

#[test]
fn debian_fixture_fails_the_default_policy_with_exactly_these_rules() {
    let Some(fixture) = drydock_test::debian_fixture() else {
        return;
    };
    let source = format!("oci-dir:{}", fixture.dir.join("oci-gzip").display());
    let output = drydock(&["policy", "check", &source, "-f", "json"], &[]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let summary: Vec<(String, String, Vec<String>)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap().to_owned(),
                r["outcome"]["status"].as_str().unwrap().to_owned(),
                r["evidence"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["value"].as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect();
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        summary,
        vec![
            (
                "runs-as-root".into(),
                "fail".into(),
                s(&["config.User=\"\""])
            ),
            (
                "shell-present".into(),
                "fail".into(),
                s(&[
                    "/usr/bin/bash",
                    "/usr/bin/dash",
                    "/usr/bin/rbash",
                    "/usr/bin/sh"
                ])
            ),
            (
                "package-manager-present".into(),
                "fail".into(),
                s(&["/usr/bin/apt", "/usr/bin/apt-get", "/usr/bin/dpkg"])
            ),
            ("vulnerabilities".into(), "not-evaluated".into(), vec![]),
            ("unsigned".into(), "not-evaluated".into(), vec![]),
        ]
    );
    // The same, as SARIF 2.1.0.
    let output = drydock(&["policy", "check", &source, "-f", "sarif"], &[]);
    let sarif: Value = serde_json::from_slice(&output.stdout).unwrap();
    check_sarif(&sarif);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let kinds: Vec<(&str, &str)> = results
        .iter()
        .map(|r| (r["ruleId"].as_str().unwrap(), r["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("runs-as-root", "fail"),
            ("shell-present", "fail"),
            ("package-manager-present", "fail"),
            ("vulnerabilities", "notApplicable"),
            ("unsigned", "notApplicable")
        ]
    );
    let uris: Vec<&str> = results[1]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            l["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(
        uris,
        [
            "usr/bin/bash",
            "usr/bin/dash",
            "usr/bin/rbash",
            "usr/bin/sh"
        ]
    );
}

/// SARIF 2.1.0's required structure (no SARIF schema is available offline
/// here; these are the schema's `required` and `enum` constraints for the
/// objects drydock writes).
fn check_sarif(sarif: &Value) {
    assert_eq!(sarif["version"], "2.1.0");
    let runs = sarif["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let driver = &runs[0]["tool"]["driver"];
    assert!(driver["name"].is_string());
    let rules = driver["rules"].as_array().unwrap();
    for rule in rules {
        assert!(rule["id"].is_string());
        let level = rule["defaultConfiguration"]["level"].as_str().unwrap();
        assert!(["none", "note", "warning", "error"].contains(&level));
    }
    for result in runs[0]["results"].as_array().unwrap() {
        assert!(result["message"]["text"].is_string());
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        let kind = result["kind"].as_str().unwrap();
        assert!(
            [
                "notApplicable",
                "pass",
                "fail",
                "review",
                "open",
                "informational"
            ]
            .contains(&kind)
        );
        let level = result["level"].as_str().unwrap();
        assert!(["none", "note", "warning", "error"].contains(&level));
        // The spec: level must be `none` unless kind is `fail`.
        assert!(kind == "fail" || level == "none");
        for location in result["locations"].as_array().into_iter().flatten() {
            let artifact = &location["physicalLocation"]["artifactLocation"];
            assert!(artifact["uri"].is_string());
            let base = artifact["uriBaseId"].as_str().unwrap();
            assert!(runs[0]["originalUriBaseIds"][base].is_object());
        }
    }
}

#[test]
fn bad_input_is_an_error_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let source = image(dir.path(), "img", user("1"), None, &[base_files().finish()]);
    for (policy, expected) in [
        (
            "rules:\n  runs-as-root: {}\n  no-such-rule: {}\n",
            "unknown field `no-such-rule`",
        ),
        ("rules:\n  max-age: [\n", "line"),
        ("rulez: {}\n", "unknown field `rulez`"),
    ] {
        let path = dir.path().join("bad.yaml");
        std::fs::write(&path, policy).unwrap();
        let output = drydock(
            &[
                "policy",
                "check",
                &source,
                "--policy",
                &path.display().to_string(),
            ],
            &[],
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.starts_with(&format!("drydock: policy `{}`", path.display())),
            "{stderr}"
        );
        assert!(
            stderr.contains(expected) && stderr.contains("line"),
            "{stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    let missing = drydock(&["policy", "check", "oci-dir:/nonexistent/image"], &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/image"));
}

/// `drydock build` of examples/golden/static.yaml (the Debian archive apt
/// uses here, .deb cache in `.cache/golden`), signed, checked against the
/// default policy with a database: every rule passes.
#[test]
fn a_drydock_build_golden_image_passes_the_default_policy() {
    if !(drydock_test::require_tools(&["dpkg-query"])
        && Path::new("/usr/share/keyrings/debian-archive-keyring.gpg").is_file())
    {
        drydock_test::missing("debian-archive-keyring");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("static.yaml");
    std::fs::copy(
        drydock_test::workspace_root().join("examples/golden/static.yaml"),
        &spec,
    )
    .unwrap();
    let layout = dir.path().join("static.oci");
    let cache = drydock_test::workspace_root().join(".cache/golden");
    std::fs::create_dir_all(&cache).unwrap();
    let mut args: Vec<String> = vec![
        "build".into(),
        spec.display().to_string(),
        "-o".into(),
        format!("oci-dir:{}", layout.display()),
        "--cache-dir".into(),
        cache.display().to_string(),
    ];
    args.extend(mirror_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // The archive's InRelease is checked against the real clock (an empty
    // `DRYDOCK_NOW`): the policy's fixed clock predates the archive's `Date`.
    let built = drydock(
        &args,
        &[("SOURCE_DATE_EPOCH", "1700000000"), ("DRYDOCK_NOW", "")],
    );
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    let keygen = Command::new(env!("CARGO_BIN_EXE_drydock"))
        .args(["key", "generate", "--prefix", "golden"])
        .current_dir(dir.path())
        .env("DRYDOCK_PASSWORD", "")
        .output()
        .unwrap();
    assert!(keygen.status.success());
    let source = format!("oci-dir:{}", layout.display());
    let key = dir.path().join("golden.key").display().to_string();
    let signed = drydock(
        &["sign", "--key", &key, &source],
        &[("DRYDOCK_PASSWORD", "")],
    );
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    let db = dir.path().join("db").display().to_string();
    let tracker = drydock_test::workspace_root()
        .join("crates/drydock-vuln/tests/fixtures/tracker-debian-image.json")
        .display()
        .to_string();
    let imported = drydock(&["db", "import", "--db-dir", &db, &tracker], &[]);
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let public = dir.path().join("golden.pub").display().to_string();
    let output = drydock(
        &[
            "policy", "check", &source, "-f", "json", "--db-dir", &db, "--key", &public,
        ],
        &[],
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let statuses: Vec<(&str, &str)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap(),
                r["outcome"]["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("runs-as-root", "pass"),
            ("shell-present", "pass"),
            ("package-manager-present", "pass"),
            ("vulnerabilities", "pass"),
            ("unsigned", "pass")
        ],
        "{report:#}"
    );
    assert_eq!(output.status.code(), Some(0));
}

/// `--mirror` arguments: the archive apt is configured with here.
fn mirror_args() -> Vec<String> {
    drydock_test::debian_mirror_args()
}

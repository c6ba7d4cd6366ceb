//! `drydock fleet remediate` end to end: the real bookworm fixture image
//! (bookworm main only) in a real registry, advisories derived from the
//! bookworm-security changelogs (`tests/fixtures/debian-cves/derive.py`),
//! patched from the real Debian archives and pushed beside the original;
//! then "deployed" by moving the original tag to the patched digest, after
//! which the inventory resolves the original's findings as remediated and
//! MTTR counts them. Needs docker-registry, skopeo, python3 and the Debian
//! archive (deb.debian.org, as the patch tests).
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use drydock_test::{
    REGISTRY, Registry, RegistryConfig, debian_fixture, derive_debian_cves, fixture_cache,
    layout_digest, missing, python_image, require_tools, skopeo_copy, workspace_root,
};
use serde_json::Value;

const T1: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const DAY: i64 = 86_400;

struct Env {
    store: String,
    db: PathBuf,
    home: PathBuf,
}

impl Env {
    fn drydock(&self, now: i64, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_drydock"))
            .args(args)
            .env("DRYDOCK_STORE", &self.store)
            .env("DRYDOCK_DB_DIR", &self.db)
            .env("DRYDOCK_NOW", now.to_string())
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .env("DRYDOCK_PASSWORD", "")
            .current_dir(&self.home)
            .env("HOME", &self.home)
            .env_remove("XDG_DATA_HOME")
            .env("DOCKER_CONFIG", "/nonexistent")
            .stdin(Stdio::null())
            .output()
            .expect("spawn drydock")
    }

    fn ok(&self, now: i64, args: &[&str]) -> Output {
        let output = self.drydock(now, args);
        assert!(
            output.status.success(),
            "drydock {args:?}: exit {:?}\nstdout: {}\nstderr: {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    fn json(&self, now: i64, args: &[&str]) -> Value {
        let output = self.ok(now, args);
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!("{args:?}: {e}: {}", String::from_utf8_lossy(&output.stdout))
        })
    }
}

/// The digest a tag points to, as skopeo reads it.
fn registry_digest(reference: &str) -> String {
    let out = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--raw", reference])
        .stdin(Stdio::null())
        .output()
        .expect("skopeo");
    assert!(
        out.status.success(),
        "skopeo inspect {reference}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    format!("sha256:{}", drydock_test::sha256_hex(&out.stdout))
}

fn tags(reference: &str) -> Option<Vec<String>> {
    let out = Command::new("skopeo")
        .args(["list-tags", "--tls-verify=false", reference])
        .stdin(Stdio::null())
        .output()
        .expect("skopeo");
    if !out.status.success() {
        return None;
    }
    let value: Value = serde_json::from_slice(&out.stdout).ok()?;
    Some(
        value["Tags"]
            .as_array()?
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect(),
    )
}

fn findings_of(findings: &Value, digest: &str) -> Vec<Value> {
    findings
        .as_array()
        .expect("findings array")
        .iter()
        .filter(|f| f["digest"] == digest)
        .cloned()
        .collect()
}

#[test]
fn fleet_remediate_patches_pushes_and_resolves_once_deployed() {
    if !Path::new(REGISTRY).is_file() {
        missing("`docker-registry` (apt-get install docker-registry)");
        return;
    }
    if !require_tools(&["skopeo", "python3", "apt-get"]) {
        return;
    }
    let Some(debian) = debian_fixture() else {
        return;
    };
    let work = tempfile::tempdir().expect("temp dir");
    let env = Env {
        store: format!("sqlite:{}", work.path().join("fleet.db").display()),
        db: work.path().join("db"),
        home: work.path().join("home"),
    };
    std::fs::create_dir_all(&env.home).unwrap();
    let derived = work.path().join("derived");
    derive_debian_cves(&debian, &derived);
    let fixed_cves: BTreeSet<String> = std::fs::read_to_string(derived.join("expected.tsv"))
        .unwrap()
        .lines()
        .filter_map(|line| line.split('\t').next().map(str::to_owned))
        .collect();
    assert!(fixed_cves.len() >= 3, "too few CVEs: {fixed_cves:?}");
    let pypi = workspace_root().join("../shared/data/osv/PyPI");
    env.ok(
        T1,
        &[
            "db",
            "import",
            derived.join("osv").to_str().unwrap(),
            pypi.to_str().unwrap(),
        ],
    );

    let registry = Registry::start(&RegistryConfig::default());
    let host = registry.host();
    skopeo_copy(
        &format!("oci:{}", debian.dir.join("oci-gzip").display()),
        &format!("docker://{host}/base/debian:12"),
    );
    let app = python_image(&work.path().join("app"), &[("urllib3", "1.26.4")]);
    let app_digest = layout_digest(&app);
    skopeo_copy(
        &format!("oci:{}", app.display()),
        &format!("docker://{host}/team/app:1.0"),
    );
    let original = registry_digest(&format!("docker://{host}/base/debian:12"));
    env.ok(T1, &["fleet", "add", "registry", &host, "--name", "local"]);
    env.json(T1, &["fleet", "sync", "-f", "json"]);
    let before = env.json(T1, &["fleet", "findings", "--fixable", "-f", "json"]);
    let open_before = findings_of(&before, &original);
    let open_cves: BTreeSet<String> = open_before
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect();
    // Finding ids are the OSV records' (`DEBIAN-CVE-…`), derive.py's the CVEs.
    let as_cves: BTreeSet<String> = open_cves
        .iter()
        .map(|id| id.strip_prefix("DEBIAN-").unwrap_or(id).to_owned())
        .collect();
    assert!(
        !open_cves.is_empty() && as_cves.is_subset(&fixed_cves),
        "fixable findings {open_cves:?} vs derived {fixed_cves:?}"
    );
    assert!(
        !findings_of(&before, &app_digest).is_empty(),
        "the app image has fixable PyPI findings"
    );

    env.ok(T1, &["key", "generate", "--prefix", "fleet"]);
    let key = env.home.join("fleet.key");
    let public = env.home.join("fleet.pub");
    let to = format!("{host}/patched");
    let cache = fixture_cache().join("patch-packages");
    std::fs::create_dir_all(&cache).unwrap();
    let strict = [
        "fleet",
        "remediate",
        "--to",
        to.as_str(),
        "--cache-dir",
        cache.to_str().unwrap(),
        "-f",
        "json",
    ];
    // The test's clock (DRYDOCK_NOW) is early 2026, so the archive's real
    // InRelease is dated in the future: refused, unless the user accepts it.
    let mut refused: Vec<&str> = strict.to_vec();
    refused.push("--dry-run");
    let output = env.drydock(T1 + DAY / 2, &refused);
    assert_eq!(output.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let item = report["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["digest"] == original)
        .unwrap();
    assert_eq!(item["status"], "failed", "{report:#}");
    assert!(
        item["reasons"][0]
            .as_str()
            .unwrap()
            .contains("is dated in the future"),
        "{item}"
    );
    let mut common: Vec<&str> = strict.to_vec();
    common.push("--allow-stale-release");

    // Dry run: says what it would do, pushes and records nothing.
    let mut dry: Vec<&str> = common.clone();
    dry.push("--dry-run");
    let report = env.json(T1 + DAY / 2, &dry);
    let images = report["images"].as_array().unwrap();
    let debian_item = images.iter().find(|i| i["digest"] == original).unwrap();
    assert_eq!(debian_item["status"], "would-patch", "{report:#}");
    assert!(
        debian_item["reasons"].as_array().unwrap().iter().any(|r| r
            .as_str()
            .unwrap()
            .contains("(accepted: --allow-stale-release)")),
        "{debian_item}"
    );
    assert_eq!(tags(&format!("docker://{to}/base/debian")), None);

    let mut signed: Vec<&str> = common.clone();
    signed.extend(["--key", key.to_str().unwrap()]);
    let report = env.json(T1 + DAY, &signed);
    let images = report["images"].as_array().unwrap();
    assert_eq!(images.len(), 2, "{report:#}");
    let app_item = images.iter().find(|i| i["digest"] == app_digest).unwrap();
    assert_eq!(app_item["status"], "skipped");
    assert!(
        app_item["reasons"][0]
            .as_str()
            .unwrap()
            .starts_with("no fixable finding in a Debian package"),
        "{app_item}"
    );
    let item = images.iter().find(|i| i["digest"] == original).unwrap();
    assert_eq!(item["status"], "patched", "{report:#}");
    let target = format!("registry:{to}/base/debian:12-patched");
    assert_eq!(item["target"], target.as_str());
    assert_eq!(
        item["source"],
        format!("registry:{host}/base/debian@{original}").as_str()
    );
    let patched = item["patched_digest"].as_str().unwrap().to_owned();
    assert_ne!(patched, original);
    assert_eq!(
        registry_digest(&format!("docker://{to}/base/debian:12-patched")),
        patched,
        "the patched image is pushed where the report says"
    );
    let fixed: BTreeSet<String> = item["vulns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert!(
        !fixed.is_empty() && fixed.is_subset(&open_cves),
        "fixed {fixed:?} of open {open_cves:?}"
    );
    assert!(!item["packages"].as_array().unwrap().is_empty());
    // Signed with the key given.
    env.ok(
        T1 + DAY,
        &[
            "verify",
            "--key",
            public.to_str().unwrap(),
            &format!("{to}/base/debian:12-patched"),
        ],
    );
    // The original tag is untouched until someone deploys the patch.
    assert_eq!(
        registry_digest(&format!("docker://{host}/base/debian:12")),
        original
    );

    // Deploy: the tag now names the patched digest. The inventory sees the
    // original gone and the patched image in its place.
    skopeo_copy(
        &format!("docker://{to}/base/debian:12-patched"),
        &format!("docker://{host}/base/debian:12"),
    );
    let t3 = T1 + 2 * DAY;
    env.json(t3, &["fleet", "sync", "-f", "json"]);
    let all = env.json(t3, &["fleet", "findings", "--all", "-f", "json"]);
    let originals = findings_of(&all, &original);
    assert!(!originals.is_empty());
    let mut remediated = 0;
    for finding in &originals {
        let id = finding["id"].as_str().unwrap();
        assert_eq!(finding["status"], "resolved", "{finding}");
        let resolution = finding["resolution"].as_str().unwrap();
        if fixed.contains(id) {
            assert_eq!(
                resolution,
                format!("remediated:{patched}"),
                "{id} was fixed by the patch"
            );
            remediated += 1;
        } else {
            assert!(
                resolution == format!("image-replaced:{patched}")
                    || resolution == format!("remediated:{patched}"),
                "{id}: {resolution}"
            );
        }
    }
    assert!(remediated > 0);
    let patched_open: BTreeSet<String> = findings_of(&all, &patched)
        .iter()
        .filter(|f| f["status"] == "open")
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        patched_open.is_disjoint(&fixed),
        "the patched image still has {:?}",
        patched_open.intersection(&fixed).collect::<Vec<_>>()
    );
    let metrics = env.json(t3, &["fleet", "metrics", "-f", "json"]);
    assert_eq!(metrics["mttr"]["all"]["count"], originals.len());
    assert_eq!(metrics["mttr"]["all"]["median_seconds"], 2 * DAY);

    // Nothing left to fix for the patched image: no second push.
    let again = env.json(t3 + DAY, &common);
    for item in again["images"].as_array().unwrap() {
        assert_ne!(item["status"], "patched", "{again:#}");
        assert_ne!(item["status"], "failed", "{again:#}");
    }
}

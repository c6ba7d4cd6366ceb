//! `drydock fleet` against a real registry (Debian's `docker-registry` on
//! loopback, with its access log), real images (the debootstrap Debian
//! fixture under three tags; small Python application images carrying real
//! releases' metadata) and the real PyPA advisories, on the embedded SQLite
//! store and on a throwaway PostgreSQL cluster. A fixed clock
//! (`DRYDOCK_NOW`) makes first-seen, resolved-at, MTTI and MTTR exact.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use drydock_test::{
    Postgres, REGISTRY, Registry, RegistryConfig, debian_fixture, layout_digest, missing,
    python_image, require_tools, skopeo_copy, workspace_root,
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
            .env("HOME", &self.home)
            .env_remove("XDG_DATA_HOME")
            .env("DOCKER_CONFIG", "/nonexistent")
            .stdin(Stdio::null())
            .output()
            .expect("spawn drydock")
    }

    fn ok(&self, now: i64, args: &[&str]) -> String {
        let output = self.drydock(now, args);
        assert!(
            output.status.success(),
            "drydock {args:?}: exit {:?}\nstdout: {}\nstderr: {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    fn json(&self, now: i64, args: &[&str]) -> Value {
        let text = self.ok(now, args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}"))
    }
}

fn prerequisites() -> bool {
    if !Path::new(REGISTRY).is_file() {
        return missing("`docker-registry` (apt-get install docker-registry)");
    }
    require_tools(&["skopeo"])
}

fn skopeo_delete(reference: &str) {
    let out = Command::new("skopeo")
        .args(["delete", "--tls-verify=false", reference])
        .stdin(Stdio::null())
        .output()
        .expect("skopeo");
    assert!(
        out.status.success(),
        "skopeo delete {reference}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn blob_requests(registry: &Registry) -> usize {
    registry
        .requests()
        .iter()
        .filter(|r| r.starts_with("GET ") && r.contains("/blobs/"))
        .count()
}

/// Nearest-rank percentile, written independently of drydock's.
fn rank(values: &[i64], p: f64) -> i64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    // Smallest k with k / n >= p.
    let n = sorted.len();
    let k = (1..=n).find(|k| *k as f64 >= p * n as f64).unwrap_or(n);
    sorted[k - 1]
}

/// Findings of `drydock scan` as (id, package, version) — the reference the
/// fleet's findings of the same image must equal.
fn scan_ids(env: &Env, layout: &Path) -> BTreeSet<(String, String, String)> {
    let scan = env.json(
        T1,
        &[
            "scan",
            &format!("oci-dir:{}", layout.display()),
            "-f",
            "json",
        ],
    );
    scan["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_owned(),
                f["package"]["name"].as_str().unwrap().to_owned(),
                f["package"]["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn fleet_ids(findings: &Value, digest: &str) -> BTreeSet<(String, String, String)> {
    findings
        .as_array()
        .expect("array")
        .iter()
        .filter(|f| f["digest"] == digest)
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_owned(),
                f["package"]["name"].as_str().unwrap().to_owned(),
                f["package"]["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The whole life of a small fleet on one store; returns the outputs that
/// must be identical across backends.
fn lifecycle(store: String) -> Option<BTreeMap<&'static str, Value>> {
    if !prerequisites() {
        return None;
    }
    let debian = debian_fixture()?;
    let work = tempfile::tempdir().expect("temp dir");
    let env = Env {
        store,
        db: work.path().join("db"),
        home: work.path().join("home"),
    };
    std::fs::create_dir_all(&env.home).unwrap();
    let registry = Registry::start(&RegistryConfig {
        access_log: true,
        ..RegistryConfig::default()
    });
    let host = registry.host();
    // Old releases with real advisories, and the same app with urllib3 fixed.
    let app_old = python_image(
        &work.path().join("app-old"),
        &[("urllib3", "1.26.4"), ("Jinja2", "2.11.2")],
    );
    let app_new = python_image(
        &work.path().join("app-new"),
        &[("urllib3", "2.2.3"), ("Jinja2", "2.11.2")],
    );
    let old_digest = layout_digest(&app_old);
    let new_digest = layout_digest(&app_new);
    let debian_layout = debian.dir.join("oci-gzip");
    for tag in ["12", "bookworm", "latest"] {
        skopeo_copy(
            &format!("oci:{}", debian_layout.display()),
            &format!("docker://{host}/base/debian:{tag}"),
        );
    }
    for tag in ["1.0", "latest"] {
        skopeo_copy(
            &format!("oci:{}", app_old.display()),
            &format!("docker://{host}/team/app:{tag}"),
        );
    }

    // An unrelated database first (KEV only): cataloged, not matched.
    let kev = workspace_root().join("../shared/data/kev/known_exploited_vulnerabilities.json");
    env.ok(T1, &["db", "import", kev.to_str().unwrap()]);
    env.ok(T1, &["fleet", "add", "registry", &host, "--name", "local"]);
    let sync = env.json(T1, &["fleet", "sync", "-f", "json"]);
    assert_eq!(sync["sources"][0]["seen"], 5, "{sync}");
    assert_eq!(sync["sources"][0]["digests"], 2, "{sync}");
    assert_eq!(sync["sources"][0]["cataloged"], 2, "{sync}");
    let images = env.json(T1, &["fleet", "images", "-f", "json"]);
    let images = images.as_array().unwrap();
    assert_eq!(images.len(), 2, "5 tags over 2 digests are 2 SBOMs");
    let debian_image = images
        .iter()
        .find(|i| i["locations"].as_array().unwrap().len() == 3)
        .expect("the Debian image seen under 3 tags");
    assert_eq!(debian_image["packages"], debian.expected_final.len());
    assert_eq!(debian_image["distro"], "debian 12");

    // Nothing changed: no blob is pulled again.
    let blobs = blob_requests(&registry);
    assert!(blobs > 0);
    let sync = env.json(T1 + DAY, &["fleet", "sync", "-f", "json"]);
    assert_eq!(sync["sources"][0]["cataloged"], 0);
    assert_eq!(sync["sources"][0]["new_sightings"], 0);
    assert_eq!(
        blob_requests(&registry),
        blobs,
        "a second sync pulled blobs"
    );

    // New advisories: findings appear at import time, no registry request.
    let requests = registry.requests().len();
    let t3 = T1 + 3 * DAY;
    let pypi = workspace_root().join("../shared/data/osv/PyPI");
    let import = env.ok(t3, &["db", "import", pypi.to_str().unwrap()]);
    assert!(import.contains("re-matched 2 images"), "{import}");
    assert_eq!(
        registry.requests().len(),
        requests,
        "the re-match talked to the registry"
    );
    let findings = env.json(t3, &["fleet", "findings", "-f", "json"]);
    let expected_old = scan_ids(&env, &app_old);
    assert!(!expected_old.is_empty());
    assert_eq!(
        fleet_ids(&findings, &old_digest),
        expected_old,
        "fleet vs scan of the same image"
    );
    for finding in findings.as_array().unwrap() {
        assert_eq!(finding["first_seen"], "2026-01-04T00:00:00Z");
        assert_eq!(finding["status"], "open");
        let places: BTreeSet<&str> = finding["locations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["reference"].as_str().unwrap())
            .collect();
        assert_eq!(
            places,
            BTreeSet::from([
                format!("{host}/team/app:1.0").as_str(),
                format!("{host}/team/app:latest").as_str()
            ])
        );
        assert_eq!(
            finding["package"]["location"]
                .as_str()
                .map(|l| l.ends_with("/METADATA")),
            Some(true)
        );
    }
    let opened = expected_old.len();
    // Filters.
    let one = &expected_old.iter().next().unwrap().0;
    let by_vuln = env.json(
        t3,
        &[
            "fleet",
            "findings",
            "--vuln",
            &one.to_lowercase(),
            "-f",
            "json",
        ],
    );
    assert!(
        by_vuln
            .as_array()
            .unwrap()
            .iter()
            .all(|f| &f["id"] == one || f["aliases"].as_array().unwrap().iter().any(|a| a == one))
    );
    assert!(!by_vuln.as_array().unwrap().is_empty());
    let by_package = env.json(
        t3,
        &["fleet", "findings", "--package", "urllib3", "-f", "json"],
    );
    let urllib3_count = expected_old.iter().filter(|f| f.1 == "urllib3").count();
    assert_eq!(by_package.as_array().unwrap().len(), urllib3_count);

    // The same data again changes nothing and records nothing.
    let events_before = env
        .json(t3, &["fleet", "events", "-f", "json"])
        .as_array()
        .unwrap()
        .len();
    let again = env.ok(t3 + 3600, &["db", "import", pypi.to_str().unwrap()]);
    assert!(
        again.contains("0 opened, 0 reopened, 0 resolved"),
        "{again}"
    );
    let events_after = env
        .json(t3, &["fleet", "events", "-f", "json"])
        .as_array()
        .unwrap()
        .len();
    assert_eq!(events_before, events_after);

    // The app is replaced by the fixed build: app:latest moves, app:1.1 is
    // new, the old digest is deleted (and with it app:1.0).
    let t5 = T1 + 10 * DAY;
    for tag in ["1.1", "latest"] {
        skopeo_copy(
            &format!("oci:{}", app_new.display()),
            &format!("docker://{host}/team/app:{tag}"),
        );
    }
    skopeo_delete(&format!("docker://{host}/team/app@{old_digest}"));
    let sync = env.json(t5, &["fleet", "sync", "-f", "json"]);
    assert_eq!(sync["sources"][0]["cataloged"], 1, "{sync}");
    assert_eq!(sync["sources"][0]["images_gone"], 1, "{sync}");
    let all = env.json(t5, &["fleet", "findings", "--all", "-f", "json"]);
    let expected_new = scan_ids(&env, &app_new);
    assert_eq!(fleet_ids(&all, &new_digest), expected_new);
    let mut resolved = 0;
    for finding in all
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["digest"] == old_digest.as_str())
    {
        assert_eq!(finding["status"], "resolved");
        assert_eq!(finding["resolved_at"], "2026-01-11T00:00:00Z");
        let package = finding["package"]["name"].as_str().unwrap();
        let cause = finding["resolution"].as_str().unwrap();
        // urllib3 was fixed by the new digest; Jinja2 is still there.
        let expected = if package == "urllib3" {
            "fixed-by-new-digest:"
        } else {
            "image-replaced:"
        };
        assert_eq!(cause, format!("{expected}{new_digest}"), "{finding}");
        resolved += 1;
    }
    assert_eq!(resolved, opened);

    // Metrics equal the event log computed by hand.
    let metrics = env.json(t5, &["fleet", "metrics", "-f", "json"]);
    let mut mtti_all: Vec<i64> = vec![t3 - T1; opened];
    mtti_all.extend(vec![0; expected_new.len()]);
    assert_eq!(metrics["mtti"]["all"]["count"], mtti_all.len());
    assert_eq!(
        metrics["mtti"]["all"]["median_seconds"],
        rank(&mtti_all, 0.5)
    );
    assert_eq!(metrics["mtti"]["all"]["p90_seconds"], rank(&mtti_all, 0.9));
    assert_eq!(metrics["mttr"]["all"]["count"], opened);
    assert_eq!(metrics["mttr"]["all"]["median_seconds"], t5 - t3);
    assert_eq!(metrics["mttr"]["all"]["p90_seconds"], t5 - t3);
    assert_eq!(metrics["open"], expected_new.len());
    let events = env.json(t5, &["fleet", "events", "-f", "json"]);
    let count = |kind: &str| {
        events
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == kind)
            .count()
    };
    assert_eq!(count("image-first-seen"), 3);
    assert_eq!(count("image-gone"), 1);
    assert_eq!(count("finding-opened"), opened + expected_new.len());
    assert_eq!(count("finding-resolved"), opened);
    // Overdue: 40 days later, open high/critical findings are past 30/15 days.
    let late = env.json(t5 + 40 * DAY, &["fleet", "metrics", "-f", "json"]);
    let severe = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["status"] == "open"
                && (f["severity"] == "high" || f["severity"] == "critical" || !f["kev"].is_null())
        })
        .count();
    assert_eq!(late["overdue"].as_array().unwrap().len(), severe);

    let mut outputs = BTreeMap::new();
    outputs.insert(
        "findings",
        env.json(t5, &["fleet", "findings", "--all", "-f", "json"]),
    );
    outputs.insert("images", env.json(t5, &["fleet", "images", "-f", "json"]));
    outputs.insert("metrics", metrics);
    outputs.insert("events", events);
    // Ports differ between runs: compare with the host replaced.
    for value in outputs.values_mut() {
        let text = value.to_string().replace(&host, "REGISTRY");
        *value = serde_json::from_str(&text).unwrap();
    }
    Some(outputs)
}

#[test]
fn fleet_on_sqlite_and_postgres_agree() {
    let work = tempfile::tempdir().expect("temp dir");
    let sqlite = format!("sqlite:{}", work.path().join("fleet.db").display());
    let Some(embedded) = lifecycle(sqlite) else {
        return;
    };
    let Some(postgres) = Postgres::start() else {
        return;
    };
    let url = postgres.database("fleet");
    let Some(server) = lifecycle(url) else {
        return;
    };
    for (name, value) in &embedded {
        assert_eq!(
            value, &server[name],
            "`fleet {name}` differs between SQLite and PostgreSQL"
        );
    }
}

#[test]
fn unreachable_registry_fails_one_source_keeps_the_rest() {
    if !prerequisites() {
        return;
    }
    let work = tempfile::tempdir().expect("temp dir");
    let env = Env {
        store: format!("sqlite:{}", work.path().join("fleet.db").display()),
        db: work.path().join("db"),
        home: work.path().join("home"),
    };
    let registry = Registry::start(&RegistryConfig::default());
    let host = registry.host();
    let app = python_image(&work.path().join("app"), &[("urllib3", "1.26.4")]);
    skopeo_copy(
        &format!("oci:{}", app.display()),
        &format!("docker://{host}/team/app:1"),
    );
    // A corrupt image: a manifest whose layer blob is not what it claims.
    let bad = python_image(&work.path().join("bad"), &[("requests", "2.25.0")]);
    skopeo_copy(
        &format!("oci:{}", bad.display()),
        &format!("docker://{host}/team/bad:1"),
    );
    let bad_digest = layout_digest(&bad);
    // Corrupt the stored layer in the registry's own storage.
    let data = registry
        .dir
        .path()
        .join("data/docker/registry/v2/blobs/sha256");
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(
            bad.join("blobs/sha256")
                .join(bad_digest.trim_start_matches("sha256:")),
        )
        .unwrap(),
    )
    .unwrap();
    let layer = manifest["layers"][1]["digest"]
        .as_str()
        .unwrap()
        .trim_start_matches("sha256:")
        .to_owned();
    let path = data.join(&layer[..2]).join(&layer).join("data");
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 10;
    bytes[last] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();

    env.ok(T1, &["fleet", "add", "registry", &host, "--name", "good"]);
    env.ok(
        T1,
        &["fleet", "add", "registry", "127.0.0.1:1", "--name", "down"],
    );
    let output = env.drydock(T1, &["fleet", "sync"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("source `down`"), "{stderr}");
    assert!(
        stderr.contains(&format!("{host}/team/bad@{bad_digest}")),
        "{stderr}"
    );
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.contains("source `down`"))
            .count(),
        1,
        "{stderr}"
    );
    let images = env.json(T1, &["fleet", "images", "-f", "json"]);
    let statuses: BTreeMap<String, String> = images
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["digest"].as_str().unwrap().to_owned(),
                i["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        statuses.get(&layout_digest(&app)).map(String::as_str),
        Some("analysed")
    );
    assert_eq!(
        statuses.get(&bad_digest).map(String::as_str),
        Some("not-analysed")
    );
    let sources = env.ok(T1, &["fleet", "sources"]);
    assert!(sources.contains("failed: "), "{sources}");
    // Unknown source, malformed store URL: clear errors, exit 2.
    let output = env.drydock(T1, &["fleet", "sync", "--source", "nope"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no source named `nope`"));
    let output = env.drydock(T1, &["fleet", "images", "--store", "mysql://x"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a store URL"));
}

/// A cluster (the loopback fake API server that the drydock-kube tests
/// prove against the real kubectl) whose pods run images from the real
/// registry: digests seen only in the cluster are pulled from the registry
/// each pod names, findings carry cluster/namespace/workload/pod/container.
#[test]
fn cluster_inventory_pulls_from_the_registry_pods_name() {
    use drydock_test::{FakeApiServer, FakeContainer, KUBE_TOKEN, KubeObjects};
    if !prerequisites() {
        return;
    }
    let work = tempfile::tempdir().expect("temp dir");
    let env = Env {
        store: format!("sqlite:{}", work.path().join("fleet.db").display()),
        db: work.path().join("db"),
        home: work.path().join("home"),
    };
    let registry = Registry::start(&RegistryConfig::default());
    let host = registry.host();
    let app = python_image(&work.path().join("app"), &[("urllib3", "1.26.4")]);
    let digest = layout_digest(&app);
    skopeo_copy(
        &format!("oci:{}", app.display()),
        &format!("docker://{host}/team/app:1.0"),
    );
    let pypi = workspace_root().join("../shared/data/osv/PyPI");
    env.ok(T1, &["db", "import", pypi.to_str().unwrap()]);

    let image = format!("{host}/team/app:1.0");
    let image_id = format!("{host}/team/app@{digest}");
    let mut objects = KubeObjects::new();
    objects.deployment(
        "shop",
        "web",
        2,
        &[FakeContainer::running("app", &image, &image_id)],
    );
    objects.cron_job(
        "batch",
        "report",
        &[FakeContainer::running(
            "job",
            &image,
            &format!("docker-pullable://{image_id}"),
        )],
    );
    objects.bare_pod(
        "shop",
        "debug",
        &[FakeContainer::pulling(
            "shell",
            &format!("{host}/team/shell:1"),
        )],
    );
    let gone = "sha256:".to_owned() + &"ab".repeat(32);
    objects.bare_pod(
        "ops",
        "orphan",
        &[FakeContainer::running(
            "x",
            "127.0.0.1:1/nowhere/x:1",
            &format!("127.0.0.1:1/nowhere/x@{gone}"),
        )],
    );
    let server = FakeApiServer::start(&objects);
    let kubeconfig = work.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        server.kubeconfig(&format!("token: {KUBE_TOKEN}")),
    )
    .unwrap();
    env.ok(
        T1,
        &[
            "fleet",
            "add",
            "cluster",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--name",
            "prod",
        ],
    );
    let output = env.drydock(T1, &["fleet", "sync", "-f", "json"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("shop/debug/shell: no image digest yet"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("127.0.0.1:1/nowhere/x@{gone}")),
        "{stderr}"
    );
    let sync: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(sync["sources"][0]["seen"], 4, "{sync}");
    assert_eq!(sync["sources"][0]["cataloged"], 1, "{sync}");
    let findings = env.json(
        T1,
        &["fleet", "findings", "--namespace", "shop", "-f", "json"],
    );
    let findings = findings.as_array().unwrap();
    assert!(!findings.is_empty());
    for finding in findings {
        assert_eq!(finding["digest"], digest.as_str());
        let places: BTreeSet<String> = finding["locations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                format!(
                    "{}/{}/{}/{}/{}/{}",
                    l["cluster"].as_str().unwrap(),
                    l["namespace"].as_str().unwrap(),
                    l["workload_kind"].as_str().unwrap(),
                    l["workload"].as_str().unwrap(),
                    l["container"].as_str().unwrap(),
                    l["kind"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            places,
            BTreeSet::from([
                "prod/batch/CronJob/report/job/kubernetes".to_owned(),
                "prod/shop/Deployment/web/app/kubernetes".to_owned(),
            ])
        );
    }
    let expected = scan_ids(&env, &app);
    assert_eq!(
        fleet_ids(&Value::Array(findings.clone()), &digest),
        expected
    );
    // Other namespaces only see their own images.
    let none = env.json(
        T1,
        &[
            "fleet",
            "findings",
            "--namespace",
            "kube-system",
            "-f",
            "json",
        ],
    );
    assert!(none.as_array().unwrap().is_empty());
    let images = env.json(T1, &["fleet", "images", "-f", "json"]);
    let orphan = images
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["digest"] == gone.as_str())
        .expect("orphan");
    assert_eq!(orphan["status"], "not-analysed");
    assert!(
        orphan["reason"].as_str().unwrap().contains("127.0.0.1:1"),
        "{orphan}"
    );
    // A token the API server rejects (expired, revoked): the source fails in
    // one line naming it, the others are still inventoried.
    let expired = work.path().join("expired-kubeconfig");
    std::fs::write(&expired, server.kubeconfig("token: expired-token-0000")).unwrap();
    env.ok(
        T1,
        &[
            "fleet",
            "add",
            "cluster",
            "--kubeconfig",
            expired.to_str().unwrap(),
            "--name",
            "stale",
        ],
    );
    let output = env.drydock(T1 + DAY, &["fleet", "sync"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("source `stale`"))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("401"), "{stderr}");
    let still = env.json(
        T1 + DAY,
        &["fleet", "findings", "--namespace", "shop", "-f", "json"],
    );
    assert_eq!(
        still.as_array().unwrap().len(),
        findings.len(),
        "prod is still inventoried"
    );
    // A malformed kubeconfig is refused when added, naming the file.
    let bad = work.path().join("bad-kubeconfig");
    std::fs::write(&bad, "apiVersion: v1\nclusters: [").unwrap();
    let output = env.drydock(
        T1,
        &[
            "fleet",
            "add",
            "cluster",
            "--kubeconfig",
            bad.to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("bad-kubeconfig"));
}

//! `drydock worker` on a real PostgreSQL store: `fleet sync` queues one
//! catalog job per new digest; worker A takes the first job and hangs on a
//! stalled registry connection, and is killed with SIGKILL mid-job; worker B
//! does every other job, takes A's job again once its heartbeat is stale,
//! and every job ends done exactly once with one result.
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use drydock_store::{Store, StoreUrl};
use drydock_test::{
    Postgres, REGISTRY, Registry, RegistryConfig, missing, python_image, require_tools,
    workspace_root,
};
use serde_json::Value;

const NOW: &str = "2026-02-01T00:00:00Z";

fn drydock(store: &str, db: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_drydock"));
    command
        .args(args)
        .env("DRYDOCK_STORE", store)
        .env("DRYDOCK_DB_DIR", db)
        .env("DRYDOCK_NOW", NOW)
        .env("DOCKER_CONFIG", "/nonexistent")
        .stdin(Stdio::null());
    command
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A TCP proxy to the registry that, while `stall` is set, accepts
/// connections and never answers.
fn proxy(target: u16, stall: Arc<AtomicBool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            if stall.load(Ordering::SeqCst) {
                // Hold the connection open without a byte.
                std::thread::spawn(move || {
                    let _keep = client;
                    std::thread::sleep(Duration::from_mins(10));
                });
                continue;
            }
            let Ok(upstream) = TcpStream::connect(("127.0.0.1", target)) else {
                continue;
            };
            let (mut a, mut b) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
            let (mut c, mut d) = (client, upstream);
            std::thread::spawn(move || pipe(&mut a, &mut d));
            std::thread::spawn(move || pipe(&mut b, &mut c));
        }
    });
    port
}

fn pipe(from: &mut TcpStream, to: &mut TcpStream) {
    let mut buffer = [0u8; 16384];
    loop {
        match from.read(&mut buffer) {
            Ok(0) | Err(_) => {
                let _ = to.shutdown(std::net::Shutdown::Write);
                return;
            }
            Ok(n) => {
                if to.write_all(&buffer[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

#[test]
fn two_workers_one_killed_every_job_done_once() {
    if !Path::new(REGISTRY).is_file() {
        missing("`docker-registry` (apt-get install docker-registry)");
        return;
    }
    if !require_tools(&["skopeo"]) {
        return;
    }
    let Some(postgres) = Postgres::start() else {
        return;
    };
    let store = postgres.database("workers");
    let work = tempfile::tempdir().expect("temp dir");
    let db = work.path().join("db");
    let registry = Registry::start(&RegistryConfig::default());
    let stall = Arc::new(AtomicBool::new(false));
    let port = proxy(registry.port, stall.clone());
    let host = format!("127.0.0.1:{port}");
    let releases = [
        ("urllib3", "1.26.4"),
        ("Jinja2", "2.11.2"),
        ("requests", "2.25.0"),
        ("Django", "2.2"),
        ("Werkzeug", "0.15.0"),
        ("urllib3", "1.25.9"),
    ];
    let mut digests = Vec::new();
    for (index, release) in releases.iter().enumerate() {
        let layout = python_image(&work.path().join(format!("app{index}")), &[*release]);
        let out = Command::new("skopeo")
            .args(["copy", "--quiet", "--dest-tls-verify=false"])
            .arg(format!("oci:{}", layout.display()))
            .arg(format!("docker://{}/team/app{index}:1", registry.host()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let index_json: Value =
            serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
        digests.push(
            index_json["manifests"][0]["digest"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let pypi = workspace_root().join("../shared/data/osv/PyPI");
    ok(
        &drydock(&store, &db, &["db", "import", pypi.to_str().unwrap()])
            .output()
            .unwrap(),
    );
    ok(&drydock(&store, &db, &["fleet", "add", "registry", &host])
        .output()
        .unwrap());
    ok(&drydock(&store, &db, &["fleet", "workers", "on"])
        .output()
        .unwrap());
    let sync: Value =
        serde_json::from_str(&ok(&drydock(&store, &db, &["fleet", "sync", "-f", "json"])
            .output()
            .unwrap()))
        .unwrap();
    assert_eq!(sync["sources"][0]["queued"], 6, "{sync}");
    assert_eq!(sync["sources"][0]["cataloged"], 0, "{sync}");

    let mut handle = Store::open(&StoreUrl::parse(&store).unwrap()).unwrap();
    // Worker A takes the first job and hangs on the stalled registry.
    stall.store(true, Ordering::SeqCst);
    let mut a = drydock(
        &store,
        &db,
        &[
            "worker",
            "--name",
            "A",
            "--stale-seconds",
            "2",
            "--poll-ms",
            "50",
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_mins(1);
    let first = loop {
        let jobs = handle.jobs().unwrap();
        if let Some(job) = jobs
            .iter()
            .find(|j| j.2 == "running" && j.4.as_deref() == Some("A"))
        {
            break job.0;
        }
        assert!(Instant::now() < deadline, "worker A took no job: {jobs:?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_millis(300));
    a.kill().unwrap(); // SIGKILL
    a.wait().unwrap();
    stall.store(false, Ordering::SeqCst);
    // Worker B does the rest, and A's job once its heartbeat is stale.
    let b = drydock(
        &store,
        &db,
        &[
            "worker",
            "--name",
            "B",
            "--once",
            "--stale-seconds",
            "2",
            "--poll-ms",
            "50",
        ],
    )
    .output()
    .unwrap();
    let log = String::from_utf8_lossy(&b.stderr).into_owned();
    assert!(b.status.success(), "{log}");
    let jobs = handle.jobs().unwrap();
    assert_eq!(jobs.len(), 6, "{jobs:?}");
    for (id, kind, state, attempts, worker) in &jobs {
        assert_eq!(kind, "catalog");
        assert_eq!(state, "done", "job {id}: {jobs:?}");
        assert_eq!(worker.as_deref(), Some("B"));
        assert_eq!(*attempts, if *id == first { 2 } else { 1 }, "{jobs:?}");
    }
    assert!(
        log.contains(&format!("job {first} (catalog) attempt 2")),
        "{log}"
    );
    // One result per digest: analysed once, first seen once, findings once.
    let images = handle.images().unwrap();
    let analysed: BTreeSet<&str> = images
        .iter()
        .filter(|i| i.status == "analysed")
        .map(|i| i.digest.as_str())
        .collect();
    assert_eq!(analysed, digests.iter().map(String::as_str).collect());
    let events = handle.events(None).unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == "image-first-seen")
            .count(),
        6
    );
    let findings = handle
        .findings(&drydock_store::FindingFilter::default())
        .unwrap();
    let opened = events.iter().filter(|e| e.kind == "finding-opened").count();
    assert_eq!(findings.len(), opened, "one event per finding");
    let unique: BTreeSet<(String, String, String)> = findings
        .iter()
        .map(|f| (f.digest.clone(), f.vuln_id.clone(), f.purl.clone()))
        .collect();
    assert_eq!(unique.len(), findings.len());
    assert!(
        findings.len() > 6,
        "the releases have known vulnerabilities"
    );
    // A re-match with workers is queued, then done by a worker.
    let rematch = ok(&drydock(&store, &db, &["fleet", "rematch"])
        .output()
        .unwrap());
    assert!(rematch.contains("queued 1 re-match jobs"), "{rematch}");
    ok(
        &drydock(&store, &db, &["worker", "--once", "--poll-ms", "50"])
            .output()
            .unwrap(),
    );
    assert_eq!(
        handle
            .findings(&drydock_store::FindingFilter::default())
            .unwrap()
            .len(),
        findings.len()
    );
    assert_eq!(
        handle.events(None).unwrap().len(),
        events.len(),
        "a re-match with no change records nothing"
    );
}

#[test]
fn workers_need_postgres() {
    let work = tempfile::tempdir().expect("temp dir");
    let store = format!("sqlite:{}", work.path().join("fleet.db").display());
    let output = drydock(&store, &work.path().join("db"), &["fleet", "workers", "on"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("workers need a PostgreSQL store"));
}

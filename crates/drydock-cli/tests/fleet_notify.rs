//! `drydock fleet notify` against loopback receivers: a webhook that fails
//! (500), holds its answer past the client timeout and restarts mid-run,
//! and fake GitHub and Jira REST APIs that check the request shapes. The
//! fleet is real (Debian's `docker-registry`, Python application images,
//! the PyPA advisories, a fixed clock), on SQLite and on PostgreSQL.
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use Fault::{Fail, Hold, None as Ok_, Restart};
use drydock_test::{
    Postgres, REGISTRY, Registry, RegistryConfig, layout_digest, missing, python_image,
    require_tools, skopeo, workspace_root,
};
use serde_json::{Value, json};

const T1: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const DAY: i64 = 86_400;
const SECRET: &str = "s3cret-for-hmac";

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

    /// `fleet notify run` until nothing is pending (the clock moves a day
    /// per run, past any retry delay); at most `runs` runs.
    fn drain(&self, mut now: i64, runs: usize) -> i64 {
        for _ in 0..runs {
            // Exit 2 when a target failed this run: retried by the next.
            let _ = self.drydock(now, &["fleet", "notify", "run"]);
            let list = self.json(now, &["fleet", "notify", "list", "-f", "json"]);
            if list
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["deliveries"]["pending"] == 0)
            {
                return now;
            }
            now += DAY;
        }
        panic!(
            "deliveries still pending after {runs} runs: {}",
            self.ok(now, &["fleet", "notify", "list"])
        );
    }
}

fn prerequisites() -> bool {
    if !Path::new(REGISTRY).is_file() {
        return missing("`docker-registry` (apt-get install docker-registry)");
    }
    require_tools(&["skopeo", "python3"])
}

fn push(layout: &Path, host: &str, reference: &str) {
    skopeo(&[
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        &format!("oci:{}", layout.display()),
        &format!("docker://{host}/{reference}"),
    ]);
}

fn delete(host: &str, reference: &str) {
    skopeo(&[
        "delete",
        "--tls-verify=false",
        &format!("docker://{host}/{reference}"),
    ]);
}

// ---------------------------------------------------------------------------
// A loopback HTTP/1.1 server: one request per connection.

#[derive(Debug, Clone)]
struct Request {
    method: String,
    path: String,
    /// Lower-case names.
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl Request {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = BTreeMap::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn respond(stream: &mut TcpStream, status: u16, body: &str) {
    let reason = match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        404 => "Not Found",
        422 => "Unprocessable Entity",
        _ => "Internal Server Error",
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

/// What the webhook does with its n-th request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// Answer 200.
    None,
    /// Answer 500 (not processed).
    Fail,
    /// Process it, but answer only after the client gave up.
    Hold,
    /// Drop the connection unanswered, stop listening, listen again on
    /// the same port a moment later (not processed).
    Restart,
}

#[derive(Debug, Clone)]
struct Received {
    request: Request,
    fault: Fault,
}

struct Webhook {
    port: u16,
    log: Arc<Mutex<Vec<Received>>>,
}

impl Webhook {
    fn start(script: Vec<Fault>) -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log: Arc<Mutex<Vec<Received>>> = Arc::default();
        let shared = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut listener = Some(listener);
            let mut count = 0;
            loop {
                let Some(current) = listener.as_ref() else {
                    return;
                };
                let Ok((mut stream, _)) = current.accept() else {
                    continue;
                };
                let Some(request) = read_request(&mut stream) else {
                    continue;
                };
                let fault = script.get(count).copied().unwrap_or(Fault::None);
                count += 1;
                shared.lock().unwrap().push(Received { request, fault });
                match fault {
                    Fault::None => respond(&mut stream, 200, "{}"),
                    Fault::Fail => respond(&mut stream, 500, "{\"error\":\"down\"}"),
                    Fault::Hold => {
                        std::thread::spawn(move || {
                            std::thread::sleep(Duration::from_millis(1500));
                            respond(&mut stream, 200, "{}");
                        });
                    }
                    Fault::Restart => {
                        drop(stream);
                        drop(listener.take());
                        std::thread::sleep(Duration::from_millis(300));
                        listener =
                            Some(TcpListener::bind(("127.0.0.1", port)).expect("listen again"));
                    }
                }
            }
        });
        Webhook { port, log }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn received(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }
}

/// HMAC-SHA256 hex of each body, computed by Python's `hmac`.
fn python_hmac(secret: &str, bodies: &[Vec<u8>]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    for (index, body) in bodies.iter().enumerate() {
        std::fs::write(dir.path().join(format!("{index:05}")), body).unwrap();
    }
    let script = "import hashlib, hmac, os, sys\n\
         d = sys.argv[2]\n\
         for name in sorted(os.listdir(d)):\n\
         \x20   print(hmac.new(sys.argv[1].encode(), open(os.path.join(d, name), 'rb').read(), hashlib.sha256).hexdigest())\n";
    let out = Command::new("python3")
        .args(["-c", script, secret, dir.path().to_str().unwrap()])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn new_env(store: String, work: &Path) -> Env {
    let env = Env {
        store,
        db: work.join("db"),
        home: work.join("home"),
    };
    std::fs::create_dir_all(&env.home).unwrap();
    env
}

fn import_pypi(env: &Env, now: i64) {
    let pypi = workspace_root().join("../shared/data/osv/PyPI");
    env.ok(now, &["db", "import", pypi.to_str().unwrap()]);
}

/// Webhooks through failures, timeouts and a restart: every event arrives,
/// every key is acknowledged once, signatures verify; filters and the
/// starting cursor hold.
fn webhook_lifecycle(store: String) -> Option<()> {
    if !prerequisites() {
        return None;
    }
    let work = tempfile::tempdir().unwrap();
    let env = new_env(store, work.path());
    let registry = Registry::start(&RegistryConfig::default());
    let host = registry.host();
    let app_old = python_image(
        &work.path().join("old"),
        &[("urllib3", "1.26.4"), ("Jinja2", "2.11.2")],
    );
    let app_new = python_image(
        &work.path().join("new"),
        &[("urllib3", "2.2.3"), ("Jinja2", "2.11.2")],
    );
    let old_digest = layout_digest(&app_old);
    push(&app_old, &host, "team/app:1.0");

    let faulty = Webhook::start(vec![
        Ok_, Fail, Ok_, Hold, Ok_, Restart, Ok_, Ok_, Fail, Fail, Fail, Ok_, Hold, Fail, Ok_,
    ]);
    let clean = Webhook::start(Vec::new());

    env.ok(T1, &["fleet", "add", "registry", &host, "--name", "local"]);
    env.ok(
        T1,
        &[
            "fleet",
            "notify",
            "add",
            "hook",
            "--webhook",
            &faulty.url("/hook"),
            "--secret",
            SECRET,
            "--timeout-ms",
            "400",
        ],
    );
    // Bad input: clear errors.
    let bad = env.drydock(
        T1,
        &["fleet", "notify", "add", "x", "--webhook", "ftp://host/"],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not an http:// or https:// URL"));
    let bad = env.drydock(
        T1,
        &[
            "fleet",
            "notify",
            "add",
            "j",
            "--webhook",
            "http://x",
            "--format",
            "jira",
        ],
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--jira-project"));
    let bad = env.drydock(T1, &["fleet", "notify", "remove", "nope"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no notification target named `nope`"));

    // A sync without a database: the image is seen, delivered at the end
    // of the sync.
    let sync = env.drydock(T1, &["fleet", "sync"]);
    assert!(
        sync.status.success(),
        "{}",
        String::from_utf8_lossy(&sync.stderr)
    );
    let kinds = |hook: &Webhook| -> BTreeSet<String> {
        hook.received()
            .iter()
            .map(|r| {
                r.request.json()["event"]["kind"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(
        kinds(&faulty),
        BTreeSet::from(["image-first-seen".to_owned()])
    );
    // The advisories open findings at import; delivered at the end of the
    // import's re-match (failures are warnings, the import succeeds).
    let t2 = T1 + DAY;
    import_pypi(&env, t2);
    assert!(kinds(&faulty).contains("finding-opened"));
    let events_then = env.json(t2, &["fleet", "events", "-f", "json"]);
    let cursor_then = events_then.as_array().unwrap().last().unwrap()["seq"]
        .as_i64()
        .unwrap();
    // A target added now starts at the end of the log; another from its start.
    env.ok(
        t2,
        &[
            "fleet",
            "notify",
            "add",
            "late",
            "--webhook",
            &clean.url("/late"),
        ],
    );
    env.ok(
        t2,
        &[
            "fleet",
            "notify",
            "add",
            "high",
            "--webhook",
            &clean.url("/high"),
            "--min-severity",
            "high",
            "--from-start",
            "--format",
            "slack",
        ],
    );

    // The fixed build replaces the old one.
    let t3 = T1 + 10 * DAY;
    push(&app_new, &host, "team/app:latest");
    delete(&host, &format!("team/app@{old_digest}"));
    let _ = env.drydock(t3, &["fleet", "sync"]);
    let end = env.drain(t3, 8);

    let events = env.json(end, &["fleet", "events", "-f", "json"]);
    let events = events.as_array().unwrap();
    let by_seq: BTreeMap<i64, &Value> = events
        .iter()
        .map(|e| (e["seq"].as_i64().unwrap(), e))
        .collect();
    assert!(events.iter().any(|e| e["kind"] == "finding-opened"));
    assert!(events.iter().any(|e| e["kind"] == "finding-resolved"));

    // `hook`: every event, each key acknowledged exactly once.
    let received = faulty.received();
    for fault in [Fail, Hold, Restart] {
        assert!(
            received.iter().any(|r| r.fault == fault),
            "the receiver never injected {fault:?}"
        );
    }
    let mut acknowledged: HashMap<String, usize> = HashMap::new();
    let mut processed: HashMap<String, Vec<Fault>> = HashMap::new();
    let mut seqs: BTreeSet<i64> = BTreeSet::new();
    for item in &received {
        let request = &item.request;
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/hook");
        let body = request.json();
        let key = request.header("idempotency-key").expect("Idempotency-Key");
        assert_eq!(body["idempotency_key"], key);
        assert_eq!(
            request.header("x-drydock-event"),
            body["event"]["kind"].as_str()
        );
        processed
            .entry(key.to_owned())
            .or_default()
            .push(item.fault);
        if item.fault == Ok_ {
            *acknowledged.entry(key.to_owned()).or_default() += 1;
            let seq = body["event"]["seq"].as_i64().unwrap();
            assert!(seqs.insert(seq), "event {seq} acknowledged twice");
            assert_eq!(&body["event"], by_seq[&seq], "the event as logged");
        }
    }
    assert_eq!(
        seqs,
        by_seq.keys().copied().collect::<BTreeSet<_>>(),
        "every event reaches `hook`"
    );
    assert!(acknowledged.values().all(|n| *n == 1));
    for (key, faults) in &processed {
        let handled = faults.iter().filter(|f| matches!(f, Ok_ | Hold)).count();
        if handled > 1 {
            assert!(
                faults.contains(&Hold),
                "key {key} processed twice without a lost response: {faults:?}"
            );
        }
    }
    assert!(
        processed
            .values()
            .any(|f| f.contains(&Hold) && f.contains(&Ok_)),
        "a response lost to the timeout is retried with the same key"
    );
    // Signatures, verified by Python's hmac.
    let bodies: Vec<Vec<u8>> = received.iter().map(|r| r.request.body.clone()).collect();
    let expected = python_hmac(SECRET, &bodies);
    assert_eq!(expected.len(), received.len());
    for (item, mac) in received.iter().zip(&expected) {
        assert_eq!(
            item.request.header("x-drydock-signature"),
            Some(format!("sha256={mac}").as_str())
        );
    }
    // A finding summary on an opened event.
    let opened = received
        .iter()
        .map(|r| r.request.json())
        .find(|b| {
            b["event"]["kind"] == "finding-opened" && b["event"]["digest"] == old_digest.as_str()
        })
        .expect("an opened finding of the old image");
    assert_eq!(opened["finding"]["id"], opened["event"]["vulnerability"]);
    assert_eq!(
        opened["finding"]["package"]["purl"],
        opened["event"]["package"]
    );
    assert!(opened["finding"]["aliases"].is_array());
    assert!(opened["finding"]["fixed_versions"].is_array());
    assert_eq!(opened["finding"]["digest"], old_digest.as_str());

    // `late` and `high` (no faults: one request per delivery).
    let clean_received = clean.received();
    let late: BTreeSet<String> = clean_received
        .iter()
        .filter(|r| r.request.path == "/late")
        .map(|r| r.request.header("idempotency-key").unwrap().to_owned())
        .collect();
    let late_seqs: Vec<i64> = clean_received
        .iter()
        .filter(|r| r.request.path == "/late")
        .map(|r| r.request.json()["event"]["seq"].as_i64().unwrap())
        .collect();
    let after: Vec<i64> = by_seq
        .keys()
        .copied()
        .filter(|s| *s > cursor_then)
        .collect();
    assert!(!after.is_empty());
    assert_eq!(
        late_seqs, after,
        "`late` gets exactly the events after it was added"
    );
    assert_eq!(late.len(), after.len());
    let high: Vec<&Received> = clean_received
        .iter()
        .filter(|r| r.request.path == "/high")
        .collect();
    let expected_high = events
        .iter()
        .filter(|e| e["severity"] == "high" || e["severity"] == "critical")
        .count();
    assert!(expected_high > 0);
    assert_eq!(high.len(), expected_high);
    for item in &high {
        let text = item.request.json()["text"].as_str().unwrap().to_owned();
        assert!(
            text.contains("(high") || text.contains("(critical"),
            "{text}"
        );
        assert!(item.request.header("x-drydock-signature").is_none());
    }

    // Nothing new: nothing sent.
    let before = (faulty.received().len(), clean.received().len());
    env.ok(end + DAY, &["fleet", "notify", "run"]);
    let _ = env.drydock(end + DAY, &["fleet", "sync"]);
    assert_eq!((faulty.received().len(), clean.received().len()), before);
    let list = env.json(end + DAY, &["fleet", "notify", "list", "-f", "json"]);
    let hook = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "hook")
        .unwrap();
    assert_eq!(hook["deliveries"]["delivered"], by_seq.len());
    assert_eq!(hook["signed"], true);
    assert!(hook.get("secret").is_none(), "the secret is never listed");
    env.ok(end, &["fleet", "notify", "remove", "late"]);
    Some(())
}

#[test]
fn webhooks_survive_failures_timeouts_and_restarts_on_sqlite() {
    let work = tempfile::tempdir().unwrap();
    let _ = webhook_lifecycle(format!("sqlite:{}", work.path().join("fleet.db").display()));
}

#[test]
fn webhooks_survive_failures_timeouts_and_restarts_on_postgres() {
    if !prerequisites() {
        return;
    }
    let Some(postgres) = Postgres::start() else {
        return;
    };
    let _ = webhook_lifecycle(postgres.database("notify"));
}

// ---------------------------------------------------------------------------
// Fake GitHub and Jira REST APIs.

#[derive(Debug, Clone)]
struct Issue {
    title: String,
    body: String,
    open: bool,
}

#[derive(Default)]
struct Tracker {
    github: BTreeMap<u64, Issue>,
    jira: BTreeMap<String, Issue>,
    requests: Vec<(String, String)>,
    errors: Vec<String>,
}

fn is_string(value: &Value) -> bool {
    value.as_str().is_some_and(|s| !s.is_empty())
}

impl Tracker {
    /// Checks the request against the documented shapes and applies it.
    fn handle(&mut self, request: &Request) -> (u16, String) {
        self.requests
            .push((request.method.clone(), request.path.clone()));
        let body = request.json();
        let path = request.path.as_str();
        let fail = |errors: &mut Vec<String>, why: String| {
            errors.push(format!("{} {path}: {why}", request.method));
            (422_u16, json!({ "message": why }).to_string())
        };
        if request.header("content-type") != Some("application/json") {
            return fail(&mut self.errors, "not JSON".into());
        }
        if let Some(rest) = path.strip_prefix("/repos/o/r/issues") {
            if request.header("authorization") != Some("Bearer ghp-token") {
                return fail(&mut self.errors, "bad Authorization".into());
            }
            if request.header("accept") != Some("application/vnd.github+json") {
                return fail(&mut self.errors, "bad Accept".into());
            }
            if rest.is_empty() && request.method == "POST" {
                let labels_ok = body["labels"]
                    .as_array()
                    .is_some_and(|l| l.iter().all(is_string));
                if !is_string(&body["title"]) || !is_string(&body["body"]) || !labels_ok {
                    return fail(&mut self.errors, format!("bad create body {body}"));
                }
                let number = self.github.len() as u64 + 1;
                self.github.insert(
                    number,
                    Issue {
                        title: body["title"].as_str().unwrap().to_owned(),
                        body: body["body"].as_str().unwrap().to_owned(),
                        open: true,
                    },
                );
                return (
                    201,
                    json!({ "id": 1000 + number, "number": number, "state": "open" }).to_string(),
                );
            }
            let Some(number) = rest.strip_prefix('/').and_then(|n| n.parse::<u64>().ok()) else {
                return fail(&mut self.errors, "unknown path".into());
            };
            if request.method != "PATCH" {
                return fail(&mut self.errors, "update must be PATCH".into());
            }
            let Some(object) = body.as_object() else {
                return fail(&mut self.errors, "not an object".into());
            };
            if object
                .keys()
                .any(|k| !["title", "body", "state", "state_reason"].contains(&k.as_str()))
            {
                return fail(&mut self.errors, format!("unknown field in {body}"));
            }
            let Some(issue) = self.github.get_mut(&number) else {
                return (404, "{}".into());
            };
            if let Some(text) = body["body"].as_str() {
                text.clone_into(&mut issue.body);
            }
            if let Some(text) = body["title"].as_str() {
                text.clone_into(&mut issue.title);
            }
            match body["state"].as_str() {
                Some("closed") => issue.open = false,
                Some("open") => issue.open = true,
                Some(other) => return fail(&mut self.errors, format!("state {other}")),
                None => {}
            }
            return (200, json!({ "number": number }).to_string());
        }
        if let Some(rest) = path.strip_prefix("/rest/api/2/issue") {
            if request.header("authorization") != Some("Basic dXNlcjp0b2tlbg==") {
                return fail(&mut self.errors, "bad Authorization".into());
            }
            if rest.is_empty() && request.method == "POST" {
                let fields = &body["fields"];
                if fields["project"]["key"] != "SEC"
                    || !is_string(&fields["summary"])
                    || !is_string(&fields["description"])
                    || fields["issuetype"]["name"] != "Bug"
                {
                    return fail(&mut self.errors, format!("bad create body {body}"));
                }
                let key = format!("SEC-{}", self.jira.len() + 1);
                self.jira.insert(
                    key.clone(),
                    Issue {
                        title: fields["summary"].as_str().unwrap().to_owned(),
                        body: fields["description"].as_str().unwrap().to_owned(),
                        open: true,
                    },
                );
                return (
                    201,
                    json!({ "id": "10001", "key": key, "self": format!("http://jira{path}/{key}") })
                        .to_string(),
                );
            }
            let rest = rest.trim_start_matches('/');
            if let Some(key) = rest.strip_suffix("/transitions") {
                if request.method != "POST" || body["transition"]["id"] != "31" {
                    return fail(&mut self.errors, format!("bad transition {body}"));
                }
                let Some(issue) = self.jira.get_mut(key) else {
                    return (404, "{}".into());
                };
                issue.open = false;
                return (204, String::new());
            }
            if request.method != "PUT" {
                return fail(&mut self.errors, "edit must be PUT".into());
            }
            let Some(fields) = body["fields"].as_object() else {
                return fail(&mut self.errors, format!("bad edit {body}"));
            };
            let Some(issue) = self.jira.get_mut(rest) else {
                return (404, "{}".into());
            };
            if let Some(text) = fields.get("description").and_then(Value::as_str) {
                text.clone_into(&mut issue.body);
            }
            if let Some(text) = fields.get("summary").and_then(Value::as_str) {
                text.clone_into(&mut issue.title);
            }
            return (204, String::new());
        }
        fail(&mut self.errors, "unknown path".into())
    }
}

fn start_tracker() -> (u16, Arc<Mutex<Tracker>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let tracker: Arc<Mutex<Tracker>> = Arc::default();
    let shared = Arc::clone(&tracker);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Some(request) = read_request(&mut stream) else {
                continue;
            };
            let (status, body) = shared.lock().unwrap().handle(&request);
            respond(&mut stream, status, &body);
        }
    });
    (port, tracker)
}

/// Open issues by (vulnerability, short digest) parsed from the titles.
fn issues_by_key(issues: Vec<&Issue>) -> BTreeMap<(String, String), Vec<Issue>> {
    let mut out: BTreeMap<(String, String), Vec<Issue>> = BTreeMap::new();
    for issue in issues {
        let vuln = issue.title.split_whitespace().next().unwrap().to_owned();
        let digest = issue.title.rsplit('@').next().unwrap().to_owned();
        out.entry((vuln, digest)).or_default().push(issue.clone());
    }
    out
}

fn short(digest: &str) -> String {
    format!("sha256:{}", &digest["sha256:".len().."sha256:".len() + 12])
}

/// (vulnerability, short digest) of the open findings.
fn open_pairs(env: &Env, now: i64) -> BTreeSet<(String, String)> {
    env.json(now, &["fleet", "findings", "-f", "json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_owned(),
                short(f["digest"].as_str().unwrap()),
            )
        })
        .collect()
}

#[test]
fn github_and_jira_tickets_follow_findings() {
    if !prerequisites() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let env = new_env(
        format!("sqlite:{}", work.path().join("fleet.db").display()),
        work.path(),
    );
    let registry = Registry::start(&RegistryConfig::default());
    let host = registry.host();
    let app_old = python_image(
        &work.path().join("old"),
        &[("urllib3", "1.26.4"), ("Jinja2", "2.11.2")],
    );
    let app_new = python_image(
        &work.path().join("new"),
        &[("urllib3", "2.2.3"), ("Jinja2", "2.11.2")],
    );
    let old_digest = layout_digest(&app_old);
    let new_digest = layout_digest(&app_new);
    push(&app_old, &host, "team/app:1.0");
    let (port, tracker) = start_tracker();

    import_pypi(&env, T1);
    env.ok(T1, &["fleet", "add", "registry", &host, "--name", "local"]);
    env.ok(
        T1,
        &[
            "fleet",
            "notify",
            "add",
            "gh",
            "--format",
            "github-issue",
            "--webhook",
            &format!("http://127.0.0.1:{port}/repos/o/r"),
            "--token",
            "ghp-token",
        ],
    );
    env.ok(
        T1,
        &[
            "fleet",
            "notify",
            "add",
            "jira",
            "--format",
            "jira",
            "--webhook",
            &format!("http://127.0.0.1:{port}/"),
            "--token",
            "Basic dXNlcjp0b2tlbg==",
            "--jira-project",
            "SEC",
            "--jira-close-transition",
            "31",
        ],
    );

    // First sync: one issue per (vulnerability, digest) in each tracker.
    let t2 = T1 + DAY;
    env.ok(t2, &["fleet", "sync"]);
    let pairs = open_pairs(&env, t2);
    assert!(pairs.len() > 1, "{pairs:?}");
    {
        let tracker = tracker.lock().unwrap();
        assert!(tracker.errors.is_empty(), "{:?}", tracker.errors);
        let github = issues_by_key(tracker.github.values().collect());
        let jira = issues_by_key(tracker.jira.values().collect());
        for issues in [&github, &jira] {
            assert_eq!(issues.keys().cloned().collect::<BTreeSet<_>>(), pairs);
            for list in issues.values() {
                assert_eq!(list.len(), 1, "one ticket per vulnerability and image");
                assert!(list[0].open);
                assert!(list[0].body.contains(&format!("{host}/team/app:1.0")));
                assert!(!list[0].body.contains("team/app:stable"));
            }
        }
    }
    // Nothing changed: nothing sent.
    let sent = tracker.lock().unwrap().requests.len();
    env.ok(t2 + 60, &["fleet", "notify", "run"]);
    assert_eq!(tracker.lock().unwrap().requests.len(), sent);

    // A second tag of the same digest: every ticket's body is updated.
    push(&app_old, &host, "team/app:stable");
    let t3 = T1 + 2 * DAY;
    env.ok(t3, &["fleet", "sync"]);
    {
        let tracker = tracker.lock().unwrap();
        assert!(tracker.errors.is_empty(), "{:?}", tracker.errors);
        let updates = &tracker.requests[sent..];
        assert_eq!(
            updates.iter().filter(|(m, _)| m == "PATCH").count(),
            pairs.len()
        );
        assert_eq!(
            updates.iter().filter(|(m, _)| m == "PUT").count(),
            pairs.len()
        );
        assert!(!updates.iter().any(|(m, _)| m == "POST"), "{updates:?}");
        for issue in tracker.github.values().chain(tracker.jira.values()) {
            assert!(issue.body.contains(&format!("{host}/team/app:stable")));
            assert!(issue.body.contains(&format!("{host}/team/app:1.0")));
        }
    }

    // The fixed build replaces the old digest: its tickets close, tickets
    // open for what the new digest still has.
    push(&app_new, &host, "team/app:1.1");
    delete(&host, &format!("team/app@{old_digest}"));
    let t4 = T1 + 3 * DAY;
    env.ok(t4, &["fleet", "sync"]);
    let now_open = open_pairs(&env, t4);
    assert!(now_open.iter().all(|(_, d)| *d == short(&new_digest)));
    assert!(!now_open.is_empty());
    {
        let tracker = tracker.lock().unwrap();
        assert!(tracker.errors.is_empty(), "{:?}", tracker.errors);
        for issues in [
            issues_by_key(tracker.github.values().collect()),
            issues_by_key(tracker.jira.values().collect()),
        ] {
            let open: BTreeSet<(String, String)> = issues
                .iter()
                .filter(|(_, list)| list.iter().any(|i| i.open))
                .map(|(key, _)| key.clone())
                .collect();
            assert_eq!(open, now_open);
            for ((_, digest), list) in &issues {
                assert_eq!(list.len(), 1);
                if *digest == short(&old_digest) {
                    assert!(!list[0].open, "resolved: closed");
                }
            }
            assert_eq!(issues.len(), pairs.len() + now_open.len());
        }
        let transitions = tracker
            .requests
            .iter()
            .filter(|(_, p)| p.ends_with("/transitions"))
            .count();
        assert_eq!(transitions, pairs.len());
    }
    // Re-runs change nothing.
    let sent = tracker.lock().unwrap().requests.len();
    env.ok(t4 + 60, &["fleet", "notify", "run"]);
    env.ok(t4 + 120, &["fleet", "sync"]);
    assert_eq!(tracker.lock().unwrap().requests.len(), sent);
    let list = env.json(t4, &["fleet", "notify", "list", "-f", "json"]);
    for target in list.as_array().unwrap() {
        assert_eq!(target["deliveries"]["pending"], 0, "{target}");
        assert!(target["deliveries"]["delivered"].as_i64().unwrap() > 0);
    }
}

#[test]
fn workers_deliver_what_their_jobs_log_on_postgres() {
    if !prerequisites() {
        return;
    }
    let Some(postgres) = Postgres::start() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let env = new_env(postgres.database("workers"), work.path());
    let registry = Registry::start(&RegistryConfig::default());
    let host = registry.host();
    let app = python_image(
        &work.path().join("app"),
        &[("urllib3", "1.26.4"), ("Jinja2", "2.11.2")],
    );
    push(&app, &host, "team/app:1.0");
    let hook = Webhook::start(Vec::new());
    import_pypi(&env, T1);
    env.ok(T1, &["fleet", "add", "registry", &host, "--name", "local"]);
    env.ok(
        T1,
        &["fleet", "notify", "add", "w", "--webhook", &hook.url("/w")],
    );
    env.ok(T1, &["fleet", "workers", "on"]);
    let t2 = T1 + DAY;
    env.ok(t2, &["fleet", "sync"]);
    let opened = |hook: &Webhook| {
        hook.received()
            .iter()
            .filter(|r| r.request.json()["event"]["kind"] == "finding-opened")
            .count()
    };
    assert_eq!(
        opened(&hook),
        0,
        "the image is not cataloged before a worker runs"
    );
    // The worker catalogs and matches, then runs the `notify` job it queued.
    env.ok(t2, &["worker", "--once", "--poll-ms", "50"]);
    assert!(opened(&hook) > 0);
    let events = env.json(t2, &["fleet", "events", "-f", "json"]);
    let logged: Vec<i64> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    let received: Vec<i64> = hook
        .received()
        .iter()
        .map(|r| r.request.json()["event"]["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(received, logged, "every event once, in order");
}

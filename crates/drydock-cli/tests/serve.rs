//! `drydock serve` against a fleet store filled through the fleet commands
//! from real images: a real registry (Debian's `docker-registry`) holding
//! small Python application images with real releases' metadata, a
//! Kubernetes cluster (the loopback fake API server the drydock-kube tests
//! prove against the real kubectl) running them, the real PyPA advisories
//! and CISA KEV catalog. The API must say what `drydock fleet … -f json`
//! says, on SQLite and on PostgreSQL; auth refusals leak nothing.
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use drydock_test::{
    FakeApiServer, FakeContainer, KUBE_TOKEN, KubeObjects, Postgres, REGISTRY, Registry,
    RegistryConfig, layout_digest, make_tls, missing, python_image, require_tools, skopeo_copy,
    workspace_root,
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
    fn command(&self, now: i64, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_drydock"));
        command
            .args(args)
            .env("DRYDOCK_STORE", &self.store)
            .env("DRYDOCK_DB_DIR", &self.db)
            .env("DRYDOCK_NOW", now.to_string())
            .env("HOME", &self.home)
            .env_remove("XDG_DATA_HOME")
            .env("DOCKER_CONFIG", "/nonexistent")
            .stdin(Stdio::null());
        command
    }

    fn run(&self, now: i64, args: &[&str]) -> Output {
        self.command(now, args).output().expect("spawn drydock")
    }

    fn json(&self, now: i64, args: &[&str]) -> Value {
        let output = self.run(now, args);
        assert!(
            output.status.success(),
            "drydock {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("json")
    }
}

/// A running `drydock serve` on a free loopback port.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(env: &Env, now: i64, args: &[&str]) -> Server {
        let mut all = vec!["serve", "--listen", "127.0.0.1:0"];
        all.extend_from_slice(args);
        let mut child = env
            .command(now, &all)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn drydock serve");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        let Some(rest) = line.split("listening on ").nth(1) else {
            let _ = child.kill();
            panic!("drydock serve did not start: {line}");
        };
        let base = rest.split_whitespace().next().unwrap().to_owned();
        // Keep draining the log so the server never blocks on it.
        std::thread::spawn(move || {
            let mut sink = String::new();
            let _ = stderr.read_to_string(&mut sink);
        });
        Server { child, base }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn agent(ca: Option<&Path>) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0);
    if let Some(ca) = ca {
        let pem = std::fs::read(ca).unwrap();
        let certificate = ureq::tls::Certificate::from_pem(&pem).unwrap().to_owned();
        config = config.tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::Specific(std::sync::Arc::new(vec![
                    certificate,
                ])))
                .build(),
        );
    }
    config.build().new_agent()
}

fn get(agent: &ureq::Agent, url: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = agent.get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut response = request.call().unwrap_or_else(|e| panic!("GET {url}: {e}"));
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = response.body_mut().read_to_vec().unwrap();
    Reply {
        status,
        headers,
        body,
    }
}

fn prerequisites() -> bool {
    if !Path::new(REGISTRY).is_file() {
        return missing("`docker-registry` (apt-get install docker-registry)");
    }
    require_tools(&["skopeo", "openssl"])
}

/// Fills `env`'s store through the fleet commands: a registry with two
/// application images (the old one under two tags), a cluster running the
/// old one in a Deployment (2 pods) and the new one in a CronJob, the PyPA
/// advisories and the KEV catalog, then a sync. Returns the two digests.
fn fill(env: &Env, work: &Path, registry: &Registry) -> (String, String) {
    let host = registry.host();
    let old = python_image(
        &work.join("app-old"),
        &[
            ("urllib3", "1.26.4"),
            ("Jinja2", "2.11.2"),
            ("requests", "2.25.0"),
        ],
    );
    let new = python_image(
        &work.join("app-new"),
        &[("urllib3", "2.2.3"), ("Jinja2", "2.11.2")],
    );
    let (old_digest, new_digest) = (layout_digest(&old), layout_digest(&new));
    for tag in ["1.0", "latest"] {
        skopeo_copy(
            &format!("oci:{}", old.display()),
            &format!("docker://{host}/team/app:{tag}"),
        );
    }
    skopeo_copy(
        &format!("oci:{}", new.display()),
        &format!("docker://{host}/team/app:2.0"),
    );
    let data = workspace_root().join("../shared/data");
    for set in ["kev/known_exploited_vulnerabilities.json", "osv/PyPI"] {
        let path = data.join(set);
        let out = env.run(T1, &["db", "import", path.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut objects = KubeObjects::new();
    objects.deployment(
        "shop",
        "web",
        2,
        &[FakeContainer::running(
            "app",
            &format!("{host}/team/app:1.0"),
            &format!("{host}/team/app@{old_digest}"),
        )],
    );
    objects.cron_job(
        "batch",
        "report",
        &[FakeContainer::running(
            "job",
            &format!("{host}/team/app:2.0"),
            &format!("{host}/team/app@{new_digest}"),
        )],
    );
    let server = FakeApiServer::start(&objects);
    let kubeconfig = work.join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        server.kubeconfig(&format!("token: {KUBE_TOKEN}")),
    )
    .unwrap();
    for args in [
        vec!["fleet", "add", "registry", &host, "--name", "local"],
        vec![
            "fleet",
            "add",
            "cluster",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
            "--name",
            "prod",
        ],
        vec!["fleet", "sync"],
    ] {
        let out = env.run(T1 + DAY, &args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    (old_digest, new_digest)
}

/// Every page of `/api/v1/findings?QUERY` by `limit`, concatenated.
fn all_findings(agent: &ureq::Agent, base: &str, query: &str, limit: usize) -> (Vec<Value>, i64) {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    let mut total;
    loop {
        let mut url = format!("{base}/api/v1/findings?limit={limit}&{query}");
        if let Some(cursor) = &cursor {
            url = format!("{url}&cursor={cursor}");
        }
        let reply = get(agent, &url, &[]);
        assert_eq!(reply.status, 200, "{url}: {}", reply.text());
        let page = reply.json();
        total = page["total"].as_i64().unwrap();
        let rows = page["findings"].as_array().unwrap();
        assert!(rows.len() <= limit);
        out.extend(rows.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    (out, total)
}

/// The API against the CLI on one store; returns what must agree across
/// backends.
fn api_agrees_with_the_cli(env: &Env, work: &Path) -> Vec<Value> {
    let registry = Registry::start(&RegistryConfig::default());
    let (old_digest, new_digest) = fill(env, work, &registry);
    let now = T1 + 20 * DAY;
    let server = Server::start(env, now, &[]);
    let agent = agent(None);
    let base = &server.base;
    let cli = |args: &[&str]| {
        let mut all = vec!["fleet"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-f", "json"]);
        env.json(now, &all)
    };

    // Every finding, in the CLI's priority order, paged by 2 and by 500.
    let expected = cli(&["findings"]);
    let expected = expected.as_array().unwrap();
    assert!(
        expected.len() > 4,
        "the fixture has findings: {}",
        expected.len()
    );
    let (paged, total) = all_findings(&agent, base, "", 2);
    assert_eq!(&paged, expected, "API pages of 2 vs `fleet findings`");
    assert_eq!(total, i64::try_from(expected.len()).unwrap());
    let (one_page, _) = all_findings(&agent, base, "", 500);
    assert_eq!(&one_page, expected);

    // Filters: the same rows as the CLI's flags.
    let vuln = expected
        .iter()
        .find_map(|f| {
            f["aliases"]
                .as_array()
                .and_then(|a| a.first())
                .and_then(Value::as_str)
        })
        .expect("a finding with an alias")
        .to_owned();
    for (query, flags) in [
        (
            format!("vuln={}", vuln.to_lowercase()),
            vec!["--vuln", vuln.as_str()],
        ),
        ("package=urllib3".to_owned(), vec!["--package", "urllib3"]),
        ("namespace=shop".to_owned(), vec!["--namespace", "shop"]),
        ("cluster=prod".to_owned(), vec!["--cluster", "prod"]),
        (
            format!("image={new_digest}"),
            vec!["--image", new_digest.as_str()],
        ),
        ("severity=high".to_owned(), vec!["--severity", "high"]),
        ("fixable=true".to_owned(), vec!["--fixable"]),
        ("kev=true".to_owned(), vec!["--kev"]),
        ("status=all".to_owned(), vec!["--all"]),
    ] {
        let mut args = vec!["findings"];
        args.extend(flags.iter().copied());
        let want = cli(&args);
        let (got, total) = all_findings(&agent, base, &query, 500);
        assert_eq!(&Value::Array(got), &want, "?{query}");
        assert_eq!(
            total,
            i64::try_from(want.as_array().unwrap().len()).unwrap(),
            "?{query}"
        );
    }
    // Free text: a package name substring, an alias, a pod name.
    let (by_text, _) = all_findings(&agent, base, "q=RLLIB", 500);
    assert_eq!(
        Value::Array(by_text),
        cli(&["findings", "--package", "urllib3"])
    );
    let (by_alias, _) = all_findings(&agent, base, &format!("q={vuln}"), 500);
    assert_eq!(Value::Array(by_alias), cli(&["findings", "--vuln", &vuln]));
    let (by_pod, _) = all_findings(&agent, base, "q=web-", 500);
    assert_eq!(
        Value::Array(by_pod),
        cli(&["findings", "--image", &old_digest])
    );

    // Vulnerabilities: one row per distinct id, counts as the findings say.
    let vulnerabilities = get(
        &agent,
        &format!("{base}/api/v1/vulnerabilities?limit=500"),
        &[],
    )
    .json();
    let ids: BTreeSet<&str> = expected.iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(vulnerabilities["total"], ids.len());
    for row in vulnerabilities["vulnerabilities"].as_array().unwrap() {
        let id = row["id"].as_str().unwrap();
        let of: Vec<&Value> = expected.iter().filter(|f| f["id"] == id).collect();
        assert_eq!(row["findings"], of.len(), "{id}");
        let digests: BTreeSet<&str> = of.iter().map(|f| f["digest"].as_str().unwrap()).collect();
        assert_eq!(row["images"], digests.len(), "{id}");
    }
    let csv = get(
        &agent,
        &format!("{base}/api/v1/vulnerabilities?format=csv&limit=500"),
        &[],
    );
    assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(csv.text().lines().count(), ids.len() + 1);

    // One vulnerability by alias: its blast radius down to the pods.
    let detail = get(
        &agent,
        &format!("{base}/api/v1/vulnerabilities/{vuln}"),
        &[],
    );
    assert_eq!(detail.status, 200, "{}", detail.text());
    let detail = detail.json();
    let of: Vec<&Value> = expected
        .iter()
        .filter(|f| {
            f["aliases"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == vuln.as_str())
        })
        .collect();
    assert_eq!(detail["id"], of[0]["id"]);
    assert_eq!(detail["open_findings"], of.len());
    let images: BTreeSet<&str> = detail["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["digest"].as_str().unwrap())
        .collect();
    let want: BTreeSet<&str> = of.iter().map(|f| f["digest"].as_str().unwrap()).collect();
    assert_eq!(images, want);
    if want.contains(old_digest.as_str()) {
        let web = detail["workloads"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["name"] == "web")
            .expect("the Deployment running the old image");
        assert_eq!(web["kind"], "Deployment");
        assert_eq!(web["pods"].as_array().unwrap().len(), 2);
    }
    let missing = get(
        &agent,
        &format!("{base}/api/v1/vulnerabilities/CVE-1900-0001"),
        &[],
    );
    assert_eq!(missing.status, 404);

    // Images: the CLI's list, one image in detail, its SBOM.
    let images = get(&agent, &format!("{base}/api/v1/images"), &[]).json();
    assert_eq!(images["images"], cli(&["images"]));
    let one = get(&agent, &format!("{base}/api/v1/images/{old_digest}"), &[]).json();
    assert_eq!(one["packages"], 3);
    assert_eq!(one["layers"].as_array().unwrap().len(), 2);
    assert_eq!(one["package_kinds"]["pypi"], 3);
    let places: BTreeSet<String> = one["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            format!(
                "{}:{}",
                l["kind"].as_str().unwrap(),
                l["pod"].as_str().or(l["tag"].as_str()).unwrap()
            )
        })
        .collect();
    assert_eq!(places.len(), 4, "two tags, two pods: {places:?}");
    let packages = get(
        &agent,
        &format!("{base}/api/v1/images/{old_digest}/packages?q=jinja"),
        &[],
    )
    .json();
    assert_eq!(packages["packages"].as_array().unwrap().len(), 1);
    for (format, key) in [("cyclonedx-json", "components"), ("spdx-json", "packages")] {
        let sbom = get(
            &agent,
            &format!("{base}/api/v1/images/{old_digest}/sbom?format={format}"),
            &[],
        );
        assert_eq!(sbom.status, 200);
        assert!(
            sbom.header("content-disposition")
                .unwrap()
                .starts_with("attachment")
        );
        // Served as the SBOM writers write them: valid against the schemas.
        let kind = format.trim_end_matches("-json");
        let mut check = Command::new("python3")
            .arg(workspace_root().join("crates/drydock-sbom/tests/validate_sbom.py"))
            .arg(workspace_root().join("../shared/data/schemas"))
            .args([kind, "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("python3");
        check
            .stdin
            .take()
            .unwrap()
            .write_all(sbom.text().as_bytes())
            .unwrap();
        let checked = check.wait_with_output().unwrap();
        assert!(
            checked.status.success(),
            "{format}: {}{}",
            String::from_utf8_lossy(&checked.stdout),
            String::from_utf8_lossy(&checked.stderr)
        );
        let document = sbom.json();
        let names: BTreeSet<&str> = document[key]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert!(
            names.is_superset(&BTreeSet::from(["urllib3", "Jinja2", "requests"])),
            "{format}: {names:?}"
        );
    }
    let bad = get(
        &agent,
        &format!("{base}/api/v1/images/{old_digest}/sbom?format=xml"),
        &[],
    );
    assert_eq!(bad.status, 400);
    let absent = format!("sha256:{}", "0".repeat(64));
    assert_eq!(
        get(&agent, &format!("{base}/api/v1/images/{absent}"), &[]).status,
        404
    );

    // Clusters and the workload tree.
    let clusters = get(&agent, &format!("{base}/api/v1/clusters"), &[]).json();
    let prod = &clusters["clusters"][0];
    assert_eq!(prod["name"], "prod");
    assert_eq!(prod["namespaces"], 2);
    assert_eq!(prod["workloads"], 2);
    assert_eq!(prod["images"], 2);
    let tree = get(
        &agent,
        &format!("{base}/api/v1/workloads?namespace=shop"),
        &[],
    )
    .json();
    let shop = &tree["clusters"][0]["namespaces"][0];
    assert_eq!(shop["name"], "shop");
    let web = &shop["workloads"][0];
    assert_eq!(web["kind"], "Deployment");
    assert_eq!(web["pods"].as_array().unwrap().len(), 2);
    assert_eq!(
        web["pods"][0]["containers"][0]["digest"],
        old_digest.as_str()
    );

    // Metrics and events: the CLI's, at the same clock.
    let mtt = get(&agent, &format!("{base}/api/v1/metrics/mtt"), &[]).json();
    assert_eq!(mtt, cli(&["metrics"]));
    let events = get(&agent, &format!("{base}/api/v1/events?limit=1000"), &[]).json();
    assert_eq!(events["events"], cli(&["events"]));
    let first = get(&agent, &format!("{base}/api/v1/events?limit=3"), &[]).json();
    let next = first["next_cursor"].as_str().unwrap();
    let second = get(
        &agent,
        &format!("{base}/api/v1/events?limit=3&cursor={next}"),
        &[],
    )
    .json();
    assert_eq!(second["events"][0], events["events"][3]);

    // Prometheus: open findings by severity as the CLI counts them.
    let metrics = get(&agent, &format!("{base}/metrics"), &[]).text();
    for severity in ["critical", "high", "medium", "low"] {
        let count = expected
            .iter()
            .filter(|f| f["severity"] == severity)
            .count();
        assert!(
            metrics.contains(&format!(
                "drydock_open_findings{{severity=\"{severity}\"}} {count}\n"
            )),
            "{severity} {count}\n{metrics}"
        );
    }
    assert!(
        !metrics.contains("CVE-") && !metrics.contains("GHSA-"),
        "per-CVE labels"
    );

    // Bad parameters: 400 with a body naming the parameter, no 5xx.
    for query in [
        "severity=urgent",
        "kev=maybe",
        "limit=0",
        "limit=100000",
        "cursor=%%%",
        "cursor=eyJ4Ijox",
        "status=closed",
    ] {
        let reply = get(&agent, &format!("{base}/api/v1/findings?{query}"), &[]);
        assert_eq!(reply.status, 400, "?{query}: {}", reply.text());
        assert!(reply.json()["error"].is_string());
    }
    assert_eq!(get(&agent, &format!("{base}/readyz"), &[]).status, 200);

    // The OpenAPI document served is the one checked in.
    let served = get(&agent, &format!("{base}/api/v1/openapi.json"), &[]).text();
    let checked_in = std::fs::read_to_string(workspace_root().join("docs/openapi.json")).unwrap();
    assert_eq!(
        served, checked_in,
        "docs/openapi.json is stale: `drydock serve --print-openapi > docs/openapi.json`"
    );

    let mut outputs = vec![Value::Array(paged), vulnerabilities, tree, clusters, mtt];
    let host = registry.host();
    for value in &mut outputs {
        *value = serde_json::from_str(&value.to_string().replace(&host, "REGISTRY")).unwrap();
    }
    outputs
}

#[test]
fn api_equals_the_cli_on_sqlite_and_postgres() {
    if !prerequisites() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let env = |store: String, dir: &Path| {
        std::fs::create_dir_all(dir.join("home")).unwrap();
        Env {
            store,
            db: dir.join("db"),
            home: dir.join("home"),
        }
    };
    let embedded_dir = work.path().join("sqlite");
    std::fs::create_dir_all(&embedded_dir).unwrap();
    let sqlite = env(
        format!("sqlite:{}", embedded_dir.join("fleet.db").display()),
        &embedded_dir,
    );
    let embedded = api_agrees_with_the_cli(&sqlite, &embedded_dir);
    let Some(postgres) = Postgres::start() else {
        return;
    };
    let server_dir = work.path().join("postgres");
    std::fs::create_dir_all(&server_dir).unwrap();
    let pg = env(postgres.database("serve"), &server_dir);
    let server = api_agrees_with_the_cli(&pg, &server_dir);
    assert_eq!(
        embedded, server,
        "the API differs between SQLite and PostgreSQL"
    );
}

/// Tokens: none, wrong, read-only on an admin route — refused, and the
/// bodies say nothing about the server; a login cookie works; TLS serves
/// with the given certificate; no token file on a public address is refused.
#[test]
fn auth_refusals_leak_nothing() {
    if !require_tools(&["openssl"]) {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let env = Env {
        store: format!(
            "sqlite:{}",
            work.path().join("secret-store-name.db").display()
        ),
        db: work.path().join("db"),
        home: work.path().join("home"),
    };
    let tokens = work.path().join("tokens");
    let token = |name: &str, scope: &str| {
        let out = env.run(
            T1,
            &[
                "serve",
                "token",
                name,
                "--scope",
                scope,
                "--token-file",
                tokens.to_str().unwrap(),
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let reader = token("dashboard", "read");
    let admin = token("ops", "admin");
    let file = std::fs::read_to_string(&tokens).unwrap();
    assert!(
        !file.contains(&reader) && !file.contains(&admin),
        "tokens stored in clear"
    );
    make_tls(work.path());
    let server = Server::start(
        &env,
        T1,
        &[
            "--token-file",
            tokens.to_str().unwrap(),
            "--tls-cert",
            work.path().join("server.crt").to_str().unwrap(),
            "--tls-key",
            work.path().join("server.key").to_str().unwrap(),
        ],
    );
    assert!(
        server.base.starts_with("https://127.0.0.1:"),
        "{}",
        server.base
    );
    let agent = agent(Some(&work.path().join("ca.crt")));
    let base = &server.base;
    let bearer = |t: &str| format!("Bearer {t}");
    let leaks = |reply: &Reply| {
        let text = reply.text();
        for secret in [
            "secret-store-name",
            reader.as_str(),
            admin.as_str(),
            "sqlite",
            "SELECT",
        ] {
            assert!(
                !text.contains(secret),
                "error body leaks `{secret}`: {text}"
            );
        }
    };
    for (url, headers, status) in [
        ("/api/v1/findings", vec![], 401),
        (
            "/api/v1/findings",
            vec![("Authorization", bearer("ddk_wrong"))],
            401,
        ),
        (
            "/api/v1/findings",
            vec![("Authorization", "Basic b3BzOm9wcw==".to_owned())],
            401,
        ),
        ("/metrics", vec![], 401),
        (
            "/api/v1/sources",
            vec![("Authorization", bearer(&reader))],
            403,
        ),
        (
            "/api/v1/findings",
            vec![("Authorization", bearer(&reader))],
            200,
        ),
        (
            "/api/v1/sources",
            vec![("Authorization", bearer(&admin))],
            200,
        ),
        ("/healthz", vec![], 200),
        ("/api/v1/openapi.json", vec![], 200),
    ] {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let reply = get(&agent, &format!("{base}{url}"), &headers);
        assert_eq!(reply.status, status, "{url} {headers:?}: {}", reply.text());
        leaks(&reply);
        if status == 401 {
            assert_eq!(reply.json(), serde_json::json!({ "error": "unauthorized" }));
        }
        assert_eq!(reply.header("x-frame-options"), Some("DENY"));
        let csp = reply.header("content-security-policy").unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
    }
    // A page without a token goes to the login form; logging in sets a
    // cookie that opens the API too.
    let page = get(&agent, &format!("{base}/vulnerabilities?kev=true"), &[]);
    assert_eq!(page.status, 303);
    assert_eq!(
        page.header("location"),
        Some("/login?next=%2Fvulnerabilities%3Fkev%3Dtrue")
    );
    let login = agent
        .post(&format!("{base}/login"))
        .content_type("application/x-www-form-urlencoded")
        .send(format!("token={reader}&next=%2Fimages").as_bytes())
        .unwrap();
    assert_eq!(login.status().as_u16(), 303);
    assert_eq!(login.headers().get("location").unwrap(), "/images");
    let cookie = login
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("Secure")
            && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap();
    assert_eq!(
        get(
            &agent,
            &format!("{base}/api/v1/images"),
            &[("Cookie", pair)]
        )
        .status,
        200
    );
    let wrong = agent
        .post(&format!("{base}/login"))
        .content_type("application/x-www-form-urlencoded")
        .send(&b"token=nope&next=https%3A%2F%2Fevil.example"[..])
        .unwrap();
    assert_eq!(
        wrong.headers().get("location").unwrap(),
        "/login?failed=1&next=%2F"
    );
    assert!(wrong.headers().get("set-cookie").is_none());
    drop(server);

    // No token file on a non-loopback address: refused unless --no-auth.
    let out = env.run(T1, &["serve", "--listen", "0.0.0.0:0"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("refusing to listen on `0.0.0.0:0` without authentication"),
        "{stderr}"
    );
    // A token file that is not one: a clear error naming it.
    std::fs::write(
        work.path().join("bad-tokens"),
        "ops admin plaintext-token\n",
    )
    .unwrap();
    let bad = work.path().join("bad-tokens");
    let out = env.run(T1, &["serve", "--token-file", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad-tokens` line 1"));
}

/// playwright-core (npm, installed by scripts/test.sh under the tools
/// cache) and Debian's Chromium.
fn browser_tools() -> Option<PathBuf> {
    let playwright = drydock_test::tools_cache().join("npm/node_modules/playwright-core");
    if !playwright.join("package.json").is_file() {
        missing(
            "playwright-core (`npm install --prefix .cache/tools/npm playwright-core`, see scripts/test.sh)",
        );
        return None;
    }
    if !Path::new("/usr/bin/chromium").is_file() {
        missing("Chromium (apt-get install chromium)");
        return None;
    }
    require_tools(&["node"]).then_some(playwright)
}

/// The dashboard in headless Chromium: every page loads without a console
/// error, a CVE is searched and followed to the pod that runs it, KEV
/// filtering and the SBOM download work, and every number shown equals the
/// API's. `DRYDOCK_SCREENSHOTS=DIR` saves the main pages (docs/screenshots).
#[test]
fn dashboard_in_chromium_shows_the_api_numbers() {
    if !prerequisites() {
        return;
    }
    let Some(playwright) = browser_tools() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(work.path().join("home")).unwrap();
    let env = Env {
        store: format!("sqlite:{}", work.path().join("fleet.db").display()),
        db: work.path().join("db"),
        home: work.path().join("home"),
    };
    let registry = Registry::start(&RegistryConfig::default());
    let (old_digest, _) = fill(&env, work.path(), &registry);
    let tokens = work.path().join("tokens");
    let out = env.run(
        T1,
        &[
            "serve",
            "token",
            "browser",
            "--token-file",
            tokens.to_str().unwrap(),
        ],
    );
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let now = T1 + 40 * DAY;
    let server = Server::start(&env, now, &["--token-file", tokens.to_str().unwrap()]);
    let base = &server.base;
    let agent = agent(None);
    let auth = format!("Bearer {token}");
    let api = |path: &str| {
        let reply = get(
            &agent,
            &format!("{base}{path}"),
            &[("Authorization", &auth)],
        );
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        reply
    };
    // A vulnerability that runs in the Deployment's pods (the old image).
    let findings = api(&format!("/api/v1/findings?image={old_digest}&limit=500")).json();
    let vuln = findings["findings"][0]["aliases"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let downloads = work.path().join("downloads");
    std::fs::create_dir_all(&downloads).unwrap();
    let mut node = Command::new("node");
    node.arg(workspace_root().join("crates/drydock-cli/tests/browser/dashboard.cjs"))
        .args([base.as_str(), &token, &vuln, &old_digest, "prod", "shop"])
        .env("PLAYWRIGHT_CORE_DIR", &playwright)
        .env("DOWNLOADS", &downloads)
        .env_remove("SCREENSHOTS");
    if let Some(dir) = drydock_test::screenshots_dir() {
        node.env("SCREENSHOTS", dir);
    }
    let out = node.output().expect("node");
    assert!(
        out.status.success(),
        "the browser script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        seen["problems"],
        serde_json::json!([]),
        "console errors or failed loads"
    );
    assert_eq!(
        seen["skip_link_focused"], true,
        "keyboard: Tab reaches the skip link"
    );

    // The overview's numbers are the API's (and so the CLI's).
    let all = api("/api/v1/findings?limit=500").json();
    let rows = all["findings"].as_array().unwrap();
    assert_eq!(seen["overview"]["total"], all["total"]);
    assert_eq!(
        seen["overview"]["kev"],
        rows.iter().filter(|f| !f["kev"].is_null()).count()
    );
    for severity in ["critical", "high", "medium", "low"] {
        assert_eq!(
            seen["overview"][severity],
            rows.iter().filter(|f| f["severity"] == severity).count(),
            "{severity}"
        );
    }
    let vulnerabilities = api("/api/v1/vulnerabilities").json();
    assert_eq!(
        seen["overview"]["vulnerabilities"],
        vulnerabilities["total"]
    );
    assert_eq!(seen["vulnerabilities_total"], vulnerabilities["total"]);
    assert_eq!(seen["overview"]["chart"], 1);
    let mtt = api("/api/v1/metrics/mtt").json();
    assert_eq!(
        seen["overview"]["overdue"],
        mtt["overdue"].as_array().unwrap().len()
    );
    assert!(
        !mtt["overdue"].as_array().unwrap().is_empty(),
        "40 days on, high findings are overdue"
    );
    // The image page.
    let image = api(&format!("/api/v1/images/{old_digest}")).json();
    assert_eq!(seen["image"]["packages"], image["packages"]);
    assert_eq!(seen["image"]["findings"], findings["total"]);
    assert_eq!(seen["image"]["jinja"], 1);
    let sbom = api(&format!(
        "/api/v1/images/{old_digest}/sbom?format=cyclonedx-json"
    ))
    .json();
    assert_eq!(
        seen["sbom_components"],
        sbom["components"].as_array().unwrap().len()
    );
    // The search, the vulnerability, the pod.
    let searched = api(&format!("/api/v1/vulnerabilities?q={vuln}")).json();
    assert_eq!(seen["search_total"], searched["total"]);
    let detail = api(&format!(
        "/api/v1/vulnerabilities/{}",
        seen["vulnerability"]["url"]
            .as_str()
            .unwrap()
            .trim_start_matches("/vulnerabilities/")
    ))
    .json();
    assert_eq!(seen["vulnerability"]["open"], detail["open_findings"]);
    assert_eq!(seen["vulnerability"]["pods"], detail["pods"]);
    assert!(
        seen["followed"]["url"]
            .as_str()
            .unwrap()
            .starts_with("/clusters/prod/shop#pod-web-"),
        "{}",
        seen["followed"]
    );
    assert_eq!(seen["followed"]["highlighted"], 1);
    assert_eq!(seen["followed"]["digest_link"], old_digest.as_str());
    // KEV.
    let kev = api("/api/v1/vulnerabilities?kev=true").json();
    assert_eq!(seen["kev_total"], kev["total"]);
    assert_eq!(seen["kev_url"], "/vulnerabilities?kev=true");
}

/// schemathesis and openapi-spec-validator (PyPI, installed by
/// scripts/test.sh under the tools cache).
fn schemathesis() -> Option<PathBuf> {
    let dir = drydock_test::tools_cache().join("schemathesis");
    if !dir.join("bin/st").is_file() || !dir.join("bin/openapi-spec-validator").is_file() {
        missing(
            "schemathesis and openapi-spec-validator (`pip install --target .cache/tools/schemathesis …`, see scripts/test.sh)",
        );
        return None;
    }
    Some(dir)
}

/// The OpenAPI document passes a real validator, and the API fuzzed from
/// it (schemathesis, a bounded number of examples per operation, with a
/// read token) answers no request with a 5xx, a status or content type the
/// document does not list, a body that breaks its schema, or data when the
/// token is missing or wrong.
#[test]
fn openapi_is_valid_and_fuzzing_finds_no_server_error() {
    if !prerequisites() {
        return;
    }
    let Some(tools) = schemathesis() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(work.path().join("home")).unwrap();
    let env = Env {
        store: format!("sqlite:{}", work.path().join("fleet.db").display()),
        db: work.path().join("db"),
        home: work.path().join("home"),
    };
    let document = workspace_root().join("docs/openapi.json");
    let python = |tool: &str, args: &[&str]| {
        Command::new("python3")
            .arg(tools.join("bin").join(tool))
            .args(args)
            .env("PYTHONPATH", &tools)
            .env("HOME", work.path().join("home"))
            .current_dir(work.path())
            .stdin(Stdio::null())
            .output()
            .expect("python3")
    };
    let out = python("openapi-spec-validator", &[document.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "openapi-spec-validator: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let registry = Registry::start(&RegistryConfig::default());
    fill(&env, work.path(), &registry);
    let tokens = work.path().join("tokens");
    let out = env.run(
        T1,
        &[
            "serve",
            "token",
            "fuzz",
            "--token-file",
            tokens.to_str().unwrap(),
        ],
    );
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let server = Server::start(
        &env,
        T1 + 20 * DAY,
        &["--token-file", tokens.to_str().unwrap()],
    );
    let auth = format!("Authorization: Bearer {token}");
    let out = python(
        "st",
        &[
            "run",
            document.to_str().unwrap(),
            "--url",
            &server.base,
            "-H",
            &auth,
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,ignored_auth",
            "--exclude-operation-id",
            "listSources",
            "--max-examples",
            "8",
            "--seed",
            "20261202",
            "--workers",
            "2",
            "--request-timeout",
            "20",
        ],
    );
    assert!(
        out.status.success(),
        "schemathesis found failures:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// deploy/kubernetes renders (the real `kubectl kustomize`) into what
/// docs/serve.md promises: serve and worker Deployments on the store
/// Secret, the token file mounted for serve, a ServiceAccount whose
/// ClusterRole lists pods cluster-wide and reads their owners, nothing more.
#[test]
fn kubernetes_manifests_render() {
    let Some(kubectl) = drydock_test::kubectl() else {
        return;
    };
    let out = Command::new(&kubectl)
        .args([
            "kustomize",
            workspace_root().join("deploy/kubernetes").to_str().unwrap(),
        ])
        .output()
        .expect("kubectl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let documents: Vec<&str> = text.split("\n---\n").collect();
    let find = |kind: &str, name: &str| -> &str {
        documents
            .iter()
            .find(|d| {
                d.contains(&format!("kind: {kind}\n")) && d.contains(&format!("  name: {name}\n"))
            })
            .unwrap_or_else(|| panic!("no {kind} {name} in\n{text}"))
    };
    let serve = find("Deployment", "drydock-serve");
    for needle in [
        "- serve",
        "--token-file=/etc/drydock/tokens/tokens",
        "name: drydock-store",
        "path: /readyz",
        "path: /healthz",
        "serviceAccountName: drydock",
    ] {
        assert!(serve.contains(needle), "serve lacks `{needle}`:\n{serve}");
    }
    let worker = find("Deployment", "drydock-worker");
    assert!(
        worker.contains("- worker") && worker.contains("name: drydock-store"),
        "{worker}"
    );
    find("Secret", "drydock-store");
    find("Secret", "drydock-tokens");
    find("ServiceAccount", "drydock");
    let role = find("ClusterRole", "drydock-inventory");
    assert!(role.contains("- pods") && role.contains("- list"), "{role}");
    for verb in ["create", "update", "patch", "delete", "watch", "\"*\""] {
        assert!(
            !role.contains(&format!("- {verb}\n")),
            "the inventory role may {verb}:\n{role}"
        );
    }
    let binding = find("ClusterRoleBinding", "drydock-inventory");
    assert!(
        binding.contains("kind: ServiceAccount") && binding.contains("namespace: drydock"),
        "{binding}"
    );
}

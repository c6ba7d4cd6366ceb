//! drydock's registry client against Debian's `docker-registry` on loopback,
//! for what tests/registry.rs does not reach:
//! - the bearer token flow: the registry runs with `auth: token`, and a token
//!   server in this test checks basic credentials on `GET /token` and issues
//!   ES256 JWTs (p256) whose `x5c` certificate (made by openssl) is the
//!   registry's `rootcertbundle` — the registry itself verifies every token;
//! - Docker credential helpers (`credHelpers`, `credsStore`): a
//!   `docker-credential-*` script on `PATH`, for an htpasswd registry;
//! - the OCI 1.1 referrers API: `docker-registry` has none, so a loopback
//!   proxy adds it (`GET /v2/<name>/referrers/<digest>` answered from the
//!   manifests with a `subject` pushed through it, and `OCI-Subject` on
//!   their PUT), as a registry implementing the API does.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use drydock_test::{
    Blob, OciImage, REGISTRY, RawTar, Registry, RegistryConfig, TokenAuth, missing, require_tools,
    sha256_hex,
};
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::DecodePrivateKey as _;
use serde_json::{Value, json};

const USER: &str = "drydock";
const PASSWORD: &str = "s3cret";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

fn drydock() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_drydock"));
    command
        .env_remove("DRYDOCK_PASSWORD")
        .env("DOCKER_CONFIG", "/nonexistent");
    command
}

fn run(command: &mut Command) -> Output {
    command.stdin(Stdio::null()).output().expect("spawn")
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

/// Exit 2 with a one-line message containing `needle`.
fn fails_clearly(output: &Output, needle: &str) {
    let message = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{message}");
    assert_eq!(message.trim().lines().count(), 1, "one line: {message}");
    assert!(message.contains(needle), "`{needle}` not in: {message}");
}

fn prerequisites() -> bool {
    if !Path::new(REGISTRY).is_file() {
        return missing("`docker-registry` (apt-get install docker-registry)");
    }
    require_tools(&["skopeo", "openssl", "htpasswd"])
}

/// A small image (one Debian package in a dpkg status file) as an OCI layout.
fn small_image(dir: &Path) -> (PathBuf, String) {
    let status = "Package: hello\nStatus: install ok installed\nPriority: optional\nSection: devel\nInstalled-Size: 10\nMaintainer: Nobody <nobody@example.org>\nArchitecture: amd64\nVersion: 2.10-3\nDescription: example package\n an example\n";
    let tar = RawTar::new()
        .dir("etc")
        .file(
            "etc/os-release",
            "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12\"\n",
        )
        .dir("var")
        .dir("var/lib")
        .dir("var/lib/dpkg")
        .file("var/lib/dpkg/status", status)
        .finish();
    let layout = dir.join("layout");
    let written = OciImage::new().layer(Blob::tar_gzip(&tar)).write(&layout);
    (layout, written.manifest_digest)
}

fn sbom(source: &str, extra: &[&str]) -> Value {
    let out = ok(&run(drydock()
        .args(["sbom", source, "-f", "json"])
        .args(extra)));
    serde_json::from_str(&out).unwrap()
}

/// What must not depend on where the image was read from.
fn comparable(document: &Value) -> (Value, Value, Value) {
    let packages = document["packages"].clone();
    assert_eq!(
        packages.as_array().map(Vec::len),
        Some(1),
        "the small image's one package: {packages}"
    );
    (
        packages,
        document["source"]["image"]["layers"].clone(),
        document["source"]["image"]["manifest_digest"].clone(),
    )
}

// ------------------------------------------------------------------ HTTP

/// One HTTP/1.1 request: head (request line + headers) and decoded body.
struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut words = line.split_whitespace();
    let method = words.next()?.to_owned();
    let target = words.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let mut request = Request {
        method,
        target,
        headers,
        body: Vec::new(),
    };
    if let Some(length) = request.header("content-length") {
        let mut body = vec![0; length.parse().ok()?];
        reader.read_exact(&mut body).ok()?;
        request.body = body;
    } else if request
        .header("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            chunk.truncate(size);
            request.body.extend(chunk);
        }
    }
    Some(request)
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, &str)], body: &[u8]) {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        write!(head, "{name}: {value}\r\n").unwrap();
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body);
}

/// A raw request to `port` with no credentials: `(status, lowercase head)`.
fn bare_get(port: u16, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let text = String::from_utf8_lossy(&response).to_ascii_lowercase();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap();
    (status, text)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        if byte == b'%'
            && let Some(hex) = text.get(index + 1..index + 3)
            && let Ok(value) = u8::from_str_radix(hex, 16)
        {
            out.push(value);
            index += 3;
        } else {
            out.push(if byte == b'+' { b' ' } else { byte });
            index += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

// ----------------------------------------------------------- token server

/// A token server: basic credentials in, ES256 JWTs out, for the scopes asked.
struct TokenServer {
    port: u16,
    /// The scopes of every token request (space-separated), in order;
    /// `None` for refused requests.
    scopes: Arc<Mutex<Vec<Option<String>>>>,
    /// The registry's `rootcertbundle`.
    certificate: PathBuf,
}

const SERVICE: &str = "drydock-test-registry";
const ISSUER: &str = "drydock-test-issuer";

impl TokenServer {
    fn start(dir: &Path) -> TokenServer {
        // The signing key and its self-signed certificate, by openssl.
        let key = dir.join("token.key");
        let certificate = dir.join("token.crt");
        ok(&run(Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
            ])
            .arg(&key)));
        ok(&run(Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-new",
                "-days",
                "2",
                "-subj",
                "/CN=drydock-test-token-issuer",
                "-key",
            ])
            .arg(&key)
            .arg("-out")
            .arg(&certificate)));
        let der = run(Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&certificate))
        .stdout;
        let signing_key =
            p256::ecdsa::SigningKey::from_pkcs8_pem(&std::fs::read_to_string(&key).unwrap())
                .unwrap();
        let header = json!({"typ": "JWT", "alg": "ES256", "x5c": [STANDARD.encode(&der)]});
        let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap());

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let scopes = Arc::new(Mutex::new(Vec::new()));
        let seen = scopes.clone();
        let serial = AtomicUsize::new(0);
        std::thread::spawn(move || {
            let expected = format!(
                "Basic {}",
                STANDARD.encode(format!("{USER}:{PASSWORD}").as_bytes())
            );
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut stream = stream;
                let Some(request) = read_request(&mut reader) else {
                    continue;
                };
                let (path, query) = request
                    .target
                    .split_once('?')
                    .unwrap_or((&request.target, ""));
                let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for pair in query.split('&').filter(|p| !p.is_empty()) {
                    let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                    params
                        .entry(percent_decode(name))
                        .or_default()
                        .push(percent_decode(value));
                }
                let authorized = request.header("authorization") == Some(expected.as_str());
                let service_ok = params.get("service").is_some_and(|s| s == &[SERVICE]);
                if path != "/token" || !authorized || !service_ok {
                    seen.lock().unwrap().push(None);
                    respond(
                        &mut stream,
                        "401 Unauthorized",
                        &[("Content-Type", "application/json")],
                        br#"{"details":"wrong credentials"}"#,
                    );
                    continue;
                }
                let mut access = Vec::new();
                let asked = params.get("scope").cloned().unwrap_or_default();
                seen.lock().unwrap().push(Some(asked.join(" ")));
                for scope in &asked {
                    // `repository:NAME:ACTIONS` (NAME may hold no colon here).
                    let mut parts = scope.splitn(3, ':');
                    let (Some(kind), Some(name), Some(actions)) =
                        (parts.next(), parts.next(), parts.next())
                    else {
                        continue;
                    };
                    access.push(json!({
                        "type": kind, "name": name,
                        "actions": actions.split(',').collect::<Vec<_>>(),
                    }));
                }
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                let claims = json!({
                    "iss": ISSUER, "sub": USER, "aud": SERVICE,
                    "exp": now + 300, "nbf": now - 10, "iat": now,
                    "jti": format!("token-{}", serial.fetch_add(1, Ordering::SeqCst)),
                    "access": access,
                });
                let signing_input = format!(
                    "{header}.{}",
                    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap())
                );
                let signature: p256::ecdsa::Signature = signing_key.sign(signing_input.as_bytes());
                let token = format!(
                    "{signing_input}.{}",
                    URL_SAFE_NO_PAD.encode(signature.to_bytes())
                );
                let body = json!({"token": token, "access_token": token, "expires_in": 300});
                respond(
                    &mut stream,
                    "200 OK",
                    &[("Content-Type", "application/json")],
                    &serde_json::to_vec(&body).unwrap(),
                );
            }
        });
        TokenServer {
            port,
            scopes,
            certificate,
        }
    }

    fn auth(&self) -> TokenAuth {
        TokenAuth {
            realm: format!("http://127.0.0.1:{}/token", self.port),
            service: SERVICE.to_owned(),
            issuer: ISSUER.to_owned(),
            root_cert_bundle: self.certificate.clone(),
        }
    }

    fn scopes(&self) -> Vec<Option<String>> {
        self.scopes.lock().unwrap().clone()
    }
}

#[test]
fn bearer_token_flow_against_a_token_auth_registry() {
    if !prerequisites() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let (layout, digest) = small_image(work.path());
    let tokens = TokenServer::start(work.path());
    let registry = Registry::start(&RegistryConfig {
        token: Some(tokens.auth()),
        ..RegistryConfig::default()
    });
    let host = registry.host();
    let image = format!("{host}/app/hello:v1");
    let creds = ["--username", USER, "--password", PASSWORD];

    // The registry demands a bearer token from our realm.
    let (status, head) = bare_get(registry.port, "/v2/");
    assert_eq!(status, 401);
    assert!(
        head.contains(&format!(
            "www-authenticate: bearer realm=\"http://127.0.0.1:{}/token\"",
            tokens.port
        )),
        "{head}"
    );

    // No credentials, wrong credentials: the token server refuses; one line, exit 2.
    let source = format!("oci-dir:{}", layout.display());
    fails_clearly(
        &run(drydock().args(["push", &source, &image])),
        "authentication failed",
    );
    fails_clearly(
        &run(drydock().args(["push", &source, &image]).args([
            "--username",
            USER,
            "--password",
            "wrong",
        ])),
        "authentication failed",
    );
    assert!(tokens.scopes().iter().all(Option::is_none));

    // Push with tokens: the digest of the layout's manifest.
    let pushed = ok(&run(drydock().args(["push", &source, &image]).args(creds)));
    assert_eq!(pushed.trim(), digest);
    let scopes = tokens.scopes();
    assert!(
        scopes.contains(&Some("repository:app/hello:pull,push".to_owned())),
        "{scopes:?}"
    );

    // skopeo, an independent client of the same token flow, sees it.
    let inspect = ok(&run(Command::new("skopeo").args([
        "inspect",
        "--tls-verify=false",
        "--creds",
        &format!("{USER}:{PASSWORD}"),
        &format!("docker://{image}"),
    ])));
    let inspected: Value = serde_json::from_str(&inspect).unwrap();
    assert_eq!(inspected["Digest"], digest.as_str());

    // sbom from the registry equals sbom from the layout; a pull asks for pull only.
    let before = tokens.scopes().len();
    let remote = sbom(&format!("registry:{image}"), &creds);
    let local = sbom(&source, &[]);
    assert_eq!(comparable(&remote), comparable(&local));
    let pulls = tokens.scopes().split_off(before);
    assert_eq!(
        pulls,
        vec![Some("repository:app/hello:pull".to_owned())],
        "one token, cached for the whole pull"
    );
    // Wrong credentials for a pull: exit 2, one line.
    fails_clearly(
        &run(drydock()
            .args(["sbom", &format!("registry:{image}")])
            .args(["--username", USER, "--password", "wrong"])),
        "authentication failed",
    );

    // copy into another repository (push scope there) and out to a layout.
    let other = format!("{host}/other/hello:v2");
    let copied = run(drydock().args(["copy", &image, &other]).args(creds));
    assert_eq!(ok(&copied).trim(), digest);
    // The mount needs pull access to the source repository as well: the
    // registry's challenge names it, and the token asked for carries both.
    assert!(
        tokens.scopes().contains(&Some(
            "repository:other/hello:pull,push repository:app/hello:pull".to_owned()
        )),
        "{:?}",
        tokens.scopes()
    );
    let out_layout = work.path().join("copied");
    let copied = ok(&run(drydock()
        .args(["copy", &other, &format!("oci-dir:{}", out_layout.display())])
        .args(creds)));
    assert_eq!(copied.trim(), digest);
    let back = sbom(&format!("oci-dir:{}", out_layout.display()), &[]);
    assert_eq!(comparable(&back), comparable(&local));

    // The token credentials can come from a credential helper too.
    let helpers = CredentialHelpers::new(work.path(), &host);
    let config = helpers.config(&json!({"credsStore": "test"}));
    let remote = ok(&run(helpers.drydock(&config).args([
        "sbom",
        &format!("registry:{other}"),
        "-f",
        "json",
    ])));
    let remote: Value = serde_json::from_str(&remote).unwrap();
    assert_eq!(comparable(&remote), comparable(&local));
    assert_eq!(helpers.asked(), vec![host.clone()]);
}

// ------------------------------------------------------ credential helpers

/// `docker-credential-test` (right secret for one server, "credentials not
/// found" otherwise), `docker-credential-wrong` (a wrong secret) and
/// `docker-credential-none` (never has any), in a directory put on `PATH`.
struct CredentialHelpers {
    dir: PathBuf,
    log: PathBuf,
}

impl CredentialHelpers {
    fn new(parent: &Path, server: &str) -> CredentialHelpers {
        let dir = parent.join("helpers");
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        let log = dir.join("asked.log");
        let script = |secret: Option<&str>| {
            let answer = secret.map_or_else(
                || "echo 'credentials not found in native keychain'; exit 1".to_owned(),
                |secret| {
                    format!(
                        "if [ \"$server\" = '{server}' ]; then\n  printf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{secret}\"}}\\n' \"$server\"\nelse\n  echo 'credentials not found in native keychain'; exit 1\nfi"
                    )
                },
            );
            format!(
                "#!/bin/sh\n[ \"$1\" = get ] || {{ echo \"unexpected: $*\" >&2; exit 3; }}\nserver=$(cat)\necho \"$server\" >> '{}'\n{answer}\n",
                log.display()
            )
        };
        for (name, secret) in [
            ("test", Some(PASSWORD)),
            ("wrong", Some("not-the-password")),
            ("none", None),
        ] {
            let path = dir.join("bin").join(format!("docker-credential-{name}"));
            std::fs::write(&path, script(secret)).unwrap();
            let mut permissions = std::fs::metadata(&path).unwrap().permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
            std::fs::set_permissions(&path, permissions).unwrap();
        }
        CredentialHelpers { dir, log }
    }

    /// A `DOCKER_CONFIG` directory whose config.json is `config`.
    fn config(&self, config: &Value) -> PathBuf {
        let dir = self.dir.join(format!(
            "config-{}",
            sha256_hex(config.to_string().as_bytes())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.json"), config.to_string()).unwrap();
        dir
    }

    /// drydock with the helpers on `PATH` and `config` as `DOCKER_CONFIG`.
    fn drydock(&self, config: &Path) -> Command {
        let mut command = drydock();
        command.env("DOCKER_CONFIG", config).env(
            "PATH",
            format!("{}:/usr/bin:/bin", self.dir.join("bin").display()),
        );
        command
    }

    /// The servers the helpers were asked about, in order; clears the log.
    fn asked(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let _ = std::fs::remove_file(&self.log);
        text.lines().map(str::to_owned).collect()
    }
}

#[test]
fn credential_helpers_for_an_htpasswd_registry() {
    if !prerequisites() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let (layout, digest) = small_image(work.path());
    let registry = Registry::start(&RegistryConfig {
        basic_auth: Some((USER, PASSWORD)),
        ..RegistryConfig::default()
    });
    let host = registry.host();
    let image = format!("{host}/helped/hello:v1");
    // skopeo puts the image in, with the password given directly.
    ok(&run(Command::new("skopeo").args([
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        "--dest-creds",
        &format!("{USER}:{PASSWORD}"),
        &format!("oci:{}", layout.display()),
        &format!("docker://{image}"),
    ])));
    let local = comparable(&sbom(&format!("oci-dir:{}", layout.display()), &[]));
    let helpers = CredentialHelpers::new(work.path(), &host);
    let source = format!("registry:{image}");
    let pull = |config: &Path| {
        run(helpers
            .drydock(config)
            .args(["sbom", &source, "-f", "json"]))
    };

    // No credentials anywhere: refused.
    let empty = helpers.config(&json!({}));
    fails_clearly(&pull(&empty), "authentication failed");
    assert!(helpers.asked().is_empty());

    // `credHelpers` for this registry.
    let config = helpers.config(&json!({"credHelpers": {host.clone(): "test"}}));
    let document: Value = serde_json::from_str(&ok(&pull(&config))).unwrap();
    assert_eq!(comparable(&document), local);
    assert_eq!(helpers.asked(), vec![host.clone()]);

    // `credsStore` for every registry.
    let config = helpers.config(&json!({"credsStore": "test"}));
    let document: Value = serde_json::from_str(&ok(&pull(&config))).unwrap();
    assert_eq!(comparable(&document), local);
    assert_eq!(helpers.asked(), vec![host.clone()]);

    // A per-registry helper wins over the store and over `auths`.
    let config = helpers.config(&json!({
        "credHelpers": {host.clone(): "test"},
        "credsStore": "wrong",
        "auths": {host.clone(): {"auth": STANDARD.encode(format!("{USER}:bad"))}},
    }));
    let document: Value = serde_json::from_str(&ok(&pull(&config))).unwrap();
    assert_eq!(comparable(&document), local);
    assert_eq!(helpers.asked(), vec![host.clone()]);

    // A helper for another registry only: not asked, refused.
    let config = helpers.config(&json!({"credHelpers": {"registry.example": "test"}}));
    fails_clearly(&pull(&config), "authentication failed");
    assert!(helpers.asked().is_empty());

    // A helper with the wrong secret, one with none: refused, one line.
    let config = helpers.config(&json!({"credsStore": "wrong"}));
    fails_clearly(&pull(&config), "authentication failed");
    let config = helpers.config(&json!({"credsStore": "none"}));
    fails_clearly(&pull(&config), "authentication failed");
    assert_eq!(helpers.asked(), vec![host.clone(), host.clone()]);

    // A helper that is not installed: named in the error.
    let config = helpers.config(&json!({"credHelpers": {host.clone(): "absent"}}));
    fails_clearly(&pull(&config), "docker-credential-absent");

    // Push through the helper too: a new tag, same digest.
    let config = helpers.config(&json!({"credHelpers": {host.clone(): "test"}}));
    let pushed = ok(&run(helpers.drydock(&config).args([
        "push",
        &format!("oci-dir:{}", layout.display()),
        &format!("{host}/helped/hello:v2"),
    ])));
    assert_eq!(pushed.trim(), digest);
}

// ------------------------------------------------------- referrers API

/// A loopback proxy in front of a registry without the referrers API that
/// adds it: manifests with a `subject` PUT through it are recorded, their
/// PUT answered with `OCI-Subject` (when `advertise`), and `GET
/// /v2/<name>/referrers/<digest>` answered with an OCI index of them.
struct ReferrersProxy {
    port: u16,
    referrers_requests: Arc<AtomicUsize>,
    subject_puts: Arc<AtomicUsize>,
}

type Referrers = Arc<Mutex<BTreeMap<(String, String), Vec<Value>>>>;

impl ReferrersProxy {
    fn start(upstream: u16, advertise: bool) -> ReferrersProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let referrers: Referrers = Arc::default();
        let referrers_requests = Arc::new(AtomicUsize::new(0));
        let subject_puts = Arc::new(AtomicUsize::new(0));
        let (requests, puts) = (referrers_requests.clone(), subject_puts.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (referrers, requests, puts) =
                    (referrers.clone(), requests.clone(), puts.clone());
                std::thread::spawn(move || {
                    proxy_one(stream, upstream, advertise, &referrers, &requests, &puts);
                });
            }
        });
        ReferrersProxy {
            port,
            referrers_requests,
            subject_puts,
        }
    }
}

fn proxy_one(
    stream: TcpStream,
    upstream: u16,
    advertise: bool,
    referrers: &Referrers,
    requests: &AtomicUsize,
    puts: &AtomicUsize,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut client = stream;
    let Some(request) = read_request(&mut reader) else {
        return;
    };
    let path = request
        .target
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    if request.method == "GET"
        && let Some((name, digest)) = path
            .strip_prefix("/v2/")
            .and_then(|rest| rest.rsplit_once("/referrers/"))
    {
        requests.fetch_add(1, Ordering::SeqCst);
        let manifests = referrers
            .lock()
            .unwrap()
            .get(&(name.to_owned(), digest.to_owned()))
            .cloned()
            .unwrap_or_default();
        let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
        respond(
            &mut client,
            "200 OK",
            &[("Content-Type", OCI_INDEX)],
            &serde_json::to_vec(&index).unwrap(),
        );
        return;
    }
    // Forward, body re-sent with a Content-Length, the answer ending at EOF.
    let mut forwarded = format!("{} {} HTTP/1.1\r\n", request.method, request.target);
    for (name, value) in &request.headers {
        let lower = name.to_ascii_lowercase();
        if !matches!(
            lower.as_str(),
            "connection" | "content-length" | "transfer-encoding"
        ) {
            write!(forwarded, "{name}: {value}\r\n").unwrap();
        }
    }
    if !request.body.is_empty() || matches!(request.method.as_str(), "PUT" | "POST" | "PATCH") {
        write!(forwarded, "Content-Length: {}\r\n", request.body.len()).unwrap();
    }
    forwarded.push_str("Connection: close\r\n\r\n");
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)) else {
        return;
    };
    if server.write_all(forwarded.as_bytes()).is_err() || server.write_all(&request.body).is_err() {
        return;
    }
    let mut response = Vec::new();
    let _ = server.read_to_end(&mut response);
    // A manifest with a subject, accepted: record it as a referrer.
    let manifest_put = request.method == "PUT" && path.contains("/manifests/");
    let accepted = response.starts_with(b"HTTP/1.1 201");
    let subject = manifest_put
        .then(|| serde_json::from_slice::<Value>(&request.body).ok())
        .flatten()
        .filter(|m| m["subject"]["digest"].is_string());
    if let (Some(manifest), true) = (subject, accepted) {
        puts.fetch_add(1, Ordering::SeqCst);
        let name = path
            .strip_prefix("/v2/")
            .and_then(|rest| rest.rsplit_once("/manifests/"))
            .map(|(name, _)| name.to_owned())
            .unwrap();
        let subject = manifest["subject"]["digest"].as_str().unwrap().to_owned();
        let mut descriptor = json!({
            "mediaType": manifest["mediaType"].as_str()
                .or(request.header("content-type")).unwrap(),
            "digest": format!("sha256:{}", sha256_hex(&request.body)),
            "size": request.body.len(),
        });
        let artifact_type = manifest["artifactType"]
            .as_str()
            .or(manifest["config"]["mediaType"].as_str());
        if let Some(artifact_type) = artifact_type {
            descriptor["artifactType"] = json!(artifact_type);
        }
        if manifest["annotations"].is_object() {
            descriptor["annotations"] = manifest["annotations"].clone();
        }
        referrers
            .lock()
            .unwrap()
            .entry((name, subject.clone()))
            .or_default()
            .push(descriptor);
        if advertise {
            // `OCI-Subject` right after the status line.
            let end = response.windows(2).position(|w| w == b"\r\n").unwrap() + 2;
            let header = format!("OCI-Subject: {subject}\r\n");
            response.splice(end..end, header.bytes());
        }
    }
    let _ = client.write_all(&response);
}

/// The tags of `repository` as the registry itself lists them.
fn tags(registry: &Registry, repository: &str) -> Vec<String> {
    let listed = ok(&run(Command::new("skopeo").args([
        "list-tags",
        "--tls-verify=false",
        &format!("docker://{}/{repository}", registry.host()),
    ])));
    let listed: Value = serde_json::from_str(&listed).unwrap();
    let mut tags: Vec<String> = listed["Tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    tags.sort();
    tags
}

#[test]
fn signatures_through_the_referrers_api() {
    if !prerequisites() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let (layout, digest) = small_image(work.path());
    let registry = Registry::start(&RegistryConfig::default());
    let fallback = format!("sha256-{}", digest.trim_start_matches("sha256:"));
    ok(&run(drydock()
        .current_dir(work.path())
        .env("DRYDOCK_PASSWORD", "")
        .args(["key", "generate"])));
    let key = work.path().join("drydock.key");
    let public = work.path().join("drydock.pub");
    let source = format!("oci-dir:{}", layout.display());

    // A registry with the referrers API that says so on the PUT.
    let proxy = ReferrersProxy::start(registry.port, true);
    let image = format!("127.0.0.1:{}/api/hello:v1", proxy.port);
    ok(&run(drydock().args(["push", &source, &image])));
    ok(&run(drydock()
        .env("DRYDOCK_PASSWORD", "")
        .args(["sign", &image, "--key"])
        .arg(&key)));
    assert_eq!(proxy.subject_puts.load(Ordering::SeqCst), 1);
    // No fallback tag: the registry holds only the image's tag.
    assert_eq!(tags(&registry, "api/hello"), vec!["v1".to_owned()]);
    // verify finds the bundle through the API …
    let before = proxy.referrers_requests.load(Ordering::SeqCst);
    let out = run(drydock().args(["verify", &image, "--key"]).arg(&public));
    ok(&out);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr)
            .matches("verified signature")
            .count(),
        1,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(proxy.referrers_requests.load(Ordering::SeqCst) > before);
    // … and only there: the registry without the proxy has no trace of it.
    let direct = format!("{}/api/hello:v1", registry.host());
    let out = run(drydock().args(["verify", &direct, "--key"]).arg(&public));
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no signatures found"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // An attestation goes the same way; the referrers list then holds both.
    ok(&run(drydock()
        .env("DRYDOCK_PASSWORD", "")
        .args(["attest", &image, "--key"])
        .arg(&key)
        .args(["--predicate-type", "sbom"])));
    assert_eq!(tags(&registry, "api/hello"), vec!["v1".to_owned()]);
    ok(&run(drydock()
        .args(["verify-attestation", &image, "--key"])
        .arg(&public)
        .args(["--type", "sbom"])));
    let (status, _) = bare_get(proxy.port, &format!("/v2/api/hello/referrers/{digest}"));
    assert_eq!(status, 200);
    let mut stream = TcpStream::connect(("127.0.0.1", proxy.port)).unwrap();
    write!(
        stream,
        "GET /v2/api/hello/referrers/{digest} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut listed = String::new();
    stream.read_to_string(&mut listed).unwrap();
    let listed: Value = serde_json::from_str(listed.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    let bundles = listed["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["artifactType"] == BUNDLE)
        .count();
    assert_eq!(bundles, 2, "{listed}");

    // A registry that serves the API but does not acknowledge the subject
    // on the PUT: the client must keep the fallback tag (distribution spec,
    // "Pushing Manifests with Subject").
    let proxy = ReferrersProxy::start(registry.port, false);
    let image = format!("127.0.0.1:{}/quiet/hello:v1", proxy.port);
    ok(&run(drydock().args(["push", &source, &image])));
    ok(&run(drydock()
        .env("DRYDOCK_PASSWORD", "")
        .args(["sign", &image, "--key"])
        .arg(&key)));
    assert_eq!(
        tags(&registry, "quiet/hello"),
        vec![fallback.clone(), "v1".to_owned()]
    );
    let direct = format!("{}/quiet/hello:v1", registry.host());
    ok(&run(drydock()
        .args(["verify", &direct, "--key"])
        .arg(&public)));
}

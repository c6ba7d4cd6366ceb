//! drydock against a real registry the tests start: Debian's `docker-registry`
//! (distribution v2) on a loopback port — plain, with htpasswd basic auth,
//! behind TLS with a test CA — with `skopeo` as the independent client, a
//! fault-injecting proxy, and independent verification of signatures
//! (`openssl`), DSSE envelopes (PAE rebuilt in Python, checked by `openssl`)
//! and the encrypted key file (PyNaCl secretbox + `hashlib.scrypt`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use drydock_test::{REGISTRY, Registry, RegistryConfig, debian_fixture, missing, require_tools};
use serde_json::Value;

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

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn prerequisites() -> bool {
    if !Path::new(REGISTRY).is_file() {
        return missing("`docker-registry` (apt-get install docker-registry)");
    }
    require_tools(&["skopeo", "openssl", "htpasswd", "python3"])
}

fn fixture_layout() -> Option<PathBuf> {
    debian_fixture().map(|f| f.dir.join("oci-gzip"))
}

/// `skopeo copy` the fixture into `registry` as `repo:tag` (plain HTTP).
fn skopeo_push(layout: &Path, destination: &str, extra: &[&str]) {
    let mut command = Command::new("skopeo");
    command
        .args(["copy", "--quiet"])
        .args(extra)
        .arg(format!("oci:{}:debian", layout.display()))
        .arg(format!("docker://{destination}"));
    ok(&run(&mut command));
}

fn sbom_json(source: &str, extra: &[&str]) -> Value {
    let out = ok(&run(drydock()
        .args(["sbom", source, "-f", "json"])
        .args(extra)));
    serde_json::from_str(&out).unwrap()
}

/// Packages and layer digests: what must not depend on where the image came from.
fn comparable(document: &Value) -> (Value, Value, Value) {
    (
        document["packages"].clone(),
        document["source"]["image"]["layers"].clone(),
        document["source"]["image"]["manifest_digest"].clone(),
    )
}

#[test]
fn sbom_from_registry_equals_sbom_from_layout() {
    if !prerequisites() {
        return;
    }
    let Some(layout) = fixture_layout() else {
        return;
    };
    let registry = Registry::start(&RegistryConfig::default());
    skopeo_push(
        &layout,
        &format!("{}/debian:12", registry.host()),
        &["--dest-tls-verify=false"],
    );
    let from_registry = sbom_json(&format!("registry:{}/debian:12", registry.host()), &[]);
    let from_layout = sbom_json(&format!("oci-dir:{}", layout.display()), &[]);
    assert!(from_layout["packages"].as_array().unwrap().len() > 50);
    assert_eq!(comparable(&from_registry), comparable(&from_layout));
    // By digest too, and a missing tag is a clear one-line error.
    let digest = from_layout["source"]["image"]["manifest_digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let pinned = sbom_json(
        &format!("registry:{}/debian@{digest}", registry.host()),
        &[],
    );
    assert_eq!(comparable(&pinned), comparable(&from_layout));
    let out = run(drydock().args(["sbom", &format!("registry:{}/debian:nope", registry.host())]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));
}

#[test]
fn push_with_basic_auth_and_tls_reads_back_with_skopeo() {
    if !prerequisites() {
        return;
    }
    let Some(layout) = fixture_layout() else {
        return;
    };
    let registry = Registry::start(&RegistryConfig {
        basic_auth: Some(("drydock", "s3cret")),
        tls: true,
        ..RegistryConfig::default()
    });
    let ca = registry.ca().display().to_string();
    let destination = format!("{}/pushed/debian:v1", registry.host());
    let creds = ["--username", "drydock", "--password", "s3cret"];

    // Without the CA: TLS verification fails, clearly, exit 2.
    let out = run(drydock()
        .args(["push", &layout.display().to_string(), &destination])
        .args(creds));
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    assert!(message.lines().count() == 1, "one line: {message}");
    assert!(
        message.to_lowercase().contains("certificate") || message.contains("UnknownIssuer"),
        "{message}"
    );

    // Wrong password: 401, clearly.
    let out = run(drydock()
        .args([
            "push",
            &format!("oci-dir:{}", layout.display()),
            &destination,
            "--ca-cert",
            &ca,
        ])
        .args(["--username", "drydock", "--password", "wrong"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("authentication failed"),
        "{}",
        stderr(&out)
    );

    // Chunked upload (PATCH) with the CA and credentials.
    let pushed = ok(&run(drydock()
        .args([
            "push",
            &format!("oci-dir:{}", layout.display()),
            &destination,
            "--ca-cert",
            &ca,
        ])
        .args(creds)
        .args(["--chunk-size", "4000000"])));
    let local_index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let local_digest = local_index["manifests"][0]["digest"].as_str().unwrap();
    assert_eq!(pushed.trim(), local_digest);

    // skopeo inspect sees the same manifest digest and layers.
    let cert_dir = registry.cert_dir().display().to_string();
    let inspect = ok(&run(Command::new("skopeo").args([
        "inspect",
        "--cert-dir",
        &cert_dir,
        "--creds",
        "drydock:s3cret",
        &format!("docker://{destination}"),
    ])));
    let inspected: Value = serde_json::from_str(&inspect).unwrap();
    assert_eq!(inspected["Digest"], local_digest);
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(
            layout
                .join("blobs/sha256")
                .join(local_digest.trim_start_matches("sha256:")),
        )
        .unwrap(),
    )
    .unwrap();
    let local_layers: Vec<&str> = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap())
        .collect();
    let remote_layers: Vec<&str> = inspected["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(local_layers, remote_layers);

    // skopeo copies it back out into an OCI dir: identical blobs.
    let back = tempfile::tempdir().unwrap();
    ok(&run(Command::new("skopeo").args([
        "copy",
        "--quiet",
        "--src-cert-dir",
        &cert_dir,
        "--src-creds",
        "drydock:s3cret",
        &format!("docker://{destination}"),
        &format!("oci:{}:x", back.path().display()),
    ])));
    for digest in local_layers.iter().chain([&local_digest]) {
        let name = digest.trim_start_matches("sha256:");
        assert!(
            back.path().join("blobs/sha256").join(name).is_file(),
            "{digest} missing"
        );
    }

    // drydock copy registry → OCI dir (monolithic reads, parallel) and a
    // second repository with a cross-repository mount.
    let out_dir = tempfile::tempdir().unwrap();
    let out_layout = out_dir.path().join("layout");
    let copied = ok(&run(drydock()
        .args([
            "copy",
            &destination,
            &format!("oci-dir:{}", out_layout.display()),
            "--ca-cert",
            &ca,
        ])
        .args(creds)));
    assert_eq!(copied.trim(), local_digest);
    let leftovers: Vec<_> = std::fs::read_dir(out_layout.join("blobs/sha256"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    let mounted = run(drydock()
        .args([
            "copy",
            &destination,
            &format!("{}/other/debian:v1", registry.host()),
            "--ca-cert",
            &ca,
        ])
        .args(creds));
    ok(&mounted);
    assert!(stderr(&mounted).contains("3 blobs"), "{}", stderr(&mounted));
    // sbom over TLS + auth equals the layout's.
    let remote = sbom_json(
        &format!("registry:{}/other/debian:v1", registry.host()),
        &[
            "--ca-cert",
            &ca,
            "--username",
            "drydock",
            "--password",
            "s3cret",
        ],
    );
    let local = sbom_json(&format!("oci-dir:{}", layout.display()), &[]);
    assert_eq!(comparable(&remote), comparable(&local));
}

/// What the proxy does to blob responses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// Answer this status to the first `n` blob requests.
    Status(u16, usize),
    /// Send half the body of the first `n` blob responses, then close.
    Drop(usize),
    /// Flip a byte in every blob body.
    Corrupt,
    /// Drip-feed bodies in small pieces.
    Slow,
}

/// A loopback HTTP/1.1 proxy (one request per connection) injecting `fault`.
struct Proxy {
    port: u16,
    blob_requests: Arc<AtomicUsize>,
    range_requests: Arc<AtomicUsize>,
}

fn read_head(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).ok()? == 0 {
            return None;
        }
        // Not HTTP (a TLS ClientHello): hang up, as a plain server would.
        if head.is_empty() && !byte[0].is_ascii_uppercase() {
            return None;
        }
        head.push(byte[0]);
    }
    Some(head)
}

impl Proxy {
    fn start(upstream: u16, fault: Fault) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let blob_requests = Arc::new(AtomicUsize::new(0));
        let range_requests = Arc::new(AtomicUsize::new(0));
        let (blobs, ranges) = (blob_requests.clone(), range_requests.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (blobs, ranges) = (blobs.clone(), ranges.clone());
                std::thread::spawn(move || serve(client, upstream, fault, &blobs, &ranges));
            }
        });
        Proxy {
            port,
            blob_requests,
            range_requests,
        }
    }
}

fn serve(
    mut client: TcpStream,
    upstream: u16,
    fault: Fault,
    blobs: &AtomicUsize,
    ranges: &AtomicUsize,
) {
    let Some(head) = read_head(&mut client) else {
        return;
    };
    let text = String::from_utf8_lossy(&head).into_owned();
    let request_line = text.lines().next().unwrap_or_default().to_owned();
    let is_blob_get = request_line.starts_with("GET ") && request_line.contains("/blobs/sha256:");
    let number = if is_blob_get {
        blobs.fetch_add(1, Ordering::SeqCst)
    } else {
        usize::MAX
    };
    if is_blob_get && text.to_ascii_lowercase().contains("\r\nrange:") {
        ranges.fetch_add(1, Ordering::SeqCst);
    }
    if let Fault::Status(status, n) = fault
        && number < n
    {
        let _ = client.write_all(
            format!("HTTP/1.1 {status} Injected\r\nContent-Length: 0\r\nRetry-After: 0\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        return;
    }
    // Forward with `Connection: close` so the upstream answer ends at EOF.
    let mut forwarded = String::new();
    for line in text.split("\r\n").filter(|l| !l.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            forwarded.push_str(line);
            forwarded.push_str("\r\n");
        }
    }
    forwarded.push_str("Connection: close\r\n\r\n");
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)) else {
        return;
    };
    if server.write_all(forwarded.as_bytes()).is_err() {
        return;
    }
    let mut response = Vec::new();
    let _ = server.read_to_end(&mut response);
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(response.len(), |p| p + 4);
    let (head, body) = response.split_at(split);
    let mut body = body.to_vec();
    if !is_blob_get || body.is_empty() {
        let _ = client.write_all(&response);
        return;
    }
    match fault {
        Fault::Drop(n) if number < n => {
            let _ = client.write_all(head);
            let _ = client.write_all(&body[..body.len() / 2]);
            let _ = client.flush();
            let _ = client.shutdown(std::net::Shutdown::Both);
        }
        Fault::Corrupt => {
            let middle = body.len() / 2;
            body[middle] ^= 0xff;
            let _ = client.write_all(head);
            let _ = client.write_all(&body);
        }
        Fault::Slow => {
            let _ = client.write_all(head);
            for piece in body.chunks(body.len() / 20 + 1) {
                if client.write_all(piece).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        _ => {
            let _ = client.write_all(head);
            let _ = client.write_all(&body);
        }
    }
}

#[test]
fn pulls_survive_faults_and_reject_corruption() {
    if !prerequisites() {
        return;
    }
    let Some(layout) = fixture_layout() else {
        return;
    };
    let registry = Registry::start(&RegistryConfig::default());
    skopeo_push(
        &layout,
        &format!("{}/debian:12", registry.host()),
        &["--dest-tls-verify=false"],
    );
    let expected = comparable(&sbom_json(&format!("oci-dir:{}", layout.display()), &[]));
    let fast = ["--backoff-ms", "10"];

    for fault in [
        Fault::Status(500, 2),
        Fault::Status(429, 3),
        Fault::Drop(2),
        Fault::Slow,
    ] {
        let started = Instant::now();
        let proxy = Proxy::start(registry.port, fault);
        let source = format!("registry:127.0.0.1:{}/debian:12", proxy.port);
        let document = sbom_json(&source, &fast);
        eprintln!("{fault:?}: {:?}", started.elapsed());
        assert_eq!(comparable(&document), expected, "{fault:?}");
        if let Fault::Drop(_) = fault {
            assert!(
                proxy.range_requests.load(Ordering::SeqCst) >= 2,
                "dropped bodies resume with Range requests"
            );
        }
        assert!(proxy.blob_requests.load(Ordering::SeqCst) >= 3);
    }

    // Too many failures: a clear one-line error, exit 2.
    let proxy = Proxy::start(registry.port, Fault::Status(503, 1000));
    let out = run(drydock()
        .args([
            "sbom",
            &format!("registry:127.0.0.1:{}/debian:12", proxy.port),
        ])
        .args(fast)
        .args(["--retries", "3"]));
    assert_eq!(out.status.code(), Some(2));
    let message = stderr(&out);
    assert!(
        message.contains("gave up after 3 attempts") && message.contains("HTTP 503"),
        "{message}"
    );
    assert_eq!(message.trim().lines().count(), 1, "{message}");

    // A corrupted blob is rejected by digest, in the walk and in a copy; the
    // copy leaves no blob that looks complete.
    let proxy = Proxy::start(registry.port, Fault::Corrupt);
    let out = run(drydock()
        .args([
            "sbom",
            &format!("registry:127.0.0.1:{}/debian:12", proxy.port),
        ])
        .args(fast));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("digest mismatch"), "{}", stderr(&out));
    let target = tempfile::tempdir().unwrap();
    let out_layout = target.path().join("copy");
    let out = run(drydock()
        .args([
            "copy",
            &format!("127.0.0.1:{}/debian:12", proxy.port),
            &format!("oci-dir:{}", out_layout.display()),
        ])
        .args(fast));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("hashes to"), "{}", stderr(&out));
    let index: Value =
        serde_json::from_slice(&std::fs::read(out_layout.join("index.json")).unwrap()).unwrap();
    assert_eq!(
        index["manifests"].as_array().map(Vec::len),
        Some(0),
        "no manifest names a half-copied image"
    );
    for entry in std::fs::read_dir(out_layout.join("blobs/sha256"))
        .unwrap()
        .flatten()
    {
        let bytes = std::fs::read(entry.path()).unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        assert_eq!(
            drydock_test::sha256_hex(&bytes),
            name,
            "blob {name} is stored under a wrong name"
        );
    }
}

/// Run a Python snippet, returning stdout.
fn python(script: &str, args: &[&str]) -> String {
    ok(&run(Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)))
}

fn python_has(module: &str) -> bool {
    run(Command::new("python3").args(["-c", &format!("import {module}")]))
        .status
        .success()
}

fn openssl_verify(public_pem: &Path, payload: &[u8], signature_der: &[u8], dir: &Path) -> bool {
    std::fs::write(dir.join("payload"), payload).unwrap();
    std::fs::write(dir.join("sig.der"), signature_der).unwrap();
    run(Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(public_pem)
        .arg("-signature")
        .arg(dir.join("sig.der"))
        .arg(dir.join("payload")))
    .status
    .success()
}

fn b64_bytes(text: &str) -> Vec<u8> {
    run(Command::new("python3").args([
        "-c",
        "import base64,sys; sys.stdout.buffer.write(base64.b64decode(sys.argv[1]))",
        text,
    ]))
    .stdout
}

#[test]
fn signatures_and_attestations_interoperate() {
    if !prerequisites() {
        return;
    }
    let Some(layout) = fixture_layout() else {
        return;
    };
    let registry = Registry::start(&RegistryConfig::default());
    let image = format!("{}/signed/debian:12", registry.host());
    skopeo_push(&layout, &image, &["--dest-tls-verify=false"]);
    let work = tempfile::tempdir().unwrap();
    let keys = work.path();

    // Without a password source and no terminal: a clear error.
    let out = run(drydock().current_dir(keys).args(["key", "generate"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("DRYDOCK_PASSWORD"),
        "{}",
        stderr(&out)
    );
    ok(&run(drydock()
        .current_dir(keys)
        .env("DRYDOCK_PASSWORD", "correct horse")
        .args(["key", "generate"])));
    ok(&run(drydock()
        .current_dir(keys)
        .env("DRYDOCK_PASSWORD", "")
        .args(["key", "generate", "--prefix", "other"])));
    let key = keys.join("drydock.key");
    let public = keys.join("drydock.pub");
    let key_text = std::fs::read_to_string(&key).unwrap();
    assert!(key_text.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----"));

    // The public key is PKIX PEM that openssl reads as P-256.
    let text = ok(&run(Command::new("openssl")
        .args(["pkey", "-pubin", "-noout", "-text", "-in"])
        .arg(&public)));
    assert!(
        text.contains("prime256v1") || text.contains("P-256"),
        "{text}"
    );

    // The encrypted key decrypts with an independent implementation
    // (hashlib.scrypt + PyNaCl secretbox) to a PKCS#8 key whose public half
    // openssl derives equal to drydock.pub.
    if python_has("nacl") {
        let script = r#"
import base64, hashlib, json, sys, nacl.secret
pem = open(sys.argv[1]).read().splitlines()
body = base64.b64decode("".join(l for l in pem if not l.startswith("-----")))
env = json.loads(body)
assert env["kdf"]["name"] == "scrypt" and env["cipher"]["name"] == "nacl/secretbox", env
p = env["kdf"]["params"]
key = hashlib.scrypt(sys.argv[2].encode(), salt=base64.b64decode(env["kdf"]["salt"]), n=p["N"], r=p["r"], p=p["p"], maxmem=1 << 30, dklen=32)
der = nacl.secret.SecretBox(key).decrypt(base64.b64decode(env["ciphertext"]), base64.b64decode(env["cipher"]["nonce"]))
open(sys.argv[3], "wb").write(der)
print(p["N"], p["r"], p["p"])
"#;
        let der = keys.join("private.der");
        let params = python(
            script,
            &[
                key.to_str().unwrap(),
                "correct horse",
                der.to_str().unwrap(),
            ],
        );
        assert_eq!(params.trim(), "32768 8 1");
        let derived = ok(&run(Command::new("openssl")
            .args(["pkey", "-inform", "DER", "-pubout", "-in"])
            .arg(&der)));
        assert_eq!(derived, std::fs::read_to_string(&public).unwrap());
    } else {
        missing("python3 module `nacl` (`pip install pynacl`)");
    }

    let sign = |format: &str, password: &str| {
        run(drydock()
            .env("DRYDOCK_PASSWORD", password)
            .args(["sign", &image, "--key"])
            .arg(&key)
            .args(["--signature-format", format]))
    };
    let verify = |key: &Path| run(drydock().args(["verify", &image, "--key"]).arg(key));

    // Nothing signed yet: exit 1, clearly.
    let out = verify(&public);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no signatures found"),
        "{}",
        stderr(&out)
    );
    // Wrong password: exit 2, clearly.
    let out = sign("legacy", "wrong");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("wrong password"), "{}", stderr(&out));

    ok(&sign("legacy", "correct horse"));
    ok(&sign("bundle", "correct horse"));
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let digest = index["manifests"][0]["digest"].as_str().unwrap().to_owned();
    let hex = digest.trim_start_matches("sha256:");

    // Legacy: read the `.sig` image back with skopeo and check it as cosign specifies.
    let sig_dir = work.path().join("sig");
    ok(&run(Command::new("skopeo").args([
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        &format!(
            "docker://{}/signed/debian:sha256-{hex}.sig",
            registry.host()
        ),
        &format!("oci:{}:sig", sig_dir.display()),
    ])));
    let sig_index: Value =
        serde_json::from_slice(&std::fs::read(sig_dir.join("index.json")).unwrap()).unwrap();
    let blob = |d: &str| {
        std::fs::read(
            sig_dir
                .join("blobs/sha256")
                .join(d.trim_start_matches("sha256:")),
        )
        .unwrap()
    };
    let sig_manifest: Value =
        serde_json::from_slice(&blob(sig_index["manifests"][0]["digest"].as_str().unwrap()))
            .unwrap();
    let layer = &sig_manifest["layers"][0];
    assert_eq!(
        layer["mediaType"],
        "application/vnd.dev.cosign.simplesigning.v1+json"
    );
    let payload = blob(layer["digest"].as_str().unwrap());
    let parsed: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(
        parsed["critical"]["type"],
        "cosign container image signature"
    );
    assert_eq!(
        parsed["critical"]["image"]["docker-manifest-digest"],
        digest.as_str()
    );
    assert_eq!(
        parsed["critical"]["identity"]["docker-reference"],
        format!("{}/signed/debian", registry.host())
    );
    assert!(parsed["optional"].is_null());
    let signature = b64_bytes(
        layer["annotations"]["dev.cosignproject.cosign/signature"]
            .as_str()
            .unwrap(),
    );
    assert!(
        openssl_verify(&public, &payload, &signature, work.path()),
        "openssl rejects the legacy signature"
    );
    assert!(!openssl_verify(
        &keys.join("other.pub"),
        &payload,
        &signature,
        work.path()
    ));

    // Bundle: the referrer (fallback tag index here: this registry has no
    // referrers API), its bundle, the DSSE envelope over PAE checked by openssl.
    let referrers = ok(&run(Command::new("skopeo").args([
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{}/signed/debian:sha256-{hex}", registry.host()),
    ])));
    let referrers: Value = serde_json::from_str(&referrers).unwrap();
    let entry = referrers["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["artifactType"] == "application/vnd.dev.sigstore.bundle.v0.3+json")
        .expect("bundle referrer listed");
    assert_eq!(
        entry["annotations"]["dev.sigstore.bundle.predicateType"],
        "https://sigstore.dev/cosign/sign/v1"
    );
    let referrer_dir = work.path().join("referrer");
    ok(&run(Command::new("skopeo").args([
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        &format!(
            "docker://{}/signed/debian@{}",
            registry.host(),
            entry["digest"].as_str().unwrap()
        ),
        &format!("oci:{}:b", referrer_dir.display()),
    ])));
    let rblob = |d: &str| {
        std::fs::read(
            referrer_dir
                .join("blobs/sha256")
                .join(d.trim_start_matches("sha256:")),
        )
        .unwrap()
    };
    let referrer: Value =
        serde_json::from_slice(&rblob(entry["digest"].as_str().unwrap())).unwrap();
    assert_eq!(referrer["subject"]["digest"], digest.as_str());
    assert_eq!(
        referrer["config"]["mediaType"],
        "application/vnd.oci.empty.v1+json"
    );
    let bundle: Value =
        serde_json::from_slice(&rblob(referrer["layers"][0]["digest"].as_str().unwrap())).unwrap();
    assert_eq!(
        bundle["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    assert!(bundle["verificationMaterial"]["publicKey"]["hint"].is_string());
    let envelope = &bundle["dsseEnvelope"];
    assert_eq!(envelope["payloadType"], "application/vnd.in-toto+json");
    let statement_bytes = b64_bytes(envelope["payload"].as_str().unwrap());
    let statement: Value = serde_json::from_slice(&statement_bytes).unwrap();
    assert_eq!(statement["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(statement["subject"][0]["digest"]["sha256"], hex);
    let pae = python(
        "import sys,base64; t=sys.argv[1]; b=base64.b64decode(sys.argv[2]); sys.stdout.buffer.write(b'DSSEv1 %d %s %d ' % (len(t), t.encode(), len(b)) + b)",
        &[
            "application/vnd.in-toto+json",
            envelope["payload"].as_str().unwrap(),
        ],
    );
    let dsse_signature = b64_bytes(envelope["signatures"][0]["sig"].as_str().unwrap());
    assert!(
        openssl_verify(&public, pae.as_bytes(), &dsse_signature, work.path()),
        "openssl rejects the DSSE signature over PAE"
    );

    // drydock verifies both forms; a wrong key is exit 1.
    let out = verify(&public);
    ok(&out);
    assert_eq!(
        stderr(&out).matches("verified signature").count(),
        2,
        "{}",
        stderr(&out)
    );
    let out = verify(&keys.join("other.pub"));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("does not verify"), "{}", stderr(&out));

    // Attestations: an SBOM generated by drydock (bundle) and a provenance file (legacy).
    ok(&run(drydock()
        .env("DRYDOCK_PASSWORD", "correct horse")
        .args(["attest", &image, "--key"])
        .arg(&key)
        .args(["--predicate-type", "sbom"])));
    let provenance = work.path().join("provenance.json");
    std::fs::write(
        &provenance,
        r#"{"builder":{"id":"https://example.com/builder"},"buildType":"test"}"#,
    )
    .unwrap();
    let out = run(drydock()
        .env("DRYDOCK_PASSWORD", "correct horse")
        .args(["attest", &image, "--key"])
        .arg(&key)
        .args(["--predicate-type", "slsaprovenance"]));
    assert_eq!(
        out.status.code(),
        Some(2),
        "slsaprovenance needs --predicate"
    );
    ok(&run(drydock()
        .env("DRYDOCK_PASSWORD", "correct horse")
        .args(["attest", &image, "--key"])
        .arg(&key)
        .args([
            "--predicate-type",
            "slsaprovenance",
            "--signature-format",
            "legacy",
            "--predicate",
        ])
        .arg(&provenance)));
    let out = run(drydock()
        .args(["verify-attestation", &image, "--key"])
        .arg(&public)
        .args(["--type", "sbom"]));
    let text = ok(&out);
    let sbom_statement: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(sbom_statement["predicateType"], "https://cyclonedx.org/bom");
    assert_eq!(sbom_statement["predicate"]["bomFormat"], "CycloneDX");
    let out = run(drydock()
        .args(["verify-attestation", &image, "--key"])
        .arg(&public)
        .args(["--type", "slsaprovenance"]));
    let text = ok(&out);
    let provenance_statement: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(provenance_statement["predicate"]["buildType"], "test");
    // The legacy `.att` layer carries the predicate type annotation.
    let att = ok(&run(Command::new("skopeo").args([
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!(
            "docker://{}/signed/debian:sha256-{hex}.att",
            registry.host()
        ),
    ])));
    let att: Value = serde_json::from_str(&att).unwrap();
    assert_eq!(
        att["layers"][0]["mediaType"],
        "application/vnd.dsse.envelope.v1+json"
    );
    assert_eq!(
        att["layers"][0]["annotations"]["predicateType"],
        "https://slsa.dev/provenance/v0.2"
    );

    // A different image under the tag (the signed one replaced): nothing verifies, exit 1.
    let zstd = layout.parent().unwrap().join("oci-zstd");
    skopeo_push(&zstd, &image, &["--dest-tls-verify=false"]);
    let out = verify(&public);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn offline_sign_verify_attest_in_an_oci_layout() {
    if !prerequisites() {
        return;
    }
    let Some(fixture) = fixture_layout() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    ok(&run(drydock().args([
        "copy",
        &format!("oci-dir:{}", fixture.display()),
        &format!("oci-dir:{}", layout.display()),
    ])));
    ok(&run(drydock()
        .current_dir(work.path())
        .env("DRYDOCK_PASSWORD", "")
        .args(["key", "generate"])));
    let key = work.path().join("drydock.key");
    let public = work.path().join("drydock.pub");
    let target = format!("oci-dir:{}", layout.display());
    for format in ["bundle", "legacy"] {
        ok(&run(drydock()
            .env("DRYDOCK_PASSWORD", "")
            .args(["sign", &target, "--key"])
            .arg(&key)
            .args(["--signature-format", format])));
    }
    ok(&run(drydock()
        .env("DRYDOCK_PASSWORD", "")
        .args(["attest", &target, "--key"])
        .arg(&key)));
    let out = run(drydock().args(["verify", &target, "--key"]).arg(&public));
    ok(&out);
    assert_eq!(stderr(&out).matches("verified signature").count(), 2);
    ok(&run(drydock()
        .args(["verify-attestation", &target, "--key"])
        .arg(&public)));
    // The referrers are in index.json with their subject.
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let bundles = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["artifactType"] == "application/vnd.dev.sigstore.bundle.v0.3+json")
        .count();
    assert_eq!(bundles, 2, "signature + attestation referrers");
    // The image still reads, and skopeo reads the signed layout's image.
    let document = sbom_json(&target, &[]);
    assert!(document["packages"].as_array().unwrap().len() > 50);
    // Tamper with the signed payload: the signature no longer verifies (exit 1).
    let digest = index["manifests"][0]["digest"].as_str().unwrap();
    let sig_entry = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| {
            m["annotations"]["org.opencontainers.image.ref.name"]
                .as_str()
                .is_some_and(|n| {
                    n.rsplit_once('.')
                        .is_some_and(|(_, suffix)| suffix == "sig")
                })
        })
        .unwrap();
    let sig_manifest: Value = serde_json::from_slice(
        &std::fs::read(
            layout.join("blobs/sha256").join(
                sig_entry["digest"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("sha256:"),
            ),
        )
        .unwrap(),
    )
    .unwrap();
    let payload_path = layout.join("blobs/sha256").join(
        sig_manifest["layers"][0]["digest"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:"),
    );
    let payload = std::fs::read_to_string(&payload_path).unwrap();
    std::fs::write(
        &payload_path,
        payload.replace(digest, &format!("sha256:{}", "0".repeat(64))),
    )
    .unwrap();
    let out = run(drydock().args(["verify", &target, "--key"]).arg(&public));
    ok(&out); // the bundle still verifies
    assert!(stderr(&out).contains("rejected"), "{}", stderr(&out));
    // Tamper with the image manifest itself: a digest error, not a verification.
    let manifest_path = layout
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"));
    let mut manifest = std::fs::read(&manifest_path).unwrap();
    manifest.push(b' ');
    std::fs::write(&manifest_path, manifest).unwrap();
    let out = run(drydock().args(["verify", &target, "--key"]).arg(&public));
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("hashes to"), "{}", stderr(&out));
}

//! drydock's key-based Sigstore bundles against the Sigstore project's own
//! JavaScript libraries (npm `sigstore` 3.1.0: `@sigstore/bundle`,
//! `@sigstore/verify`, `@sigstore/sign`; `tests/sigstore_js/interop.js`),
//! both ways, with no transparency log and no network:
//! - `@sigstore/verify` verifies the bundles `drydock sign` and `drydock
//!   attest` push as referrers (DSSE envelopes of in-toto statements), finding
//!   the key by the bundle's hint, and rejects a tampered one;
//! - drydock verifies a bundle `@sigstore/sign` built with a key (pushed as a
//!   referrer of the image here), and rejects it under another key.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use drydock_test::{OciImage, RawTar, sigstore_js, workspace_root};
use serde_json::{Value, json};

const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

fn drydock() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_drydock"));
    command
        .env("DRYDOCK_PASSWORD", "")
        .env("DRYDOCK_DB_DIR", "/nonexistent/drydock-db");
    command
}

fn ok(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    stderr
}

fn node(modules: &Path, args: &[&Path]) -> Output {
    Command::new("node")
        .env("NODE_PATH", modules)
        .arg(workspace_root().join("crates/drydock-cli/tests/sigstore_js/interop.js"))
        .args(args)
        .output()
        .unwrap()
}

/// A one-layer image in an OCI layout, and a drydock key pair beside it.
fn image(dir: &Path) -> (String, String, PathBuf, PathBuf) {
    let layout = dir.join("layout");
    let written = OciImage::new()
        .layer(drydock_test::Blob::tar(
            RawTar::new().file("etc/hello", "hello").finish(),
        ))
        .write(&layout);
    ok(&drydock()
        .current_dir(dir)
        .args(["key", "generate"])
        .output()
        .unwrap());
    (
        format!("oci-dir:{}", layout.display()),
        written.manifest_digest,
        dir.join("drydock.key"),
        dir.join("drydock.pub"),
    )
}

fn blob(layout: &Path, digest: &str) -> PathBuf {
    layout
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The bundle blobs of every bundle referrer in the layout.
fn bundles(layout: &Path) -> Vec<PathBuf> {
    let index = read_json(&layout.join("index.json"));
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["artifactType"] == BUNDLE_MEDIA_TYPE)
        .map(|m| {
            let manifest = read_json(&blob(layout, m["digest"].as_str().unwrap()));
            blob(layout, manifest["layers"][0]["digest"].as_str().unwrap())
        })
        .collect()
}

fn sha256(bytes: &[u8]) -> String {
    drydock_test::sha256_hex(bytes)
}

/// `drydock attest` of a small SLSA provenance predicate with `key`.
fn attest_provenance(dir: &Path, target: &str, key: &Path) {
    let predicate = dir.join("provenance.json");
    std::fs::write(&predicate, r#"{"builder":{"id":"https://example.com/ci"}}"#).unwrap();
    ok(&drydock()
        .args([
            "attest",
            target,
            "--predicate-type",
            "slsaprovenance",
            "--key",
        ])
        .arg(key)
        .arg("--predicate")
        .arg(&predicate)
        .output()
        .unwrap());
}

#[test]
fn sigstore_js_verifies_drydock_sign_and_attest_bundles() {
    let Some(modules) = sigstore_js() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (target, digest, key, public) = image(dir.path());
    ok(&drydock()
        .args(["sign", &target, "--key"])
        .arg(&key)
        .output()
        .unwrap());
    attest_provenance(dir.path(), &target, &key);
    let layout = dir.path().join("layout");
    let found = bundles(&layout);
    assert_eq!(found.len(), 2, "sign + attest bundles");
    let mut predicate_types = Vec::new();
    for bundle in &found {
        let out = node(&modules, &[Path::new("verify"), bundle, &public]);
        assert!(
            out.status.success(),
            "@sigstore/verify rejected {}: {}",
            bundle.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let verified: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(verified["payloadType"], "application/vnd.in-toto+json");
        let statement: Value = serde_json::from_str(verified["payload"].as_str().unwrap()).unwrap();
        assert_eq!(
            statement["subject"][0]["digest"]["sha256"],
            digest.trim_start_matches("sha256:"),
            "the statement names the image"
        );
        predicate_types.push(statement["predicateType"].as_str().unwrap().to_owned());
    }
    predicate_types.sort();
    assert_eq!(
        predicate_types,
        [
            "https://sigstore.dev/cosign/sign/v1",
            "https://slsa.dev/provenance/v0.2"
        ]
    );

    // Another key: the hint does not match, and neither would the signature.
    let other = tempfile::tempdir().unwrap();
    ok(&drydock()
        .current_dir(other.path())
        .args(["key", "generate"])
        .output()
        .unwrap());
    let out = node(
        &modules,
        &[
            Path::new("verify"),
            &found[0],
            &other.path().join("drydock.pub"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));

    // A tampered payload (same key, same hint): the signature fails.
    let mut bundle = read_json(&found[0]);
    let envelope = &mut bundle["dsseEnvelope"];
    let payload = base64_decode(envelope["payload"].as_str().unwrap());
    let tampered = String::from_utf8(payload)
        .unwrap()
        .replace(digest.trim_start_matches("sha256:"), &"0".repeat(64));
    envelope["payload"] = json!(base64_encode(tampered.as_bytes()));
    let tampered_path = dir.path().join("tampered.json");
    std::fs::write(&tampered_path, serde_json::to_vec(&bundle).unwrap()).unwrap();
    let out = node(&modules, &[Path::new("verify"), &tampered_path, &public]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("signature"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn drydock_verifies_a_bundle_made_by_sigstore_js() {
    let Some(modules) = sigstore_js() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (target, digest, key, _) = image(dir.path());
    let layout = dir.path().join("layout");
    // drydock attests first: its referrer is the template whose bundle the
    // JavaScript one replaces (same subject and artifact type).
    attest_provenance(dir.path(), &target, &key);

    // The statement @sigstore/sign signs: the image as subject.
    let statement = json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "layout", "digest": {"sha256": digest.trim_start_matches("sha256:")}}],
        "predicateType": "https://slsa.dev/provenance/v0.2",
        "predicate": {"builder": {"id": "https://example.com/sigstore-js"}},
    });
    let payload = dir.path().join("statement.json");
    std::fs::write(&payload, serde_json::to_vec(&statement).unwrap()).unwrap();
    let js_bundle = dir.path().join("js.sigstore.json");
    let js_public = dir.path().join("js.pub");
    let out = node(
        &modules,
        &[
            Path::new("sign"),
            &payload,
            Path::new("application/vnd.in-toto+json"),
            &js_bundle,
            &js_public,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bundle_bytes = std::fs::read(&js_bundle).unwrap();
    let bundle: Value = serde_json::from_slice(&bundle_bytes).unwrap();
    assert_eq!(bundle["mediaType"], BUNDLE_MEDIA_TYPE);
    assert!(bundle["verificationMaterial"]["publicKey"]["hint"].is_string());
    assert!(
        bundle["verificationMaterial"]["tlogEntries"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "no transparency log"
    );

    // Swap drydock's bundle for the JavaScript one: blob, manifest, index.
    let index_path = layout.join("index.json");
    let mut index = read_json(&index_path);
    let entry = index["manifests"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|m| m["artifactType"] == BUNDLE_MEDIA_TYPE)
        .unwrap();
    let mut manifest = read_json(&blob(&layout, entry["digest"].as_str().unwrap()));
    let bundle_digest = format!("sha256:{}", sha256(&bundle_bytes));
    std::fs::write(blob(&layout, &bundle_digest), &bundle_bytes).unwrap();
    manifest["layers"][0]["digest"] = json!(bundle_digest);
    manifest["layers"][0]["size"] = json!(bundle_bytes.len());
    let manifest_bytes = serde_json::to_vec(&manifest).unwrap();
    let manifest_digest = format!("sha256:{}", sha256(&manifest_bytes));
    std::fs::write(blob(&layout, &manifest_digest), &manifest_bytes).unwrap();
    entry["digest"] = json!(manifest_digest);
    entry["size"] = json!(manifest_bytes.len());
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();

    let out = drydock()
        .args([
            "verify-attestation",
            &target,
            "--type",
            "slsaprovenance",
            "--key",
        ])
        .arg(&js_public)
        .output()
        .unwrap();
    let stderr = ok(&out);
    // The verified payload is the statement @sigstore/sign signed.
    let verified: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verified, statement);
    assert!(
        stderr.contains(&format!("verified attestation of `{target}`"))
            && stderr.contains("in bundle referrer")
            && !stderr.contains("rejected"),
        "{stderr}"
    );
    // drydock's own key did not sign the JavaScript bundle.
    let out = drydock()
        .args([
            "verify-attestation",
            &target,
            "--type",
            "slsaprovenance",
            "--key",
        ])
        .arg(dir.path().join("drydock.pub"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no valid attestation"), "{stderr}");
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

//! What the golden tests share: the `drydock` binary with a store and a
//! fixed clock, and small distinct images to submit.
use std::path::Path;
use std::process::{Command, Output, Stdio};

use drydock_test::{Blob, OciImage, RawTar};
use serde_json::json;

pub(crate) fn drydock(store: &str, now: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_drydock"))
        .args(args)
        .env("DRYDOCK_STORE", store)
        .env("DRYDOCK_NOW", now)
        .env("DRYDOCK_PASSWORD", "")
        .env("DRYDOCK_DB_DIR", "/nonexistent/db")
        .env("DOCKER_CONFIG", "/nonexistent")
        .stdin(Stdio::null())
        .output()
        .expect("spawn drydock")
}

pub(crate) fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A non-root, shell-less image whose content differs by `marker`.
pub(crate) fn image(dir: &Path, marker: &str) -> String {
    let layer = RawTar::new()
        .dir("etc")
        .file("etc/passwd", "nonroot:x:65532:65532::/:/sbin/nologin\n")
        .file("etc/marker", marker)
        .finish();
    let path = dir.join(marker);
    OciImage::new()
        .runtime_config(json!({"User": "65532"}))
        .created("2026-01-01T00:00:00Z")
        .layer(Blob::tar(layer))
        .write(&path);
    format!("oci-dir:{}", path.display())
}

/// The digest `golden submit` printed (`LINE@sha256:…: candidate …`).
pub(crate) fn submitted_digest(out: &str) -> String {
    out.split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches(':')
        .rsplit('@')
        .next()
        .unwrap()
        .to_owned()
}

//! Small application images and skopeo, shared by the fleet tests.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{Blob, OciImage, RawTar};

/// An OCI layout at `dir`: a Python site-packages layer with these
/// distributions' real metadata (`Name`, `Version`) over a small base whose
/// os-release is not a known distribution.
pub fn python_image(dir: &Path, packages: &[(&str, &str)]) -> PathBuf {
    let base = RawTar::new()
        .dir("etc")
        .file("etc/os-release", "ID=drydock-test\nNAME=\"test base\"\n")
        .dir("usr")
        .dir("usr/lib")
        .dir("usr/lib/python3.11");
    let mut app = RawTar::new().dir("usr/lib/python3.11/site-packages");
    for (name, version) in packages {
        let info = format!("usr/lib/python3.11/site-packages/{name}-{version}.dist-info");
        app = app.dir(&info).file(
            format!("{info}/METADATA"),
            format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {name}\n"),
        );
    }
    OciImage::new()
        .layer(Blob::tar_gzip(&base.finish()))
        .layer(Blob::tar_gzip(&app.finish()))
        .write(dir);
    dir.to_owned()
}

/// Runs `skopeo ARGS` (TLS verification off where it applies), panicking
/// with its stderr on failure.
pub fn skopeo(args: &[&str]) {
    let out = Command::new("skopeo")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("spawn skopeo");
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `skopeo copy FROM TO` to a plain-HTTP registry.
pub fn skopeo_copy(from: &str, to: &str) {
    skopeo(&[
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        from,
        to,
    ]);
}

/// `skopeo delete REFERENCE` on a plain-HTTP registry.
pub fn skopeo_delete(reference: &str) {
    skopeo(&["delete", "--tls-verify=false", reference]);
}

/// The digest of an OCI layout's first manifest.
pub fn layout_digest(layout: &Path) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).expect("index.json"))
            .expect("index.json is JSON");
    index["manifests"][0]["digest"]
        .as_str()
        .expect("a manifest digest")
        .to_owned()
}

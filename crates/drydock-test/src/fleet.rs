//! Small real images for the fleet tests: Python application images
//! carrying real releases' metadata, copied into a registry by skopeo.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::{Blob, OciImage, RawTar};

/// An application image: a Python site-packages layer with these
/// distributions' real metadata (`Name`, `Version`), over a small base.
pub fn python_image(dir: &Path, packages: &[(&str, &str)]) -> PathBuf {
    let mut base = RawTar::new()
        .dir("etc")
        .file("etc/os-release", "ID=drydock-test\nNAME=\"test base\"\n");
    base = base.dir("usr").dir("usr/lib").dir("usr/lib/python3.11");
    let mut app = RawTar::new().dir("usr/lib/python3.11/site-packages");
    for (name, version) in packages {
        let info = format!("usr/lib/python3.11/site-packages/{name}-{version}.dist-info");
        app = app.dir(&info).file(
            format!("{info}/METADATA"),
            format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {name}\n"),
        );
    }
    let image = OciImage::new()
        .layer(Blob::tar_gzip(&base.finish()))
        .layer(Blob::tar_gzip(&app.finish()));
    image.write(dir);
    dir.to_owned()
}

/// `skopeo copy` (plain HTTP destination), asserting success.
pub fn skopeo_copy(from: &str, to: &str) {
    let out = Command::new("skopeo")
        .args(["copy", "--quiet", "--dest-tls-verify=false", from, to])
        .stdin(Stdio::null())
        .output()
        .expect("skopeo");
    assert!(
        out.status.success(),
        "skopeo copy {from} {to}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The manifest digest of an OCI layout's first image.
pub fn layout_digest(layout: &Path) -> String {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).expect("index"))
            .expect("json");
    index["manifests"][0]["digest"]
        .as_str()
        .expect("digest")
        .to_owned()
}

//! Whiteouts and opaque whiteouts remove lower-layer dpkg state; the
//! expectation comes from umoci (which applies them) and dpkg-query.

use std::collections::BTreeSet;
use std::process::Command;

use drydock_test::{Blob, OciImage, RawTar, require_tools};

fn stanza(name: &str, version: &str) -> String {
    format!(
        "Package: {name}\nStatus: install ok installed\nVersion: {version}\nArchitecture: amd64\nMaintainer: nobody <nobody@example.invalid>\nDescription: test\n\n"
    )
}

#[test]
fn whiteouts_and_opaque_whiteouts_hide_lower_packages() {
    if !require_tools(&["umoci", "dpkg-query"]) {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let lower = RawTar::new()
        .dir("etc/")
        .file("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n")
        .dir("var/")
        .dir("var/lib/")
        .dir("var/lib/dpkg/")
        .file(
            "var/lib/dpkg/status",
            format!("{}{}", stanza("alpha", "1.0-1"), stanza("beta", "2.0-1")),
        )
        .dir("var/lib/dpkg/status.d/")
        .file("var/lib/dpkg/status.d/xray", stanza("xray", "3.0-1"))
        .file("var/lib/dpkg/status.d/yankee", stanza("yankee", "4.0-1"))
        .finish();
    // layer 2: opaque status.d (hides xray, yankee), add zulu; replace status with alpha only
    let middle = RawTar::new()
        .dir("var/lib/dpkg/")
        .whiteout("var/lib/dpkg/status")
        .dir("var/lib/dpkg/status.d/")
        .opaque("var/lib/dpkg/status.d")
        .file("var/lib/dpkg/status.d/zulu", stanza("zulu", "5.0-1"))
        .finish();
    let upper = RawTar::new()
        .dir("var/lib/dpkg/")
        .file("var/lib/dpkg/status", stanza("alpha", "1.0-2"))
        .finish();
    let image = OciImage::new()
        .layer(Blob::tar_gzip(&lower))
        .layer(Blob::tar(middle))
        .layer(Blob::tar_gzip(&upper))
        .write(&scratch.path().join("oci"));

    // reference: umoci applies the layers, dpkg-query and the remaining status.d files say what is there
    let bundle = scratch.path().join("bundle");
    let out = Command::new("umoci")
        .args(["unpack", "--rootless", "--image"])
        .arg(format!("{}:latest", image.dir.display()))
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rootfs = bundle.join("rootfs");
    let out = Command::new("dpkg-query")
        .arg(format!(
            "--admindir={}",
            rootfs.join("var/lib/dpkg").display()
        ))
        .args(["-W", "-f", "${Package}\t${Version}\n"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut expected: BTreeSet<(String, String)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let (name, version) = line.split_once('\t').unwrap();
            (name.to_owned(), version.to_owned())
        })
        .collect();
    for entry in std::fs::read_dir(rootfs.join("var/lib/dpkg/status.d")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let field = |key: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(key))
                .unwrap()
                .trim()
                .to_owned()
        };
        expected.insert((field("Package:"), field("Version:")));
    }
    assert_eq!(expected.len(), 2, "umoci/dpkg-query: {expected:?}");

    let out = Command::new(env!("CARGO_BIN_EXE_drydock"))
        .arg("sbom")
        .arg(format!("oci-dir:{}", image.dir.display()))
        .args(["-f", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let document: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reported: BTreeSet<(String, String)> = document["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|package| {
            (
                package["name"].as_str().unwrap().to_owned(),
                package["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(reported, expected);
}

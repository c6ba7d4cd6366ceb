//! The fixtures are what the reference tools say they are.

use std::process::Command;

use drydock_test::{Blob, OciImage, RawTar, debian_fixture, require_tool};

fn skopeo_config_digest(reference: &str) -> String {
    let out = Command::new("skopeo")
        .args(["inspect", "--raw", reference])
        .output()
        .expect("run skopeo");
    assert!(
        out.status.success(),
        "skopeo inspect {reference}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).expect("manifest json");
    manifest["config"]["digest"]
        .as_str()
        .expect("config digest")
        .to_owned()
}

#[test]
fn debian_fixture_has_the_packages_the_script_promises() {
    let Some(fixture) = debian_fixture() else {
        return;
    };
    let find = |list: &[drydock_test::DpkgEntry], name: &str| {
        list.iter().find(|entry| entry.name == name).cloned()
    };
    assert!(
        fixture.expected_final.len() > 50,
        "{}",
        fixture.expected_final.len()
    );
    assert!(
        fixture
            .expected_final
            .iter()
            .all(|entry| entry.status.ends_with('i'))
    );
    // binNMU with `Source: bc (1.07.1-3)`
    let dc = find(&fixture.expected_final, "dc").expect("dc installed");
    assert_eq!(dc.source_name, "bc");
    assert_ne!(dc.source_version, dc.version);
    assert!(find(&fixture.expected_layer1, "libcdb1").is_some());
    assert!(
        find(&fixture.expected_final, "libcdb1").is_none(),
        "purged in layer 2"
    );
    assert!(find(&fixture.expected_layer1, "e2fsprogs").is_some());
    assert!(
        find(&fixture.expected_final, "e2fsprogs").is_none(),
        "removed (rc) in layer 2"
    );
    assert!(find(&fixture.expected_layer1, "libgpm2").is_none());
    assert!(
        find(&fixture.expected_final, "libgpm2").is_some(),
        "installed in layer 2"
    );
}

/// The hand-built Docker 25 archive reads, through skopeo, as the same image
/// both as a docker-archive (manifest.json) and as an oci-archive (index.json).
#[test]
fn docker25_archive_reads_as_docker_and_oci_archive() {
    let Some(fixture) = debian_fixture() else {
        return;
    };
    if !require_tool("skopeo") {
        return;
    }
    let archive = fixture.dir.join("image.docker25.tar");
    let expected = skopeo_config_digest(&format!(
        "oci:{}:debian",
        fixture.dir.join("oci-plain").display()
    ));
    assert_eq!(
        skopeo_config_digest(&format!("docker-archive:{}", archive.display())),
        expected
    );
    assert_eq!(
        skopeo_config_digest(&format!("oci-archive:{}", archive.display())),
        expected
    );
}

/// Layouts from `OciImage` are valid for umoci, which applies whiteouts and
/// opaque whiteouts the way the image spec says.
#[test]
fn oci_image_builder_layouts_unpack_with_umoci() {
    if !require_tool("umoci") {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let lower = RawTar::new()
        .dir("etc/")
        .file("etc/keep", "keep\n")
        .file("etc/gone", "gone\n")
        .dir("var/lib/dpkg/status.d/")
        .file("var/lib/dpkg/status.d/a", "Package: a\n")
        .finish();
    let upper = RawTar::new()
        .whiteout("etc/gone")
        .dir("var/lib/dpkg/status.d/")
        .opaque("var/lib/dpkg/status.d")
        .file("var/lib/dpkg/status.d/b", "Package: b\n")
        .finish();
    let image = OciImage::new()
        .layer(Blob::tar_gzip(&lower))
        .layer(Blob::tar(upper))
        .write(&scratch.path().join("oci"));
    let bundle = scratch.path().join("bundle");
    let out = Command::new("umoci")
        .arg("unpack")
        .arg("--rootless")
        .arg("--image")
        .arg(format!("{}:latest", image.dir.display()))
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "umoci unpack: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rootfs = bundle.join("rootfs");
    assert!(rootfs.join("etc/keep").exists());
    assert!(!rootfs.join("etc/gone").exists());
    assert!(!rootfs.join("var/lib/dpkg/status.d/a").exists());
    assert!(rootfs.join("var/lib/dpkg/status.d/b").exists());
}

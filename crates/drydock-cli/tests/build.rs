//! `drydock build` / `drydock mirror` against the real Debian archive (the
//! mirror apt is configured with), with the .deb cache in `.cache/golden`
//! kept between runs (.ci/run creates it). Needs umoci, skopeo, chroot and
//! dpkg-query, and root for the chroot run.
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use drydock_test::{missing, require_root, require_tools, workspace_root};

fn drydock() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_drydock"));
    command.env("SOURCE_DATE_EPOCH", "1700000000");
    command
}

fn cache_dir() -> PathBuf {
    workspace_root().join(".cache/golden")
}

/// `--mirror` arguments: the archive apt is configured with here.
fn mirror_args() -> Vec<String> {
    drydock_test::debian_mirror_args()
}

fn prerequisites() -> bool {
    require_tools(&["umoci", "skopeo", "chroot", "dpkg-query"])
        && Path::new("/usr/share/keyrings/debian-archive-keyring.gpg").is_file()
        || missing("debian-archive-keyring")
}

fn build(spec: &Path, output: &str, extra: &[&str]) -> Output {
    drydock()
        .arg("build")
        .arg(spec)
        .args(["-o", output, "--cache-dir"])
        .arg(cache_dir())
        .args(mirror_args())
        .args(extra)
        .output()
        .unwrap()
}

fn digest_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "build failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn copy_example(dir: &Path, name: &str) -> PathBuf {
    let spec = dir.join(name);
    std::fs::copy(workspace_root().join("examples/golden").join(name), &spec).unwrap();
    spec
}

fn locked_names(lock: &Path) -> Vec<String> {
    let lock: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(lock).unwrap()).unwrap();
    let mut names: Vec<String> = lock["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{} {}",
                p["name"].as_str().unwrap(),
                p["version"].as_str().unwrap()
            )
        })
        .collect();
    names.sort();
    names
}

fn unpack(layout: &Path, tag: &str, bundle: &Path) {
    let status = Command::new("umoci")
        .args(["unpack", "--image"])
        .arg(format!("{}:{tag}", layout.display()))
        .arg(bundle)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "umoci unpack: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

#[test]
fn static_image_is_accepted_cataloged_and_matches_dpkg_query() {
    if !prerequisites() || !require_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let spec = copy_example(dir.path(), "static.yaml");
    let layout = dir.path().join("static.oci");
    let digest = digest_of(&build(&spec, &format!("oci-dir:{}", layout.display()), &[]));
    assert!(digest.starts_with("sha256:"));
    let locked = locked_names(&dir.path().join("static.lock"));
    let names: Vec<&str> = locked
        .iter()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "base-files",
            "ca-certificates",
            "media-types",
            "netbase",
            "tzdata"
        ]
    );

    // skopeo agrees on the digest and the creation time.
    let inspect = Command::new("skopeo")
        .arg("inspect")
        .arg(format!("oci:{}:12", layout.display()))
        .output()
        .unwrap();
    assert!(
        inspect.status.success(),
        "{}",
        String::from_utf8_lossy(&inspect.stderr)
    );
    let inspected: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    assert_eq!(inspected["Digest"], digest.as_str());
    assert_eq!(inspected["Created"], "2023-11-14T22:13:20Z");

    let bundle = dir.path().join("bundle");
    unpack(&layout, "12", &bundle);
    let rootfs = bundle.join("rootfs");
    let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap();
    assert!(passwd.contains("nonroot:x:65532:65532:"), "{passwd}");
    assert!(!rootfs.join("bin/sh").exists() && !rootfs.join("usr/bin/dpkg").exists());
    assert_eq!(
        std::fs::metadata(rootfs.join("tmp"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777,
        0o1777
    );
    let bundle_text =
        std::fs::read_to_string(rootfs.join("etc/ssl/certs/ca-certificates.crt")).unwrap();
    let certificates = bundle_text.matches("-----BEGIN CERTIFICATE-----").count();
    let shipped = walk(&rootfs.join("usr/share/ca-certificates"))
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "crt"))
        .count();
    assert!(
        certificates > 100 && certificates == shipped,
        "{certificates} vs {shipped}"
    );

    // dpkg-query over a status file composed from status.d agrees with the lock.
    let admin = dir.path().join("admin");
    std::fs::create_dir_all(admin.join("info")).unwrap();
    let mut status = String::new();
    for entry in std::fs::read_dir(rootfs.join("var/lib/dpkg/status.d")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md5sums") {
            continue;
        }
        let stanza = std::fs::read_to_string(&path).unwrap();
        status.push_str(&stanza.replacen('\n', "\nStatus: install ok installed\n", 1));
        status.push('\n');
    }
    std::fs::write(admin.join("status"), status).unwrap();
    let query = Command::new("dpkg-query")
        .arg(format!("--admindir={}", admin.display()))
        .args(["-W", "-f", "${Package} ${Version}\n"])
        .output()
        .unwrap();
    assert!(
        query.status.success(),
        "{}",
        String::from_utf8_lossy(&query.stderr)
    );
    let mut queried: Vec<String> = String::from_utf8_lossy(&query.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    queried.sort();
    assert_eq!(queried, locked);

    // `drydock sbom` of the output lists exactly the locked packages; so does the SBOM written beside it.
    let sbom = drydock()
        .args(["sbom", "-f", "json"])
        .arg(format!("oci-dir:{}", layout.display()))
        .output()
        .unwrap();
    assert!(
        sbom.status.success(),
        "{}",
        String::from_utf8_lossy(&sbom.stderr)
    );
    let native: serde_json::Value = serde_json::from_slice(&sbom.stdout).unwrap();
    let mut from_image: Vec<String> = native["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "deb")
        .map(|p| {
            format!(
                "{} {}",
                p["name"].as_str().unwrap(),
                p["version"].as_str().unwrap()
            )
        })
        .collect();
    from_image.sort();
    assert_eq!(from_image, locked);
    let cyclonedx: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("static.oci.cdx.json")).unwrap(),
    )
    .unwrap();
    let mut listed: Vec<String> = cyclonedx["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["purl"]
                .as_str()
                .is_some_and(|p| p.starts_with("pkg:deb/"))
        })
        .map(|c| {
            format!(
                "{} {}",
                c["name"].as_str().unwrap(),
                c["version"].as_str().unwrap()
            )
        })
        .collect();
    listed.sort();
    assert_eq!(listed, locked);
    assert_eq!(cyclonedx["specVersion"], "1.6");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn python3_image_runs_as_nonroot_and_rebuilds_to_the_same_digest() {
    if !prerequisites() || !require_root() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let spec = copy_example(dir.path(), "python3.yaml");
    let first = dir.path().join("first");
    let digest = digest_of(&build(&spec, &format!("oci-dir:{}", first.display()), &[]));
    let bundle = dir.path().join("bundle");
    unpack(&first, "3.11", &bundle);
    let run = Command::new("chroot")
        .args(["--userspec=65532:65532"])
        .arg(bundle.join("rootfs"))
        .args([
            "/usr/bin/python3",
            "-c",
            "import ssl, sqlite3, os; print(os.getuid(), 1)",
        ])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "python3 in the image: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&run.stdout).trim(), "65532 1");

    // Same spec + lock → same digest, offline, in every output form.
    let second = dir.path().join("second");
    assert_eq!(
        digest_of(&build(
            &spec,
            &format!("oci-dir:{}", second.display()),
            &["--offline"]
        )),
        digest
    );
    let archive = dir.path().join("python3.tar");
    assert_eq!(
        digest_of(&build(
            &spec,
            &format!("oci-archive:{}", archive.display()),
            &["--offline"]
        )),
        digest
    );
    let docker = dir.path().join("python3-docker.tar");
    digest_of(&build(
        &spec,
        &format!("docker-archive:{}", docker.display()),
        &["--offline"],
    ));
    for source in [
        format!("oci-archive:{}:3.11", archive.display()),
        format!("docker-archive:{}", docker.display()),
    ] {
        let inspect = Command::new("skopeo")
            .arg("inspect")
            .arg(&source)
            .output()
            .unwrap();
        assert!(
            inspect.status.success(),
            "{source}: {}",
            String::from_utf8_lossy(&inspect.stderr)
        );
    }
}

/// A copy of the cache with only what the static example needs, to tamper with.
fn tamper_setup() -> Option<(tempfile::TempDir, PathBuf)> {
    if !prerequisites() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let spec = copy_example(dir.path(), "static.yaml");
    let cache = dir.path().join("cache");
    let mirror = drydock()
        .arg("mirror")
        .arg(&spec)
        .arg("--cache-dir")
        .arg(&cache)
        .args(mirror_args())
        .output()
        .unwrap();
    assert!(
        mirror.status.success(),
        "{}",
        String::from_utf8_lossy(&mirror.stderr)
    );
    Some((dir, spec))
}

fn offline_build(dir: &Path, spec: &Path, extra: &[&str]) -> (Output, PathBuf) {
    let layout = dir.join("out.oci");
    let output = drydock()
        .arg("build")
        .arg(spec)
        .arg("-o")
        .arg(format!("oci-dir:{}", layout.display()))
        .arg("--cache-dir")
        .arg(dir.join("cache"))
        .arg("--offline")
        .args(extra)
        .output()
        .unwrap();
    (output, layout)
}

fn assert_fails(output: &Output, layout: &Path, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(needle), "expected `{needle}` in: {stderr}");
    assert!(
        !layout.exists(),
        "a failed build left an image at {}",
        layout.display()
    );
    let leftovers: Vec<_> = std::fs::read_dir(layout.parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".drydock"))
        .collect();
    assert!(leftovers.is_empty());
}

fn find(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    walk(dir)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect()
}

#[test]
fn tampered_in_release_fails_without_output() {
    let Some((dir, spec)) = tamper_setup() else {
        return;
    };
    for in_release in find(&dir.path().join("cache/dists"), "InRelease") {
        let text = std::fs::read_to_string(&in_release).unwrap();
        // A signed field: the first SHA256 line's size.
        let tampered = text.replacen("Codename: bookworm", "Codename: bookwork", 1);
        assert_ne!(tampered, text);
        std::fs::write(&in_release, tampered).unwrap();
    }
    let (output, layout) = offline_build(dir.path(), &spec, &["--update"]);
    assert_fails(&output, &layout, "InRelease signature check failed");
}

#[test]
fn tampered_packages_index_fails_without_output() {
    let Some((dir, spec)) = tamper_setup() else {
        return;
    };
    for index in find(&dir.path().join("cache/indices"), ".xz") {
        let mut bytes = std::fs::read(&index).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 1;
        std::fs::write(&index, bytes).unwrap();
    }
    let (output, layout) = offline_build(dir.path(), &spec, &["--update"]);
    assert_fails(&output, &layout, "does not match");
}

#[test]
fn tampered_deb_fails_without_output() {
    let Some((dir, spec)) = tamper_setup() else {
        return;
    };
    let debs = find(&dir.path().join("cache/debs"), ".deb");
    assert_eq!(debs.len(), 5);
    let mut bytes = std::fs::read(&debs[0]).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x55;
    std::fs::write(&debs[0], bytes).unwrap();
    let (output, layout) = offline_build(dir.path(), &spec, &[]);
    assert_fails(&output, &layout, "from `the Packages entry of");
}

#[test]
fn unsatisfiable_dependency_names_package_and_relation() {
    if !prerequisites() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("broken.yaml");
    std::fs::write(
        &spec,
        "name: broken\narchives:\n  - url: http://deb.debian.org/debian-security\n    suites: [bookworm-security]\npackages: [python3.11]\n",
    )
    .unwrap();
    let (output, layout) = {
        let layout = dir.path().join("out.oci");
        let output = drydock()
            .arg("build")
            .arg(&spec)
            .arg("-o")
            .arg(format!("oci-dir:{}", layout.display()))
            .arg("--cache-dir")
            .arg(cache_dir())
            .args(mirror_args())
            .output()
            .unwrap();
        (output, layout)
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`python3.11 ")
            && stderr.contains("depends on `")
            && stderr.contains("which no package in the configured suites satisfies"),
        "{stderr}"
    );
    assert!(!layout.exists() && !dir.path().join("broken.lock").exists());
}

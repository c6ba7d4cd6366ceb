//! `drydock patch` of the real bookworm image (drydock-test's Debian fixture,
//! debootstrap from bookworm main only) against the real Debian archive and
//! security archive, with advisories derived from the changelogs of the
//! bookworm-security packages (`tests/fixtures/debian-cves/derive.py`, as in
//! `scan_debian.rs`). Needs network access to deb.debian.org (through apt's
//! configured mirror in CI), root (chroot), dpkg, umoci and skopeo.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn drydock(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_drydock"))
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .expect("spawn drydock")
}

fn ok(output: &Output, what: &str) -> String {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{what}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn tsv(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .lines()
        .filter(|line| !line.is_empty())
        .map(|line| line.split('\t').map(str::to_owned).collect())
        .collect()
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The manifest of an OCI layout's only image.
fn manifest(layout: &Path) -> Value {
    let index = json(&layout.join("index.json"));
    let digest = index["manifests"][0]["digest"].as_str().unwrap();
    json(
        &layout
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:")),
    )
}

fn layer_digests(manifest: &Value) -> Vec<String> {
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_owned())
        .collect()
}

/// The package cache shared by the test's patch runs (warm after the first).
fn package_cache() -> PathBuf {
    let dir = drydock_test::fixture_cache().join("patch-packages");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A database (`DIR/db`) of the advisories derive.py wrote under `derived`.
fn import_derived(dir: &Path, derived: &Path) -> PathBuf {
    let db = dir.join("db");
    ok(
        &drydock(&[
            "db",
            "import",
            "--db-dir",
            db.to_str().unwrap(),
            derived.join("osv").to_str().unwrap(),
        ]),
        "db import",
    );
    db
}

#[test]
fn bookworm_image_patched_from_bookworm_security() {
    let Some(fixture) = drydock_test::debian_fixture() else {
        return;
    };
    if !(drydock_test::require_root()
        && drydock_test::require_tools(&[
            "python3",
            "apt-get",
            "dpkg",
            "dpkg-deb",
            "dpkg-query",
            "umoci",
            "skopeo",
            "chroot",
        ]))
    {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let derived = tmp.path().join("derived");
    drydock_test::derive_debian_cves(&fixture, &derived);
    let db = import_derived(tmp.path(), &derived);
    let db = db.to_str().unwrap();
    // (CVE, binary, binary version, source, fixed version)
    let expected = tsv(&derived.join("expected.tsv"));
    assert!(
        expected.len() >= 3,
        "too few findings to patch: {expected:?}"
    );
    let fixed_cves: BTreeSet<&str> = expected.iter().map(|row| row[0].as_str()).collect();

    let cache = package_cache();
    let cache = cache.to_str().unwrap();
    let source_layout = fixture.dir.join("oci-gzip");
    let source = format!("oci-dir:{}", source_layout.display());
    let out = tmp.path().join("patched");
    let vex = tmp.path().join("patch.vex.json");
    let output = drydock(&[
        "patch",
        &source,
        "--db-dir",
        db,
        "--cache-dir",
        cache,
        "--vex-out",
        vex.to_str().unwrap(),
        "-o",
        &format!("oci-dir:{}", out.display()),
    ]);
    let digest = ok(&output, "patch");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    eprintln!("{stderr}");

    // Exactly one layer added; the original layers are byte-identical.
    let original = manifest(&source_layout);
    let patched = manifest(&out);
    let before = layer_digests(&original);
    let after = layer_digests(&patched);
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(after[..before.len()], before[..]);
    let index = json(&source_layout.join("index.json"));
    assert_eq!(
        patched["annotations"]["org.opencontainers.image.base.digest"],
        index["manifests"][0]["digest"]
    );
    assert_eq!(
        patched["annotations"]["org.opencontainers.image.base.name"],
        source.as_str()
    );

    // Every binary with an expected finding is patched to at least its fix.
    let mut wanted: BTreeMap<&str, &str> = BTreeMap::new();
    for row in &expected {
        let fix = wanted.entry(row[1].as_str()).or_insert(row[4].as_str());
        if drydock_version_gt(&row[4], fix) {
            *fix = row[4].as_str();
        }
    }
    let patched_list = patched["annotations"]["dev.drydock.patch.packages"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut new_versions: BTreeMap<String, String> = BTreeMap::new();
    for item in patched_list.split(", ") {
        let (name, rest) = item.split_once(' ').unwrap();
        let (_, new) = rest.split_once(" -> ").unwrap();
        new_versions.insert(name.to_owned(), new.to_owned());
    }
    for (binary, fix) in &wanted {
        let new = new_versions
            .get(*binary)
            .unwrap_or_else(|| panic!("`{binary}` not patched: {patched_list}"));
        assert!(
            !drydock_version_gt(fix, new),
            "`{binary}` {new} below fix {fix}"
        );
    }

    // Re-scan: none of the fixed CVEs remain.
    let scan = ok(
        &drydock(&[
            "scan",
            &format!("oci-dir:{}", out.display()),
            "--db-dir",
            db,
            "-f",
            "json",
        ]),
        "scan of the patched image",
    );
    let scan: Value = serde_json::from_str(&scan).unwrap();
    let remaining: Vec<String> = scan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| {
            std::iter::once(&f["id"])
                .chain(f["aliases"].as_array().unwrap())
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|id| fixed_cves.contains(id.trim_start_matches("DEBIAN-")))
        .collect();
    assert!(remaining.is_empty(), "still reported: {remaining:?}");

    // The VEX names the new digest and every fixed CVE.
    let vex = json(&vex);
    let statements = vex["statements"].as_array().unwrap();
    assert!(
        statements
            .iter()
            .all(|s| s["status"] == "fixed" && s["products"][0]["@id"] == digest.as_str())
    );
    let vex_ids: BTreeSet<&str> = statements
        .iter()
        .filter_map(|s| s["vulnerability"]["name"].as_str())
        .collect();
    assert_eq!(vex_ids, fixed_cves);

    // The reference tools accept the image; dpkg agrees with the patch.
    let skopeo = Command::new("skopeo")
        .args(["inspect", &format!("oci:{}:latest", out.display())])
        .output()
        .unwrap();
    ok(&skopeo, "skopeo inspect");
    let bundle = tmp.path().join("bundle");
    let umoci = Command::new("umoci")
        .args(["unpack", "--image", &format!("{}:latest", out.display())])
        .arg(&bundle)
        .output()
        .unwrap();
    ok(&umoci, "umoci unpack");
    let rootfs = bundle.join("rootfs");
    let audit = Command::new("dpkg")
        .arg("--root")
        .arg(&rootfs)
        .arg("--audit")
        .output()
        .unwrap();
    assert_eq!(ok(&audit, "dpkg --audit"), "");
    let query = Command::new("dpkg-query")
        .arg(format!(
            "--admindir={}",
            rootfs.join("var/lib/dpkg").display()
        ))
        .args(["-W", "-f", "${Package}\t${Version}\t${db:Status-Abbrev}\n"])
        .output()
        .unwrap();
    let installed: BTreeMap<String, (String, String)> = ok(&query, "dpkg-query")
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_owned(), (f[1].to_owned(), f[2].trim().to_owned()))
        })
        .collect();
    for (name, version) in &new_versions {
        assert_eq!(
            installed[name],
            (version.clone(), "ii".to_owned()),
            "{name}"
        );
    }
    // Everything else is unchanged.
    for entry in &fixture.expected_final {
        if !new_versions.contains_key(&entry.name) {
            assert_eq!(installed[&entry.name].0, entry.version, "{}", entry.name);
        }
    }
    // A patched binary runs and reports its new version.
    let apt = Command::new("chroot")
        .arg(&rootfs)
        .args(["/usr/bin/apt", "--version"])
        .output()
        .unwrap();
    let apt_version = ok(&apt, "chroot apt --version");
    assert!(
        new_versions.contains_key("apt"),
        "apt not patched: {patched_list}"
    );
    assert!(
        apt_version.starts_with(&format!("apt {} ", new_versions["apt"])),
        "{apt_version}"
    );

    // Reproducible, and re-patching replaces the patch layer.
    let again = tmp.path().join("again");
    let digest_again = ok(
        &drydock(&[
            "patch",
            &source,
            "--db-dir",
            db,
            "--cache-dir",
            cache,
            "-o",
            &format!("oci-dir:{}", again.display()),
        ]),
        "second patch",
    );
    assert_eq!(digest_again, digest);
    let repatched = tmp.path().join("repatched");
    let output = drydock(&[
        "patch",
        &format!("oci-dir:{}", out.display()),
        "--db-dir",
        db,
        "--cache-dir",
        cache,
        "-o",
        &format!("oci-dir:{}", repatched.display()),
    ]);
    assert_eq!(ok(&output, "re-patch"), digest);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("replacing drydock's earlier patch layer")
    );
}

fn drydock_version_gt(a: &str, b: &str) -> bool {
    let output = Command::new("dpkg")
        .args(["--compare-versions", a, "gt", b])
        .status()
        .unwrap();
    output.success()
}

/// Failures write nothing: a tampered .deb in the cache, an unreachable
/// archive, nothing to fix.
#[test]
fn patch_failures_write_nothing() {
    let Some(fixture) = drydock_test::debian_fixture() else {
        return;
    };
    if !drydock_test::require_tools(&["python3", "apt-get", "dpkg", "dpkg-deb"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let derived = tmp.path().join("derived");
    drydock_test::derive_debian_cves(&fixture, &derived);
    let db = import_derived(tmp.path(), &derived);
    let db = db.to_str().unwrap();
    let source = format!("oci-dir:{}", fixture.dir.join("oci-gzip").display());
    let out = tmp.path().join("out");
    let target = format!("oci-dir:{}", out.display());

    // Unreachable archive.
    let output = drydock(&[
        "patch",
        &source,
        "--db-dir",
        db,
        "--cache-dir",
        tmp.path().join("c1").to_str().unwrap(),
        "--archive",
        "http://127.0.0.1:9/debian",
        "-o",
        &target,
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("http://127.0.0.1:9/debian/dists/bookworm/InRelease"),
        "{stderr}"
    );
    assert!(!out.exists());

    // A warm cache copy with one .deb tampered, used offline.
    let warm = tmp.path().join("warm");
    ok(
        &drydock(&[
            "patch",
            &source,
            "--db-dir",
            db,
            "--cache-dir",
            package_cache().to_str().unwrap(),
            "--dry-run",
        ]),
        "dry run",
    );
    assert!(!out.exists(), "dry run wrote an image");
    let status = Command::new("cp")
        .arg("-a")
        .arg(package_cache())
        .arg(&warm)
        .status()
        .unwrap();
    assert!(status.success());
    let first = ok(
        &drydock(&[
            "patch",
            &source,
            "--db-dir",
            db,
            "--cache-dir",
            warm.to_str().unwrap(),
            "--offline",
            "-o",
            &target,
        ]),
        "offline patch from the warm cache",
    );
    assert!(first.starts_with("sha256:"));
    std::fs::remove_dir_all(&out).unwrap();
    let debs: Vec<PathBuf> = std::fs::read_dir(warm.join("debs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!debs.is_empty());
    for deb in &debs {
        let mut bytes = std::fs::read(deb).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(deb, bytes).unwrap();
    }
    let output = drydock(&[
        "patch",
        &source,
        "--db-dir",
        db,
        "--cache-dir",
        warm.to_str().unwrap(),
        "--offline",
        "-o",
        &target,
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("does not match"), "{stderr}");
    assert!(!out.exists());
    // A tampered index (the cached Packages file no longer matches the signed Release).
    for index in std::fs::read_dir(warm.join("indices")).unwrap() {
        let path = index.unwrap().path();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[10] ^= 0xff;
        std::fs::write(&path, bytes).unwrap();
    }
    let output = drydock(&[
        "patch",
        &source,
        "--db-dir",
        db,
        "--cache-dir",
        warm.to_str().unwrap(),
        "--offline",
        "-o",
        &target,
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Packages") && stderr.contains("does not match"),
        "{stderr}"
    );
    assert!(!out.exists());

    // Nothing to fix: an id no finding has.
    let output = drydock(&[
        "patch",
        &source,
        "--db-dir",
        db,
        "--cache-dir",
        package_cache().to_str().unwrap(),
        "--only",
        "CVE-0000-0000",
        "-o",
        &target,
    ]);
    ok(&output, "patch --only of an unknown id");
    assert!(String::from_utf8_lossy(&output.stderr).contains("nothing to patch; no image written"));
    assert!(!out.exists());
}

/// The installed packages of a distroless image's `status.d/`, as derive.py
/// reads them (Package, Version, Architecture, source, source version, ii).
fn status_d_tsv(rootfs: &Path) -> String {
    let mut rows = Vec::new();
    for entry in std::fs::read_dir(rootfs.join("var/lib/dpkg/status.d")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md5sums") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}: ")))
                .map(str::to_owned)
        };
        let package = field("Package").unwrap();
        let version = field("Version").unwrap();
        let (source, source_version) = match field("Source") {
            Some(source) => match source.split_once(" (") {
                Some((name, v)) => (name.to_owned(), v.trim_end_matches(')').to_owned()),
                None => (source, version.clone()),
            },
            None => (package.clone(), version.clone()),
        };
        rows.push(format!(
            "{package}\t{version}\t{}\t{source}\t{source_version}\tii\n",
            field("Architecture").unwrap()
        ));
    }
    rows.sort();
    rows.concat()
}

/// A distroless golden image (`status.d/`, no dpkg inside) built from
/// bookworm main only, patched from bookworm-security with advisories derived
/// from the changelogs of its own packages.
#[test]
fn distroless_golden_image_patched_through_status_d() {
    if !(drydock_test::require_tools(&["python3", "apt-get", "dpkg", "dpkg-deb", "umoci"])) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let spec = tmp.path().join("base.yaml");
    std::fs::write(
        &spec,
        "name: base-old\nprofile: base\ndistribution: debian\narchives:\n  - url: http://deb.debian.org/debian\n    suites: [bookworm]\n",
    )
    .unwrap();
    let cache = package_cache();
    let cache = cache.to_str().unwrap();
    // An older pinned lock: resolved from bookworm main only, then used by a
    // spec that also lists -updates and -security.
    ok(
        &drydock(&[
            "build",
            spec.to_str().unwrap(),
            "--cache-dir",
            cache,
            "-o",
            &format!("oci-dir:{}", tmp.path().join("main-only.oci").display()),
        ]),
        "build from bookworm main",
    );
    let spec = tmp.path().join("golden.yaml");
    std::fs::write(
        &spec,
        "name: base-old\nprofile: base\ndistribution: debian\narchives:\n  - url: http://deb.debian.org/debian\n    suites: [bookworm, bookworm-updates]\n  - url: http://deb.debian.org/debian-security\n    suites: [bookworm-security]\n",
    )
    .unwrap();
    let mut lock = json(&tmp.path().join("base.lock"));
    lock["inputs"]["suites"] = serde_json::json!([
        "http://deb.debian.org/debian bookworm",
        "http://deb.debian.org/debian bookworm-updates",
        "http://deb.debian.org/debian-security bookworm-security"
    ]);
    std::fs::write(
        tmp.path().join("golden.lock"),
        serde_json::to_string_pretty(&lock).unwrap(),
    )
    .unwrap();
    let image = tmp.path().join("golden.oci");
    ok(
        &drydock(&[
            "build",
            spec.to_str().unwrap(),
            "--cache-dir",
            cache,
            "-o",
            &format!("oci-dir:{}", image.display()),
        ]),
        "build from the older lock",
    );
    let bundle = tmp.path().join("bundle");
    ok(
        &Command::new("umoci")
            .args(["unpack", "--image", &format!("{}:latest", image.display())])
            .arg(&bundle)
            .output()
            .unwrap(),
        "umoci unpack",
    );
    let tsv_path = tmp.path().join("installed.tsv");
    std::fs::write(&tsv_path, status_d_tsv(&bundle.join("rootfs"))).unwrap();
    let derived = tmp.path().join("derived");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/debian-cves/derive.py");
    let status = Command::new("python3")
        .arg(&script)
        .arg(&tsv_path)
        .arg(drydock_test::fixture_cache().join("patch-distroless-cves"))
        .arg(&derived)
        .status()
        .unwrap();
    assert!(status.success(), "derive.py failed");
    let expected = tsv(&derived.join("expected.tsv"));
    assert!(
        !expected.is_empty(),
        "no finding to patch in the distroless image"
    );
    let fixed_cves: BTreeSet<&str> = expected.iter().map(|row| row[0].as_str()).collect();
    let db = import_derived(tmp.path(), &derived);
    let db = db.to_str().unwrap();
    let patched = tmp.path().join("patched.oci");
    let source = format!("oci-dir:{}", image.display());
    let target = format!("oci-dir:{}", patched.display());
    let digest = ok(
        &drydock(&[
            "patch",
            &source,
            "--db-dir",
            db,
            "--cache-dir",
            cache,
            "-o",
            &target,
        ]),
        "patch",
    );
    let before = layer_digests(&manifest(&image));
    let after = layer_digests(&manifest(&patched));
    assert_eq!(after.len(), 2);
    assert_eq!(after[0], before[0]);
    let scan = ok(
        &drydock(&["scan", &target, "--db-dir", db, "-f", "json"]),
        "scan of the patched image",
    );
    let scan: Value = serde_json::from_str(&scan).unwrap();
    for finding in scan["findings"].as_array().unwrap() {
        let id = finding["id"]
            .as_str()
            .unwrap()
            .trim_start_matches("DEBIAN-");
        assert!(!fixed_cves.contains(id), "{id} still reported: {finding}");
    }
    // status.d holds the new versions; no dpkg `status` file appeared.
    let patched_bundle = tmp.path().join("patched-bundle");
    ok(
        &Command::new("umoci")
            .args([
                "unpack",
                "--image",
                &format!("{}:latest", patched.display()),
            ])
            .arg(&patched_bundle)
            .output()
            .unwrap(),
        "umoci unpack of the patched image",
    );
    let rootfs = patched_bundle.join("rootfs");
    assert!(!rootfs.join("var/lib/dpkg/status").exists());
    let installed = status_d_tsv(&rootfs);
    for row in &expected {
        let line = installed
            .lines()
            .find(|l| l.split('\t').next() == Some(row[1].as_str()))
            .unwrap();
        let version = line.split('\t').nth(1).unwrap();
        assert!(
            !drydock_version_gt(&row[4], version),
            "`{}` {version} below the fix {}",
            row[1],
            row[4]
        );
        let md5sums = std::fs::read_to_string(
            rootfs.join(format!("var/lib/dpkg/status.d/{}.md5sums", row[1])),
        )
        .unwrap();
        assert!(!md5sums.is_empty());
    }
    // `build --update-vulnerable` of the same spec: the lock equals the
    // patched image's package set.
    let updated = tmp.path().join("updated.oci");
    let output = drydock(&[
        "build",
        spec.to_str().unwrap(),
        "--cache-dir",
        cache,
        "--update-vulnerable",
        "--db-dir",
        db,
        "-o",
        &format!("oci-dir:{}", updated.display()),
    ]);
    ok(&output, "build --update-vulnerable");
    assert!(String::from_utf8_lossy(&output.stderr).contains("lock: `"));
    let lock = json(&tmp.path().join("golden.lock"));
    let locked: BTreeSet<(String, String)> = lock["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let patched_set: BTreeSet<(String, String)> = installed
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[0].to_owned(), f[1].to_owned())
        })
        .collect();
    assert_eq!(locked, patched_set);

    let again = tmp.path().join("again.oci");
    assert_eq!(
        ok(
            &drydock(&[
                "patch",
                &source,
                "--db-dir",
                db,
                "--cache-dir",
                cache,
                "-o",
                &format!("oci-dir:{}", again.display()),
            ]),
            "second patch",
        ),
        digest
    );
}

/// A release past its LTS is refused, naming it; a non-Debian image too.
/// Nothing is written. (No network: the refusal comes before any download.)
#[test]
fn end_of_life_and_foreign_images_are_refused() {
    use drydock_test::{Blob, OciImage, RawTar};
    let tmp = tempfile::tempdir().unwrap();
    let image = |name: &str, os_release: &str| {
        let layer = RawTar::new()
            .file("etc/os-release", os_release)
            .file(
                "var/lib/dpkg/status",
                "Package: libc6\nStatus: install ok installed\nVersion: 2.28-10\nArchitecture: amd64\n\n",
            )
            .finish();
        let dir = tmp.path().join(name);
        OciImage::new().layer(Blob::tar_gzip(&layer)).write(&dir);
        format!("oci-dir:{}", dir.display())
    };
    let buster = image(
        "buster",
        "PRETTY_NAME=\"Debian GNU/Linux 10 (buster)\"\nID=debian\nVERSION_ID=\"10\"\nVERSION_CODENAME=buster\n",
    );
    let out = tmp.path().join("out");
    let target = format!("oci-dir:{}", out.display());
    let report = tmp.path().join("report.json");
    std::fs::write(&report, r#"{"findings": []}"#).unwrap();
    let report = report.to_str().unwrap();
    let output = drydock(&["patch", &buster, "--report", report, "-o", &target]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Debian 10 (`buster`), which reached its end of life on 2024-06-30"),
        "{stderr}"
    );
    assert!(!out.exists());
    let alpine = image("alpine", "ID=alpine\nVERSION_ID=3.20.0\n");
    let output = drydock(&["patch", &alpine, "--report", report, "-o", &target]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is not a Debian image (os-release ID `alpine`)"),
        "{stderr}"
    );
    assert!(!out.exists());
}

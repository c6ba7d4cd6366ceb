//! `drydock scan sbom:` of SBOMs written, in the test, by real peers — Syft
//! 1.18 (CycloneDX JSON and XML, SPDX JSON and tag-value, Syft JSON) and
//! Trivy 0.74 as cdxgen ships it (CycloneDX JSON) — over the Debian fixture
//! image and the language fixtures (Go binaries, an npm project, a Python
//! site-packages) gives the same findings, as `(id, package name, package
//! version)`, as `drydock scan` of the same image or tree, except for the
//! differences each case names with the reason they are right.
//!
//! One database for all: the Debian tracker fixture of the image
//! (crates/drydock-vuln/tests/fixtures/tracker-debian-image.json) and the
//! OSV Go, npm and PyPI records of ../shared/data.
#[path = "../../drydock-catalog/tests/fixtures/golang/fixture.rs"]
mod golang;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

/// `(id, package name, package version)`.
type Key = (String, String, String);

fn data_dir() -> PathBuf {
    drydock_test::workspace_root().join("../shared/data")
}

fn drydock(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_drydock"))
        .args(args)
        .output()
        .expect("spawn drydock")
}

fn database() -> Option<&'static Path> {
    static DB: OnceLock<Option<(tempfile::TempDir, PathBuf)>> = OnceLock::new();
    DB.get_or_init(|| {
        if !data_dir().join("osv/Go").is_dir() {
            drydock_test::missing(&format!("the shared data in {}", data_dir().display()));
            return None;
        }
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("db");
        drydock_vuln::Database::import(
            &dir,
            &[
                data_dir().join("osv/Go"),
                data_dir().join("osv/npm"),
                data_dir().join("osv/PyPI"),
                drydock_test::workspace_root()
                    .join("crates/drydock-vuln/tests/fixtures/tracker-debian-image.json"),
            ],
        )
        .unwrap();
        Some((tmp, dir))
    })
    .as_ref()
    .map(|(_, dir)| dir.as_path())
}

/// The findings of `drydock scan SOURCE`.
fn findings(source: &str) -> BTreeSet<Key> {
    let db = database().unwrap().to_str().unwrap();
    let output = drydock(&["scan", source, "--db-dir", db, "-f", "json"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "scan {source}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let scan: Value = serde_json::from_slice(&output.stdout).unwrap();
    scan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| {
            (
                finding["id"].as_str().unwrap().to_owned(),
                finding["package"]["name"].as_str().unwrap().to_owned(),
                finding["package"]["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn run(tool: &Path, args: &[&str], stdout: &Path) {
    let output = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", tool.display()));
    assert!(
        output.status.success(),
        "{} {args:?}: {}",
        tool.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::write(stdout, &output.stdout).unwrap();
}

/// Syft's formats, as `-o` names them.
const SYFT_FORMATS: [&str; 5] = [
    "cyclonedx-json",
    "cyclonedx-xml",
    "spdx-json",
    "spdx-tag-value",
    "syft-json",
];

/// The SBOMs the peers write for `syft_source` / `trivy_args`, as (label, path).
/// `trivy_args` empty: no Trivy SBOM (cdxgen's Trivy build catalogs OS
/// packages and Go binaries in root filesystems, not Python or npm trees).
fn peer_sboms(dir: &Path, syft_source: &str, trivy_args: &[&str]) -> Vec<(String, PathBuf)> {
    let Some(syft) = drydock_test::syft() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for format in SYFT_FORMATS {
        let path = dir.join(format!("syft.{format}"));
        run(&syft, &["scan", syft_source, "-q", "-o", format], &path);
        out.push((format!("syft {format}"), path));
    }
    if trivy_args.is_empty() {
        return out;
    }
    let Some(trivy) = drydock_test::trivy() else {
        return Vec::new();
    };
    let cache = dir.join("trivy-cache");
    let path = dir.join("trivy.cdx.json");
    let mut args: Vec<&str> = trivy_args.to_vec();
    args.extend([
        "--format",
        "cyclonedx",
        "--skip-db-update",
        "--skip-java-db-update",
        "--offline-scan",
        "--skip-version-check",
        "--skip-check-update",
        "--quiet",
        "--cache-dir",
        cache.to_str().unwrap(),
    ]);
    run(&trivy, &args, &path);
    out.push(("trivy cyclonedx-json".to_owned(), path));
    out
}

/// A difference the test expects between a peer's SBOM and the direct scan:
/// which SBOMs show it, what it is, and why it is right.
struct Difference {
    /// Labels of the SBOMs (prefix match: `syft` is every Syft format).
    sboms: &'static str,
    kind: DifferenceKind,
    why: &'static str,
}

enum DifferenceKind {
    /// The same finding, its package shown differently: a normalisation
    /// applied to the keys of both scans, `None` when it does not apply.
    Shown(fn(&Key) -> Option<Key>),
    /// A finding only the SBOM's scan has.
    Added(fn(&Key) -> bool),
}

fn compare(source: &str, sboms: &[(String, PathBuf)], differences: &[Difference]) {
    let direct_raw = findings(source);
    assert!(!direct_raw.is_empty(), "{source}: no finding to compare");
    for (label, path) in sboms {
        let applies = |difference: &&Difference| label.starts_with(difference.sboms);
        // `Shown` differences normalise both sides the same way.
        let mut shown_differently = 0;
        let mut normalise = |key: Key, count: bool| {
            for difference in differences.iter().filter(applies) {
                if let DifferenceKind::Shown(map) = difference.kind
                    && let Some(mapped) = map(&key)
                {
                    if count && mapped != key {
                        shown_differently += 1;
                    }
                    return mapped;
                }
            }
            key
        };
        let direct: BTreeSet<Key> = direct_raw
            .iter()
            .cloned()
            .map(|key| normalise(key, true))
            .collect();
        let from_sbom: BTreeSet<Key> = findings(&format!("sbom:{}", path.display()))
            .into_iter()
            .map(|key| normalise(key, true))
            .collect();
        if shown_differently > 0 {
            let reasons: Vec<&str> = differences
                .iter()
                .filter(applies)
                .filter(|d| matches!(d.kind, DifferenceKind::Shown(_)))
                .map(|d| d.why)
                .collect();
            eprintln!(
                "{source}: {label}: {shown_differently} findings show their package differently: {}",
                reasons.join("; ")
            );
        }
        let mut unexplained = Vec::new();
        // Nothing the direct scan finds may be lost.
        for key in direct.difference(&from_sbom) {
            unexplained.push(format!("missing {key:?}"));
        }
        for key in from_sbom.difference(&direct) {
            let why = differences
                .iter()
                .filter(applies)
                .find_map(|d| match d.kind {
                    DifferenceKind::Added(covers) if covers(key) => Some(d.why),
                    _ => None,
                });
            match why {
                Some(why) => eprintln!("{source}: {label}: adds {key:?}: {why}"),
                None => unexplained.push(format!("unexpected {key:?}")),
            }
        }
        let same = direct.intersection(&from_sbom).count();
        eprintln!(
            "{source}: {label}: {same} of {} findings the same",
            direct.len()
        );
        assert!(
            unexplained.is_empty(),
            "{source}: {label}: findings differ from the direct scan:\n{}",
            unexplained.join("\n")
        );
        assert!(same > 0, "{source}: {label}: no finding in common");
    }
}

#[test]
fn debian_image_sboms_from_syft_and_trivy_give_the_same_findings() {
    let Some(fixture) = drydock_test::debian_fixture() else {
        return;
    };
    if database().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let oci = fixture.dir.join("oci-gzip");
    // cdxgen's Trivy build scans only root filesystems: the fixture's
    // rootfs is the image's final root.
    let rootfs = fixture.dir.join("rootfs");
    let sboms = peer_sboms(
        tmp.path(),
        &format!("oci-dir:{}", oci.display()),
        &["rootfs", rootfs.to_str().unwrap()],
    );
    if sboms.is_empty() {
        return;
    }
    compare(
        &format!("oci-dir:{}", oci.display()),
        &sboms,
        &[Difference {
            sboms: "syft",
            kind: DifferenceKind::Added(|(_, name, _)| name == "e2fsprogs"),
            why: "the image's second layer removed `e2fsprogs` (dpkg state `rc`: only its \
                  conffiles remain, `dpkg-query` does not list it as installed); Syft \
                  reports every stanza of the dpkg status file, drydock only installed ones",
        }],
    );
}

#[test]
fn go_binary_sboms_from_syft_and_trivy_give_the_same_findings() {
    let Some(dir) = golang::go_fixture() else {
        return;
    };
    if database().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir_all(root.join("usr/local/bin")).unwrap();
    std::fs::copy(
        dir.join("hello-linux-amd64"),
        root.join("usr/local/bin/hello"),
    )
    .unwrap();
    let sboms = peer_sboms(
        tmp.path(),
        &format!("dir:{}", root.display()),
        &["rootfs", root.to_str().unwrap()],
    );
    if sboms.is_empty() {
        return;
    }
    compare(
        &format!("dir:{}", root.display()),
        &sboms,
        &[Difference {
            sboms: "syft",
            kind: DifferenceKind::Shown(|(id, name, version)| {
                let go = version.strip_prefix("go")?;
                (name == "stdlib").then(|| (id.clone(), name.clone(), format!("v{go}")))
            }),
            why: "Syft shows the Go toolchain as `stdlib` `go1.19.8` (its purl says \
                  `1.19.8`, which is what is matched); drydock shows `v1.19.8`, the \
                  Go vulnerability database's spelling",
        }],
    );
}

/// The Python fixture's root (drydock-catalog's pip-built site-packages, as
/// tests/scan.rs builds it).
fn python_root() -> Option<PathBuf> {
    let script = drydock_test::workspace_root()
        .join("crates/drydock-catalog/tests/fixtures/python/build-site-packages.sh");
    let key = &drydock_test::sha256_hex(&std::fs::read(&script).unwrap())[..16];
    let dir = drydock_test::fixture_cache().join(format!("python-{key}"));
    if dir.join(".complete").exists() {
        return Some(dir);
    }
    if !drydock_test::require_tools(&["python3", "bash"]) {
        return None;
    }
    let staging = drydock_test::fixture_cache().join(format!("python-{key}.sbom-partial"));
    let _ = std::fs::remove_dir_all(&staging);
    let status = Command::new("bash")
        .arg(&script)
        .arg(&staging)
        .status()
        .unwrap();
    assert!(status.success(), "build-site-packages.sh failed");
    std::fs::File::create(staging.join(".complete")).unwrap();
    if !dir.join(".complete").exists() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&staging, &dir).unwrap();
    }
    Some(dir)
}

#[test]
fn python_site_packages_sbom_from_syft_gives_the_same_findings() {
    let Some(root) = python_root() else {
        return;
    };
    if database().is_none() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let sboms = peer_sboms(tmp.path(), &format!("dir:{}", root.display()), &[]);
    if sboms.is_empty() {
        return;
    }
    compare(
        &format!("dir:{}", root.display()),
        &sboms,
        &[Difference {
            sboms: "syft",
            kind: DifferenceKind::Shown(|(id, name, version)| {
                Some((id.clone(), name.to_ascii_lowercase(), version.clone()))
            }),
            why: "Syft shows Python distributions by their lower-cased name (`django`); \
                  drydock by the `Name:` of their METADATA (`Django`); the purl, which \
                  is what is matched, is `pkg:pypi/django` in both",
        }],
    );
}

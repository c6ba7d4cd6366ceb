//! `drydock sbom` on Python: real wheels installed by pip (old releases with
//! advisories) plus legacy egg-info in both forms, compared with what
//! `pip inspect` says is installed; lock files compared with what the tool
//! that wrote them lists (`uv export`) or with the hand-written fixture.
//!
//! The installed fixture is built by
//! `crates/drydock-catalog/tests/fixtures/python/build-site-packages.sh`
//! into `.cache/fixtures/python-<script hash>/` (once; needs python3 with
//! pip ≥ 22.2 and PyPI).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

fn fixtures_dir() -> PathBuf {
    drydock_test::workspace_root().join("crates/drydock-catalog/tests/fixtures/python")
}

/// The pip-installed root and pip's view of it, built on first use.
fn installed_fixture() -> Option<PathBuf> {
    static FIXTURE: OnceLock<Option<PathBuf>> = OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            let script_path = fixtures_dir().join("build-site-packages.sh");
            let script = std::fs::read(&script_path).expect("read build-site-packages.sh");
            let key = &drydock_test::sha256_hex(&script)[..16];
            let cache = drydock_test::fixture_cache();
            let dir = cache.join(format!("python-{key}"));
            let marker = dir.join(".complete");
            if marker.exists() {
                return Some(dir);
            }
            std::fs::create_dir_all(&cache).expect("create fixture cache");
            let lock = File::create(cache.join("python.lock")).expect("create lock file");
            lock.lock().expect("lock the fixture cache");
            if !marker.exists() {
                if !drydock_test::require_tools(&["python3", "bash"]) {
                    return None;
                }
                let staging = cache.join(format!("python-{key}.partial"));
                if staging.exists() {
                    std::fs::remove_dir_all(&staging).expect("remove stale fixture");
                }
                eprintln!("drydock-test: pip-installing the Python fixture (once)");
                let status = Command::new("bash")
                    .arg(&script_path)
                    .arg(&staging)
                    .status()
                    .expect("run build-site-packages.sh");
                assert!(status.success(), "build-site-packages.sh failed ({status})");
                File::create(staging.join(".complete")).expect("write marker");
                if dir.exists() {
                    std::fs::remove_dir_all(&dir).expect("remove old fixture");
                }
                std::fs::rename(&staging, &dir).expect("publish fixture");
            }
            drop(lock);
            Some(dir)
        })
        .clone()
}

fn sbom(source: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_drydock"))
        .args(["sbom", source, "-f", "json"])
        .output()
        .expect("spawn drydock");
    assert!(
        out.status.success(),
        "drydock sbom {source}: exit {:?}, stderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

fn packages<'a>(document: &'a Value, kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    document["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |p| p["kind"] == kind)
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

fn location(package: &Value) -> String {
    text(&package["locations"][0]["path"])
}

/// The purl spec's PyPI name, computed here independently of drydock.
fn pypi_purl(name: &str, version: &str) -> String {
    format!(
        "pkg:pypi/{}@{version}",
        name.to_lowercase().replace('_', "-")
    )
}

#[test]
fn installed_distributions_match_pip_inspect() {
    let Some(dir) = installed_fixture() else {
        return;
    };
    let root = dir.join("root");
    let inspect: Value = serde_json::from_slice(
        &std::fs::read(dir.join("pip-inspect.json")).expect("read pip-inspect.json"),
    )
    .expect("pip inspect output is JSON");
    // (name as in the metadata, version, metadata file relative to the root)
    let mut expected = BTreeSet::new();
    for installed in inspect["installed"].as_array().expect("installed list") {
        let name = text(&installed["metadata"]["name"]);
        let version = text(&installed["metadata"]["version"]);
        // pip ran in a staging directory: paths are taken from its `root`.
        let location = text(&installed["metadata_location"]);
        let at = location.find("/root/").expect("inside the root");
        let relative = PathBuf::from(location.get(at + "/root/".len()..).unwrap_or_default());
        let metadata_file = if root.join(&relative).is_dir() {
            if relative.extension().is_some_and(|e| e == "egg-info") {
                relative.join("PKG-INFO")
            } else {
                relative.join("METADATA")
            }
        } else {
            relative.clone()
        };
        expected.insert((name, version, format!("/{}", metadata_file.display())));
    }
    assert!(
        expected.len() >= 25,
        "the fixture holds {} distributions",
        expected.len()
    );

    let document = sbom(&format!("dir:{}", root.display()));
    let reported: BTreeSet<(String, String, String)> = packages(&document, "pypi")
        .filter(|p| p["installed"] == true)
        .map(|p| (text(&p["name"]), text(&p["version"]), location(p)))
        .collect();
    let missing: Vec<_> = expected.difference(&reported).collect();
    let extra: Vec<_> = reported.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );
    for package in packages(&document, "pypi") {
        assert_eq!(
            text(&package["purl"]),
            pypi_purl(&text(&package["name"]), &text(&package["version"]))
        );
    }
    let problems = document["problems"].as_array().cloned().unwrap_or_default();
    assert!(problems.is_empty(), "problems: {problems:#?}");
}

#[test]
fn record_files_are_owned_with_their_digests() {
    let Some(dir) = installed_fixture() else {
        return;
    };
    let root = dir.join("root");
    let document = sbom(&format!("dir:{}", root.display()));
    let mut checked = 0;
    for package in packages(&document, "pypi") {
        let metadata = location(package);
        let Some(dist_info) = metadata.strip_suffix("/METADATA") else {
            continue;
        };
        let record = std::fs::read_to_string(root.join(format!(".{dist_info}/RECORD")))
            .expect("read RECORD");
        let rows: Vec<&str> = record.lines().filter(|l| !l.is_empty()).collect();
        let files = package["files"].as_array().expect("files listed");
        assert_eq!(
            files.len(),
            rows.len(),
            "{metadata}: one file per RECORD row"
        );
        // Files with a sha256 in RECORD are on disk with that digest
        // (checked with sha256sum, not drydock's decoder). Scripts are not:
        // `pip install --target` records them as `../../bin/…` but leaves
        // them in `<target>/bin`.
        let mut hashed = files
            .iter()
            .filter(|f| f["digest"].is_string())
            .filter(|f| root.join(format!(".{}", text(&f["path"]))).is_file())
            .peekable();
        assert!(
            hashed.peek().is_some(),
            "{metadata}: some recorded file is on disk"
        );
        for file in hashed.take(3) {
            let path = text(&file["path"]);
            let out = Command::new("sha256sum")
                .arg(root.join(format!(".{path}")))
                .output()
                .expect("run sha256sum");
            let sum = String::from_utf8_lossy(&out.stdout);
            let hex = sum.split_whitespace().next().unwrap_or_default();
            assert_eq!(text(&file["digest"]), format!("sha256:{hex}"), "{path}");
        }
        checked += 1;
    }
    assert!(checked >= 20, "{checked} dist-info packages checked");
}

/// `name==version` lines of a tool's listing.
fn listing(path: &Path) -> BTreeSet<(String, String)> {
    std::fs::read_to_string(path)
        .expect("read listing")
        .lines()
        .filter_map(|l| l.split_once("=="))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

fn pair(name: &str, version: &str) -> (String, String) {
    (name.to_owned(), version.to_owned())
}

#[test]
fn lock_files_are_declared_not_installed() {
    let fixtures = fixtures_dir();
    let project = tempfile::tempdir().expect("temp dir");
    for name in [
        "uv.lock",
        "pylock.toml",
        "requirements.txt",
        "poetry.lock",
        "pdm.lock",
        "Pipfile.lock",
    ] {
        std::fs::copy(fixtures.join(name), project.path().join(name)).expect("copy lock file");
    }
    // A requirements file shipped inside an installed package is its data.
    let vendored = project.path().join("lib/python3.8/site-packages/pkg");
    std::fs::create_dir_all(&vendored).expect("mkdir");
    std::fs::copy(
        fixtures.join("requirements.txt"),
        vendored.join("requirements.txt"),
    )
    .expect("copy");
    let conda = project.path().join("opt/conda/conda-meta");
    std::fs::create_dir_all(&conda).expect("mkdir");
    std::fs::copy(
        fixtures.join("conda/zlib-1.2.11-h7b6447c_3.json"),
        conda.join("zlib-1.2.11-h7b6447c_3.json"),
    )
    .expect("copy conda record");

    let document = sbom(&format!("dir:{}", project.path().display()));
    let mut by_file: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    for package in packages(&document, "pypi") {
        assert_eq!(package["installed"], false, "{package}");
        assert_eq!(
            text(&package["purl"]),
            pypi_purl(&text(&package["name"]), &text(&package["version"]))
        );
        by_file
            .entry(location(package))
            .or_default()
            .insert((text(&package["name"]), text(&package["version"])));
    }
    let uv = listing(&fixtures.join("uv.expected"));
    assert!(uv.len() > 10);
    assert_eq!(by_file.get("/uv.lock"), Some(&uv), "uv.lock vs `uv export`");
    assert_eq!(
        by_file.get("/pylock.toml"),
        Some(&uv),
        "pylock.toml vs `uv export`"
    );
    assert_eq!(
        by_file.get("/requirements.txt"),
        Some(&uv),
        "requirements.txt (with hashes) vs `uv export`"
    );
    assert_eq!(
        by_file.get("/poetry.lock"),
        Some(&BTreeSet::from([
            pair("django", "2.2"),
            pair("pytz", "2019.1"),
            pair("sqlparse", "0.3.0"),
            pair("typing-extensions", "3.7.4"),
            pair("pytest", "6.2.4"),
        ]))
    );
    assert_eq!(
        by_file.get("/pdm.lock"),
        Some(&BTreeSet::from([
            pair("certifi", "2020.12.5"),
            pair("requests", "2.25.0"),
            pair("urllib3", "1.26.4"),
            pair("PyYAML", "5.4"),
        ]))
    );
    assert_eq!(
        by_file.get("/Pipfile.lock"),
        Some(&BTreeSet::from([
            pair("flask", "1.0"),
            pair("werkzeug", "0.15.0"),
            pair("pytest", "6.2.4"),
        ]))
    );
    assert_eq!(by_file.len(), 6, "nothing else: {:?}", by_file.keys());

    let conda: Vec<&Value> = packages(&document, "conda").collect();
    assert_eq!(conda.len(), 1);
    let zlib = conda.first().expect("one conda package");
    assert_eq!(
        text(&zlib["purl"]),
        "pkg:conda/zlib@1.2.11?build=h7b6447c_3&channel=main&subdir=linux-64&type=conda"
    );
    assert_eq!(zlib["installed"], true);
    assert_eq!(
        zlib["files"].as_array().map(Vec::len),
        Some(2),
        "files under the prefix"
    );
    assert_eq!(text(&zlib["files"][0]["path"]), "/opt/conda/include/zlib.h");
}

#[test]
fn a_lock_file_as_the_source() {
    let fixtures = fixtures_dir();
    let document = sbom(&fixtures.join("uv.lock").display().to_string());
    let reported: BTreeSet<(String, String)> = packages(&document, "pypi")
        .inspect(|p| assert_eq!(location(p), "/uv.lock"))
        .map(|p| (text(&p["name"]), text(&p["version"])))
        .collect();
    assert_eq!(reported, listing(&fixtures.join("uv.expected")));
}

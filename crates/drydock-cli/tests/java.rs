//! `drydock sbom dir:` over real Debian jars and the Spring Boot jar, war,
//! ear and shaded jar built from them (the catalog crate's
//! `tests/fixtures/java/make-jars.sh`), through the real walk: every Java
//! package, with its checksum and every location, equals the list
//! `tests/fixtures/java/expected.py` computes with `unzip` and `sha1sum`.
use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

fn catalog_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../drydock-catalog/tests/fixtures/java")
}

/// The same cache entry the catalog crate's test builds (same key).
fn fixture() -> Option<PathBuf> {
    if !drydock_test::require_tools(&["apt-get", "dpkg", "jar", "unzip", "sha1sum", "python3"]) {
        return None;
    }
    let sources = catalog_fixtures();
    let mut key_input = std::fs::read(sources.join("make-jars.sh")).unwrap();
    key_input.extend(std::fs::read(sources.join("expected.py")).unwrap());
    let key = &drydock_test::sha256_hex(&key_input)[..16];
    let cache = drydock_test::fixture_cache();
    let dir = cache.join(format!("java-{key}"));
    if !dir.join("expected.json").exists() {
        std::fs::create_dir_all(&cache).unwrap();
        let lock = File::create(cache.join("java.lock")).unwrap();
        lock.lock().unwrap();
        if !dir.join("expected.json").exists() {
            let staging = cache.join(format!("java-{key}.partial"));
            let _ = std::fs::remove_dir_all(&staging);
            let status = Command::new("bash")
                .arg(sources.join("make-jars.sh"))
                .arg(staging.join("tree"))
                .arg(cache.join("downloads-java"))
                .status()
                .unwrap();
            assert!(status.success(), "make-jars.sh failed: {status}");
            let expected = Command::new("python3")
                .arg(sources.join("expected.py"))
                .arg(staging.join("tree"))
                .output()
                .unwrap();
            assert!(expected.status.success(), "expected.py failed");
            std::fs::write(staging.join("expected.json"), expected.stdout).unwrap();
            std::fs::rename(&staging, &dir).unwrap();
        }
    }
    Some(dir)
}

type Row = (String, String, String, Option<String>, Vec<String>);

fn row(p: &serde_json::Value) -> Row {
    let text = |k: &str| p[k].as_str().unwrap().to_owned();
    let mut locations: Vec<String> = p["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            l.as_str()
                .map_or_else(|| l["path"].as_str().unwrap().to_owned(), str::to_owned)
        })
        .collect();
    locations.sort();
    (
        text("name"),
        text("version"),
        text("purl"),
        p["checksum"].as_str().map(str::to_owned),
        locations,
    )
}

#[test]
fn sbom_of_a_tree_of_jars_matches_unzip() {
    let Some(dir) = fixture() else { return };
    let output = Command::new(env!("CARGO_BIN_EXE_drydock"))
        .args(["sbom", "-f", "json"])
        .arg(format!("dir:{}", dir.join("tree").display()))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "drydock failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let sbom: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let got: BTreeSet<Row> = sbom["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "maven")
        .map(|p| {
            assert_eq!(p["installed"], true);
            row(p)
        })
        .collect();
    let expected: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let expected: BTreeSet<Row> = expected.as_array().unwrap().iter().map(row).collect();
    assert!(expected.len() >= 20, "{} expected", expected.len());
    let missing: Vec<_> = expected.difference(&got).collect();
    let extra: Vec<_> = got.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );
    let problems = sbom["problems"].as_array().map_or(0, Vec::len);
    assert_eq!(problems, 0, "{}", sbom["problems"]);
}

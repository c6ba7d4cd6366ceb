//! `drydock sbom dir:` on a root holding a real cargo-auditable binary and
//! its Cargo.lock: the binary's crates as `cargo tree` lists them for the
//! target (installed), the lock file's as `cargo metadata` resolves them
//! (declared).
#[path = "../../drydock-catalog/tests/fixtures/rust/fixture.rs"]
mod fixture;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

#[test]
fn sbom_of_a_root_with_a_rust_binary_and_its_lock_file() {
    let Some(dir) = fixture::rust_fixture() else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("usr/local/bin")).unwrap();
    std::fs::create_dir_all(root.path().join("src/app")).unwrap();
    let app = root.path().join("usr/local/bin/app");
    std::fs::copy(dir.join("app"), &app).unwrap();
    std::fs::set_permissions(&app, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::copy(
        dir.join("Cargo.lock"),
        root.path().join("src/app/Cargo.lock"),
    )
    .unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_drydock"))
        .args([
            "sbom",
            &format!("dir:{}", root.path().display()),
            "-f",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let document: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    let mut expected = BTreeSet::new();
    for (name, version) in fixture::cargo_tree(&dir) {
        expected.insert((name, version, "/usr/local/bin/app".to_owned(), true));
    }
    for (name, version) in fixture::cargo_metadata(&dir) {
        expected.insert((name, version, "/src/app/Cargo.lock".to_owned(), false));
    }
    let mut got = BTreeSet::new();
    for package in document["packages"].as_array().unwrap() {
        assert_eq!(package["kind"], "cargo", "{package}");
        let name = package["name"].as_str().unwrap().to_owned();
        let version = package["version"].as_str().unwrap().to_owned();
        assert_eq!(
            package["purl"].as_str().unwrap(),
            format!("pkg:cargo/{name}@{}", version.replace('+', "%2B"))
        );
        got.insert((
            name,
            version,
            package["locations"][0]["path"].as_str().unwrap().to_owned(),
            package["installed"].as_bool().unwrap(),
        ));
    }
    assert_eq!(got, expected);
}

//! `drydock sbom dir:` on a root holding real Go binaries: every module
//! `go version -m` names, located at the binary; non-executable copies are
//! not read.
#[path = "../../drydock-catalog/tests/fixtures/golang/fixture.rs"]
mod fixture;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use serde_json::Value;

fn sbom(root: &std::path::Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_drydock"))
        .args(["sbom", &format!("dir:{}", root.display()), "-f", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn install(root: &std::path::Path, path: &str, bytes: &[u8], mode: u32) {
    let target = root.join(path);
    std::fs::create_dir_all(target.parent().unwrap()).unwrap();
    std::fs::write(&target, bytes).unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn sbom_of_a_root_with_go_binaries_matches_go_version_m() {
    let Some(dir) = fixture::go_fixture() else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let mut expected = BTreeSet::new();
    for (target, path) in [
        ("linux-amd64", "usr/local/bin/hello"),
        ("linux-386", "opt/i386/hello"),
        ("windows-amd64", "srv/win/hello.exe"),
    ] {
        let bytes = std::fs::read(dir.join(format!("hello-{target}"))).unwrap();
        install(root.path(), path, &bytes, 0o755);
        let version_m =
            std::fs::read_to_string(dir.join(format!("hello-{target}.version-m"))).unwrap();
        for (name, version) in fixture::expected_from_version_m(&version_m) {
            expected.insert((name, version, format!("/{path}")));
        }
    }
    // Not executable: not claimed.
    let bytes = std::fs::read(dir.join("hello-linux-amd64")).unwrap();
    install(root.path(), "usr/share/doc/hello.bin", &bytes, 0o644);
    install(root.path(), "usr/bin/script", b"#!/bin/sh\nexit 0\n", 0o755);

    let document = sbom(root.path());
    let mut got = BTreeSet::new();
    for package in document["packages"].as_array().unwrap() {
        assert_eq!(package["kind"], "golang", "{package}");
        assert_eq!(package["installed"], true);
        let locations = package["locations"].as_array().unwrap();
        assert_eq!(locations.len(), 1);
        got.insert((
            package["name"].as_str().unwrap().to_owned(),
            package["version"].as_str().unwrap().to_owned(),
            locations[0]["path"].as_str().unwrap().to_owned(),
        ));
    }
    assert_eq!(got, expected);
    let problems = document["problems"].as_array().map_or(0, Vec::len);
    assert_eq!(problems, 0, "{}", document["problems"]);
}

//! The Composer cataloger over hand-written `composer.lock` and
//! `vendor/composer/installed.json` (Composer 2 and Composer 1 shapes),
//! against what Composer itself (`composer show`, `composer show --locked`)
//! lists from the same files.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use drydock_catalog::{Cataloger, Context, FileRef, Files, Found, builtin};
use drydock_core::{ImagePath, PackageKind};

fn composer_cataloger() -> Box<dyn Cataloger> {
    builtin()
        .into_iter()
        .find(|c| c.id() == "php-composer")
        .expect("the Composer cataloger is built in")
}

fn sources() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/php")
}

fn catalog(path: &str, bytes: &[u8]) -> Found {
    let files = Files::new(vec![FileRef {
        path: ImagePath::new(path).unwrap(),
        bytes,
        layer: None,
    }]);
    composer_cataloger().catalog(&files, &Context::default())
}

/// `composer show [--locked] --format=json` in a copy of `project`, with the
/// install paths Composer checks for created.
fn composer_show(project: &Path, locked: bool) -> BTreeSet<(String, String)> {
    let scratch = tempfile::tempdir().unwrap();
    let copy = |relative: &str| {
        let to = scratch.path().join(relative);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(project.join(relative), to).unwrap();
    };
    copy("composer.json");
    if locked {
        copy("composer.lock");
    } else {
        copy("vendor/composer/installed.json");
        let installed: serde_json::Value = serde_json::from_slice(
            &std::fs::read(project.join("vendor/composer/installed.json")).unwrap(),
        )
        .unwrap();
        let list = installed.get("packages").unwrap_or(&installed);
        for package in list.as_array().unwrap() {
            let name = package["name"].as_str().unwrap();
            std::fs::create_dir_all(scratch.path().join("vendor").join(name)).unwrap();
        }
    }
    let mut command = Command::new("composer");
    command
        .args(["show", "--no-interaction", "--format=json"])
        .current_dir(scratch.path())
        .env("COMPOSER_HOME", scratch.path().join(".composer"));
    if locked {
        command.arg("--locked");
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let key = if locked { "locked" } else { "installed" };
    json[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn names(found: &Found, installed: bool) -> BTreeSet<(String, String)> {
    assert_eq!(found.problems, vec![]);
    found
        .packages
        .iter()
        .map(|p| {
            assert_eq!(p.kind, PackageKind::Composer);
            assert_eq!(p.installed, installed);
            let (vendor, name) = p.name.split_once('/').unwrap();
            assert_eq!(
                p.purl.to_string(),
                format!("pkg:composer/{vendor}/{name}@{}", p.version)
            );
            (p.name.clone(), p.version.clone())
        })
        .collect()
}

#[test]
fn composer_files_match_composer_show() {
    if !drydock_test::require_tool("composer") {
        return;
    }
    for (project, files) in [
        (
            "project",
            &["composer.lock", "vendor/composer/installed.json"][..],
        ),
        ("legacy", &["vendor/composer/installed.json"][..]),
    ] {
        let project = sources().join(project);
        for file in files {
            let locked = *file == "composer.lock";
            let found = catalog(
                &format!("srv/app/{file}"),
                &std::fs::read(project.join(file)).unwrap(),
            );
            let expected = composer_show(&project, locked);
            assert!(!expected.is_empty());
            assert_eq!(
                names(&found, !locked),
                expected,
                "{}",
                project.join(file).display()
            );
        }
    }
}

#[test]
fn fields_beyond_name_and_version() {
    let project = sources().join("project");
    let found = catalog(
        "composer.lock",
        &std::fs::read(project.join("composer.lock")).unwrap(),
    );
    let symfony = found
        .packages
        .iter()
        .find(|p| p.name == "symfony/http-foundation")
        .unwrap();
    assert_eq!(symfony.licenses, ["MIT"]);
    assert_eq!(
        symfony.maintainer.as_deref(),
        Some("Fabien Potencier, Symfony Community")
    );
    assert_eq!(
        symfony.purl.to_string(),
        "pkg:composer/symfony/http-foundation@v5.4.21"
    );
    let log = found.packages.iter().find(|p| p.name == "psr/log").unwrap();
    assert_eq!(
        log.checksum.as_deref(),
        Some("sha1:d49695b909c3b7628b6289db5479a1c204601f11")
    );
}

#[test]
fn malformed_files_are_problems() {
    let cases: [(&str, &[u8], &str); 4] = [
        ("composer.lock", b"{", "not JSON"),
        ("composer.lock", b"[]", "not an object with `packages`"),
        (
            "vendor/composer/installed.json",
            b"{\"packages\": 3}",
            "a package list is not an array",
        ),
        (
            "composer.lock",
            b"{\"packages\": [{\"name\": \"a/b\"}]}",
            "package #1 has no string `name` and `version`",
        ),
    ];
    for (path, bytes, reason) in cases {
        let found = catalog(path, bytes);
        assert_eq!(found.packages, vec![]);
        assert_eq!(found.problems.len(), 1, "{path}");
        assert!(
            found.problems[0].reason.starts_with(reason),
            "{:?}",
            found.problems[0]
        );
    }
}

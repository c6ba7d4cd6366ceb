//! `drydock sbom` on JavaScript: a project npm installed from the registry
//! (express, axios, lodash, a scoped `@babel` package, nested duplicates),
//! compared with `npm ls --all` (paths and versions); the lock files npm,
//! pnpm, yarn v1 and yarn Berry wrote for the same package.json, compared
//! with each tool's own listing.
//!
//! The fixture is built by
//! `crates/drydock-catalog/tests/fixtures/javascript/build-node-project.sh`
//! into `.cache/fixtures/javascript-<script hash>/` (once; needs node, npm,
//! npx and the npm registry).

use std::collections::BTreeSet;
use std::fs::File;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

fn fixture() -> Option<PathBuf> {
    static FIXTURE: OnceLock<Option<PathBuf>> = OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            let script_path = drydock_test::workspace_root()
                .join("crates/drydock-catalog/tests/fixtures/javascript/build-node-project.sh");
            let script = std::fs::read(&script_path).expect("read build-node-project.sh");
            let key = &drydock_test::sha256_hex(&script)[..16];
            let cache = drydock_test::fixture_cache();
            let dir = cache.join(format!("javascript-{key}"));
            let marker = dir.join(".complete");
            if marker.exists() {
                return Some(dir);
            }
            std::fs::create_dir_all(&cache).expect("create fixture cache");
            let lock = File::create(cache.join("javascript.lock")).expect("create lock file");
            lock.lock().expect("lock the fixture cache");
            if !marker.exists() {
                if !drydock_test::require_tools(&["node", "npm", "npx", "bash"]) {
                    return None;
                }
                let staging = cache.join(format!("javascript-{key}.partial"));
                if staging.exists() {
                    std::fs::remove_dir_all(&staging).expect("remove stale fixture");
                }
                eprintln!("drydock-test: npm-installing the JavaScript fixture (once)");
                let status = Command::new("bash")
                    .arg(&script_path)
                    .arg(&staging)
                    .status()
                    .expect("run build-node-project.sh");
                assert!(status.success(), "build-node-project.sh failed ({status})");
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

/// The catalog of the whole fixture directory, once.
fn document() -> Option<(PathBuf, &'static Value)> {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    let dir = fixture()?;
    let document = DOCUMENT.get_or_init(|| sbom(&format!("dir:{}", dir.display())));
    Some((dir, document))
}

fn npm_packages(document: &Value) -> impl Iterator<Item = &Value> {
    document["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["kind"] == "npm")
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

fn location(package: &Value) -> String {
    text(&package["locations"][0]["path"])
}

/// (name, version) of the declared packages of one lock file.
fn declared(document: &Value, lock: &str) -> BTreeSet<(String, String)> {
    npm_packages(document)
        .filter(|p| location(p) == lock)
        .inspect(|p| assert_eq!(p["installed"], false, "{p}"))
        .map(|p| (text(&p["name"]), text(&p["version"])))
        .collect()
}

/// Every (name, version) of an `npm ls --json` / `pnpm ls --json` tree.
fn tree_pairs(dependencies: &Value, out: &mut BTreeSet<(String, String)>) {
    let Some(map) = dependencies.as_object() else {
        return;
    };
    for (key, node) in map {
        let name = node["name"]
            .as_str()
            .map_or_else(|| key.clone(), str::to_owned);
        out.insert((name, text(&node["version"])));
        tree_pairs(&node["dependencies"], out);
    }
}

/// The npm purl, computed here independently of drydock.
fn npm_purl(name: &str, version: &str) -> String {
    match name.strip_prefix('@') {
        Some(scoped) => format!("pkg:npm/%40{scoped}@{version}"),
        None => format!("pkg:npm/{name}@{version}"),
    }
}

#[test]
fn node_modules_match_npm_ls() {
    let Some((dir, document)) = document() else {
        return;
    };
    // `npm ls --parseable`: one line per installed package directory, the
    // project itself first.
    let parseable = std::fs::read_to_string(dir.join("npm-ls.txt")).expect("read npm-ls.txt");
    // The fixture was built in a staging directory: paths are taken from
    // their `/project/` component on.
    let expected_paths: BTreeSet<String> = parseable
        .lines()
        .filter_map(|line| {
            line.find("/project/")
                .map(|at| line.get(at..).unwrap_or_default())
        })
        .map(|relative| format!("{relative}/package.json"))
        .collect();
    let installed: Vec<&Value> = npm_packages(document)
        .filter(|p| p["installed"] == true)
        .collect();
    let reported_paths: BTreeSet<String> = installed.iter().map(|p| location(p)).collect();
    assert_eq!(
        installed.len(),
        reported_paths.len(),
        "one package per directory"
    );
    let missing: Vec<_> = expected_paths.difference(&reported_paths).collect();
    let extra: Vec<_> = reported_paths.difference(&expected_paths).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );
    assert!(
        expected_paths.len() >= 75,
        "{} packages",
        expected_paths.len()
    );

    // `npm ls --json`: names and versions.
    let tree: Value =
        serde_json::from_slice(&std::fs::read(dir.join("npm-ls.json")).expect("read npm-ls.json"))
            .expect("npm ls output is JSON");
    let mut expected = BTreeSet::new();
    tree_pairs(&tree["dependencies"], &mut expected);
    let reported: BTreeSet<(String, String)> = installed
        .iter()
        .map(|p| (text(&p["name"]), text(&p["version"])))
        .collect();
    assert_eq!(reported, expected);
    // Nested duplicates: the same name at two versions.
    assert!(reported.contains(&("ms".to_owned(), "2.0.0".to_owned())));
    assert!(reported.contains(&("ms".to_owned(), "2.1.1".to_owned())));
    for package in &installed {
        assert_eq!(
            text(&package["purl"]),
            npm_purl(&text(&package["name"]), &text(&package["version"]))
        );
    }
    let express = installed
        .iter()
        .find(|p| p["name"] == "express")
        .expect("express installed");
    assert_eq!(express["licenses"], serde_json::json!(["MIT"]));
    let problems = document["problems"].as_array().cloned().unwrap_or_default();
    assert!(problems.is_empty(), "problems: {problems:#?}");
}

#[test]
fn package_lock_declares_what_npm_installed() {
    let Some((dir, document)) = document() else {
        return;
    };
    let tree: Value =
        serde_json::from_slice(&std::fs::read(dir.join("npm-ls.json")).expect("read npm-ls.json"))
            .expect("npm ls output is JSON");
    let mut expected = BTreeSet::new();
    tree_pairs(&tree["dependencies"], &mut expected);
    assert_eq!(declared(document, "/project/package-lock.json"), expected);
    // Nested duplicates are separate entries of the lock file.
    let entries = npm_packages(document)
        .filter(|p| location(p) == "/project/package-lock.json")
        .count();
    let installed = npm_packages(document)
        .filter(|p| p["installed"] == true)
        .count();
    assert_eq!(entries, installed);
}

#[test]
fn pnpm_lock_matches_pnpm_ls() {
    let Some((dir, document)) = document() else {
        return;
    };
    let listing: Value = serde_json::from_slice(
        &std::fs::read(dir.join("pnpm-ls.json")).expect("read pnpm-ls.json"),
    )
    .expect("pnpm ls output is JSON");
    let mut expected = BTreeSet::new();
    tree_pairs(&listing[0]["dependencies"], &mut expected);
    assert!(expected.len() >= 75);
    assert_eq!(declared(document, "/pnpm/pnpm-lock.yaml"), expected);
}

/// Resolved `name@version` nodes of a `yarn list --json` tree (not the
/// dimmed `shadow` entries, which are ranges).
fn yarn_tree_pairs(nodes: &Value, out: &mut BTreeSet<(String, String)>) {
    for node in nodes.as_array().into_iter().flatten() {
        if node["shadow"] != true {
            let spec = text(&node["name"]);
            let at = spec.get(1..).and_then(|s| s.find('@')).map(|i| i + 1);
            if let Some(at) = at {
                out.insert((
                    spec.get(..at).unwrap_or_default().to_owned(),
                    spec.get(at + 1..).unwrap_or_default().to_owned(),
                ));
            }
        }
        yarn_tree_pairs(&node["children"], out);
    }
}

#[test]
fn yarn_v1_lock_matches_yarn_list() {
    let Some((dir, document)) = document() else {
        return;
    };
    let listing: Value = serde_json::from_slice(
        &std::fs::read(dir.join("yarn1-list.json")).expect("read yarn1-list.json"),
    )
    .expect("yarn list output is JSON");
    let mut expected = BTreeSet::new();
    yarn_tree_pairs(&listing["data"]["trees"], &mut expected);
    assert!(expected.len() >= 75);
    assert_eq!(declared(document, "/yarn1/yarn.lock"), expected);
}

#[test]
fn yarn_berry_lock_matches_yarn_info() {
    let Some((dir, document)) = document() else {
        return;
    };
    let listing = std::fs::read_to_string(dir.join("berry-info.txt")).expect("read berry-info.txt");
    let expected: BTreeSet<(String, String)> = listing
        .lines()
        .filter_map(|line| serde_json::from_str::<String>(line).ok())
        .filter_map(|locator| {
            let at = locator.get(1..)?.find('@')? + 1;
            let name = locator.get(..at)?.to_owned();
            let version = locator.get(at + 1..)?.strip_prefix("npm:")?.to_owned();
            Some((name, version))
        })
        .collect();
    assert!(expected.len() >= 75);
    assert_eq!(declared(document, "/berry/yarn.lock"), expected);
}

#[test]
fn lock_files_as_the_source() {
    let Some((dir, document)) = document() else {
        return;
    };
    for (lock, name) in [
        ("project/package-lock.json", "/package-lock.json"),
        ("pnpm/pnpm-lock.yaml", "/pnpm-lock.yaml"),
        ("yarn1/yarn.lock", "/yarn.lock"),
        ("berry/yarn.lock", "/yarn.lock"),
    ] {
        let alone = sbom(&dir.join(lock).display().to_string());
        assert_eq!(
            declared(&alone, name),
            declared(document, &format!("/{lock}")),
            "{lock} as the source"
        );
        assert!(npm_packages(&alone).all(|p| location(p) == name));
    }
}

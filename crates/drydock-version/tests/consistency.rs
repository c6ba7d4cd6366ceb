//! Schemes without a reference binary here, checked against data from
//! their own projects:
//!
//! - apk: apk-tools' own test vectors (`tests/vectors/apk-tools-version.data`)
//!   and every fixed version in Alpine's secdb (shared/data/alpine-secdb),
//!   which must all be valid apk versions;
//! - Cargo: RustSec's OSV export (shared/data/osv/crates.io), where each
//!   advisory carries both the `patched` / `unaffected` requirements and the
//!   SEMVER ranges RustSec derived from them with the `semver` crate: for
//!   every release version named anywhere in the database, "inside a range"
//!   must equal "matches no patched or unaffected requirement", and every
//!   release `fixed` version must match one of them.
use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use drydock_version::{Ecosystem, apk, compare, satisfies};

/// shared/data beside the repository; a loud skip locally, a failure in CI.
fn shared_data(name: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(name);
    if path.is_dir() {
        return Some(path);
    }
    assert!(
        !drydock_test::in_ci(),
        "{} is missing: the tests need shared/data beside the repository",
        path.display()
    );
    eprintln!("SKIPPED: needs {}", path.display());
    None
}

fn json_files(dir: &Path) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&path).unwrap();
                out.push(
                    serde_json::from_str(&text)
                        .unwrap_or_else(|e| panic!("{}: {e}", path.display())),
                );
            }
        }
    }
    out
}

#[test]
fn apk_agrees_with_apk_tools_test_vectors() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/apk-tools-version.data");
    let text = std::fs::read_to_string(path).unwrap();
    let mut checked = 0;
    let mut failures = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        checked += 1;
        let fields: Vec<&str> = line.split(' ').collect();
        match fields.as_slice() {
            [a, op, b] => {
                let expected = match *op {
                    "<" => Ordering::Less,
                    "=" => Ordering::Equal,
                    ">" => Ordering::Greater,
                    other => panic!("line {}: operator {other}", number + 1),
                };
                let got = apk::compare(a, b);
                if got != expected || apk::compare(b, a) != expected.reverse() {
                    failures.push(format!("line {}: {a} {op} {b}, got {got:?}", number + 1));
                }
            }
            [version] => {
                let (text, valid) = match version.strip_prefix('!') {
                    Some(invalid) => (invalid, false),
                    None => (*version, true),
                };
                if apk::is_valid(text) != valid {
                    failures.push(format!(
                        "line {}: `{text}` valid should be {valid}",
                        number + 1
                    ));
                }
            }
            _ => panic!("line {}: {line:?}", number + 1),
        }
    }
    eprintln!(
        "apk-tools-version.data: {checked} vectors, {} disagreements",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked > 200);
}

#[test]
fn alpine_secdb_fixed_versions_are_valid_apk_versions() {
    let Some(dir) = shared_data("alpine-secdb") else {
        return;
    };
    let mut versions = Vec::new();
    for db in json_files(&dir) {
        for package in db["packages"].as_array().into_iter().flatten() {
            let Some(fixes) = package["pkg"]["secfixes"].as_object() else {
                continue;
            };
            versions.extend(fixes.keys().filter(|v| *v != "0").cloned());
        }
    }
    assert!(versions.len() > 1_000, "{}", versions.len());
    // The secdb has a few typos (`0.12.5.-r0`, `2.7.16-33`, `10.2.22.r0`)
    // that apk-tools itself rejects; everything else must parse.
    let invalid: Vec<&String> = versions.iter().filter(|v| !apk::is_valid(v)).collect();
    eprintln!(
        "secdb: {} fixed versions, {} invalid: {invalid:?}",
        versions.len(),
        invalid.len()
    );
    assert!(
        invalid.len() * 100 < versions.len(),
        "too many invalid apk versions: {invalid:?}"
    );
    for typo in ["0.12.5.-r0", "2.7.16-33", "10.2.22.r0", "6.6.2p1-r0"] {
        assert!(!apk::is_valid(typo), "{typo}");
    }
    // And the order is a total preorder over them: sorting agrees with
    // every adjacent comparison.
    versions.sort_by(|a, b| apk::compare(a, b));
    for pair in versions.windows(2) {
        assert_ne!(
            apk::compare(&pair[0], &pair[1]),
            Ordering::Greater,
            "{pair:?}"
        );
    }
}

fn strings(value: &serde_json::Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

#[test]
fn cargo_requirements_agree_with_rustsec_ranges() {
    let Some(dir) = shared_data("osv/crates.io") else {
        return;
    };
    let advisories = json_files(&dir);
    // Every release version the database names.
    let mut universe = std::collections::BTreeSet::new();
    for advisory in &advisories {
        for affected in advisory["affected"].as_array().into_iter().flatten() {
            for range in affected["ranges"].as_array().into_iter().flatten() {
                for event in range["events"].as_array().into_iter().flatten() {
                    for value in event
                        .as_object()
                        .into_iter()
                        .flatten()
                        .filter_map(|(_, v)| v.as_str())
                    {
                        if compare(Ecosystem::CratesIo, value, value).is_ok()
                            && !value.contains('-')
                        {
                            universe.insert(value.to_owned());
                        }
                    }
                }
            }
        }
    }
    assert!(universe.len() > 300, "{}", universe.len());
    let mut checked = 0usize;
    let mut failures = Vec::new();
    for advisory in &advisories {
        let id = advisory["id"].as_str().unwrap_or("?");
        for affected in advisory["affected"].as_array().into_iter().flatten() {
            let versions = &affected["database_specific"]["rustsec_versions"];
            let patched = strings(&versions["patched"]);
            let unaffected = strings(&versions["unaffected"]);
            let requirements: Vec<&String> = patched.iter().chain(&unaffected).collect();
            let Some(ranges) = affected["ranges"].as_array() else {
                continue;
            };
            let mut events = Vec::new();
            for range in ranges.iter().filter(|r| r["type"] == "SEMVER") {
                for event in range["events"].as_array().into_iter().flatten() {
                    if let Some((kind, value)) = event.as_object().and_then(|o| o.iter().next()) {
                        events.push((kind.clone(), value.as_str().unwrap_or_default().to_owned()));
                    }
                }
            }
            // Every release `fixed` version is patched or unaffected (the
            // `-0` ones are bounds RustSec derived from `<=` requirements).
            for (kind, fixed) in &events {
                if kind == "fixed" && !fixed.contains('-') {
                    checked += 1;
                    let ok = requirements
                        .iter()
                        .any(|req| satisfies(Ecosystem::CratesIo, fixed, req) == Ok(true));
                    if !ok {
                        failures.push(format!(
                            "{id}: fixed {fixed} matches none of {requirements:?}"
                        ));
                    }
                }
            }
            for version in &universe {
                // Inside the OSV ranges: after an `introduced`, before the
                // next `fixed`.
                let mut inside = false;
                for (kind, value) in &events {
                    // OSV's `introduced: "0"` is below every version.
                    let order = if value == "0" {
                        Ordering::Greater
                    } else {
                        let Ok(order) = compare(Ecosystem::CratesIo, version, value) else {
                            failures.push(format!("{id}: event version `{value}` is not semver"));
                            continue;
                        };
                        order
                    };
                    match kind.as_str() {
                        "introduced" if order != Ordering::Less => inside = true,
                        "fixed" if order != Ordering::Less => inside = false,
                        _ => {}
                    }
                }
                let mut covered = false;
                for requirement in &requirements {
                    match satisfies(Ecosystem::CratesIo, version, requirement) {
                        Ok(true) => covered = true,
                        Ok(false) => {}
                        Err(err) => failures.push(format!("{id}: {err}")),
                    }
                }
                checked += 1;
                if inside == covered {
                    failures.push(format!(
                        "{id}: {version} inside ranges {events:?} = {inside}, but matches {requirements:?} = {covered}"
                    ));
                }
            }
        }
    }
    eprintln!(
        "RustSec: {checked} checks, {} disagreements",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

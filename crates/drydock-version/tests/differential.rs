//! Differential tests: every vector under `tests/vectors/` was produced by
//! the reference implementation named in its generator script beside it
//! (dpkg, rpm, Python `packaging`, node-semver, Maven's ComparableVersion,
//! RubyGems, Composer, Go's golang.org/x/mod). 100% agreement is required.
use std::cmp::Ordering;
use std::path::Path;

use drydock_version::{Ecosystem, compare, satisfies};

fn vectors(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn ordering(text: &str) -> Ordering {
    match text {
        "-1" => Ordering::Less,
        "0" => Ordering::Equal,
        "1" => Ordering::Greater,
        other => panic!("bad expected value {other:?}"),
    }
}

/// Checks `a<TAB>b<TAB>-1|0|1` lines (and `a<TAB>E` for invalid versions
/// when the scheme validates). Returns the number of lines checked.
fn check_compare(ecosystem: Ecosystem, file: &str) -> usize {
    let text = vectors(file);
    let mut checked = 0;
    let mut failures = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        checked += 1;
        match fields.as_slice() {
            [a, "E"] => {
                if let Ok(order) = compare(ecosystem, a, "1") {
                    failures.push(format!(
                        "{file}:{}: `{a}` accepted ({order:?}), reference rejects it",
                        number + 1
                    ));
                }
            }
            [a, b, "x"] => {
                // The reference leaves the pair unordered (two different
                // Composer `dev-` branches); any strict order will do.
                let got = compare(ecosystem, a, b);
                if !matches!(got, Ok(Ordering::Less | Ordering::Greater))
                    || compare(ecosystem, b, a) != got.clone().map(Ordering::reverse)
                {
                    failures.push(format!(
                        "{file}:{}: `{a}` vs `{b}`: got {got:?}, want a strict order",
                        number + 1
                    ));
                }
            }
            [a, b, expected] => {
                let expected = ordering(expected);
                let got = compare(ecosystem, a, b);
                if got != Ok(expected) {
                    failures.push(format!(
                        "{file}:{}: `{a}` vs `{b}`: got {got:?}, reference {expected:?}",
                        number + 1
                    ));
                }
                // Antisymmetry, checked on every pair.
                let reverse = compare(ecosystem, b, a);
                if reverse != Ok(expected.reverse()) {
                    failures.push(format!(
                        "{file}:{}: `{b}` vs `{a}` not antisymmetric: {reverse:?}",
                        number + 1
                    ));
                }
            }
            _ => panic!("{file}:{}: malformed line {line:?}", number + 1),
        }
    }
    report(file, checked, &failures);
    checked
}

/// Checks `version<TAB>requirement<TAB>true|false` lines, and
/// `requirement<TAB>E` for requirements the reference rejects.
fn check_satisfies(ecosystem: Ecosystem, file: &str) -> usize {
    let text = vectors(file);
    let mut checked = 0;
    let mut failures = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        checked += 1;
        match fields.as_slice() {
            [requirement, "E"] => {
                if let Ok(result) = satisfies(ecosystem, "1.0.0", requirement) {
                    failures.push(format!(
                        "{file}:{}: `{requirement}` accepted ({result}), reference rejects it",
                        number + 1
                    ));
                }
            }
            [version, requirement, expected] => {
                let expected = *expected == "true";
                let got = satisfies(ecosystem, version, requirement);
                if got != Ok(expected) {
                    failures.push(format!(
                        "{file}:{}: `{version}` in `{requirement}`: got {got:?}, reference {expected}",
                        number + 1
                    ));
                }
            }
            _ => panic!("{file}:{}: malformed line {line:?}", number + 1),
        }
    }
    report(file, checked, &failures);
    checked
}

fn report(file: &str, checked: usize, failures: &[String]) {
    eprintln!(
        "{file}: {checked} vectors, {} disagreements",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} vectors disagree with the reference:\n{}",
        failures.len(),
        failures
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(checked > 0, "{file} is empty");
}

#[test]
fn dpkg_agrees_with_dpkg_compare_versions() {
    let checked = check_compare(Ecosystem::Debian, "dpkg.tsv");
    assert!(checked > 20_000, "{checked}");
}

#[test]
fn pep440_agrees_with_packaging() {
    let checked = check_compare(Ecosystem::PyPI, "pep440.tsv");
    assert!(checked > 10_000, "{checked}");
}

#[test]
fn pep440_specifiers_agree_with_packaging() {
    let checked = check_satisfies(Ecosystem::PyPI, "pep440_specifiers.tsv");
    assert!(checked > 5_000, "{checked}");
}

#[test]
fn npm_agrees_with_node_semver() {
    let checked = check_compare(Ecosystem::Npm, "npm.tsv");
    assert!(checked > 3_000, "{checked}");
}

#[test]
fn npm_ranges_agree_with_node_semver() {
    let checked = check_satisfies(Ecosystem::Npm, "npm_ranges.tsv");
    assert!(checked > 5_000, "{checked}");
}

#[test]
fn rpm_agrees_with_rpm_vercmp() {
    let checked = check_compare(Ecosystem::RedHat, "rpm.tsv");
    assert!(checked > 10_000, "{checked}");
}

#[test]
fn maven_agrees_with_comparable_version() {
    let checked = check_compare(Ecosystem::Maven, "maven.tsv");
    assert!(checked > 5_000, "{checked}");
}

#[test]
fn rubygems_agrees_with_gem_version() {
    let checked = check_compare(Ecosystem::RubyGems, "rubygems.tsv");
    assert!(checked > 5_000, "{checked}");
}

#[test]
fn composer_agrees_with_composer_semver() {
    let checked = check_compare(Ecosystem::Packagist, "composer.tsv");
    assert!(checked > 5_000, "{checked}");
}

/// Go module versions, pseudo-versions included, against Debian's
/// golang.org/x/mod/semver (`gen_go.py`).
#[test]
fn go_agrees_with_x_mod_semver() {
    let checked = check_compare(Ecosystem::Go, "go.tsv");
    assert!(checked > 4_000, "{checked}");
}

//! Rust: the `binary-metadata` cataloger on a real cargo-auditable binary
//! and the `cargo-lock` cataloger on its Cargo.lock, against cargo's own
//! views (`cargo tree`, `cargo metadata`) and cargo-audit's findings.
#[path = "fixtures/rust/fixture.rs"]
mod fixture;

use std::collections::BTreeSet;
use std::io::Write;

use drydock_catalog::{Cataloger, Context, FileRef, Files, Found};
use drydock_core::{ImagePath, PackageKind};

fn cataloger(id: &str) -> Box<dyn Cataloger> {
    drydock_catalog::builtin()
        .into_iter()
        .find(|c| c.id() == id)
        .unwrap_or_else(|| panic!("{id} is built in"))
}

fn catalog(id: &str, path: &str, bytes: &[u8]) -> Found {
    let files = Files::new(vec![FileRef {
        path: ImagePath::new(path).unwrap(),
        bytes,
        layer: None,
    }]);
    cataloger(id).catalog(&files, &Context::default())
}

fn names(found: &Found) -> Vec<(String, String)> {
    let mut got: Vec<(String, String)> = found
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    got.sort();
    got
}

/// The binary's crates are exactly what a Linux build links: cargo-auditable
/// embeds the resolved graph for the target over normal and build edges
/// (dev-dependencies and other platforms' dependencies left out), which is
/// what `cargo tree -e normal,build --target x86_64-unknown-linux-gnu` lists.
/// The root crate is among them.
#[test]
fn cargo_auditable_binary_matches_cargo_tree() {
    let Some(dir) = fixture::rust_fixture() else {
        return;
    };
    let binary = std::fs::read(dir.join("app")).unwrap();
    let expected = fixture::cargo_tree(&dir);
    assert!(
        expected.iter().any(|(n, v)| n == "regex" && v == "1.5.4"),
        "{expected:?}"
    );
    assert!(
        expected.iter().any(|(n, _)| n == "autocfg"),
        "build dependency: {expected:?}"
    );

    let path = "usr/local/bin/app";
    let direct = catalog("binary-metadata", path, &binary);
    let reduced =
        cataloger("binary-metadata").reduce(&ImagePath::new(path).unwrap(), binary.clone());
    assert!(
        reduced.len() < 64 << 10,
        "reduced to {} bytes",
        reduced.len()
    );
    let via_reduce = catalog("binary-metadata", path, &reduced);
    for found in [&direct, &via_reduce] {
        assert!(found.problems.is_empty(), "{:?}", found.problems);
        assert_eq!(names(found), expected);
        for package in &found.packages {
            assert_eq!(package.kind, PackageKind::Cargo);
            assert!(package.installed);
            assert_eq!(
                package.purl.to_string(),
                format!("pkg:cargo/{}@{}", package.name, package.version)
            );
            assert_eq!(package.locations[0].path.to_string(), format!("/{path}"));
        }
    }

    // The lock file has more: the dev-dependency and Windows-only crates.
    let lock = fixture::cargo_metadata(&dir);
    let in_binary: BTreeSet<_> = expected.iter().collect();
    let extra: Vec<_> = lock.iter().filter(|p| !in_binary.contains(p)).collect();
    assert!(extra.iter().any(|(n, _)| n == "lazy_static"), "{extra:?}");
    assert!(extra.iter().any(|(n, _)| n == "winapi"), "{extra:?}");
}

/// Every package of the lock file, as cargo itself resolves it, declared.
#[test]
fn cargo_lock_matches_cargo_metadata() {
    let Some(dir) = fixture::rust_fixture() else {
        return;
    };
    let lock = std::fs::read(dir.join("Cargo.lock")).unwrap();
    let found = catalog("cargo-lock", "src/app/Cargo.lock", &lock);
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    assert_eq!(names(&found), fixture::cargo_metadata(&dir));
    assert!(found.packages.iter().all(|p| !p.installed));
}

/// The advisories cargo-audit finds for the binary and the lock file, kept
/// in the fixture for `drydock scan`'s test; each flagged crate is among
/// what drydock reports.
#[test]
fn everything_cargo_audit_flags_is_reported() {
    let Some(dir) = fixture::rust_fixture() else {
        return;
    };
    for (audit, file, id) in [
        ("audit-bin.json", "app", "binary-metadata"),
        ("audit-lock.json", "Cargo.lock", "cargo-lock"),
    ] {
        let flagged = fixture::audit(&dir, audit);
        let ids: BTreeSet<&str> = flagged.iter().map(|(id, _, _)| id.as_str()).collect();
        for known in [
            "RUSTSEC-2022-0013",
            "RUSTSEC-2021-0003",
            "RUSTSEC-2020-0159",
            "RUSTSEC-2020-0071",
        ] {
            assert!(ids.contains(known), "{audit}: {known} not in {ids:?}");
        }
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let reported = names(&catalog(id, file, &bytes));
        for (advisory, name, version) in &flagged {
            assert!(
                reported.contains(&(name.clone(), version.clone())),
                "{audit}: {advisory} flags {name} {version}, not reported"
            );
        }
        let mut out = std::fs::File::create(dir.join(format!("{audit}.ids"))).unwrap();
        for id in &ids {
            writeln!(out, "{id}").unwrap();
        }
        eprintln!("{audit}: {}", ids.into_iter().collect::<Vec<_>>().join(" "));
    }
}

#[test]
fn lock_files_of_every_version_are_read() {
    // Version 1: no version key, checksums in [metadata].
    let v1 = r#"[[package]]
name = "app"
version = "0.1.0"
dependencies = [
 "libc 0.2.40 (registry+https://github.com/rust-lang/crates.io-index)",
]

[[package]]
name = "libc"
version = "0.2.40"
source = "registry+https://github.com/rust-lang/crates.io-index"

[metadata]
"checksum libc 0.2.40 (registry+https://github.com/rust-lang/crates.io-index)" = "6fd41f331ac7c5b8ac259b8bf82c75c0fb2e469bbf37d2becbba9a6a2221965b"
"#;
    // Version 2 (no key either), 3 and 4 differ in encoding details only.
    let v2 = "[[package]]\nname = \"app\"\nversion = \"0.1.0\"\ndependencies = [\"libc\"]\n\n[[package]]\nname = \"libc\"\nversion = \"0.2.40\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"6fd41f331ac7c5b8ac259b8bf82c75c0fb2e469bbf37d2becbba9a6a2221965b\"\n";
    let v3 = format!("version = 3\n\n{v2}");
    let v4 = format!("# This file is automatically @generated by Cargo.\nversion = 4\n\n{v2}");
    for text in [v1, v2, &v3, &v4] {
        let found = catalog("cargo-lock", "Cargo.lock", text.as_bytes());
        assert!(found.problems.is_empty(), "{:?}", found.problems);
        assert_eq!(
            names(&found),
            [
                ("app".to_owned(), "0.1.0".to_owned()),
                ("libc".to_owned(), "0.2.40".to_owned())
            ]
        );
        assert_eq!(found.packages[1].purl.to_string(), "pkg:cargo/libc@0.2.40");
    }
}

#[test]
fn a_broken_lock_file_is_a_located_problem() {
    for text in ["[[package]]\nname = \"x\"\n", "[[package]\n", "\u{0}\u{ff}"] {
        let found = catalog("cargo-lock", "srv/Cargo.lock", text.as_bytes());
        assert!(found.packages.is_empty());
        assert_eq!(found.problems.len(), 1, "{text:?}");
        assert_eq!(found.problems[0].path.to_string(), "/srv/Cargo.lock");
    }
}

//! The apk cataloger over hand-written `lib/apk/db/installed` databases.
//!
//! The fixtures and their `files.tsv` references are written by
//! `tests/fixtures/apk/generate.sh`: the paths there are joined by the shell
//! and the digests computed by `sha1sum`/`sha256sum` before being encoded into
//! the database, so the file assertions compare against coreutils, not
//! against this crate's decoder.
use std::path::PathBuf;

use drydock_catalog::{Cataloger, Context, FileRef, Files, Found, builtin};
use drydock_core::{Distro, ImagePath, Layer, Location, OwnedFile, PackageKind, SourcePackage};

const DB: &str = "lib/apk/db/installed";

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/apk")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn path(p: &str) -> ImagePath {
    ImagePath::new(p).unwrap()
}

fn layer() -> Layer {
    Layer {
        index: 2,
        digest: None,
        diff_id: None,
    }
}

fn apk() -> Box<dyn Cataloger> {
    builtin()
        .into_iter()
        .find(|c| c.id() == "apk-db")
        .expect("the apk cataloger is built in")
}

fn catalog(bytes: &[u8], distro: Option<Distro>) -> Found {
    let files = Files::new(vec![FileRef {
        path: path(DB),
        bytes,
        layer: Some(layer()),
    }]);
    apk().catalog(&files, &Context { distro })
}

fn alpine() -> Distro {
    Distro {
        id: "alpine".to_owned(),
        version_id: "3.19.1".to_owned(),
        version_codename: None,
        pretty_name: Some("Alpine Linux v3.19".to_owned()),
        id_like: Vec::new(),
    }
}

fn wolfi() -> Distro {
    Distro {
        id: "wolfi".to_owned(),
        version_id: "20230201".to_owned(),
        version_codename: None,
        pretty_name: Some("Wolfi".to_owned()),
        id_like: Vec::new(),
    }
}

fn package<'f>(found: &'f Found, name: &str) -> &'f drydock_core::Package {
    found
        .packages
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no package {name}"))
}

#[test]
fn claims_the_installed_database() {
    let claims = apk().claims();
    assert_eq!(claims.paths, [DB]);
    assert!(claims.globs.is_empty());
}

#[test]
fn alpine_lists_every_stanza_in_file_order() {
    let found = catalog(&fixture("alpine-3.19/installed"), Some(alpine()));
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    let listed: Vec<(&str, &str)> = found
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("musl", "1.2.4_git20230717-r4"),
            ("busybox", "1.36.1-r15"),
            ("busybox-binsh", "1.36.1-r15"),
            ("alpine-baselayout", "3.4.3-r2"),
            ("alpine-keys", "2.4-r1"),
            ("libcrypto3", "3.1.4-r5"),
            ("libssl3", "3.1.4-r5"),
            ("ca-certificates-bundle", "20230506-r0"),
            ("zlib", "1.3.1-r0"),
            ("apk-tools", "2.14.0-r5"),
            ("scanelf", "1.3.7-r2"),
            ("musl-utils", "1.2.4_git20230717-r4"),
        ]
    );
    assert!(found.relationships.is_empty());
}

#[test]
fn musl_field_by_field() {
    let found = catalog(&fixture("alpine-3.19/installed"), Some(alpine()));
    let musl = package(&found, "musl");
    assert_eq!(musl.kind, PackageKind::Apk);
    assert_eq!(musl.version, "1.2.4_git20230717-r4");
    assert_eq!(musl.arch.as_deref(), Some("x86_64"));
    assert_eq!(
        musl.source,
        Some(SourcePackage {
            name: "musl".to_owned(),
            version: "1.2.4_git20230717-r4".to_owned(),
        })
    );
    assert_eq!(musl.licenses, ["MIT"]);
    assert_eq!(
        musl.maintainer.as_deref(),
        Some("Timo Teräs <timo.teras@iki.fi>")
    );
    assert_eq!(musl.installed_size, Some(663_552));
    assert_eq!(
        musl.checksum.as_deref(),
        Some("Q1h/iI+hJtjbMDW7UuUh8YRQcDsEE=")
    );
    assert!(musl.installed);
    assert_eq!(
        musl.locations,
        [Location {
            path: path(DB),
            layer: Some(layer()),
        }]
    );
    // The introducing layer is the dispatcher's to attribute.
    assert_eq!(musl.layer, None);
    // Digests as sha1sum printed them (see files.tsv).
    assert_eq!(
        musl.files,
        [
            OwnedFile {
                path: path("lib/ld-musl-x86_64.so.1"),
                digest: Some("sha1:1b9c9e95877e7a1a578dd1b5d2307fc615e61c73".to_owned()),
            },
            OwnedFile {
                path: path("lib/libc.musl-x86_64.so.1"),
                digest: Some("sha1:8674e78aaa01343a7de0d20de9444efcf58ffff6".to_owned()),
            },
        ]
    );
    assert_eq!(
        musl.purl.to_string(),
        "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1"
    );
}

#[test]
fn libcrypto3_field_by_field() {
    let found = catalog(&fixture("alpine-3.19/installed"), Some(alpine()));
    let libcrypto = package(&found, "libcrypto3");
    assert_eq!(libcrypto.version, "3.1.4-r5");
    assert_eq!(libcrypto.arch.as_deref(), Some("x86_64"));
    assert_eq!(
        libcrypto.source,
        Some(SourcePackage {
            name: "openssl".to_owned(),
            version: "3.1.4-r5".to_owned(),
        })
    );
    assert_eq!(libcrypto.licenses, ["Apache-2.0"]);
    assert_eq!(
        libcrypto.maintainer.as_deref(),
        Some("Ariadne Conill <ariadne@dereferenced.org>")
    );
    assert_eq!(libcrypto.installed_size, Some(4_677_632));
    assert!(
        libcrypto
            .checksum
            .as_deref()
            .is_some_and(|c| c.starts_with("Q1") && c.len() == 30)
    );
    let paths: Vec<String> = libcrypto.files.iter().map(|f| f.path.to_string()).collect();
    assert_eq!(
        paths,
        [
            "/etc/ssl/ct_log_list.cnf",
            "/etc/ssl/ct_log_list.cnf.dist",
            "/etc/ssl/openssl.cnf",
            "/etc/ssl/openssl.cnf.dist",
            "/lib/libcrypto.so.3",
            "/usr/lib/libcrypto.so.3",
            "/usr/lib/engines-3/afalg.so",
            "/usr/lib/engines-3/capi.so",
            "/usr/lib/engines-3/loader_attic.so",
            "/usr/lib/engines-3/padlock.so",
            "/usr/lib/ossl-modules/legacy.so",
        ]
    );
    assert_eq!(
        libcrypto.purl.to_string(),
        "pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64&distro=alpine-3.19.1"
    );
    // A licence expression is kept whole, not split.
    assert_eq!(
        package(&found, "musl-utils").licenses,
        ["MIT AND BSD-2-Clause AND GPL-2.0-or-later"]
    );
}

/// `files.tsv`: `package<TAB>path<TAB>digest`, in database order.
fn reference_files(name: &str) -> Vec<(String, String, String)> {
    String::from_utf8(fixture(name))
        .unwrap()
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 3, "{line}");
            (
                fields[0].to_owned(),
                format!("/{}", fields[1]),
                fields[2].to_owned(),
            )
        })
        .collect()
}

fn cataloged_files(found: &Found) -> Vec<(String, String, String)> {
    found
        .packages
        .iter()
        .flat_map(|p| {
            p.files.iter().map(|f| {
                (
                    p.name.clone(),
                    f.path.to_string(),
                    f.digest.clone().unwrap_or_default(),
                )
            })
        })
        .collect()
}

#[test]
fn alpine_files_and_digests_match_coreutils() {
    let found = catalog(&fixture("alpine-3.19/installed"), Some(alpine()));
    let expected = reference_files("alpine-3.19/files.tsv");
    assert_eq!(expected.len(), 40);
    assert_eq!(cataloged_files(&found), expected);
}

#[test]
fn wolfi_files_and_digests_match_coreutils_including_sha256() {
    let found = catalog(&fixture("wolfi/installed"), Some(wolfi()));
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    let expected = reference_files("wolfi/files.tsv");
    assert!(expected.iter().any(|(_, _, d)| d.starts_with("sha256:")));
    assert_eq!(cataloged_files(&found), expected);
}

#[test]
fn directories_are_not_files() {
    let found = catalog(&fixture("alpine-3.19/installed"), Some(alpine()));
    let baselayout = package(&found, "alpine-baselayout");
    let paths: Vec<String> = baselayout
        .files
        .iter()
        .map(|f| f.path.to_string())
        .collect();
    assert_eq!(
        paths,
        [
            "/etc/motd",
            "/etc/crontabs/root",
            "/etc/profile.d/20locale.sh",
            "/etc/profile.d/README",
            "/etc/profile.d/color_prompt.sh.disabled",
        ]
    );
}

#[test]
fn purls_name_the_distro() {
    let found = catalog(&fixture("alpine-3.19/installed"), Some(alpine()));
    let purls: Vec<String> = found.packages.iter().map(|p| p.purl.to_string()).collect();
    assert_eq!(
        purls,
        [
            "pkg:apk/alpine/musl@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1",
            "pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64&distro=alpine-3.19.1",
            "pkg:apk/alpine/busybox-binsh@1.36.1-r15?arch=x86_64&distro=alpine-3.19.1",
            "pkg:apk/alpine/alpine-baselayout@3.4.3-r2?arch=x86_64&distro=alpine-3.19.1",
            "pkg:apk/alpine/alpine-keys@2.4-r1?arch=x86_64&distro=alpine-3.19.1",
            "pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64&distro=alpine-3.19.1",
            "pkg:apk/alpine/libssl3@3.1.4-r5?arch=x86_64&distro=alpine-3.19.1",
            "pkg:apk/alpine/ca-certificates-bundle@20230506-r0?arch=x86_64&distro=alpine-3.19.1",
            "pkg:apk/alpine/zlib@1.3.1-r0?arch=x86_64&distro=alpine-3.19.1",
            "pkg:apk/alpine/apk-tools@2.14.0-r5?arch=x86_64&distro=alpine-3.19.1",
            "pkg:apk/alpine/scanelf@1.3.7-r2?arch=x86_64&distro=alpine-3.19.1",
            "pkg:apk/alpine/musl-utils@1.2.4_git20230717-r4?arch=x86_64&distro=alpine-3.19.1",
        ]
    );
}

#[test]
fn wolfi_purls_use_the_wolfi_namespace() {
    let found = catalog(&fixture("wolfi/installed"), Some(wolfi()));
    let purls: Vec<String> = found.packages.iter().map(|p| p.purl.to_string()).collect();
    assert_eq!(
        purls,
        [
            "pkg:apk/wolfi/wolfi-baselayout@20230201-r7?arch=x86_64&distro=wolfi-20230201",
            "pkg:apk/wolfi/glibc@2.39-r1?arch=x86_64&distro=wolfi-20230201",
            "pkg:apk/wolfi/ld-linux@2.39-r1?arch=x86_64&distro=wolfi-20230201",
            "pkg:apk/wolfi/libcrypto3@3.2.1-r3?arch=x86_64&distro=wolfi-20230201",
        ]
    );
    assert!(found.packages.iter().all(|p| p.maintainer.is_none()));
}

#[test]
fn unknown_distro_defaults_to_alpine_without_distro_qualifier() {
    let found = catalog(&fixture("alpine-3.19/installed"), None);
    assert_eq!(
        package(&found, "zlib").purl.to_string(),
        "pkg:apk/alpine/zlib@1.3.1-r0?arch=x86_64"
    );
}

#[test]
fn origin_groups_binaries_under_their_source() {
    let found = catalog(&fixture("alpine-3.19/installed"), Some(alpine()));
    let built_from = |origin: &str| -> Vec<&str> {
        found
            .packages
            .iter()
            .filter(|p| p.source.as_ref().is_some_and(|s| s.name == origin))
            .map(|p| p.name.as_str())
            .collect()
    };
    assert_eq!(built_from("openssl"), ["libcrypto3", "libssl3"]);
    assert_eq!(built_from("busybox"), ["busybox", "busybox-binsh"]);
    assert_eq!(built_from("musl"), ["musl", "musl-utils"]);
    assert_eq!(built_from("pax-utils"), ["scanelf"]);
    assert_eq!(built_from("ca-certificates"), ["ca-certificates-bundle"]);
    // The source version is the binary's version: apk records no other.
    for p in &found.packages {
        let source = p.source.as_ref().unwrap();
        assert_eq!(source.version, p.version);
    }
    let wolfi = catalog(&fixture("wolfi/installed"), Some(wolfi()));
    assert_eq!(
        wolfi
            .packages
            .iter()
            .filter(|p| p.source.as_ref().is_some_and(|s| s.name == "glibc"))
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>(),
        ["glibc", "ld-linux"]
    );
}

#[test]
fn malformed_stanzas_are_located_problems_and_the_rest_is_read() {
    let found = catalog(&fixture("malformed/installed"), Some(alpine()));
    let names: Vec<&str> = found.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["good-one", "after-garbage", "crlf"]);

    let good = package(&found, "good-one");
    assert_eq!(good.installed_size, None);
    assert_eq!(
        good.files,
        [OwnedFile {
            path: path("usr/bin/tool"),
            digest: None,
        }]
    );
    let after = package(&found, "after-garbage");
    assert_eq!(
        after.files,
        [OwnedFile {
            path: path("etc/ok"),
            digest: None,
        }]
    );
    // CR before LF is tolerated.
    let crlf = package(&found, "crlf");
    assert_eq!(crlf.version, "4.0-r1");
    assert_eq!(crlf.files[0].path, path("lib/libcrlf.so"));

    for problem in &found.problems {
        assert_eq!(problem.cataloger, "apk-db");
        assert_eq!(problem.path, path(DB));
        assert_eq!(problem.layer, Some(layer()));
    }
    let reasons: Vec<&str> = found.problems.iter().map(|p| p.reason.as_str()).collect();
    let expected: [(&str, &[&str]); 9] = [
        ("line 5:", &["`I:12x`", "not a number"]),
        ("line 8:", &["`Z:Q1notbase64!!`", "/usr/bin/tool"]),
        ("line 10:", &["without `P:` (name)"]),
        ("line 14:", &["`no-version`", "without `V:` (version)"]),
        ("line 18:", &["`garbage line without a colon`"]),
        ("line 21:", &["before any file"]),
        ("line 22:", &["`F:../etc`", "skipped"]),
        ("line 26:", &["`Z:Q1AAAA`", "/etc/ok"]),
        ("line 27:", &["`R:../../shadow`"]),
    ];
    assert_eq!(reasons.len(), expected.len(), "{reasons:#?}");
    for (reason, (prefix, parts)) in reasons.iter().zip(expected) {
        assert!(reason.starts_with(prefix), "{reason} should start {prefix}");
        for part in parts {
            assert!(reason.contains(part), "{reason} should mention {part}");
        }
    }
}

#[test]
fn a_stanza_without_name_and_version_names_both() {
    let found = catalog(b"A:x86_64\nT:nothing else\n", None);
    assert!(found.packages.is_empty());
    assert_eq!(found.problems.len(), 1);
    assert_eq!(
        found.problems[0].reason,
        "line 1: package stanza without `P:` (name) and `V:` (version); skipped"
    );
}

#[test]
fn files_before_any_directory_are_at_the_root_and_hex_checksums_decode() {
    let db = b"P:x\nV:1-r0\nR:top\nZ:da39a3ee5e6b4b0d3255bfef95601890afd80709\n";
    let found = catalog(db, None);
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    assert_eq!(
        found.packages[0].files,
        [OwnedFile {
            path: path("top"),
            // sha1 of the empty input, as `sha1sum </dev/null` prints it.
            digest: Some("sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709".to_owned()),
        }]
    );
}

#[test]
fn problems_are_capped_per_file() {
    let db = "not a field\n".repeat(250);
    let found = catalog(db.as_bytes(), None);
    assert_eq!(found.problems.len(), 101);
    assert_eq!(found.problems[100].reason, "150 more problems not shown");
}

#[test]
fn no_database_finds_nothing() {
    let files = Files::new(Vec::new());
    let found = apk().catalog(&files, &Context::default());
    assert!(found.packages.is_empty());
    assert!(found.problems.is_empty());
}

#[test]
fn every_truncation_parses_without_panicking() {
    let bytes = fixture("alpine-3.19/installed");
    let full = catalog(&bytes, None).packages.len();
    for end in (0..bytes.len()).step_by(13) {
        let found = catalog(&bytes[..end], None);
        assert!(found.packages.len() <= full);
    }
}

#[test]
fn problems_quote_at_most_a_prefix_of_long_values() {
    let mut db = b"P:x\nV:1-r0\nF:a/".to_vec();
    db.extend(std::iter::repeat_n(b'b', 10_000));
    db.extend_from_slice(b"/../../../..\nR:f\nF:ok\nR:nul\0byte\n");
    let found = catalog(&db, None);
    assert_eq!(found.packages.len(), 1);
    assert!(found.packages[0].files.is_empty());
    assert_eq!(found.problems.len(), 2, "{:?}", found.problems);
    assert!(found.problems.iter().all(|p| p.reason.len() < 200));
    assert!(
        found.problems[0]
            .reason
            .starts_with("line 3: directory `F:a/bbb")
    );
    assert!(found.problems[0].reason.contains("climbs out of the root"));
    assert!(found.problems[1].reason.starts_with("line 6: file `R:nul"));
    assert!(found.problems[1].reason.contains("NUL byte"));
}

//! The rpm cataloger against databases written by rpm itself.
//!
//! Fixtures (nothing here is written by the code under test):
//! - sqlite: built live. `rpmbuild` builds the packages of `tests/rpm/specs/`,
//!   `rpm --initdb` + `rpm -i --justdb` installs them into a fresh
//!   `rpmdb.sqlite` (Debian's rpm 4.18 writes sqlite by default).
//! - Berkeley DB: built live. Debian's rpm can only read Berkeley DB
//!   (`bdb_ro`), so the header blobs are exported from the sqlite database
//!   with Python's `sqlite3` module and loaded with Berkeley DB's own
//!   `db5.3_load -t hash` (package `db5.3-util`) as rpm < 4.16 stored them:
//!   key = the 4-byte header number in the database's byte order, plus the
//!   bookkeeping record under key 0. Two variants: little-endian with
//!   4096-byte pages, big-endian with 512-byte pages (every blob on overflow
//!   pages). The expected list comes from rpm reading that file with `bdb_ro`.
//! - ndb: checked in (`tests/rpm/ndb/`), made by `tests/rpm/make-ndb-fixture.sh`
//!   with an rpm built with `--enable-ndb` (Debian's is not), which also
//!   recorded what that rpm reports about it.
//!
//! Expected packages and files are what `rpm -qa --qf` and `rpm -ql` print.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use drydock_catalog::{Cataloger, Context, FileRef, Files, Found};
use drydock_core::{Distro, ImagePath, Layer, Package, PackageKind};

const HERE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/rpm");

// ---------------------------------------------------------------- tools

#[expect(
    clippy::disallowed_methods,
    reason = "the test harness's own PATH, not drydock configuration"
)]
fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
}

/// Whether the tests run under CI (`CI` set, not empty, `false` or `0`).
#[expect(
    clippy::disallowed_methods,
    reason = "the test harness's own CI flag, not drydock configuration"
)]
fn in_ci() -> bool {
    std::env::var_os("CI")
        .is_some_and(|value| !value.is_empty() && value != "false" && value != "0")
}

/// True when every tool is there. Otherwise a hard failure in CI and a loud
/// skip locally.
fn require(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|tool| !on_path(tool))
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        !in_ci(),
        "{test}: needs {} (Debian packages: rpm, db5.3-util, python3)",
        missing.join(", ")
    );
    eprintln!("SKIPPED: {test}: needs {}", missing.join(", "));
    false
}

fn run(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("{command:?}: {error}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

// ---------------------------------------------------------------- fixtures

/// The packages of `tests/rpm/specs/`, built with rpmbuild.
fn build_rpms(work: &Path) -> Vec<PathBuf> {
    let topdir = work.join("build");
    let mut specs: Vec<PathBuf> = std::fs::read_dir(Path::new(HERE).join("specs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    specs.sort();
    for spec in &specs {
        run(Command::new("rpmbuild")
            .arg("-bb")
            .arg("--quiet")
            .arg("--define")
            .arg(format!("_topdir {}", topdir.display()))
            .arg(spec));
    }
    let mut rpms = Vec::new();
    for arch in std::fs::read_dir(topdir.join("RPMS")).unwrap() {
        for rpm in std::fs::read_dir(arch.unwrap().path()).unwrap() {
            rpms.push(rpm.unwrap().path());
        }
    }
    rpms.sort();
    assert_eq!(rpms.len(), specs.len(), "one rpm per spec");
    rpms
}

fn rpm_command(dbpath: &Path, backend: &str) -> Command {
    let mut command = Command::new("rpm");
    command
        .arg("--dbpath")
        .arg(dbpath)
        .arg("--define")
        .arg(format!("_db_backend {backend}"));
    command
}

/// A fresh rpmdb of `backend` in `dbpath` with `rpms` installed (`--justdb`).
fn install(dbpath: &Path, backend: &str, rpms: &[PathBuf]) {
    std::fs::create_dir_all(dbpath).unwrap();
    run(rpm_command(dbpath, backend).arg("--initdb"));
    run(rpm_command(dbpath, backend)
        .args(["-i", "--justdb", "--nodeps"])
        .args(rpms));
}

/// A Berkeley DB hash `Packages` holding the header blobs of an rpmdb.sqlite.
fn make_bdb(sqlite: &Path, out_dir: &Path, big_endian: bool, page_size: u32) -> PathBuf {
    std::fs::create_dir_all(out_dir).unwrap();
    let dump = out_dir.join("packages.txt");
    // db_load -T reads "printable" pairs of lines (key, value); `\xx` is a
    // byte in hex.
    let export = r#"
import sqlite3, sys
source, order, out = sys.argv[1], sys.argv[2], sys.argv[3]
rows = sqlite3.connect(source).execute("SELECT hnum, blob FROM Packages ORDER BY hnum").fetchall()
hexed = lambda data: "".join("\\%02x" % b for b in data)
with open(out, "w") as f:
    # rpm < 4.16 kept the largest header number under key 0.
    f.write(hexed((0).to_bytes(4, order)) + "\n" + hexed(max(r[0] for r in rows).to_bytes(4, order)) + "\n")
    for hnum, blob in rows:
        f.write(hexed(hnum.to_bytes(4, order)) + "\n" + hexed(blob) + "\n")
"#;
    run(Command::new("python3")
        .args(["-c", export])
        .arg(sqlite)
        .arg(if big_endian { "big" } else { "little" })
        .arg(&dump));
    let packages = out_dir.join("Packages");
    run(Command::new("db5.3_load")
        .args(["-T", "-t", "hash", "-c"])
        .arg(format!(
            "db_lorder={}",
            if big_endian { 4321 } else { 1234 }
        ))
        .arg("-c")
        .arg(format!("db_pagesize={page_size}"))
        .arg("-f")
        .arg(&dump)
        .arg(&packages));
    std::fs::remove_file(dump).unwrap();
    packages
}

// ---------------------------------------------------------------- expectations

#[derive(Debug, Default, PartialEq, Eq)]
struct Expected {
    name: String,
    epoch: Option<String>,
    version: String,
    release: String,
    arch: String,
    source_rpm: String,
    license: String,
    size: u64,
    maintainer: Option<String>,
    /// Digest algorithm number; rpm assumes MD5 (1) when the tag is absent.
    digest_algorithm: u32,
    /// path → digest (`None` for directories and links).
    files: BTreeMap<String, Option<String>>,
}

fn none_to_option(value: &str) -> Option<String> {
    (value != "(none)").then(|| value.to_owned())
}

/// Parse the output of `rpm -qa --qf "$(cat packages.qf)"` and
/// `rpm -qa --qf "$(cat files.qf)"`.
fn parse_expected(packages: &str, files: &str) -> BTreeMap<String, Expected> {
    let mut expected = BTreeMap::new();
    for line in packages.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        let [
            name,
            epoch,
            version,
            release,
            arch,
            source_rpm,
            license,
            size,
            packager,
            vendor,
            algorithm,
        ] = fields[..]
        else {
            panic!("unexpected rpm output line {line:?}");
        };
        expected.insert(
            name.to_owned(),
            Expected {
                name: name.to_owned(),
                epoch: none_to_option(epoch),
                version: version.to_owned(),
                release: release.to_owned(),
                arch: arch.to_owned(),
                source_rpm: source_rpm.to_owned(),
                license: license.to_owned(),
                size: size.parse().unwrap(),
                maintainer: none_to_option(packager).or_else(|| none_to_option(vendor)),
                digest_algorithm: none_to_option(algorithm).map_or(1, |a| a.parse().unwrap()),
                files: BTreeMap::new(),
            },
        );
    }
    for line in files.lines() {
        let [name, path, digest] = line.split('\t').collect::<Vec<_>>()[..] else {
            panic!("unexpected rpm output line {line:?}");
        };
        let package = expected.get_mut(name).unwrap();
        let algorithm = match package.digest_algorithm {
            1 => "md5",
            2 => "sha1",
            8 => "sha256",
            10 => "sha512",
            other => panic!("add digest algorithm {other} to the test"),
        };
        let digest = (!digest.is_empty()).then(|| format!("{algorithm}:{digest}"));
        package.files.insert(path.to_owned(), digest);
    }
    expected
}

fn query_expected(dbpath: &Path, backend: &str) -> BTreeMap<String, Expected> {
    let qf = |name: &str| std::fs::read_to_string(Path::new(HERE).join(name)).unwrap();
    let packages = run(rpm_command(dbpath, backend).args(["-qa", "--qf", &qf("packages.qf")]));
    let files = run(rpm_command(dbpath, backend).args(["-qa", "--qf", &qf("files.qf")]));
    let expected = parse_expected(&packages, &files);
    // `rpm -qal` lists the same files. (Not `rpm -ql NAME`: that needs the
    // Name index, which a Berkeley DB made of `Packages` alone does not have.)
    let listed = run(rpm_command(dbpath, backend).args(["-qal"]));
    let mut listed: Vec<&str> = listed.lines().collect();
    listed.sort_unstable();
    let mut from_qf: Vec<&str> = expected
        .values()
        .flat_map(|package| package.files.keys().map(String::as_str))
        .collect();
    from_qf.sort_unstable();
    assert_eq!(listed, from_qf, "rpm -qal vs --qf");
    expected
}

// ---------------------------------------------------------------- the cataloger

fn rpm_cataloger() -> Box<dyn Cataloger> {
    drydock_catalog::builtin()
        .into_iter()
        .find(|cataloger| cataloger.id() == "rpm-db")
        .unwrap()
}

fn fedora() -> Context {
    Context {
        distro: Some(Distro {
            id: "fedora".to_owned(),
            version_id: "40".to_owned(),
            ..Distro::default()
        }),
    }
}

fn layer() -> Layer {
    Layer {
        index: 3,
        digest: None,
        diff_id: None,
    }
}

fn catalog(files: &[(&str, &[u8])], context: &Context) -> Found {
    let cataloger = rpm_cataloger();
    let claims = cataloger.claims();
    let files = files
        .iter()
        .map(|&(path, bytes)| {
            assert!(claims.paths.contains(&path), "{path} is not claimed");
            FileRef {
                path: ImagePath::new(path).unwrap(),
                bytes,
                layer: Some(layer()),
            }
        })
        .collect();
    cataloger.catalog(&Files::new(files), context)
}

/// Compare what the cataloger found with what rpm reported: nothing missing,
/// nothing extra, every field.
fn assert_matches(found: &Found, expected: &BTreeMap<String, Expected>, db_path: &str) {
    assert!(found.problems.is_empty(), "problems: {:#?}", found.problems);
    let names: Vec<&str> = found.packages.iter().map(|p| p.name.as_str()).collect();
    let unique: BTreeSet<&str> = names.iter().copied().collect();
    assert_eq!(
        names.len(),
        unique.len(),
        "a package reported twice: {names:?}"
    );
    assert_eq!(
        unique,
        expected.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        "package names"
    );
    for package in &found.packages {
        assert_package(package, &expected[&package.name], db_path);
    }
}

fn assert_package(package: &Package, expected: &Expected, db_path: &str) {
    let name = &expected.name;
    let evr = match &expected.epoch {
        Some(epoch) => format!("{epoch}:{}-{}", expected.version, expected.release),
        None => format!("{}-{}", expected.version, expected.release),
    };
    assert_eq!(package.version, evr, "{name}: version");
    assert_eq!(package.kind, PackageKind::Rpm);
    assert_eq!(
        package.arch.as_deref(),
        Some(expected.arch.as_str()),
        "{name}: arch"
    );
    let epoch = expected
        .epoch
        .as_ref()
        .map(|epoch| format!("&epoch={epoch}"))
        .unwrap_or_default();
    assert_eq!(
        package.purl.to_string(),
        format!(
            "pkg:rpm/fedora/{name}@{}-{}?arch={}&distro=fedora-40{epoch}",
            expected.version, expected.release, expected.arch
        ),
        "{name}: purl"
    );
    let source = package.source.as_ref().expect("a source package");
    assert_eq!(
        format!("{}-{}.src.rpm", source.name, source.version),
        expected.source_rpm,
        "{name}: source"
    );
    assert_eq!(
        source.version,
        format!("{}-{}", expected.version, expected.release),
        "{name}: source version"
    );
    assert_eq!(
        package.licenses,
        vec![expected.license.clone()],
        "{name}: license"
    );
    assert_eq!(package.installed_size, Some(expected.size), "{name}: size");
    assert_eq!(
        package.maintainer, expected.maintainer,
        "{name}: maintainer"
    );
    assert!(package.installed);
    assert_eq!(package.locations.len(), 1);
    assert_eq!(package.locations[0].path.to_string(), format!("/{db_path}"));
    assert_eq!(package.locations[0].layer, Some(layer()));
    let files: BTreeMap<String, Option<String>> = package
        .files
        .iter()
        .map(|file| (file.path.to_string(), file.digest.clone()))
        .collect();
    assert_eq!(files, expected.files, "{name}: files");
}

// ---------------------------------------------------------------- tests

#[test]
fn claims_every_database_location() {
    let claims = rpm_cataloger().claims();
    for dir in ["var/lib/rpm", "usr/lib/sysimage/rpm"] {
        for file in ["rpmdb.sqlite", "Packages.db", "Packages"] {
            let path = format!("{dir}/{file}");
            assert!(claims.paths.contains(&path.as_str()), "{path}");
        }
    }
    assert!(claims.max_bytes >= 256 << 20);
}

#[test]
fn sqlite_database_matches_rpm() {
    if !require("sqlite_database_matches_rpm", &["rpm", "rpmbuild"]) {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let rpms = build_rpms(work.path());
    let dbpath = work.path().join("db");
    install(&dbpath, "sqlite", &rpms);
    let expected = query_expected(&dbpath, "sqlite");
    assert_eq!(expected.len(), 3);
    assert!(
        expected["epoch-tool"].epoch.is_some(),
        "the fixture has an Epoch"
    );
    let bytes = std::fs::read(dbpath.join("rpmdb.sqlite")).unwrap();
    for path in [
        "var/lib/rpm/rpmdb.sqlite",
        "usr/lib/sysimage/rpm/rpmdb.sqlite",
    ] {
        let found = catalog(&[(path, &bytes)], &fedora());
        assert_matches(&found, &expected, path);
    }
}

#[test]
fn berkeley_db_databases_match_rpm() {
    if !require(
        "berkeley_db_databases_match_rpm",
        &["rpm", "rpmbuild", "python3", "db5.3_load"],
    ) {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let rpms = build_rpms(work.path());
    let sqlite = work.path().join("sqlite");
    install(&sqlite, "sqlite", &rpms);
    for (big_endian, page_size) in [(false, 4096), (true, 512)] {
        let dbpath = work.path().join(format!("bdb-{big_endian}-{page_size}"));
        let packages = make_bdb(&sqlite.join("rpmdb.sqlite"), &dbpath, big_endian, page_size);
        let bytes = std::fs::read(&packages).unwrap();
        let magic = if big_endian {
            [0, 6, 0x15, 0x61]
        } else {
            [0x61, 0x15, 6, 0]
        };
        assert_eq!(
            bytes[12..16],
            magic,
            "db_load wrote the byte order asked for"
        );
        // rpm's read-only Berkeley DB backend reads the file we made.
        let expected = query_expected(&dbpath, "bdb_ro");
        assert_eq!(expected.len(), 3);
        let path = "var/lib/rpm/Packages";
        let found = catalog(&[(path, &bytes)], &fedora());
        assert_matches(&found, &expected, path);
    }
}

#[test]
fn ndb_database_matches_rpm() {
    let dir = Path::new(HERE).join("ndb");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let expected = parse_expected(&read("packages.tsv"), &read("files.tsv"));
    assert_eq!(expected.len(), 3);
    let bytes = std::fs::read(dir.join("Packages.db")).unwrap();
    for path in [
        "var/lib/rpm/Packages.db",
        "usr/lib/sysimage/rpm/Packages.db",
    ] {
        let found = catalog(&[(path, &bytes)], &fedora());
        assert_matches(&found, &expected, path);
    }
}

#[test]
fn ndb_checksum_mismatch_is_a_problem() {
    let mut bytes = std::fs::read(Path::new(HERE).join("ndb/Packages.db")).unwrap();
    // The first blob starts right after the single slot page; flip a byte
    // inside its header blob.
    bytes[4096 + 100] ^= 0xff;
    let found = catalog(&[("var/lib/rpm/Packages.db", &bytes)], &fedora());
    assert_eq!(found.packages.len(), 2, "the other packages are still read");
    assert_eq!(found.problems.len(), 1, "{:#?}", found.problems);
    assert!(
        found.problems[0].reason.contains("adler32"),
        "{}",
        found.problems[0]
    );
}

#[test]
fn no_distro_means_no_namespace() {
    let bytes = std::fs::read(Path::new(HERE).join("ndb/Packages.db")).unwrap();
    let found = catalog(&[("var/lib/rpm/Packages.db", &bytes)], &Context::default());
    let hello = found.packages.iter().find(|p| p.name == "hello").unwrap();
    assert_eq!(hello.purl.to_string(), "pkg:rpm/hello@1.0-1?arch=noarch");
}

#[test]
fn sqlite_is_preferred_and_nothing_is_counted_twice() {
    if !require(
        "sqlite_is_preferred_and_nothing_is_counted_twice",
        &["rpm", "rpmbuild", "python3", "db5.3_load"],
    ) {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let rpms = build_rpms(work.path());
    // The leftover Berkeley DB holds only `hello`: a converted database.
    let sqlite = work.path().join("sqlite");
    install(&sqlite, "sqlite", &rpms);
    let old = work.path().join("old");
    let hello: Vec<PathBuf> = rpms
        .iter()
        .filter(|rpm| {
            rpm.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("hello-")
        })
        .cloned()
        .collect();
    install(&old, "sqlite", &hello);
    let bdb = std::fs::read(make_bdb(
        &old.join("rpmdb.sqlite"),
        &old.join("bdb"),
        false,
        4096,
    ))
    .unwrap();
    let sqlite_bytes = std::fs::read(sqlite.join("rpmdb.sqlite")).unwrap();
    let ndb = std::fs::read(Path::new(HERE).join("ndb/Packages.db")).unwrap();
    let expected = query_expected(&sqlite, "sqlite");

    let found = catalog(
        &[
            ("var/lib/rpm/Packages", &bdb),
            ("usr/lib/sysimage/rpm/Packages.db", &ndb),
            ("usr/lib/sysimage/rpm/rpmdb.sqlite", &sqlite_bytes),
            ("var/lib/rpm/rpmdb.sqlite", &sqlite_bytes),
        ],
        &fedora(),
    );
    assert_matches(&found, &expected, "usr/lib/sysimage/rpm/rpmdb.sqlite");

    // A corrupt sqlite database is reported, and the next database read.
    let found = catalog(
        &[
            ("var/lib/rpm/Packages", &bdb),
            (
                "var/lib/rpm/rpmdb.sqlite",
                b"SQLite format 3\0 but not really",
            ),
        ],
        &fedora(),
    );
    assert_eq!(found.problems.len(), 1, "{:#?}", found.problems);
    assert_eq!(
        found.problems[0].path.to_string(),
        "/var/lib/rpm/rpmdb.sqlite"
    );
    let names: Vec<&str> = found.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["hello"]);
    assert_eq!(
        found.packages[0].locations[0].path.to_string(),
        "/var/lib/rpm/Packages"
    );
}

#[test]
fn gpg_pubkey_pseudo_packages_are_skipped() {
    if !require(
        "gpg_pubkey_pseudo_packages_are_skipped",
        &["rpm", "rpmbuild", "gpg"],
    ) {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let rpms = build_rpms(work.path());
    let dbpath = work.path().join("db");
    install(&dbpath, "sqlite", &rpms);
    let home = work.path().join("gnupg");
    std::fs::create_dir(&home).unwrap();
    let gpg = |args: &[&str]| {
        run(Command::new("gpg")
            .arg("--homedir")
            .arg(&home)
            .args([
                "--batch",
                "--quiet",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
            ])
            .args(args))
    };
    gpg(&[
        "--quick-gen-key",
        "Drydock Test <test@example.org>",
        "rsa2048",
        "sign",
        "never",
    ]);
    let key = work.path().join("key.asc");
    std::fs::write(&key, gpg(&["--armor", "--export"])).unwrap();
    run(rpm_command(&dbpath, "sqlite").arg("--import").arg(&key));
    let names = run(rpm_command(&dbpath, "sqlite").args(["-qa", "--qf", "%{NAME}\n"]));
    assert!(
        names.lines().any(|n| n == "gpg-pubkey"),
        "rpm lists the key: {names}"
    );

    let bytes = std::fs::read(dbpath.join("rpmdb.sqlite")).unwrap();
    let found = catalog(&[("var/lib/rpm/rpmdb.sqlite", &bytes)], &fedora());
    assert!(found.problems.is_empty(), "{:#?}", found.problems);
    let mut found_names: Vec<&str> = found.packages.iter().map(|p| p.name.as_str()).collect();
    found_names.sort_unstable();
    let mut expected: Vec<&str> = names.lines().filter(|n| *n != "gpg-pubkey").collect();
    expected.sort_unstable();
    assert_eq!(found_names, expected);
}

// ---------------------------------------------------------------- hostile input

/// A real database cut at a few hundred points, and with random bytes
/// overwritten a few hundred times: never a panic, every problem names the
/// database, and a cut that loses packages says so.
fn assert_survives_damage(path: &str, bytes: &[u8], expected_packages: usize) {
    let step = (bytes.len() / 300).max(1);
    for cut in (0..bytes.len()).step_by(step) {
        let found = catalog(&[(path, &bytes[..cut])], &fedora());
        assert!(
            found.packages.len() == expected_packages || !found.problems.is_empty(),
            "{path} cut at {cut}: {} packages and no problem",
            found.packages.len()
        );
    }
    // xorshift64: deterministic, so a failure reproduces.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..300 {
        let mut damaged = bytes.to_vec();
        for _ in 0..=next() % 8 {
            let at = (next() % damaged.len() as u64) as usize;
            damaged[at] = next() as u8;
        }
        let found = catalog(&[(path, &damaged)], &fedora());
        assert!(
            found
                .problems
                .iter()
                .all(|p| p.path.to_string() == format!("/{path}"))
        );
    }
}

#[test]
fn garbage_is_a_problem_for_every_format() {
    let garbage: Vec<u8> = (0..10_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let cataloger = rpm_cataloger();
    for path in cataloger.claims().paths {
        for bytes in [&garbage[..], &[][..], &[0u8; 8192][..]] {
            let found = catalog(&[(path, bytes)], &fedora());
            assert!(found.packages.is_empty(), "{path}");
            assert_eq!(found.problems.len(), 1, "{path}: {:#?}", found.problems);
            assert_eq!(found.problems[0].cataloger, "rpm-db");
            assert_eq!(found.problems[0].path.to_string(), format!("/{path}"));
            assert_eq!(found.problems[0].layer, Some(layer()));
        }
    }
}

#[test]
fn damaged_ndb_database_never_panics() {
    let bytes = std::fs::read(Path::new(HERE).join("ndb/Packages.db")).unwrap();
    assert_survives_damage("var/lib/rpm/Packages.db", &bytes, 3);
}

#[test]
fn damaged_sqlite_and_berkeley_db_databases_never_panic() {
    if !require(
        "damaged_sqlite_and_berkeley_db_databases_never_panic",
        &["rpm", "rpmbuild", "python3", "db5.3_load"],
    ) {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let rpms = build_rpms(work.path());
    let sqlite = work.path().join("sqlite");
    install(&sqlite, "sqlite", &rpms);
    let sqlite_bytes = std::fs::read(sqlite.join("rpmdb.sqlite")).unwrap();
    assert_survives_damage("var/lib/rpm/rpmdb.sqlite", &sqlite_bytes, 3);
    for (big_endian, page_size) in [(false, 4096), (true, 512)] {
        let dir = work.path().join(format!("bdb-{big_endian}"));
        let bdb = std::fs::read(make_bdb(
            &sqlite.join("rpmdb.sqlite"),
            &dir,
            big_endian,
            page_size,
        ))
        .unwrap();
        assert_survives_damage("var/lib/rpm/Packages", &bdb, 3);
    }
}

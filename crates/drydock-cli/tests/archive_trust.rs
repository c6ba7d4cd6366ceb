//! Archive trust in `drydock build`: an InRelease signed by a throwaway
//! OpenPGP key (made here with Debian's `gpg`) whose `Valid-Until` has passed
//! or whose `Date` lies in the future is refused with one line naming the
//! suite, the field and both times, unless `--allow-stale-release` accepts it
//! with a warning. The archive is a real one in miniature: a `.deb` built by
//! `dpkg-deb`, a gzipped Packages index, a Release listing its SHA256,
//! cleartext-signed; served from an offline cache (no network). The clock is
//! `DRYDOCK_NOW`.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use drydock_test::require_tools;
use sha2::{Digest, Sha256};

const URL: &str = "http://archive.invalid/debian";
const SUITE: &str = "trust-test";
/// 2026-11-20T12:00:00Z: the Release's `Date` in every case below.
const DATE: i64 = 1_795_176_000;
const DAY: i64 = 86_400;

fn run(command: &mut Command) -> Output {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::new(), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// RFC 2822 as Debian writes it (`Fri, 20 Nov 2026 12:00:00 UTC`), by `date`.
fn rfc2822(seconds: i64) -> String {
    let output = run(Command::new("date")
        .env("LC_ALL", "C")
        .args(["-u", "-d"])
        .arg(format!("@{seconds}"))
        .arg("+%a, %d %b %Y %H:%M:%S UTC"));
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

/// A signing key, a one-package archive in an offline cache, and a spec.
struct Archive {
    dir: tempfile::TempDir,
}

impl Archive {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let gnupg = dir.path().join("gnupg");
        std::fs::create_dir(&gnupg).unwrap();
        std::fs::set_permissions(&gnupg, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        run(Self::gpg_in(&gnupg).args([
            "--passphrase",
            "",
            "--quick-gen-key",
            "drydock trust test <trust@example.invalid>",
            "ed25519",
            "sign",
            "never",
        ]));
        let keyring = run(Self::gpg_in(&gnupg).arg("--export")).stdout;
        assert!(!keyring.is_empty());
        std::fs::write(dir.path().join("keyring.gpg"), keyring).unwrap();

        // The package, built by dpkg-deb.
        let root = dir.path().join("pkg");
        std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
        std::fs::create_dir_all(root.join("usr/share/doc/hello-trust")).unwrap();
        std::fs::write(
            root.join("DEBIAN/control"),
            "Package: hello-trust\nVersion: 1.0\nArchitecture: all\nMaintainer: drydock <trust@example.invalid>\nDescription: archive trust test\n",
        )
        .unwrap();
        std::fs::write(root.join("usr/share/doc/hello-trust/README"), "hello\n").unwrap();
        let deb_path = dir.path().join("hello-trust_1.0_all.deb");
        run(Command::new("dpkg-deb")
            .args(["--root-owner-group", "-Zgzip", "--build"])
            .arg(&root)
            .arg(&deb_path));
        let deb = std::fs::read(&deb_path).unwrap();
        let cache = dir.path().join("cache");
        std::fs::create_dir_all(cache.join("debs")).unwrap();
        std::fs::write(cache.join(format!("debs/{}.deb", sha256(&deb))), &deb).unwrap();

        let packages = format!(
            "Package: hello-trust\nVersion: 1.0\nArchitecture: all\nMaintainer: drydock <trust@example.invalid>\nFilename: pool/main/h/hello-trust/hello-trust_1.0_all.deb\nSize: {}\nSHA256: {}\nDescription: archive trust test\n\n",
            deb.len(),
            sha256(&deb)
        );
        std::fs::write(dir.path().join("Packages"), packages).unwrap();
        let gzipped = run(Command::new("gzip")
            .args(["-n", "-c"])
            .arg(dir.path().join("Packages")))
        .stdout;
        std::fs::create_dir_all(cache.join("indices")).unwrap();
        std::fs::write(
            cache.join(format!("indices/{}.gz", sha256(&gzipped))),
            &gzipped,
        )
        .unwrap();
        std::fs::write(dir.path().join("Packages.gz"), gzipped).unwrap();

        std::fs::write(
            dir.path().join("spec.yaml"),
            format!(
                "name: test/trust\narchives: [{{url: {URL}, suites: [{SUITE}]}}]\nkeyring: {}\npackages: [hello-trust]\n",
                dir.path().join("keyring.gpg").display()
            ),
        )
        .unwrap();
        Self { dir }
    }

    fn gpg_in(home: &Path) -> Command {
        let mut command = Command::new("gpg");
        command.arg("--homedir").arg(home).args([
            "--batch",
            "--quiet",
            "--pinentry-mode",
            "loopback",
        ]);
        command
    }

    /// Sign a Release with these dates into the cache as the suite's InRelease.
    fn sign_release(&self, date: i64, valid_until: Option<i64>) {
        let gzipped = std::fs::read(self.dir.path().join("Packages.gz")).unwrap();
        let mut release = format!(
            "Origin: drydock\nLabel: drydock\nSuite: {SUITE}\nCodename: {SUITE}\nDate: {}\n",
            rfc2822(date)
        );
        if let Some(valid_until) = valid_until {
            let _ = writeln!(release, "Valid-Until: {}", rfc2822(valid_until));
        }
        let _ = writeln!(
            release,
            "Architectures: amd64 all\nComponents: main\nSHA256:\n {} {} main/binary-amd64/Packages.gz",
            sha256(&gzipped),
            gzipped.len()
        );
        let plain = self.dir.path().join("Release");
        std::fs::write(&plain, release).unwrap();
        let target = self
            .dir
            .path()
            .join("cache/dists/archive.invalid_debian")
            .join(SUITE);
        std::fs::create_dir_all(&target).unwrap();
        let _ = std::fs::remove_file(target.join("InRelease"));
        run(Self::gpg_in(&self.dir.path().join("gnupg"))
            .args(["--digest-algo", "SHA512", "--clearsign", "--output"])
            .arg(target.join("InRelease"))
            .arg(&plain));
    }

    fn layout(&self) -> PathBuf {
        self.dir.path().join("out.oci")
    }

    /// `drydock build --offline --update` at `now`.
    fn build(&self, now: i64, extra: &[&str]) -> Output {
        let _ = std::fs::remove_dir_all(self.layout());
        Command::new(env!("CARGO_BIN_EXE_drydock"))
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .env("DRYDOCK_NOW", now.to_string())
            .arg("build")
            .arg(self.dir.path().join("spec.yaml"))
            .arg("-o")
            .arg(format!("oci-dir:{}", self.layout().display()))
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(["--offline", "--update"])
            .args(extra)
            .output()
            .unwrap()
    }
}

fn assert_built(archive: &Archive, output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    assert!(archive.layout().join("index.json").is_file(), "{stderr}");
    let lock = std::fs::read_to_string(archive.dir.path().join("spec.lock")).unwrap();
    assert!(lock.contains("\"hello-trust\""), "{lock}");
    stderr
}

fn refusal(archive: &Archive, output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(!archive.layout().exists(), "a refused build left an image");
    stderr.lines().next().unwrap_or_default().to_owned()
}

fn assert_starts(line: &str, expected: &str) {
    assert!(
        line.starts_with(expected),
        "expected\n  {expected}\nat the start of\n  {line}"
    );
    assert!(
        line.contains("`--allow-stale-release` accepts it with a warning"),
        "{line}"
    );
}

fn prerequisites() -> bool {
    require_tools(&["gpg", "dpkg-deb", "gzip", "date"])
}

#[test]
fn fresh_release_builds() {
    if !prerequisites() {
        return;
    }
    let archive = Archive::new();
    archive.sign_release(DATE, Some(DATE + 7 * DAY));
    let stderr = assert_built(&archive, &archive.build(DATE + DAY, &[]));
    assert!(!stderr.contains("warning"), "{stderr}");
    // Valid-Until is inclusive; a Date up to the tolerated skew ahead is fine.
    assert_built(&archive, &archive.build(DATE + 7 * DAY, &[]));
    assert_built(&archive, &archive.build(DATE - 590, &[]));
    // No Valid-Until: never expires (Debian's main suites).
    archive.sign_release(DATE, None);
    assert_built(&archive, &archive.build(DATE + 900 * DAY, &[]));
}

#[test]
fn expired_release_is_refused_naming_suite_field_and_times() {
    if !prerequisites() {
        return;
    }
    let archive = Archive::new();
    archive.sign_release(DATE, Some(DATE + 7 * DAY));
    let now = DATE + 30 * DAY;
    let line = refusal(&archive, &archive.build(now, &[]));
    assert_starts(
        &line,
        &format!(
            "drydock: `{URL}/dists/{SUITE}/InRelease`: suite `{SUITE}` expired: `Valid-Until` is 2026-11-27T12:00:00Z, now is 2026-12-20T12:00:00Z (a replayed old index would freeze the build on old packages)"
        ),
    );
    // Accepted with a warning when asked.
    let stderr = assert_built(&archive, &archive.build(now, &["--allow-stale-release"]));
    assert!(
        stderr.contains("warning: `http://archive.invalid/debian/dists/trust-test/InRelease`: suite `trust-test` expired: `Valid-Until` is 2026-11-27T12:00:00Z"),
        "{stderr}"
    );
}

#[test]
fn future_dated_release_is_refused_beyond_the_clock_skew() {
    if !prerequisites() {
        return;
    }
    let archive = Archive::new();
    archive.sign_release(DATE, Some(DATE + 7 * DAY));
    let now = DATE - 3600;
    let line = refusal(&archive, &archive.build(now, &[]));
    assert_starts(
        &line,
        &format!(
            "drydock: `{URL}/dists/{SUITE}/InRelease`: suite `{SUITE}` is dated in the future: `Date` is 2026-11-20T12:00:00Z, now is 2026-11-20T11:00:00Z (more than 600 s of clock skew)"
        ),
    );
    let stderr = assert_built(&archive, &archive.build(now, &["--allow-stale-release"]));
    assert!(
        stderr.contains("warning: ") && stderr.contains("`Date` is 2026-11-20T12:00:00Z"),
        "{stderr}"
    );
}

#[test]
fn release_signed_by_another_key_is_refused_even_when_fresh() {
    if !prerequisites() {
        return;
    }
    let archive = Archive::new();
    let other = Archive::new();
    archive.sign_release(DATE, Some(DATE + 7 * DAY));
    // The other archive's key is not in the first spec's keyring.
    std::fs::copy(
        other.dir.path().join("keyring.gpg"),
        archive.dir.path().join("keyring.gpg"),
    )
    .unwrap();
    let line = refusal(&archive, &archive.build(DATE, &["--allow-stale-release"]));
    assert!(line.contains("InRelease signature check failed"), "{line}");
}

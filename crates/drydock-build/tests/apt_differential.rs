//! drydock's resolution against apt's own: for every package set below,
//! `drydock_build::resolve_only` (what `drydock build --update` locks) and
//! `apt-get install --simulate` must install the same packages at the same
//! versions.
//!
//! Both read the same bytes: the real Debian InRelease files and Packages
//! indices (bookworm, bookworm-updates, bookworm-security,
//! bookworm-backports), downloaded once from the archive apt is configured
//! with into `.cache/golden`, then copied into a private cache that drydock
//! reads offline and from which apt's lists directory is populated (apt runs
//! with a throwaway `Dir::` configuration, an empty dpkg status, no network).
//!
//! Intended differences, made explicit here rather than hidden:
//! - Recommends: drydock never installs them; apt runs with
//!   `APT::Install-Recommends=false`.
//! - `exclude` (the profiles leave out awk, debconf, dpkg, …): apt has no such
//!   notion; the excluded names are written into apt's dpkg status as
//!   installed (no dependencies, an epoch-99 version), which is exactly
//!   "a relation naming an excluded package counts as satisfied". They are
//!   then absent from both sides.
//! - A request apt refuses (conflicting packages) must fail in drydock too.
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use drydock_build::BuildSettings;
use drydock_build::release::{Keyring, Release};
use drydock_test::{debian_mirrors, missing, require_tools, workspace_root};

const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";
const DEBIAN: &str = "http://deb.debian.org/debian";
const SECURITY: &str = "http://deb.debian.org/debian-security";
/// `(archive, suite)` of every suite a case may use.
const SUITES: [(&str, &str); 4] = [
    (DEBIAN, "bookworm"),
    (DEBIAN, "bookworm-updates"),
    (SECURITY, "bookworm-security"),
    (DEBIAN, "bookworm-backports"),
];

/// One package set: a spec (YAML after `archives` and `keyring`), and
/// whether bookworm-backports is among its suites.
struct Case {
    name: &'static str,
    spec: String,
    backports: bool,
    /// apt's preferences file for the spec's `pins`.
    preferences: &'static str,
    /// apt's `-t` for the spec's `target_release`.
    target_release: Option<&'static str>,
}

fn case(name: &'static str, yaml: &str) -> Case {
    Case {
        name,
        spec: yaml.to_owned(),
        backports: false,
        preferences: "",
        target_release: None,
    }
}

fn packages(name: &'static str, list: &[&str]) -> Case {
    case(name, &format!("packages: [{}]\n", list.join(", ")))
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    // The examples, as written (their archives and keyring included).
    for example in ["static.yaml", "python3.yaml", "service.yaml"] {
        let text = std::fs::read_to_string(workspace_root().join("examples/golden").join(example))
            .unwrap();
        cases.push(Case {
            name: example,
            spec: text,
            backports: false,
            preferences: "",
            target_release: None,
        });
    }
    // Every profile.
    for profile in ["static", "base", "cc", "python3"] {
        cases.push(case(profile, &format!("profile: {profile}\n")));
    }
    cases.extend([
        packages("curl", &["curl"]),
        packages("openssh-client", &["openssh-client"]),
        packages("git", &["git"]),
        packages("perl", &["perl"]),
        packages("python3-requests", &["python3-requests"]),
        packages("libxml2+libxslt", &["libxml2", "libxslt1.1"]),
        packages("nginx", &["nginx"]),
        packages("postgresql-client", &["postgresql-client-15"]),
        packages("vim-tiny+less", &["vim-tiny", "less"]),
        packages("jq", &["jq"]),
        packages("sqlite3+wget", &["sqlite3", "wget"]),
        packages("gnupg", &["gnupg"]),
        packages("iproute2+procps", &["iproute2", "procps"]),
        packages("rsync", &["rsync"]),
        // default-mta | mail-transport-agent: a virtual package with providers.
        packages("bsd-mailx", &["bsd-mailx"]),
        packages("default-jre-headless", &["default-jre-headless"]),
        // Conflicts through a virtual package: both refuse.
        packages("exim4+postfix", &["exim4-daemon-light", "postfix"]),
        // cc + a package, with the profile's excludes.
        case("cc+libzstd1", "profile: cc\npackages: [libzstd1, zlib1g]\n"),
    ]);
    // bookworm-backports (NotAutomatic + ButAutomaticUpgrades: priority 100).
    let mut backports = |name, yaml: &str, target_release, preferences| {
        cases.push(Case {
            name,
            spec: yaml.to_owned(),
            backports: true,
            preferences,
            target_release,
        });
    };
    // curl is newer in backports, but bookworm's wins by default.
    backports("backports-not-by-default", "packages: [curl]\n", None, "");
    // A package only in backports still installs (100 > nothing).
    backports("backports-only", "packages: [golang-1.23-go]\n", None, "");
    // apt -t bookworm-backports: 990 wins.
    backports(
        "backports-target-release",
        "packages: [curl]\ntarget_release: bookworm-backports\n",
        Some("bookworm-backports"),
        "",
    );
    // Pins: security updates forbidden, backports raised to 500.
    backports(
        "pins",
        "packages: [curl, libssl3]\npins:\n  - {package: '*', release: bookworm-security, priority: -1}\n  - {package: curl, release: bookworm-backports, priority: 600}\n  - {package: libcurl4, release: bookworm-backports, priority: 600}\n",
        None,
        "Package: *\nPin: release n=bookworm-security\nPin-Priority: -1\n\nPackage: curl\nPin: release n=bookworm-backports\nPin-Priority: 600\n\nPackage: libcurl4\nPin: release n=bookworm-backports\nPin-Priority: 600\n",
    );
    cases
}

fn spec_text(case: &Case) -> String {
    if case.spec.contains("archives:") {
        return case.spec.clone();
    }
    let debian = if case.backports {
        "[bookworm, bookworm-updates, bookworm-backports]"
    } else {
        "[bookworm, bookworm-updates]"
    };
    format!(
        "name: test/{}\narchives:\n  - {{url: {DEBIAN}, suites: {debian}}}\n  - {{url: {SECURITY}, suites: [bookworm-security]}}\nkeyring: {KEYRING}\n{}",
        case.name.replace('+', "-"),
        case.spec
    )
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0))
}

fn settings(spec: PathBuf, cache: &Path, offline: bool) -> BuildSettings {
    BuildSettings {
        spec,
        lock: None,
        cache_dir: cache.to_owned(),
        offline,
        update: true,
        mirrors: debian_mirrors(),
        source_date_epoch: 0,
        created: "1970-01-01T00:00:00Z".into(),
        now: now(),
        allow_stale_release: false,
    }
}

fn url_key(url: &str) -> String {
    drydock_build::url_key(url)
}

/// Download every suite into the shared cache (one online resolution), then
/// copy the InRelease files and the indices they list into `private`.
fn private_cache(dir: &Path) -> PathBuf {
    let shared = workspace_root().join(".cache/golden");
    let prime = dir.join("prime.yaml");
    std::fs::write(
        &prime,
        format!(
            "name: prime\narchives:\n  - {{url: {DEBIAN}, suites: [bookworm, bookworm-updates, bookworm-backports]}}\n  - {{url: {SECURITY}, suites: [bookworm-security]}}\nkeyring: {KEYRING}\n"
        ),
    )
    .unwrap();
    drydock_build::resolve_only(&settings(prime, &shared, false))
        .unwrap_or_else(|e| panic!("downloading the indices: {}", error_chain(&e)));
    let private = dir.join("cache");
    let keyring = Keyring::parse(&std::fs::read(KEYRING).unwrap()).unwrap();
    for (archive, suite) in SUITES {
        let relative = format!("dists/{}/{suite}/InRelease", url_key(archive));
        let bytes = std::fs::read(shared.join(&relative)).unwrap();
        std::fs::create_dir_all(private.join(&relative).parent().unwrap()).unwrap();
        std::fs::write(private.join(&relative), &bytes).unwrap();
        let signed = keyring
            .verify_cleartext(&String::from_utf8_lossy(&bytes))
            .unwrap();
        let release = Release::parse(&signed).unwrap();
        let (sha256, _) = &release.sha256["main/binary-amd64/Packages.xz"];
        let index = format!("indices/{sha256}.xz");
        std::fs::create_dir_all(private.join("indices")).unwrap();
        std::fs::copy(shared.join(&index), private.join(&index)).unwrap();
    }
    private
}

/// apt's lists from the private cache: each suite's InRelease and its
/// Packages index, decompressed by `xz`.
fn apt_root(dir: &Path, cache: &Path) -> PathBuf {
    let root = dir.join("apt");
    for sub in [
        "etc/apt/apt.conf.d",
        "etc/apt/preferences.d",
        "etc/apt/sources.list.d",
        "etc/apt/trusted.gpg.d",
        "var/lib/apt/lists/partial",
        "var/cache/apt/archives/partial",
        "var/lib/dpkg",
    ] {
        std::fs::create_dir_all(root.join(sub)).unwrap();
    }
    for (archive, suite) in SUITES {
        let key = format!(
            "{}_dists_{suite}",
            archive.trim_start_matches("http://").replace('/', "_")
        );
        let in_release = cache.join(format!("dists/{}/{suite}/InRelease", url_key(archive)));
        std::fs::copy(
            &in_release,
            root.join(format!("var/lib/apt/lists/{key}_InRelease")),
        )
        .unwrap();
        let text = std::fs::read_to_string(&in_release).unwrap();
        let sha256 = text
            .lines()
            .filter(|l| l.ends_with(" main/binary-amd64/Packages.xz"))
            .map(|l| l.split_whitespace().next().unwrap())
            .find(|h| h.len() == 64)
            .unwrap();
        let packages = Command::new("xz")
            .arg("-dc")
            .arg(cache.join(format!("indices/{sha256}.xz")))
            .output()
            .unwrap();
        assert!(packages.status.success());
        std::fs::write(
            root.join(format!(
                "var/lib/apt/lists/{key}_main_binary-amd64_Packages"
            )),
            packages.stdout,
        )
        .unwrap();
    }
    root
}

/// `apt-get install --simulate`: `Ok(name version)` set, or apt's error.
fn apt_resolve(
    root: &Path,
    dir: &Path,
    case: &Case,
    spec: &drydock_build::Spec,
) -> Result<BTreeSet<String>, String> {
    let sources = dir.join("sources.list");
    let mut list = format!(
        "deb [trusted=yes] {DEBIAN} bookworm main\ndeb [trusted=yes] {DEBIAN} bookworm-updates main\ndeb [trusted=yes] {SECURITY} bookworm-security main\n"
    );
    if case.backports {
        let _ = writeln!(list, "deb [trusted=yes] {DEBIAN} bookworm-backports main");
    }
    std::fs::write(&sources, list).unwrap();
    // Excluded names: installed, without dependencies.
    let mut status = String::new();
    for name in spec.excludes() {
        let _ = write!(
            status,
            "Package: {name}\nStatus: install ok installed\nPriority: optional\nSection: misc\nInstalled-Size: 1\nMaintainer: drydock <test@example.invalid>\nArchitecture: amd64\nVersion: 99:0\nDescription: excluded by the drydock spec\n\n"
        );
    }
    let status_path = dir.join("status");
    std::fs::write(&status_path, status).unwrap();
    let preferences = dir.join("preferences");
    std::fs::write(&preferences, case.preferences).unwrap();
    let option = |name: &str, value: &Path| format!("{name}={}", value.display());
    let mut command = Command::new("apt-get");
    command
        .env("LC_ALL", "C")
        .args(["-o", &option("Dir", root)])
        .args(["-o", &option("Dir::State::status", &status_path)])
        .args(["-o", &option("Dir::Etc::sourcelist", &sources)])
        .args(["-o", &option("Dir::Etc::preferences", &preferences)])
        .args(["-o", "Dir::Etc::sourceparts=-"])
        .args(["-o", "Dir::Cache::pkgcache="])
        .args(["-o", "Dir::Cache::srcpkgcache="])
        .args(["-o", "APT::Architecture=amd64"])
        .args(["-o", "APT::Architectures=amd64"])
        .args(["-o", "APT::Install-Recommends=false"])
        .args(["-o", "APT::Install-Suggests=false"])
        .args(["-o", "Debug::NoLocking=1"])
        .args(["--simulate", "--quiet"]);
    if let Some(target) = case.target_release {
        command.args(["-t", target]);
    }
    command.arg("install").args(spec.roots());
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    // `Inst NAME (VERSION ARCHIVE [ARCH])`
    Ok(stdout
        .lines()
        .filter_map(|line| line.strip_prefix("Inst "))
        .map(|rest| {
            let mut words = rest.split_whitespace();
            let name = words.next().unwrap();
            let version = words.next().unwrap().trim_start_matches('(');
            format!("{name} {version}")
        })
        .collect())
}

/// What the backports cases are about, so that agreement is not vacuous.
fn check_expectation(case: &str, resolved: &BTreeSet<String>) {
    let version = |name: &str| {
        resolved
            .iter()
            .find_map(|p| p.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{case}: no `{name}` in {resolved:?}"))
            .to_owned()
    };
    match case {
        "backports-not-by-default" => assert!(!version("curl").contains("bpo"), "{case}"),
        "backports-only" => assert!(version("golang-1.23-go").contains("bpo"), "{case}"),
        "backports-target-release" => assert!(version("curl").contains("bpo"), "{case}"),
        "pins" => {
            assert!(version("curl").contains("bpo"), "{case}");
        }
        "bsd-mailx" => {
            assert!(
                resolved
                    .iter()
                    .any(|p| p.starts_with("exim4-daemon-light "))
            );
        }
        _ => {}
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}

#[test]
fn drydock_resolves_as_apt_get_install_simulate() {
    if !require_tools(&["apt-get", "xz"]) {
        return;
    }
    if !Path::new(KEYRING).is_file() {
        missing("debian-archive-keyring");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = private_cache(dir.path());
    let root = apt_root(dir.path(), &cache);
    let cases = cases();
    assert!(cases.len() >= 20);
    let mut report = String::new();
    let mut compared = 0;
    for case in &cases {
        let case_dir = dir.path().join(case.name);
        std::fs::create_dir_all(&case_dir).unwrap();
        let spec_path = case_dir.join("spec.yaml");
        std::fs::write(&spec_path, spec_text(case)).unwrap();
        let spec = drydock_build::Spec::parse(&spec_text(case)).unwrap();
        // apt runs beside drydock (two processes, two cores).
        let (drydock, apt) = std::thread::scope(|scope| {
            let apt = scope.spawn(|| apt_resolve(&root, &case_dir, case, &spec));
            let drydock = drydock_build::resolve_only(&settings(spec_path, &cache, true))
                .map(|resolution| {
                    assert!(resolution.warnings.is_empty(), "{:?}", resolution.warnings);
                    resolution
                        .packages
                        .iter()
                        .map(|p| format!("{} {}", p.name, p.version))
                        .collect::<BTreeSet<_>>()
                })
                .map_err(|e| error_chain(&e));
            (drydock, apt.join().unwrap())
        });
        match (&drydock, &apt) {
            (Ok(ours), Ok(theirs)) if ours == theirs => {
                assert!(!ours.is_empty(), "{}: nothing resolved", case.name);
                check_expectation(case.name, ours);
                eprintln!(
                    "{}: apt and drydock agree on {} packages",
                    case.name,
                    ours.len()
                );
                compared += 1;
            }
            (Err(ours), Err(_)) => {
                assert_eq!(case.name, "exim4+postfix", "both refused: {ours}");
                assert!(ours.contains("cannot both be installed"), "{ours}");
                eprintln!("{}: apt and drydock both refuse: {ours}", case.name);
                compared += 1;
            }
            (Ok(ours), Ok(theirs)) => {
                let _ = writeln!(
                    report,
                    "{}: only drydock: {:?}; only apt: {:?}",
                    case.name,
                    ours.difference(theirs).collect::<Vec<_>>(),
                    theirs.difference(ours).collect::<Vec<_>>()
                );
            }
            (ours, theirs) => {
                let _ = writeln!(
                    report,
                    "{}: drydock {:?}\n    apt {:?}",
                    case.name,
                    ours.as_ref().map(BTreeSet::len),
                    theirs.as_ref().map(BTreeSet::len).map_err(|e| e
                        .lines()
                        .filter(|l| l.starts_with(' ') || l.starts_with("E:"))
                        .collect::<Vec<_>>()
                        .join(" / "))
                );
            }
        }
    }
    assert!(report.is_empty(), "drydock and apt differ:\n{report}");
    assert_eq!(compared, cases.len());
}

//! Distro identification over real os-release files and the legacy release
//! files. Expected values are what each distribution's os-release says.
use std::path::PathBuf;

use drydock_catalog::{FileRef, Files, detect_distro};
use drydock_core::{Distro, ImagePath};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/os-release")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn detect(files: &[(&str, &[u8])]) -> Option<Distro> {
    let files = Files::new(
        files
            .iter()
            .map(|(path, bytes)| FileRef {
                path: ImagePath::new(path).unwrap(),
                bytes,
                layer: None,
            })
            .collect(),
    );
    detect_distro(&files)
}

fn os_release(name: &str) -> Distro {
    let bytes = fixture(name);
    detect(&[("etc/os-release", &bytes)]).expect("a distro")
}

fn distro(
    id: &str,
    version_id: &str,
    codename: Option<&str>,
    pretty_name: Option<&str>,
    id_like: &[&str],
) -> Distro {
    Distro {
        id: id.to_owned(),
        version_id: version_id.to_owned(),
        version_codename: codename.map(str::to_owned),
        pretty_name: pretty_name.map(str::to_owned),
        id_like: id_like.iter().map(|&s| s.to_owned()).collect(),
    }
}

#[test]
fn debian_12() {
    assert_eq!(
        os_release("debian-12"),
        distro(
            "debian",
            "12",
            Some("bookworm"),
            Some("Debian GNU/Linux 12 (bookworm)"),
            &[]
        )
    );
}

#[test]
fn ubuntu_22_04() {
    assert_eq!(
        os_release("ubuntu-22.04"),
        distro(
            "ubuntu",
            "22.04",
            Some("jammy"),
            Some("Ubuntu 22.04.4 LTS"),
            &["debian"]
        )
    );
}

#[test]
fn alpine_3_19() {
    let alpine = os_release("alpine-3.19");
    assert_eq!(
        alpine,
        distro("alpine", "3.19.1", None, Some("Alpine Linux v3.19"), &[])
    );
    assert_eq!(alpine.purl_qualifier(), "alpine-3.19.1");
}

#[test]
fn fedora_39_with_an_empty_codename() {
    assert_eq!(
        os_release("fedora-39"),
        distro(
            "fedora",
            "39",
            None,
            Some("Fedora Linux 39 (Container Image)"),
            &[]
        )
    );
}

#[test]
fn ubi_9() {
    assert_eq!(
        os_release("ubi-9"),
        distro(
            "rhel",
            "9.3",
            None,
            Some("Red Hat Enterprise Linux 9.3 (Plow)"),
            &["fedora"]
        )
    );
}

#[test]
fn amazon_linux_2() {
    assert_eq!(
        os_release("amazonlinux-2"),
        distro(
            "amzn",
            "2",
            None,
            Some("Amazon Linux 2"),
            &["centos", "rhel", "fedora"]
        )
    );
}

#[test]
fn wolfi() {
    let wolfi = os_release("wolfi");
    assert_eq!(wolfi, distro("wolfi", "20230201", None, Some("Wolfi"), &[]));
    assert_eq!(wolfi.purl_qualifier(), "wolfi-20230201");
}

#[test]
fn distroless_takes_its_codename_from_debian_version() {
    let bytes = fixture("distroless-static-debian12");
    assert_eq!(
        detect(&[("etc/os-release", &bytes)]),
        Some(distro("debian", "12", None, Some("Distroless"), &[]))
    );
    assert_eq!(
        detect(&[
            ("etc/os-release", &bytes),
            ("etc/debian_version", b"12.5\n")
        ]),
        Some(distro(
            "debian",
            "12",
            Some("bookworm"),
            Some("Distroless"),
            &[]
        ))
    );
}

#[test]
fn debian_testing_has_no_version_id() {
    let bytes = fixture("debian-trixie-sid");
    let expected = distro(
        "debian",
        "",
        Some("trixie"),
        Some("Debian GNU/Linux trixie/sid"),
        &[],
    );
    assert_eq!(
        detect(&[("etc/os-release", &bytes)]),
        Some(expected.clone())
    );
    assert_eq!(
        detect(&[
            ("etc/os-release", &bytes),
            ("etc/debian_version", b"trixie/sid\n")
        ]),
        Some(expected.clone())
    );
    assert_eq!(expected.purl_qualifier(), "debian");
}

#[test]
fn debian_without_version_id_or_codename_is_filled_from_debian_version() {
    assert_eq!(
        detect(&[
            ("usr/lib/os-release", b"ID=debian\n"),
            ("etc/debian_version", b"bookworm/sid\n")
        ]),
        Some(distro("debian", "", Some("bookworm"), None, &[]))
    );
    assert_eq!(
        detect(&[
            ("usr/lib/os-release", b"ID=debian\n"),
            ("etc/debian_version", b"11.9\n")
        ]),
        Some(distro("debian", "11", Some("bullseye"), None, &[]))
    );
}

#[test]
fn derivatives_are_not_filled_from_debian_version() {
    let bytes = fixture("ubuntu-22.04");
    let found = detect(&[
        ("etc/os-release", &bytes),
        ("etc/debian_version", b"bookworm/sid\n"),
    ])
    .unwrap();
    assert_eq!(found.version_codename.as_deref(), Some("jammy"));
    assert_eq!(found.version_id, "22.04");
}

#[test]
fn etc_os_release_wins_over_usr_lib() {
    let debian = fixture("debian-12");
    let alpine = fixture("alpine-3.19");
    assert_eq!(
        detect(&[("etc/os-release", &alpine), ("usr/lib/os-release", &debian)])
            .unwrap()
            .id,
        "alpine"
    );
    assert_eq!(
        detect(&[("usr/lib/os-release", &debian)]).unwrap().id,
        "debian"
    );
}

#[test]
fn os_release_wins_over_legacy_files() {
    let ubuntu = fixture("ubuntu-22.04");
    assert_eq!(
        detect(&[
            ("etc/os-release", &ubuntu),
            ("etc/debian_version", b"bookworm/sid\n"),
            ("etc/alpine-release", b"3.19.1\n"),
        ])
        .unwrap()
        .id,
        "ubuntu"
    );
}

#[test]
fn debian_version_alone() {
    assert_eq!(
        detect(&[("etc/debian_version", b"12.5\n")]),
        Some(distro(
            "debian",
            "12",
            Some("bookworm"),
            Some("Debian GNU/Linux 12 (bookworm)"),
            &[]
        ))
    );
    assert_eq!(
        detect(&[("etc/debian_version", b"bookworm/sid\n")]),
        Some(distro(
            "debian",
            "",
            Some("bookworm"),
            Some("Debian GNU/Linux bookworm/sid"),
            &[]
        ))
    );
    assert_eq!(
        detect(&[("etc/debian_version", b"9.13\n")])
            .unwrap()
            .version_codename
            .as_deref(),
        Some("stretch")
    );
    assert_eq!(detect(&[("etc/debian_version", b"\n")]), None);
}

#[test]
fn alpine_release_alone() {
    assert_eq!(
        detect(&[("etc/alpine-release", b"3.19.1\n")]),
        Some(distro(
            "alpine",
            "3.19.1",
            None,
            Some("Alpine Linux v3.19"),
            &[]
        ))
    );
    assert_eq!(
        detect(&[("etc/alpine-release", b"3.20_alpha20240315\n")])
            .unwrap()
            .pretty_name
            .as_deref(),
        Some("Alpine Linux edge")
    );
}

#[test]
fn redhat_release_alone() {
    // (redhat-release line, ID, VERSION_ID as that release's os-release has it)
    let cases = [
        ("CentOS Linux release 7.9.2009 (Core)", "centos", "7"),
        ("CentOS Linux release 8.5.2111", "centos", "8"),
        ("CentOS Stream release 9", "centos", "9"),
        (
            "Red Hat Enterprise Linux Server release 7.9 (Maipo)",
            "rhel",
            "7.9",
        ),
        (
            "Red Hat Enterprise Linux release 8.9 (Ootpa)",
            "rhel",
            "8.9",
        ),
        ("Fedora release 39 (Thirty Nine)", "fedora", "39"),
        ("Rocky Linux release 8.9 (Green Obsidian)", "rocky", "8.9"),
        (
            "AlmaLinux release 9.3 (Shamrock Pampas Cat)",
            "almalinux",
            "9.3",
        ),
        ("Amazon Linux release 2 (Karoo)", "amzn", "2"),
        (
            "Amazon Linux release 2023.3.20240219 (Amazon Linux)",
            "amzn",
            "2023",
        ),
        ("Amazon Linux AMI release 2018.03", "amzn", "2018.03"),
    ];
    for (line, id, version_id) in cases {
        let content = format!("{line}\n");
        let found = detect(&[("etc/redhat-release", content.as_bytes())])
            .unwrap_or_else(|| panic!("{line}: not identified"));
        assert_eq!(
            (found.id.as_str(), found.version_id.as_str()),
            (id, version_id),
            "{line}"
        );
        assert_eq!(found.pretty_name.as_deref(), Some(line));
        assert_eq!(found.version_codename, None);
    }
    let rocky = detect(&[(
        "etc/redhat-release",
        b"Rocky Linux release 8.9 (Green Obsidian)\n",
    )])
    .unwrap();
    assert_eq!(rocky.id_like, ["rhel", "centos", "fedora"]);
    assert_eq!(
        detect(&[("etc/redhat-release", b"Some Other Linux release 1.0\n")]),
        None
    );
    assert_eq!(detect(&[("etc/redhat-release", b"garbage")]), None);
}

#[test]
fn os_release_without_id() {
    assert_eq!(
        detect(&[("etc/os-release", b"NAME=\"Something\"\n")]),
        Some(distro("linux", "", None, None, &[]))
    );
    assert_eq!(
        detect(&[
            ("etc/os-release", b"NAME=\"Something\"\n"),
            ("etc/alpine-release", b"3.18.6\n")
        ])
        .unwrap()
        .id,
        "alpine"
    );
}

#[test]
fn nothing_to_go_on() {
    assert_eq!(detect(&[]), None);
    assert_eq!(detect(&[("etc/hostname", b"box\n")]), None);
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

/// Every fixture is shell-sourceable; what `sh` assigns is the reference for
/// our unquoting. Empty values are absent in [`Distro`].
#[test]
fn fixtures_agree_with_sh() {
    let has_sh = std::process::Command::new("sh")
        .arg("-c")
        .arg("true")
        .status()
        .is_ok_and(|s| s.success());
    if !has_sh {
        assert!(!in_ci(), "test needs `sh`: install it (see .ci/run)");
        eprintln!("==================== SKIPPED: needs sh ====================");
        return;
    }
    let names = [
        "alpine-3.19",
        "amazonlinux-2",
        "debian-12",
        "debian-trixie-sid",
        "distroless-static-debian12",
        "fedora-39",
        "shell-quoting",
        "ubi-9",
        "ubuntu-22.04",
        "wolfi",
    ];
    for name in names {
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/os-release")
            .join(name);
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(
                r#"set -a; . "$1"; printf '%s\0' "$ID" "$VERSION_ID" "$VERSION_CODENAME" "$PRETTY_NAME" "$ID_LIKE""#,
            )
            .arg("sh")
            .arg(&file)
            .output()
            .unwrap();
        assert!(output.status.success(), "{name}: {output:?}");
        let values: Vec<String> = output
            .stdout
            .split(|&b| b == 0)
            .map(|v| String::from_utf8(v.to_vec()).unwrap())
            .collect();
        let optional = |v: &String| (!v.is_empty()).then(|| v.clone());
        let expected = Distro {
            id: values[0].clone(),
            version_id: values[1].clone(),
            version_codename: optional(&values[2]),
            pretty_name: optional(&values[3]),
            id_like: values[4].split_whitespace().map(str::to_owned).collect(),
        };
        let bytes = fixture(name);
        // usr/lib so that no debian_version filling applies either way.
        assert_eq!(
            detect(&[("usr/lib/os-release", &bytes)]),
            Some(expected),
            "{name}"
        );
    }
}

#[test]
fn shell_quoting_fixture_spelled_out() {
    assert_eq!(
        os_release("shell-quoting"),
        distro(
            "my\"distro\\",
            "1.0 beta",
            Some("bare word"),
            Some("Quoted $HOME `tick` back\\slash 'single' #not-a-comment"),
            &["a", "bc"]
        )
    );
}

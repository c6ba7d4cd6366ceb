//! `drydock vercmp`: the real binary on a few pairs per ecosystem. The
//! expected values are the references' answers recorded in
//! crates/drydock-version/tests/vectors (dpkg, rpm, node-semver, Python
//! `packaging`, Maven, RubyGems, Composer) or the specs' own examples.
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn vercmp(ecosystem: &str, input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_drydock"))
        .args(["vercmp", ecosystem])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn drydock");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait for drydock")
}

#[test]
fn compares_pairs_in_every_ecosystem() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "Debian",
            "1.0~rc1\t1.0\n1:0.1\t2.0\n1.0-1+b1\t1.0-1\n1.0\t1.0-0\n",
            "-1\n1\n1\n0\n",
        ),
        ("Ubuntu:22.04", "2.0ubuntu1\t2.0\n", "1\n"),
        (
            "Alpine",
            "1.2.3_rc1\t1.2.3\n1.2.3-r1\t1.2.3_p1\n1.2.3\t1.2.3-r0\n",
            "-1\n-1\n-1\n",
        ),
        (
            "Red Hat",
            "1.0~rc1\t1.0\n1.0^git1\t1.0.1\n1:1.0-1.el9\t2.0-1.el9\n",
            "-1\n-1\n1\n",
        ),
        (
            "npm",
            "1.0.0-alpha\t1.0.0-alpha.1\nv1.2.3\t1.2.3\n1.0.0-beta.11\t1.0.0-beta.2\n",
            "-1\n0\n1\n",
        ),
        (
            "crates.io",
            "1.0.0-rc.1\t1.0.0\n1.0.0+a\t1.0.0+b\n",
            "-1\n0\n",
        ),
        (
            "Go",
            "v0.0.0-20191109021931-daa7c04131f5\tv0.0.1\nv2.0.0+incompatible\tv2.0.0\n",
            "-1\n0\n",
        ),
        (
            "PyPI",
            "1.0.dev1\t1.0a1\n1.0-1\t1.0.post1\n1.0+local\t1.0\n",
            "-1\n0\n1\n",
        ),
        (
            "Maven",
            "1.0-alpha-1\t1.0\n1.0-SNAPSHOT\t1.0-rc1\n1.0.RELEASE\t1\n",
            "-1\n1\n0\n",
        ),
        ("RubyGems", "1.0.a.2\t1.0.b1\n1.0.0\t1\n", "-1\n0\n"),
        ("NuGet", "1.0.0-Beta\t1.0.0-beta\n1.0\t1.0.0.1\n", "0\n-1\n"),
        (
            "Packagist",
            "1.0-RC1\t1.0\n1.0-pl1\t1.0\nv1.0.0\t1.0\n",
            "-1\n1\n0\n",
        ),
    ];
    for (ecosystem, input, expected) in cases {
        let output = vercmp(ecosystem, input);
        assert!(
            output.status.success(),
            "{ecosystem}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            *expected,
            "{ecosystem}"
        );
    }
}

#[test]
fn invalid_version_names_the_line() {
    let output = vercmp("PyPI", "1.0\t2.0\n1.0\tnot a version\n");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 2"), "{stderr}");
    assert!(stderr.contains("not a version"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn malformed_line_names_the_line() {
    let output = vercmp("Debian", "1.0\t2.0\n1.0 2.0\n");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 2"), "{stderr}");
}

#[test]
fn unknown_ecosystem_lists_the_known_ones() {
    let output = vercmp("Hex", "");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown ecosystem `Hex`"), "{stderr}");
    assert!(
        stderr.contains("crates.io") && stderr.contains("PyPI"),
        "{stderr}"
    );
}

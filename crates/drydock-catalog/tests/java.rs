//! The Java archive cataloger over real jars from Debian's `lib*-java`
//! packages and archives built from them with the JDK's `jar` tool
//! (`tests/fixtures/java/make-jars.sh`), against the list that
//! `tests/fixtures/java/expected.py` computes with `unzip` and `sha1sum`;
//! and over hostile archives (zip bombs, deep nesting, truncation, lying
//! central directories) written by Python's `zipfile` or patched by hand.
use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use drydock_catalog::{Cataloger, Context, FileRef, Files, Found, builtin};
use drydock_core::ImagePath;

fn java() -> Box<dyn Cataloger> {
    builtin()
        .into_iter()
        .find(|c| c.id() == "java-archive")
        .expect("the Java cataloger is built in")
}

fn fixture_sources() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/java")
}

/// The fixture directory (with `root/`, `app/` and `expected.json`), built
/// once per machine into the fixture cache under a file lock.
fn fixture() -> Option<PathBuf> {
    static FIXTURE: OnceLock<Option<PathBuf>> = OnceLock::new();
    FIXTURE.get_or_init(build_fixture).clone()
}

fn build_fixture() -> Option<PathBuf> {
    if !drydock_test::require_tools(&["apt-get", "dpkg", "jar", "unzip", "sha1sum", "python3"]) {
        return None;
    }
    let sources = fixture_sources();
    let mut key_input = std::fs::read(sources.join("make-jars.sh")).unwrap();
    key_input.extend(std::fs::read(sources.join("expected.py")).unwrap());
    let key = &drydock_test::sha256_hex(&key_input)[..16];
    let cache = drydock_test::fixture_cache();
    let dir = cache.join(format!("java-{key}"));
    if !dir.join("expected.json").exists() {
        std::fs::create_dir_all(&cache).unwrap();
        let lock = File::create(cache.join("java.lock")).unwrap();
        lock.lock().unwrap();
        if !dir.join("expected.json").exists() {
            let staging = cache.join(format!("java-{key}.partial"));
            let _ = std::fs::remove_dir_all(&staging);
            let status = Command::new("bash")
                .arg(sources.join("make-jars.sh"))
                .arg(staging.join("tree"))
                .arg(cache.join("downloads-java"))
                .status()
                .unwrap();
            assert!(status.success(), "make-jars.sh failed: {status}");
            let expected = Command::new("python3")
                .arg(sources.join("expected.py"))
                .arg(staging.join("tree"))
                .output()
                .unwrap();
            assert!(
                expected.status.success(),
                "expected.py failed: {}",
                String::from_utf8_lossy(&expected.stderr)
            );
            std::fs::write(staging.join("expected.json"), expected.stdout).unwrap();
            std::fs::rename(&staging, &dir).unwrap();
        }
    }
    Some(dir)
}

/// One package as compared: name, version, purl, checksum, sorted locations.
type Row = (String, String, String, Option<String>, Vec<String>);

fn rows(found: &Found) -> BTreeSet<Row> {
    found
        .packages
        .iter()
        .map(|p| {
            assert!(p.installed, "{} is installed", p.name);
            let mut locations: Vec<String> =
                p.locations.iter().map(|l| l.path.to_display()).collect();
            locations.sort();
            (
                p.name.clone(),
                p.version.clone(),
                p.purl.to_string(),
                p.checksum.clone(),
                locations,
            )
        })
        .collect()
}

fn expected_rows(dir: &Path) -> BTreeSet<Row> {
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let text = |k: &str| p[k].as_str().unwrap().to_owned();
            (
                text("name"),
                text("version"),
                text("purl"),
                p["checksum"].as_str().map(str::to_owned),
                p["locations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l.as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect()
}

/// Every archive under `tree` (symlinks followed, as the walker resolves
/// them), as (image path, bytes).
fn archives(tree: &Path) -> Vec<(ImagePath, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![tree.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let metadata = std::fs::symlink_metadata(&path).unwrap();
            if metadata.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().to_lowercase();
            let is_archive = [".jar", ".war", ".ear"].iter().any(|e| name.ends_with(e));
            if is_archive && path.is_file() {
                let relative = path.strip_prefix(tree).unwrap();
                out.push((
                    ImagePath::new(relative.to_str().unwrap()).unwrap(),
                    std::fs::read(&path).unwrap(),
                ));
            }
        }
    }
    out
}

fn catalog(files: &[(ImagePath, Vec<u8>)]) -> Found {
    let files = Files::new(
        files
            .iter()
            .map(|(path, bytes)| FileRef {
                path: path.clone(),
                bytes,
                layer: None,
            })
            .collect(),
    );
    java().catalog(&files, &Context::default())
}

#[test]
fn debian_jars_and_nested_archives_match_unzip() {
    let Some(dir) = fixture() else { return };
    let raw = archives(&dir.join("tree"));
    assert!(raw.len() > 40, "{} archives", raw.len());
    let expected = expected_rows(&dir);
    // The expectation covers what the issue asks for: Spring Boot, war, ear, shaded.
    for needle in [
        "/app/boot-app.jar!/BOOT-INF/lib/guava-31.1-jre.jar",
        "/app/bundle.ear!/webapp-2.3.war!/WEB-INF/lib/commons-io-2.11.0.jar",
        "/app/shaded-tool-4.2.jar!/META-INF/maven/commons-codec/commons-codec/pom.properties",
    ] {
        assert!(
            expected.iter().any(|row| row.4.iter().any(|l| l == needle)),
            "expected.py lists {needle}"
        );
    }

    // As the walker hands them over: reduced to summaries while streaming.
    let reduced: Vec<(ImagePath, Vec<u8>)> = raw
        .iter()
        .map(|(path, bytes)| (path.clone(), java().reduce(path, bytes.clone())))
        .collect();
    for ((path, bytes), (_, summary)) in raw.iter().zip(&reduced) {
        assert!(
            summary.len() < 16 << 10 && summary.len() < bytes.len(),
            "{path}: summary of {} bytes",
            summary.len()
        );
    }
    let found = catalog(&reduced);
    assert_eq!(found.problems, vec![]);
    let got = rows(&found);
    let missing: Vec<_> = expected.difference(&got).collect();
    let extra: Vec<_> = got.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );

    // Unreduced bytes (a file another cataloger also claims) give the same.
    assert_eq!(rows(&catalog(&raw)), expected);
}

/// Runs a Python program with `zipfile` that writes hostile archives into `dir`.
fn python(dir: &Path, program: &str) -> bool {
    if !drydock_test::require_tool("python3") {
        return false;
    }
    let output = Command::new("python3")
        .arg("-c")
        .arg(program)
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "python: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    true
}

fn one(name: &str, bytes: &[u8], reduce: bool) -> Found {
    let path = ImagePath::new(name).unwrap();
    let bytes = if reduce {
        java().reduce(&path, bytes.to_vec())
    } else {
        bytes.to_vec()
    };
    catalog(&[(path, bytes)])
}

fn reasons(found: &Found) -> Vec<String> {
    found
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.path, p.reason))
        .collect()
}

const POM: &str = "'META-INF/maven/org.example/outer/pom.properties', 'groupId=org.example\\nartifactId=outer\\nversion=1.0\\n'";

#[test]
fn zip_bombs_are_problems_and_the_outer_archive_is_still_named() {
    let dir = tempfile::tempdir().unwrap();
    let program = format!(
        r"
import sys, zipfile
out = sys.argv[1]
chunk = bytes(1 << 20)
def zeros(z, name, mib):
    with z.open(name, 'w') as f:
        for _ in range(mib):
            f.write(chunk)
# One nested 'jar' of 300 MiB of zeros: over the 256 MiB cap per nested archive.
with zipfile.ZipFile(out + '/bomb.jar', 'w', zipfile.ZIP_DEFLATED, compresslevel=1) as z:
    z.writestr({POM})
    zeros(z, 'BOOT-INF/lib/x.jar', 300)
# Five of 250 MiB: each under the cap, together over the 1 GiB per archive.
with zipfile.ZipFile(out + '/many.jar', 'w', zipfile.ZIP_DEFLATED, compresslevel=1) as z:
    z.writestr({POM})
    for i in range(5):
        zeros(z, 'lib/a%d.jar' % i, 250)
# The bomb again, its central directory and local header claiming 1000 bytes.
data = bytearray(open(out + '/bomb.jar', 'rb').read())
at = data.find(b'PK\x01\x02', data.find(b'PK\x01\x02') + 4)
assert data[at + 46:at + 46 + 18] == b'BOOT-INF/lib/x.jar'
local = int.from_bytes(data[at + 42:at + 46], 'little')
data[at + 24:at + 28] = (1000).to_bytes(4, 'little')
data[local + 22:local + 26] = (1000).to_bytes(4, 'little')
open(out + '/liar.jar', 'wb').write(data)
"
    );
    if !python(dir.path(), &program) {
        return;
    }
    let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
    let outer = ["pkg:maven/org.example/outer@1.0"];
    for reduce in [true, false] {
        let found = one("srv/bomb.jar", &read("bomb.jar"), reduce);
        assert_eq!(purls(&found), outer);
        assert_eq!(
            reasons(&found),
            [
                "/srv/bomb.jar: BOOT-INF/lib/x.jar: not read: declares 314572800 bytes uncompressed, more than the 268435456-byte limit"
            ]
        );

        let found = one("srv/liar.jar", &read("liar.jar"), reduce);
        assert_eq!(purls(&found), outer);
        assert_eq!(
            reasons(&found),
            [
                "/srv/liar.jar: BOOT-INF/lib/x.jar: not read: inflates to more than 1000 bytes, not the 1000 it declares"
            ]
        );

        // Four 250 MiB entries fit the 1 GiB budget (and are zeros, not
        // archives); the fifth would exceed it and is not inflated.
        let found = one("many.jar", &read("many.jar"), reduce);
        assert_eq!(purls(&found), outer);
        let mut expected: Vec<String> = (0..4)
            .map(|i| {
                format!(
                    "/many.jar: lib/a{i}.jar: not a zip archive: no end of central directory record"
                )
            })
            .collect();
        expected.push("/many.jar: lib/a4.jar: 262144000 bytes would exceed the 1073741824-byte limit on nested archives read per archive (zip bomb?); not read".to_owned());
        assert_eq!(reasons(&found), expected);
    }
}

fn purls(found: &Found) -> Vec<String> {
    found.packages.iter().map(|p| p.purl.to_string()).collect()
}

#[test]
fn an_archive_nested_50_deep_is_read_16_deep_then_a_problem() {
    let dir = tempfile::tempdir().unwrap();
    let program = r"
import io, sys, zipfile
inner = None
for level in range(50, -1, -1):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_STORED) as z:
        z.writestr('META-INF/MANIFEST.MF', 'Manifest-Version: 1.0\r\nImplementation-Version: %d\r\n' % level)
        if inner is not None:
            z.writestr('lib/level-%d.jar' % (level + 1), inner)
    inner = buffer.getvalue()
open(sys.argv[1] + '/level-0.jar', 'wb').write(inner)
";
    if !python(dir.path(), program) {
        return;
    }
    let bytes = std::fs::read(dir.path().join("level-0.jar")).unwrap();
    for reduce in [true, false] {
        let found = one("level-0.jar", &bytes, reduce);
        let mut versions: Vec<u32> = found
            .packages
            .iter()
            .map(|p| {
                assert_eq!(p.name, "level");
                p.version.parse().unwrap()
            })
            .collect();
        versions.sort_unstable();
        assert_eq!(versions, (0..=16).collect::<Vec<_>>());
        let problems = reasons(&found);
        assert_eq!(problems.len(), 1, "{problems:?}");
        let chain: Vec<String> = (1..=17).map(|l| format!("lib/level-{l}.jar")).collect();
        assert_eq!(
            problems[0],
            format!(
                "/level-0.jar: {}: archive nested more than 16 deep; not read",
                chain.join("!/")
            )
        );
    }
}

#[test]
fn truncated_and_lying_archives_are_problems() {
    let dir = tempfile::tempdir().unwrap();
    let program = format!(
        r"
import sys, zipfile
out = sys.argv[1]
with zipfile.ZipFile(out + '/good-1.0.jar', 'w', zipfile.ZIP_DEFLATED) as z:
    z.writestr({POM})
    z.writestr('META-INF/MANIFEST.MF', 'Manifest-Version: 1.0\r\n')
"
    );
    if !python(dir.path(), &program) {
        return;
    }
    let good = std::fs::read(dir.path().join("good-1.0.jar")).unwrap();
    assert_eq!(
        purls(&one("good-1.0.jar", &good, true)),
        ["pkg:maven/org.example/outer@1.0"]
    );
    let directory = good.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    let end = good.len() - 22;

    // Truncated anywhere: never a panic; cut before the end record, a problem.
    for length in 0..good.len() {
        for reduce in [true, false] {
            let found = one("good-1.0.jar", &good[..length], reduce);
            assert!(
                !found.problems.is_empty() || !found.packages.is_empty(),
                "truncated to {length}: nothing said"
            );
        }
    }
    assert_eq!(
        reasons(&one("good-1.0.jar", &good[..good.len() / 2], true)),
        ["/good-1.0.jar: not a zip archive: no end of central directory record"]
    );

    // pom.properties claiming 4 GiB: refused before inflating; the archive
    // is then named by its file name.
    let mut huge = good.clone();
    huge[directory + 24..directory + 28].copy_from_slice(&0xffff_fff0_u32.to_le_bytes());
    let found = one("good-1.0.jar", &huge, true);
    assert_eq!(purls(&found), ["pkg:maven/good@1.0"]);
    assert_eq!(
        reasons(&found),
        [
            "/good-1.0.jar: entry `META-INF/maven/org.example/outer/pom.properties`: declares 4294967280 bytes uncompressed, more than the 1048576-byte limit"
        ]
    );

    // A central directory claiming to be larger than the file.
    let mut lying = good.clone();
    lying[end + 12..end + 16].copy_from_slice(&0xffff_ff00_u32.to_le_bytes());
    assert_eq!(
        reasons(&one("good-1.0.jar", &lying, true)),
        [
            "/good-1.0.jar: truncated zip archive: the central directory runs past the end of the file"
        ]
    );

    // Garbage pretending to be a summary is a problem, not a panic.
    let found = one(
        "x.jar",
        b"drydock-java-summary-v1\n{\"archives\": 3}",
        false,
    );
    assert_eq!(found.packages, vec![]);
    assert_eq!(found.problems.len(), 1);
}

//! The Ruby cataloger: installed specifications from Debian's `ruby-*`
//! packages against what RubyGems loads from them
//! (`tests/fixtures/ruby/make-gems.sh`), and a hand-written `Gemfile.lock`
//! against what Bundler's own `Bundler::LockfileParser` reads from it.
use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;

use drydock_catalog::{Cataloger, Context, FileRef, Files, Found, builtin};
use drydock_core::{ImagePath, PackageKind};

fn ruby() -> Box<dyn Cataloger> {
    builtin()
        .into_iter()
        .find(|c| c.id() == "ruby")
        .expect("the Ruby cataloger is built in")
}

fn sources() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ruby")
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
    ruby().catalog(&files, &Context::default())
}

fn fixture() -> Option<PathBuf> {
    if !drydock_test::require_tools(&["apt-get", "dpkg", "ruby"]) {
        return None;
    }
    let script = sources().join("make-gems.sh");
    let key = &drydock_test::sha256_hex(&std::fs::read(&script).unwrap())[..16];
    let cache = drydock_test::fixture_cache();
    let dir = cache.join(format!("ruby-{key}"));
    if !dir.join("expected.tsv").exists() {
        std::fs::create_dir_all(&cache).unwrap();
        let lock = File::create(cache.join("ruby.lock")).unwrap();
        lock.lock().unwrap();
        if !dir.join("expected.tsv").exists() {
            let staging = cache.join(format!("ruby-{key}.partial"));
            let _ = std::fs::remove_dir_all(&staging);
            let status = Command::new("bash")
                .arg(&script)
                .arg(&staging)
                .arg(cache.join("downloads-ruby"))
                .status()
                .unwrap();
            assert!(status.success(), "make-gems.sh failed: {status}");
            std::fs::rename(&staging, &dir).unwrap();
        }
    }
    Some(dir)
}

fn gemspecs(root: &Path) -> Vec<(ImagePath, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "gemspec")
                && path.parent().unwrap().ends_with("specifications")
            {
                let relative = path.strip_prefix(root).unwrap().to_str().unwrap();
                out.push((
                    ImagePath::new(relative).unwrap(),
                    std::fs::read(&path).unwrap(),
                ));
            }
        }
    }
    out
}

#[test]
fn installed_specifications_match_rubygems() {
    let Some(dir) = fixture() else { return };
    let files = gemspecs(&dir.join("root"));
    let found = catalog(&files);
    assert_eq!(found.problems, vec![]);
    let expected: BTreeSet<(String, String, String, Vec<String>, String)> =
        std::fs::read_to_string(dir.join("expected.tsv"))
            .unwrap()
            .lines()
            .map(|line| {
                let fields: Vec<&str> = line.split('\t').collect();
                let [name, version, platform, licenses, authors] = fields[..] else {
                    panic!("bad line {line}")
                };
                let purl = if platform == "ruby" {
                    format!("pkg:gem/{name}@{version}")
                } else {
                    format!("pkg:gem/{name}@{version}?platform={platform}")
                };
                (
                    name.to_owned(),
                    version.to_owned(),
                    purl,
                    licenses
                        .split(',')
                        .filter(|l| !l.is_empty())
                        .map(str::to_owned)
                        .collect(),
                    authors.to_owned(),
                )
            })
            .collect();
    assert!(expected.len() >= 8, "{expected:?}");
    let got: BTreeSet<_> = found
        .packages
        .iter()
        .map(|p| {
            assert!(p.installed);
            assert_eq!(p.kind, PackageKind::Gem);
            (
                p.name.clone(),
                p.version.clone(),
                p.purl.to_string(),
                p.licenses.clone(),
                p.maintainer.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn gemfile_lock_matches_bundler() {
    if !drydock_test::require_tool("ruby") {
        return;
    }
    let lock = sources().join("Gemfile.lock");
    // Bundler wants a Gemfile beside the lock to resolve the PATH source.
    let scratch = tempfile::tempdir().unwrap();
    std::fs::write(scratch.path().join("Gemfile"), "").unwrap();
    let output = Command::new("ruby")
        .args([
            "-rbundler",
            "-e",
            r#"Bundler::LockfileParser.new(File.read(ARGV[0])).specs.each { |s| puts [s.name, s.version, s.platform].join("\t") }"#,
        ])
        .arg(&lock)
        .env("BUNDLE_GEMFILE", scratch.path().join("Gemfile"))
        .current_dir(scratch.path())
        .output()
        .unwrap();
    if !output.status.success() {
        drydock_test::missing(&format!(
            "Ruby's bundler: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
        return;
    }
    let expected: BTreeSet<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let [name, version, platform] = line.split('\t').collect::<Vec<_>>()[..] else {
                panic!("bad line {line}")
            };
            if platform == "ruby" {
                format!("pkg:gem/{name}@{version}")
            } else {
                format!("pkg:gem/{name}@{version}?platform={platform}")
            }
        })
        .collect();
    assert_eq!(expected.len(), 12);
    let found = catalog(&[(
        ImagePath::new("srv/app/Gemfile.lock").unwrap(),
        std::fs::read(&lock).unwrap(),
    )]);
    assert_eq!(found.problems, vec![]);
    let got: BTreeSet<String> = found
        .packages
        .iter()
        .map(|p| {
            assert!(!p.installed, "{} is declared, not installed", p.name);
            assert_eq!(p.locations[0].path.to_display(), "/srv/app/Gemfile.lock");
            p.purl.to_string()
        })
        .collect();
    assert_eq!(got.len(), found.packages.len(), "no duplicates");
    assert_eq!(got, expected);
}

#[test]
fn broken_files_are_problems() {
    let found = catalog(&[
        (
            ImagePath::new("gems/specifications/x-1.gemspec").unwrap(),
            b"Gem::Specification.new do |s|\n  s.name = NAME\n  s.version = \"1\"\nend\n".to_vec(),
        ),
        (
            ImagePath::new("Gemfile.lock").unwrap(),
            b"GEM\n  specs:\n    good (1.0)\n    broken\n".to_vec(),
        ),
        (ImagePath::new("gems.locked").unwrap(), vec![0xff, 0xfe]),
    ]);
    let reasons: Vec<String> = found
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.path, p.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            "/Gemfile.lock: line 4: `broken` is not `name (version)`",
            "/gems.locked: lock file is not UTF-8",
            "/gems/specifications/x-1.gemspec: no string `name` and `version` assignments in the specification",
        ]
    );
    assert_eq!(found.packages.len(), 1);
}

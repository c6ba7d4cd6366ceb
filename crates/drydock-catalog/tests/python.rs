//! The Python catalogers over hand-made files: metadata forms, RECORD,
//! licences, problems for broken input, reduce, and lock files.
use drydock_catalog::{Cataloger, Context, FileRef, Files, Found, builtin};
use drydock_core::ImagePath;

fn cataloger(id: &str) -> Box<dyn Cataloger> {
    builtin()
        .into_iter()
        .find(|c| c.id() == id)
        .expect("registered")
}

fn run(id: &str, files: &[(&str, &[u8])]) -> Found {
    let files = Files::new(
        files
            .iter()
            .map(|(path, bytes)| FileRef {
                path: ImagePath::new(path).expect("valid path"),
                bytes,
                layer: None,
            })
            .collect(),
    );
    cataloger(id).catalog(&files, &Context::default())
}

fn summary(found: &Found) -> Vec<(String, String, String, bool)> {
    let mut out: Vec<_> = found
        .packages
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                p.version.clone(),
                p.purl.to_string(),
                p.installed,
            )
        })
        .collect();
    out.sort();
    out
}

const METADATA: &[u8] = b"Metadata-Version: 2.1\nName: PyYAML\nVersion: 5.4\nSummary: YAML parser and emitter for Python\nAuthor: Kirill Simonov\nAuthor-email: xi@resolvent.net\nLicense: MIT\nClassifier: License :: OSI Approved :: MIT License\n\nYAML is a data serialization format.\nName: not-me\n";
const RECORD: &[u8] = b"PyYAML-5.4.dist-info/INSTALLER,sha256=zuuue4knoyJ-UwPPXg8fezS7VCrXJQrAP7zeNuwvFQg,4\nPyYAML-5.4.dist-info/METADATA,sha256=kHRQYUPLTmjp8kN-TZQyaF5MXefPTnDmgq1dy49X9X8,100\nPyYAML-5.4.dist-info/RECORD,,\n../../../bin/yaml-tool,sha256=TIsxliI6SxTmTYF6fvy-tG-HlgpnTsHb6roHvAVO-s4,232\nyaml/__pycache__/__init__.cpython-38.pyc,,\n";

#[test]
fn dist_info_with_record() {
    let site = "usr/lib/python3.8/site-packages";
    let found = run(
        "python-installed",
        &[
            (&format!("{site}/PyYAML-5.4.dist-info/METADATA"), METADATA),
            (&format!("{site}/PyYAML-5.4.dist-info/RECORD"), RECORD),
        ],
    );
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    assert_eq!(
        summary(&found),
        vec![(
            "PyYAML".to_owned(),
            "5.4".to_owned(),
            "pkg:pypi/pyyaml@5.4".to_owned(),
            true
        )]
    );
    let package = found.packages.first().expect("one package");
    assert_eq!(package.licenses, vec!["MIT".to_owned()]);
    assert_eq!(
        package.maintainer.as_deref(),
        Some("Kirill Simonov <xi@resolvent.net>")
    );
    assert_eq!(package.installed_size, Some(336));
    let paths: Vec<String> = package.files.iter().map(|f| f.path.to_display()).collect();
    assert_eq!(
        paths,
        vec![
            "/usr/lib/python3.8/site-packages/PyYAML-5.4.dist-info/INSTALLER",
            "/usr/lib/python3.8/site-packages/PyYAML-5.4.dist-info/METADATA",
            "/usr/lib/python3.8/site-packages/PyYAML-5.4.dist-info/RECORD",
            "/usr/bin/yaml-tool",
            "/usr/lib/python3.8/site-packages/yaml/__pycache__/__init__.cpython-38.pyc",
        ]
    );
    // python3 -c "import base64; print(base64.urlsafe_b64decode('zuuue4knoyJ-UwPPXg8fezS7VCrXJQrAP7zeNuwvFQg=').hex())"
    assert_eq!(
        package.files.first().and_then(|f| f.digest.as_deref()),
        Some("sha256:ceebae7b8927a3227e5303cf5e0f1f7b34bb542ad7250ac03fbcde36ec2f1508")
    );
    assert_eq!(package.files.get(2).and_then(|f| f.digest.as_deref()), None);
}

#[test]
fn egg_info_forms_and_licence_fallbacks() {
    let found = run(
        "python-installed",
        &[
            (
                "usr/lib/python3/dist-packages/legacy.file_form-1.4.egg-info",
                b"Metadata-Version: 1.0\nName: legacy.file_form\nVersion: 1.4\nAuthor: UNKNOWN\nLicense: UNKNOWN\nDescription: UNKNOWN\n",
            ),
            (
                "src/Legacy_Dir_Form.egg-info/PKG-INFO",
                b"Metadata-Version: 2.1\nName: Legacy_Dir-Form\nVersion: 0.9.1\nLicense: Copyright (c) 2020\n        Permission is hereby granted\nClassifier: License :: OSI Approved :: Apache Software License\n",
            ),
            (
                "usr/lib/python2.7/site-packages/old.egg/EGG-INFO/PKG-INFO",
                b"Name: old\nVersion: 0.1\nLicense-Expression: MIT OR Apache-2.0\nLicense: MIT\n",
            ),
        ],
    );
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    assert_eq!(
        summary(&found),
        vec![
            (
                "Legacy_Dir-Form".to_owned(),
                "0.9.1".to_owned(),
                "pkg:pypi/legacy-dir-form@0.9.1".to_owned(),
                true
            ),
            (
                "legacy.file_form".to_owned(),
                "1.4".to_owned(),
                "pkg:pypi/legacy.file-form@1.4".to_owned(),
                true
            ),
            (
                "old".to_owned(),
                "0.1".to_owned(),
                "pkg:pypi/old@0.1".to_owned(),
                true
            ),
        ]
    );
    let licenses: Vec<Vec<String>> = {
        let mut packages = found.packages.clone();
        packages.sort_by(|a, b| a.name.cmp(&b.name));
        packages.into_iter().map(|p| p.licenses).collect()
    };
    assert_eq!(
        licenses,
        vec![
            vec!["Apache Software License".to_owned()],
            vec![],
            vec!["MIT OR Apache-2.0".to_owned()],
        ]
    );
}

#[test]
fn broken_metadata_is_a_located_problem() {
    let found = run(
        "python-installed",
        &[
            ("site-packages/a-1.dist-info/METADATA", b"Name: a\n"),
            (
                "site-packages/b-1.dist-info/METADATA",
                b"\xff\xfe\x00garbage",
            ),
            ("site-packages/c-1.dist-info/RECORD", b"c/__init__.py,,\n"),
        ],
    );
    assert!(found.packages.is_empty());
    let paths: Vec<String> = found.problems.iter().map(|p| p.path.to_display()).collect();
    assert_eq!(
        paths,
        vec![
            "/site-packages/a-1.dist-info/METADATA",
            "/site-packages/b-1.dist-info/METADATA",
            "/site-packages/b-1.dist-info/METADATA",
            "/site-packages/c-1.dist-info/RECORD",
        ]
    );
}

#[test]
fn reduce_keeps_only_the_headers() {
    let cataloger = cataloger("python-installed");
    let path = ImagePath::new("site-packages/PyYAML-5.4.dist-info/METADATA").expect("path");
    let reduced = cataloger.reduce(&path, METADATA.to_vec());
    assert!(!reduced.windows(6).any(|w| w == b"not-me"));
    let files = Files::new(vec![FileRef {
        path,
        bytes: &reduced,
        layer: None,
    }]);
    let found = cataloger.catalog(&files, &Context::default());
    assert_eq!(found.packages.len(), 1);
    assert_eq!(
        found.packages.first().map(|p| p.licenses.clone()),
        Some(vec!["MIT".to_owned()])
    );
}

#[test]
fn lock_files_are_declared() {
    let found = run(
        "python-lock",
        &[
            (
                "app/requirements-dev.txt",
                b"-r requirements.txt\nDjango==2.2.0\nflask>=1.0\nzope.interface==5.1.0 --hash=sha256:00\n",
            ),
            (
                "app/uv.lock",
                b"version = 1\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\nsource = { editable = \".\" }\n\n[[package]]\nname = \"idna\"\nversion = \"2.10\"\nsource = { registry = \"https://pypi.org/simple\" }\n",
            ),
            ("app/poetry.lock", b"[[package]\nname = \"broken\""),
            (
                "usr/lib/python3/site-packages/pkg/requirements.txt",
                b"six==1.15.0\n",
            ),
        ],
    );
    assert_eq!(
        summary(&found),
        vec![
            (
                "Django".to_owned(),
                "2.2.0".to_owned(),
                "pkg:pypi/django@2.2.0".to_owned(),
                false
            ),
            (
                "flask".to_owned(),
                ">=1.0".to_owned(),
                "pkg:pypi/flask".to_owned(),
                false
            ),
            (
                "idna".to_owned(),
                "2.10".to_owned(),
                "pkg:pypi/idna@2.10".to_owned(),
                false
            ),
            (
                "zope.interface".to_owned(),
                "5.1.0".to_owned(),
                "pkg:pypi/zope.interface@5.1.0".to_owned(),
                false
            ),
        ]
    );
    let problems: Vec<(String, &str)> = found
        .problems
        .iter()
        .map(|p| (p.path.to_display(), p.reason.as_str()))
        .collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(problems[0].0, "/app/poetry.lock");
    assert_eq!(problems[1].0, "/app/requirements-dev.txt");
    assert!(
        problems[1]
            .1
            .contains("`/app/requirements.txt` is not in the image"),
        "{problems:?}"
    );
}

#[test]
fn conda_records() {
    let record = include_bytes!("fixtures/python/conda/zlib-1.2.11-h7b6447c_3.json");
    let found = run(
        "conda-meta",
        &[
            ("opt/conda/conda-meta/zlib-1.2.11-h7b6447c_3.json", record),
            ("opt/conda/conda-meta/broken.json", b"{\"name\": 1"),
        ],
    );
    assert_eq!(found.packages.len(), 1);
    assert_eq!(found.problems.len(), 1);
    let zlib = found.packages.first().expect("zlib");
    assert_eq!(
        zlib.checksum.as_deref(),
        Some("sha256:3bf1d2c4a8f0f1e9d0f3b2a1c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7")
    );
    assert_eq!(zlib.licenses, vec!["Zlib".to_owned()]);
    assert_eq!(
        zlib.files
            .get(1)
            .map(|f| (f.path.to_display(), f.digest.clone())),
        Some((
            "/opt/conda/lib/libz.so.1.2.11".to_owned(),
            Some(
                "sha256:8e2bb3c3d9d2e0ba7f5e5ba4c8c4f5e5f5a0f4e2b8cbd8f8a1b2c3d4e5f6a7b8"
                    .to_owned()
            )
        ))
    );
}

/// `-r` includes are followed relative to the including file (files named
/// like requirements or constraints files); `-c` pins unpinned
/// requirements; includes that climb above the root or are missing are
/// problems; an included `requirements*.txt` is reported once, on its own.
#[test]
fn requirements_includes_and_constraints_are_followed_within_the_root() {
    let found = run(
        "python-lock",
        &[
            (
                "app/requirements.txt",
                b"-r requirements/base.txt\n-r requirements-extra.txt\n-c constraints.txt\nflask\nclick>=7\n-r ../../../etc/shadow-requirements.txt\n-r missing-requirements.txt\n-r https://example.org/r.txt\n",
            ),
            (
                "app/requirements/base.txt",
                b"Django==2.2\n-r ../requirements.txt\n",
            ),
            ("app/requirements-extra.txt", b"six==1.15.0\n"),
            ("app/constraints.txt", b"flask==1.0\n"),
        ],
    );
    assert_eq!(
        summary(&found),
        vec![
            (
                "Django".to_owned(),
                "2.2".to_owned(),
                "pkg:pypi/django@2.2".to_owned(),
                false
            ),
            (
                "click".to_owned(),
                ">=7".to_owned(),
                "pkg:pypi/click".to_owned(),
                false
            ),
            (
                "flask".to_owned(),
                "1.0".to_owned(),
                "pkg:pypi/flask@1.0".to_owned(),
                false
            ),
            (
                "six".to_owned(),
                "1.15.0".to_owned(),
                "pkg:pypi/six@1.15.0".to_owned(),
                false
            ),
        ]
    );
    let django = found.packages.iter().find(|p| p.name == "Django").unwrap();
    assert_eq!(
        django.locations[0].path.to_display(),
        "/app/requirements/base.txt"
    );
    let problems: Vec<String> = found
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.path.to_display(), p.reason))
        .collect();
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(
        problems[0].contains("climbs above the root"),
        "{problems:#?}"
    );
    assert!(
        problems[1].contains("`/app/missing-requirements.txt` is not in the image"),
        "{problems:#?}"
    );
    assert!(problems[2].contains("a URL, not followed"), "{problems:#?}");
}

//! The JavaScript catalogers over hand-made files: which package.json files
//! are packages, the licence and author forms, problems, reduce, and the
//! lock formats (pnpm v5/v6/v9, yarn v1/Berry, package-lock v1/v3).
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

fn summary(found: &Found) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = found
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone(), p.purl.to_string()))
        .collect();
    out.sort();
    out
}

fn triple(name: &str, version: &str, purl: &str) -> (String, String, String) {
    (name.to_owned(), version.to_owned(), purl.to_owned())
}

#[test]
fn package_roots_in_node_modules() {
    let found = run(
        "javascript-installed",
        &[
            (
                "app/node_modules/express/package.json",
                br#"{"name":"express","version":"4.17.1","license":"MIT","author":"TJ Holowaychuk <tj@vision-media.ca>"}"#,
            ),
            (
                "app/node_modules/@babel/highlight/package.json",
                br#"{"name":"@babel/highlight","version":"7.10.4","license":{"type":"MIT"},"author":{"name":"Sebastian","email":"s@example.org"}}"#,
            ),
            (
                "app/node_modules/send/node_modules/ms/package.json",
                br#"{"name":"ms","version":"2.1.1","licenses":[{"type":"MIT"},"Apache-2.0"]}"#,
            ),
            // Not package roots.
            ("app/node_modules/@babel/package.json", br#"{"name":"x","version":"1"}"#),
            ("app/node_modules/.bin/package.json", br#"{"name":"y","version":"1"}"#),
            ("app/node_modules/express/lib/package.json", br#"{"name":"z","version":"1"}"#),
            ("app/package.json", br#"{"name":"app","version":"1.0.0"}"#),
        ],
    );
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    assert_eq!(
        summary(&found),
        vec![
            triple(
                "@babel/highlight",
                "7.10.4",
                "pkg:npm/%40babel/highlight@7.10.4"
            ),
            triple("express", "4.17.1", "pkg:npm/express@4.17.1"),
            triple("ms", "2.1.1", "pkg:npm/ms@2.1.1"),
        ]
    );
    let mut packages = found.packages.clone();
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    let details: Vec<(Vec<String>, Option<String>)> = packages
        .into_iter()
        .map(|p| (p.licenses, p.maintainer))
        .collect();
    assert_eq!(
        details,
        vec![
            (
                vec!["MIT".to_owned()],
                Some("Sebastian <s@example.org>".to_owned())
            ),
            (
                vec!["MIT".to_owned()],
                Some("TJ Holowaychuk <tj@vision-media.ca>".to_owned())
            ),
            (vec!["MIT".to_owned(), "Apache-2.0".to_owned()], None),
        ]
    );
}

#[test]
fn broken_package_json_is_a_located_problem() {
    let found = run(
        "javascript-installed",
        &[
            ("node_modules/a/package.json", b"{\"name\": \"a\""),
            ("node_modules/b/package.json", br#"{"name":"b"}"#),
            ("node_modules/c/package.json", b"[1,2]"),
            // No name: the directory's, as npm does.
            ("node_modules/d/package.json", br#"{"version":"1.0.0"}"#),
        ],
    );
    assert_eq!(
        summary(&found),
        vec![triple("d", "1.0.0", "pkg:npm/d@1.0.0")]
    );
    let paths: Vec<String> = found.problems.iter().map(|p| p.path.to_display()).collect();
    assert_eq!(
        paths,
        vec![
            "/node_modules/a/package.json",
            "/node_modules/b/package.json",
            "/node_modules/c/package.json",
        ]
    );
}

#[test]
fn reduce_keeps_the_fields_read() {
    let cataloger = cataloger("javascript-installed");
    let path = ImagePath::new("node_modules/a/package.json").expect("path");
    let reduced = cataloger.reduce(
        &path,
        br#"{"name":"a","version":"1.0.0","description":"long text","scripts":{"x":"y"},"license":"ISC"}"#.to_vec(),
    );
    assert_eq!(
        reduced,
        br#"{"license":"ISC","name":"a","version":"1.0.0"}"#
    );
}

#[test]
fn pnpm_lock_versions() {
    let v5 = b"lockfileVersion: 5.4\n\nspecifiers:\n  react-dom: ^18.0.0\n\npackages:\n\n  /@babel/runtime/7.20.0:\n    resolution: {integrity: sha512-x}\n    dev: false\n\n  /react-dom/18.2.0_react@18.2.0:\n    resolution: {integrity: sha512-y}\n    peerDependencies:\n      react: ^18.2.0\n\n  github.com/user/repo/0123abc:\n    resolution: {tarball: https://codeload.github.com/user/repo/tar.gz/0123abc}\n    name: repo\n    version: 1.0.0\n";
    let v6 = b"lockfileVersion: '6.0'\n\npackages:\n\n  /@babel/runtime@7.20.0:\n    resolution: {integrity: sha512-x}\n\n  /react-dom@18.2.0(react@18.2.0):\n    resolution: {integrity: sha512-y}\n";
    let v9 = b"lockfileVersion: '9.0'\n\nimporters:\n\n  .:\n    dependencies:\n      lodash:\n        specifier: 4.17.15\n        version: 4.17.15\n\npackages:\n\n  '@babel/runtime@7.20.0':\n    resolution: {integrity: sha512-x}\n\n  lodash@4.17.15:\n    resolution: {integrity: sha512-z}\n\nsnapshots:\n\n  '@babel/runtime@7.20.0': {}\n\n  lodash@4.17.15: {}\n";
    let found = run(
        "javascript-lock",
        &[
            ("v5/pnpm-lock.yaml", v5),
            ("v6/pnpm-lock.yaml", v6),
            ("v9/pnpm-lock.yaml", v9),
        ],
    );
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    let per_file = |dir: &str| -> Vec<(String, String)> {
        let mut out: Vec<_> = found
            .packages
            .iter()
            .filter(|p| {
                p.locations
                    .first()
                    .is_some_and(|l| l.path.to_display().starts_with(dir))
            })
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect();
        out.sort();
        out
    };
    let pair = |n: &str, v: &str| (n.to_owned(), v.to_owned());
    assert_eq!(
        per_file("/v5/"),
        vec![
            pair("@babel/runtime", "7.20.0"),
            pair("react-dom", "18.2.0"),
            pair("repo", "1.0.0")
        ]
    );
    assert_eq!(
        per_file("/v6/"),
        vec![
            pair("@babel/runtime", "7.20.0"),
            pair("react-dom", "18.2.0")
        ]
    );
    assert_eq!(
        per_file("/v9/"),
        vec![pair("@babel/runtime", "7.20.0"), pair("lodash", "4.17.15")]
    );
    assert!(found.packages.iter().all(|p| !p.installed));
}

#[test]
fn lock_files_inside_node_modules_and_broken_locks() {
    let found = run(
        "javascript-lock",
        &[
            (
                "app/node_modules/x/yarn.lock",
                b"lodash@^4:\n  version \"4.17.21\"\n",
            ),
            ("app/package-lock.json", b"{\"lockfileVersion\": 3,"),
            ("app/pnpm-lock.yaml", b"packages:\n  a@1.0.0: {}\n"),
            (
                "app/npm-shrinkwrap.json",
                br#"{"lockfileVersion":2,"packages":{"":{"name":"app"},"node_modules/a":{"version":"1.0.0"}},"dependencies":{"a":{"version":"1.0.0"}}}"#,
            ),
        ],
    );
    assert_eq!(
        summary(&found),
        vec![triple("a", "1.0.0", "pkg:npm/a@1.0.0")]
    );
    let paths: Vec<String> = found.problems.iter().map(|p| p.path.to_display()).collect();
    assert_eq!(paths, vec!["/app/package-lock.json", "/app/pnpm-lock.yaml"]);
}

//! `drydock golden stale` over a committed fixture tree of every file kind
//! (tests/fixtures/stale), judged against a catalog built through the real
//! `golden submit|approve|promote|retire` commands with a fixed clock.
//!
//! The fixtures pin placeholder digests (`sha256:aaaa…`, `bbbb…`, …); the
//! test copies the tree and swaps each for the digest of the image it
//! submitted. Digests are all 64 hex digits, so positions do not move.
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use golden_support::{drydock, image, ok, submitted_digest};
use serde_json::Value;

mod golden_support;

const PYTHON: &str = "registry.example.com:5000/golden/python3";
const NODE: &str = "ghcr.io/acme/golden/node";

fn fixtures(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

struct Catalog {
    store: String,
    /// placeholder letter → real digest
    digests: BTreeMap<char, String>,
}

/// python3: 3.11.1 (a, retired), 3.11.2 (b, deprecated), 3.11.3 (c, current);
/// node: 20.1 (e, current), 20.2 (f, candidate). `d` is in no catalog.
fn catalog(dir: &Path) -> Catalog {
    let store = format!("sqlite:{}", dir.join("fleet.db").display());
    let mut digests = BTreeMap::new();
    for (letter, line, repository, version) in [
        ('a', "python3", PYTHON, "3.11.1"),
        ('b', "python3", PYTHON, "3.11.2"),
        ('c', "python3", PYTHON, "3.11.3"),
        ('e', "node", NODE, "20.1"),
        ('f', "node", NODE, "20.2"),
    ] {
        let source = image(dir, &format!("{line}-{version}"));
        let out = ok(&drydock(
            &store,
            "2026-01-01T00:00:00Z",
            &[
                "golden",
                "submit",
                &source,
                "--line",
                line,
                "--repository",
                repository,
                "--image-version",
                version,
                "--by",
                "ci",
            ],
        ));
        let digest = submitted_digest(&out);
        digests.insert(letter, digest);
    }
    let step = |now: &str, verb: &str, line: &str, letter: char, extra: &[&str]| {
        let target = format!("{line}@{}", digests[&letter]);
        let mut args = vec!["golden", verb, &target, "--by", "alice", "--reason", "test"];
        args.extend_from_slice(extra);
        ok(&drydock(&store, now, &args));
    };
    for (day, letter) in [("02", 'a'), ("03", 'b'), ("04", 'c')] {
        let now = format!("2026-01-{day}T00:00:00Z");
        step(&now, "approve", "python3", letter, &["--override"]);
        step(&now, "promote", "python3", letter, &["--no-registry"]);
    }
    step("2026-01-05T00:00:00Z", "retire", "python3", 'a', &[]);
    step(
        "2026-01-02T00:00:00Z",
        "approve",
        "node",
        'e',
        &["--override"],
    );
    step(
        "2026-01-02T00:00:00Z",
        "promote",
        "node",
        'e',
        &["--no-registry"],
    );
    Catalog { store, digests }
}

fn placeholder(letter: char) -> String {
    format!("sha256:{}", letter.to_string().repeat(64))
}

impl Catalog {
    fn real(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for (letter, digest) in &self.digests {
            text = text.replace(&placeholder(*letter), digest);
        }
        text
    }

    fn pin(&self, repository: &str, letter: char) -> String {
        format!("{repository}@{}", self.digests[&letter])
    }
}

/// Every file under `dir`, relative path → content.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap().display().to_string();
                out.insert(relative, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    out
}

fn copy_tree(catalog: &Catalog, from: &Path, to: &Path) -> BTreeMap<String, String> {
    let files: BTreeMap<String, String> = tree(from)
        .into_iter()
        .map(|(path, text)| (path, catalog.real(&text)))
        .collect();
    for (path, text) in &files {
        let target = to.join(path);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, text).unwrap();
    }
    files
}

/// Byte offset of 1-based `line`, character `column`.
fn offset(text: &str, line: usize, column: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum();
    let rest = &text[start..];
    start
        + rest
            .char_indices()
            .nth(column - 1)
            .map_or(rest.len(), |(i, _)| i)
}

/// (file, line, column, kind, written, verdict, since, tag state, suggested)
type Row<'a> = (
    &'a str,
    usize,
    usize,
    &'a str,
    String,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
);

#[test]
fn every_reference_judged_and_fixed_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = catalog(dir.path());
    let root = dir.path().join("repo");
    let original = copy_tree(&catalog, &fixtures("stale"), &root);
    let now = "2026-01-06T00:00:00Z";
    let root_arg = root.display().to_string();

    let output = drydock(
        &catalog.store,
        now,
        &["golden", "stale", &root_arg, "-f", "json"],
    );
    assert_eq!(
        output.status.code(),
        Some(1),
        "retired images are referenced\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let found: Value = serde_json::from_slice(&output.stdout).unwrap();
    let p = |letter| catalog.pin(PYTHON, letter);
    let n = |letter| catalog.pin(NODE, letter);
    let python_pin = p('c');
    let node_pin = n('e');
    let retired = Some("2026-01-05T00:00:00Z");
    let deprecated = Some("2026-01-04T00:00:00Z");
    let s = String::from;
    let py = Some(python_pin.as_str());
    let nd = Some(node_pin.as_str());
    let expected: Vec<Row> = vec![
        (
            ".github/workflows/ci.yml",
            9,
            14,
            "github-actions",
            p('b'),
            "deprecated",
            deprecated,
            None,
            py,
        ),
        (
            ".github/workflows/ci.yml",
            15,
            16,
            "github-actions",
            s("postgres:16"),
            "not-golden",
            None,
            None,
            None,
        ),
        (
            ".github/workflows/ci.yml",
            21,
            24,
            "github-actions",
            format!("{PYTHON}:3.11.3"),
            "floating",
            None,
            Some("current"),
            py,
        ),
        (
            ".github/workflows/ci.yml",
            26,
            16,
            "github-actions",
            n('e'),
            "current",
            None,
            None,
            nd,
        ),
        (
            ".github/workflows/ci.yml",
            34,
            16,
            "github-actions",
            s("${{ matrix.image }}"),
            "unresolved",
            None,
            None,
            None,
        ),
        (
            ".gitlab-ci.yml",
            1,
            8,
            "gitlab-ci",
            p('c'),
            "current",
            None,
            None,
            py,
        ),
        (
            ".gitlab-ci.yml",
            10,
            11,
            "gitlab-ci",
            format!("{NODE}:20.1"),
            "floating",
            None,
            Some("current"),
            nd,
        ),
        (
            ".gitlab-ci.yml",
            14,
            11,
            "gitlab-ci",
            p('a'),
            "retired",
            retired,
            None,
            py,
        ),
        (
            ".gitlab-ci.yml",
            24,
            11,
            "gitlab-ci",
            s("$CI_REGISTRY_IMAGE/builder:latest"),
            "unresolved",
            None,
            None,
            None,
        ),
        (
            ".gitlab-ci.yml",
            26,
            7,
            "gitlab-ci",
            s("postgres:16.3"),
            "not-golden",
            None,
            None,
            None,
        ),
        (
            ".gitlab-ci.yml",
            27,
            13,
            "gitlab-ci",
            s("redis:7"),
            "not-golden",
            None,
            None,
            None,
        ),
        (
            "charts/api/values.yaml",
            5,
            15,
            "helm",
            format!("{PYTHON}:3.11.2"),
            "floating",
            None,
            Some("deprecated"),
            py,
        ),
        (
            "charts/api/values.yaml",
            13,
            10,
            "helm",
            n('f'),
            "candidate",
            None,
            None,
            nd,
        ),
        (
            "charts/api/values.yaml",
            17,
            17,
            "helm",
            s("prom/statsd-exporter:v0.26.0"),
            "not-golden",
            None,
            None,
            None,
        ),
        (
            "deploy/k8s/api.yaml",
            19,
            19,
            "kubernetes",
            p('a'),
            "retired",
            retired,
            None,
            py,
        ),
        (
            "deploy/k8s/api.yaml",
            23,
            18,
            "kubernetes",
            p('c'),
            "current",
            None,
            None,
            py,
        ),
        (
            "deploy/k8s/api.yaml",
            27,
            18,
            "kubernetes",
            s("envoyproxy/envoy:v1.30.1"),
            "not-golden",
            None,
            None,
            None,
        ),
        (
            "deploy/k8s/api.yaml",
            49,
            23,
            "kubernetes",
            format!("{PYTHON}:3.11.1"),
            "floating",
            None,
            Some("retired"),
            py,
        ),
        (
            "deploy/k8s/debug-pod.yaml",
            5,
            36,
            "kubernetes",
            n('e'),
            "current",
            None,
            None,
            nd,
        ),
        (
            "deploy/k8s/debug-pod.yaml",
            7,
            28,
            "kubernetes",
            s("busybox:1.36"),
            "not-golden",
            None,
            None,
            None,
        ),
        (
            "deploy/k8s/stateful.yml",
            12,
            28,
            "kubernetes",
            format!("postgres:16.2@{}", placeholder('d')),
            "not-golden",
            None,
            None,
            None,
        ),
        (
            "deploy/k8s/stateful.yml",
            25,
            18,
            "kubernetes",
            p('b'),
            "deprecated",
            deprecated,
            None,
            py,
        ),
        (
            "deploy/k8s/stateful.yml",
            36,
            16,
            "kubernetes",
            format!("{NODE}:20.1"),
            "floating",
            None,
            Some("current"),
            nd,
        ),
        (
            "deploy/overlays/prod/kustomization.yaml",
            8,
            14,
            "kustomize",
            p('b'),
            "deprecated",
            deprecated,
            None,
            py,
        ),
        (
            "deploy/overlays/prod/kustomization.yaml",
            10,
            11,
            "kustomize",
            format!("{NODE}:20.1"),
            "floating",
            None,
            Some("current"),
            nd,
        ),
        (
            "deploy/overlays/prod/kustomization.yaml",
            12,
            11,
            "kustomize",
            s("redis:7.2.4"),
            "not-golden",
            None,
            None,
            None,
        ),
        (
            "docker-compose.yml",
            2,
            10,
            "compose",
            format!(
                "${{REGISTRY:-registry.example.com:5000}}/golden/python3@{}",
                catalog.digests[&'a']
            ),
            "retired",
            retired,
            None,
            py,
        ),
        (
            "docker-compose.yml",
            14,
            13,
            "compose",
            s("postgres:16"),
            "not-golden",
            None,
            None,
            None,
        ),
        (
            "docker-compose.yml",
            16,
            13,
            "compose",
            s("redis:7.2-alpine"),
            "not-golden",
            None,
            None,
            None,
        ),
        (
            "docker-compose.yml",
            19,
            12,
            "compose",
            format!("{NODE}:current"),
            "floating",
            None,
            None,
            nd,
        ),
        (
            "services/api/Dockerfile",
            6,
            32,
            "dockerfile",
            s("${PYTHON_IMAGE}"),
            "retired",
            retired,
            None,
            py,
        ),
        (
            "services/api/Dockerfile",
            15,
            6,
            "dockerfile",
            format!("{PYTHON}:3.11.2"),
            "floating",
            None,
            Some("deprecated"),
            py,
        ),
        (
            "services/api/Dockerfile",
            17,
            13,
            "dockerfile",
            s("ghcr.io/astral-sh/uv:0.4.30"),
            "not-golden",
            None,
            None,
            None,
        ),
        (
            "services/legacy/Dockerfile.windows",
            2,
            6,
            "dockerfile",
            p('b'),
            "deprecated",
            deprecated,
            None,
            py,
        ),
        (
            "services/worker/Containerfile",
            4,
            5,
            "dockerfile",
            format!("{PYTHON}:${{BASE_TAG}}"),
            "floating",
            None,
            Some("current"),
            py,
        ),
        (
            "tools/lint-action/action.yml",
            5,
            19,
            "github-actions",
            format!("{PYTHON}:3.11.3"),
            "floating",
            None,
            Some("current"),
            py,
        ),
    ];
    assert!(expected.len() >= 30);
    let prefix = format!("{root_arg}/");
    let actual: Vec<Row> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["file"].as_str().unwrap().strip_prefix(&prefix).unwrap(),
                r["line"].as_u64().unwrap() as usize,
                r["column"].as_u64().unwrap() as usize,
                r["kind"].as_str().unwrap(),
                r["written"].as_str().unwrap().to_owned(),
                r["verdict"].as_str().unwrap(),
                r["since"].as_str(),
                r["tag_state"].as_str(),
                r["suggested"].as_str(),
            )
        })
        .collect();
    for (index, (want, got)) in expected.iter().zip(&actual).enumerate() {
        assert_eq!(want, got, "reference {index}");
    }
    assert_eq!(expected.len(), actual.len(), "{actual:#?}");
    // ARG and Compose defaults are substituted.
    let substituted: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["written"].as_str().unwrap().contains("${"))
        .filter_map(|r| r["reference"].as_str())
        .collect();
    assert_eq!(
        substituted,
        [
            p('a').as_str(),
            p('a').as_str(),
            &format!("{PYTHON}:3.11.3")
        ]
    );

    // The table names each reference with its verdict and pin.
    let table = drydock(&catalog.store, now, &["golden", "stale", &root_arg]);
    let table_text = String::from_utf8_lossy(&table.stdout);
    assert!(
        table_text.contains(&format!(
            "{root_arg}/deploy/k8s/api.yaml:19:19\tkubernetes\tretired since 2026-01-05T00:00:00Z\t{}\tpin: {python_pin}",
            p('a')
        )),
        "{table_text}"
    );
    assert_eq!(table.status.code(), Some(1));

    // --fix: exactly these spans change, everything else stays byte for byte
    // (and the file keeps its mode).
    let compose = root.join("docker-compose.yml");
    std::fs::set_permissions(&compose, std::fs::Permissions::from_mode(0o640)).unwrap();
    let fixed = drydock(
        &catalog.store,
        now,
        &["golden", "stale", &root_arg, "--fix", "-f", "json"],
    );
    assert_eq!(
        fixed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&fixed.stderr)
    );
    let c = &catalog.digests[&'c'];
    // (file, line, column, text there before, after)
    let edits: Vec<(&str, usize, usize, String, String)> = vec![
        (
            ".github/workflows/ci.yml",
            9,
            14,
            p('b'),
            python_pin.clone(),
        ),
        (
            ".github/workflows/ci.yml",
            21,
            24,
            format!("{PYTHON}:3.11.3"),
            python_pin.clone(),
        ),
        (
            ".gitlab-ci.yml",
            10,
            11,
            format!("{NODE}:20.1"),
            node_pin.clone(),
        ),
        (".gitlab-ci.yml", 14, 11, p('a'), python_pin.clone()),
        ("charts/api/values.yaml", 7, 9, s("3.11.2"), s("3.11.3")),
        ("charts/api/values.yaml", 8, 12, s(""), c.clone()),
        ("deploy/k8s/api.yaml", 19, 19, p('a'), python_pin.clone()),
        (
            "deploy/k8s/api.yaml",
            49,
            23,
            format!("{PYTHON}:3.11.1"),
            python_pin.clone(),
        ),
        (
            "deploy/k8s/stateful.yml",
            25,
            18,
            p('b'),
            python_pin.clone(),
        ),
        (
            "deploy/k8s/stateful.yml",
            36,
            16,
            format!("{NODE}:20.1"),
            node_pin.clone(),
        ),
        (
            "deploy/overlays/prod/kustomization.yaml",
            9,
            13,
            catalog.digests[&'b'].clone(),
            c.clone(),
        ),
        (
            "docker-compose.yml",
            2,
            10,
            format!(
                "${{REGISTRY:-registry.example.com:5000}}/golden/python3@{}",
                catalog.digests[&'a']
            ),
            python_pin.clone(),
        ),
        (
            "docker-compose.yml",
            19,
            12,
            format!("{NODE}:current"),
            node_pin.clone(),
        ),
        (
            "services/api/Dockerfile",
            4,
            19,
            format!("${{REGISTRY}}/golden/python3@{}", catalog.digests[&'a']),
            python_pin.clone(),
        ),
        (
            "services/api/Dockerfile",
            15,
            6,
            format!("{PYTHON}:3.11.2"),
            python_pin.clone(),
        ),
        (
            "services/legacy/Dockerfile.windows",
            2,
            6,
            p('b'),
            python_pin.clone(),
        ),
        (
            "services/worker/Containerfile",
            4,
            5,
            format!("{PYTHON}:${{BASE_TAG}}"),
            python_pin.clone(),
        ),
        (
            "tools/lint-action/action.yml",
            5,
            19,
            format!("{PYTHON}:3.11.3"),
            python_pin.clone(),
        ),
    ];
    let mut want = original.clone();
    // Apply bottom-up per file so earlier positions stay valid.
    let mut sorted = edits.clone();
    sorted.sort_by(|a, b| (a.0, b.1, b.2).cmp(&(b.0, a.1, a.2)));
    for (file, line, column, before, after) in &sorted {
        let text = want.get_mut(*file).unwrap();
        let at = offset(text, *line, *column);
        assert_eq!(
            &text[at..at + before.len()],
            before,
            "{file}:{line}:{column}"
        );
        text.replace_range(at..at + before.len(), after);
    }
    let got = tree(&root);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "no file added or left behind"
    );
    for (file, text) in &want {
        assert_eq!(&got[file], text, "{file}");
    }
    assert_eq!(
        std::fs::metadata(&compose).unwrap().permissions().mode() & 0o777,
        0o640
    );
    let report: Value = serde_json::from_slice(&fixed.stdout).unwrap();
    let unfixed: Vec<(&str, &str)> = report
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| {
            Some((
                r["file"].as_str()?.strip_prefix(&prefix)?,
                r["unfixed"].as_str()?,
            ))
        })
        .collect();
    assert_eq!(
        unfixed,
        [(
            "deploy/overlays/prod/kustomization.yaml",
            "no `digest` field to pin: add one"
        )]
    );
    assert_eq!(
        report
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["fixed"] == true)
            .count(),
        // values.yaml's tag and digest edits pin one reference.
        edits.len() - 1
    );

    // Afterwards nothing retired, deprecated or floating is left but the unfixable one.
    let again = drydock(
        &catalog.store,
        now,
        &["golden", "stale", &root_arg, "-f", "json"],
    );
    assert_eq!(again.status.code(), Some(0));
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    let stale: Vec<(&str, &str)> = again
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| ["deprecated", "retired", "floating"].contains(&r["verdict"].as_str().unwrap()))
        .map(|r| {
            (
                r["file"].as_str().unwrap().strip_prefix(&prefix).unwrap(),
                r["verdict"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        stale,
        [("deploy/overlays/prod/kustomization.yaml", "floating")]
    );
}

#[test]
fn malformed_files_are_named_with_their_line_and_the_rest_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("fleet.db").display());
    let root = fixtures("stale-broken");
    let root_arg = root.display().to_string();
    let output = drydock(
        &store,
        "2026-01-06T00:00:00Z",
        &["golden", "stale", &root_arg, "-f", "json"],
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("line")).collect();
    assert_eq!(errors.len(), 2, "{stderr}");
    assert!(
        errors[0].starts_with(&format!(
            "drydock: `{root_arg}/bad.Dockerfile` line 2, column 1: `FROM` without an image"
        )),
        "{stderr}"
    );
    assert!(
        errors[1].starts_with(&format!(
            "drydock: `{root_arg}/deploy/app.yaml` line 9, column"
        )) && errors[1].contains("invalid YAML"),
        "{stderr}"
    );
    // The readable file is still reported.
    let found: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["file"], format!("{root_arg}/Dockerfile"));

    // A path that does not exist, and a file of no known kind.
    let missing = drydock(
        &store,
        "2026-01-06T00:00:00Z",
        &["golden", "stale", "/nonexistent/tree"],
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read `/nonexistent/tree`"));
    let readme = fixtures("stale").join("README.md").display().to_string();
    let unknown = drydock(
        &store,
        "2026-01-06T00:00:00Z",
        &["golden", "stale", &readme],
    );
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&unknown.stderr)
            .contains("not a Dockerfile, Containerfile or YAML file")
    );
}

use super::*;

fn found(kind: PinFileKind, text: &str) -> Vec<(usize, usize, String, Option<String>)> {
    find_references(kind, text)
        .unwrap()
        .into_iter()
        .map(|f| (f.line, f.column, f.written, f.reference))
        .collect()
}

fn whole(kind: PinFileKind, text: &str) -> Vec<String> {
    find_references(kind, text)
        .unwrap()
        .into_iter()
        .map(|f| match f.rewrite {
            Rewrite::Whole { range } => text[range].to_owned(),
            other => format!("{other:?}"),
        })
        .collect()
}

fn s(text: &str) -> String {
    text.to_owned()
}

#[test]
fn dockerfile_args_stages_flags_continuations_and_heredocs() {
    let text = "# syntax=docker/dockerfile:1\nARG REG=\"registry.local:5000\"\nARG BASE=${REG}/golden/python3:3.11\n\
FROM --platform=$BUILDPLATFORM ${BASE} AS build\nRUN <<EOF\nFROM not-an-image\nEOF\n\
FROM build AS test\nfrom \\\n  # a comment inside\n  debian:12 as final\nCOPY --from=build /a /b\nCOPY --from=alpine:3.20 /c /d\nFROM scratch\n";
    assert_eq!(
        found(PinFileKind::Dockerfile, text),
        [
            (
                4,
                32,
                s("${BASE}"),
                Some(s("registry.local:5000/golden/python3:3.11"))
            ),
            (11, 3, s("debian:12"), Some(s("debian:12"))),
            (13, 13, s("alpine:3.20"), Some(s("alpine:3.20"))),
        ]
    );
    assert_eq!(
        whole(PinFileKind::Dockerfile, text),
        ["${REG}/golden/python3:3.11", "debian:12", "alpine:3.20"]
    );
}

#[test]
fn dockerfile_unresolved_and_malformed() {
    let found = find_references(PinFileKind::Dockerfile, "ARG TAG\nFROM python:$TAG\n").unwrap();
    assert_eq!(found[0].reference, None);
    let error =
        find_references(PinFileKind::Dockerfile, "\n\nFROM --platform=linux/amd64\n").unwrap_err();
    assert_eq!((error.line, error.column), (3, 1));
}

#[test]
fn yaml_quoting_anchors_merges_and_flow() {
    let text = "x-base: &base\n  image: \"reg.io/a:1\" # quoted\nservices:\n  one:\n    <<: *base\n  two: {image: 'b:2'}\n  three:\n    image: ${REG:-reg.io:5000}/c@sha256:0000\n";
    assert_eq!(
        found(PinFileKind::Compose, text),
        [
            (2, 11, s("reg.io/a:1"), Some(s("reg.io/a:1"))),
            (6, 17, s("b:2"), Some(s("b:2"))),
            (
                8,
                12,
                s("${REG:-reg.io:5000}/c@sha256:0000"),
                Some(s("reg.io:5000/c@sha256:0000"))
            ),
        ]
    );
    assert_eq!(
        whole(PinFileKind::Compose, text),
        ["reg.io/a:1", "b:2", "${REG:-reg.io:5000}/c@sha256:0000"]
    );
}

#[test]
fn yaml_error_names_the_line() {
    let error = find_references(PinFileKind::Kubernetes, "a: 1\nb: [1, 2\nc: 3\n").unwrap_err();
    assert!(error.line >= 2, "{error}");
    assert!(error.message.starts_with("invalid YAML"), "{error}");
}

#[test]
fn edits_apply_once_and_refuse_overlaps() {
    let edit = |r: Range<usize>, t: &str| Edit {
        range: r,
        replacement: t.to_owned(),
    };
    assert_eq!(
        apply_edits(
            "abcdef",
            &[edit(4..5, "E"), edit(0..1, "A"), edit(0..1, "A")]
        )
        .unwrap(),
        "AbcdEf"
    );
    assert!(apply_edits("abcdef", &[edit(0..3, "x"), edit(2..4, "y")]).is_err());
    assert!(apply_edits("abc", &[edit(2..9, "x")]).is_err());
}

#[test]
fn file_kinds_from_names() {
    let k = |p: &str| PinFileKind::for_path(Path::new(p));
    assert_eq!(k("a/Dockerfile"), Some(PinFileKind::Dockerfile));
    assert_eq!(k("a/build.Containerfile"), Some(PinFileKind::Dockerfile));
    assert_eq!(
        k("r/.github/workflows/ci.yml"),
        Some(PinFileKind::GithubActions)
    );
    assert_eq!(k("r/.gitlab-ci.yml"), Some(PinFileKind::GitlabCi));
    assert_eq!(k("k/kustomization.yaml"), Some(PinFileKind::Kustomize));
    assert_eq!(k("docker-compose.prod.yml"), Some(PinFileKind::Compose));
    assert_eq!(k("chart/values-prod.yaml"), Some(PinFileKind::Helm));
    assert_eq!(k("deploy/app.yaml"), Some(PinFileKind::Kubernetes));
    assert_eq!(k("README.md"), None);
}

#[test]
fn dockerfile_bom_crlf_and_lowercase() {
    let text = "\u{feff}from debian:12 as base\r\nFROM base\r\nfrom --platform=linux/arm64 alpine:3.20\r\n";
    let found = found(PinFileKind::Dockerfile, text);
    assert_eq!(found[0], (1, 6, s("debian:12"), Some(s("debian:12"))));
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(whole(PinFileKind::Dockerfile, text)[0], "debian:12");
}

#[test]
fn kubernetes_needs_api_version_and_kind() {
    let text = "containers:\n  - image: a:1\n---\napiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Pod\n    spec:\n      initContainers: [{name: x, image: b:2}]\n";
    assert_eq!(
        found(PinFileKind::Kubernetes, text),
        [(10, 41, s("b:2"), Some(s("b:2")))]
    );
}

#[test]
fn split_references_and_their_fields() {
    let text = "images:\n- name: python\n  newName: reg.io/golden/python3\n  newTag: \"3.11\"\n  digest: sha256:00\n";
    let found = find_references(PinFileKind::Kustomize, text).unwrap();
    assert_eq!(found[0].written, "reg.io/golden/python3:3.11@sha256:00");
    let edits = pin_edits(
        &found[0],
        "reg.io/golden/python3",
        "sha256:11",
        Some("3.12"),
        true,
    )
    .unwrap();
    assert_eq!(
        apply_edits(text, &edits).unwrap(),
        "images:\n- name: python\n  newName: reg.io/golden/python3\n  newTag: \"3.12\"\n  digest: sha256:11\n"
    );
    let edits = pin_edits(&found[0], "other.io/x", "sha256:11", None, false).unwrap();
    assert!(
        apply_edits(text, &edits)
            .unwrap()
            .contains("newName: other.io/x\n")
    );
    let helm = "image:\n  registry: docker.io\n  repository: bitnami/redis\n  tag: 7.2\n";
    let found = find_references(PinFileKind::Helm, helm).unwrap();
    assert_eq!(found[0].written, "docker.io/bitnami/redis:7.2");
    assert_eq!(
        pin_edits(&found[0], "r.io/x", "sha256:11", None, false).unwrap_err(),
        "no `digest` field to pin: add one"
    );
}

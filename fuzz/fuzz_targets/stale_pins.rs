//! `golden stale` input: Dockerfiles and every YAML kind it reads. Byte 0
//! picks the kind, the rest is the file. `find_references` never panics;
//! every position is inside the text; every rewrite range is a char-aligned
//! span of it; pinning every reference applies cleanly and, for YAML, the
//! result still parses with the same number of references.
#![no_main]
use drydock_policy::pins::{
    Edit, PinFileKind, Rewrite, apply_edits, find_references, pin_edits,
};
use libfuzzer_sys::fuzz_target;

const KINDS: [PinFileKind; 7] = [
    PinFileKind::Dockerfile,
    PinFileKind::Kubernetes,
    PinFileKind::Kustomize,
    PinFileKind::Helm,
    PinFileKind::Compose,
    PinFileKind::GithubActions,
    PinFileKind::GitlabCi,
];

const PIN_REPOSITORY: &str = "registry.example.com:5000/golden/python3";
const PIN_DIGEST: &str =
    "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";

fuzz_target!(|data: &[u8]| {
    let Some((selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let kind = KINDS[usize::from(*selector) % KINDS.len()];
    let Ok(found) = find_references(kind, text) else {
        return;
    };
    let lines = text.split('\n').count();
    let mut edits: Vec<Edit> = Vec::new();
    for reference in &found {
        assert!(reference.line >= 1 && reference.line <= lines, "{reference:?}");
        assert!(reference.column >= 1, "{reference:?}");
        match &reference.rewrite {
            Rewrite::Whole { range } => assert!(text.get(range.clone()).is_some(), "{reference:?}"),
            Rewrite::Fields { registry, repository, tag, digest } => {
                for field in [registry, repository, tag, digest].into_iter().flatten() {
                    assert_eq!(text.get(field.range.clone()), Some(field.value.as_str()));
                }
            }
            Rewrite::Unfixable { .. } => {}
        }
        if let Ok(mut more) = pin_edits(reference, PIN_REPOSITORY, PIN_DIGEST, Some("3.11.3"), false) {
            edits.append(&mut more);
        }
    }
    let Ok(fixed) = apply_edits(text, &edits) else {
        return;
    };
    if kind != PinFileKind::Dockerfile && !edits.is_empty() {
        let again = find_references(kind, &fixed)
            .unwrap_or_else(|error| panic!("pinned text no longer parses: {error}\n{fixed}"));
        assert_eq!(again.len(), found.len(), "{fixed}");
    }
});

//! The JavaScript parsers over arbitrary bytes, through the catalogers: the
//! same bytes as package-lock.json, npm-shrinkwrap.json, yarn.lock (v1, and
//! Berry with a `__metadata:` line put first), pnpm-lock.yaml (with and
//! without a `lockfileVersion: 5.4` line) and an installed package.json
//! (whole and reduced). Nothing may panic; problems name the given files.
#![no_main]
use drydock_catalog::{Context, FileRef, Files, builtin};
use drydock_core::ImagePath;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let catalogers: Vec<_> = builtin()
        .into_iter()
        .filter(|c| matches!(c.id(), "javascript-installed" | "javascript-lock"))
        .collect();
    assert_eq!(catalogers.len(), 2);
    let berry = [b"__metadata:\n  version: 8\n".as_slice(), data].concat();
    let pnpm5 = [b"lockfileVersion: 5.4\npackages:\n".as_slice(), data].concat();
    let reduced = match (
        catalogers.first(),
        ImagePath::new("node_modules/a/package.json"),
    ) {
        (Some(installed), Ok(path)) => installed.reduce(&path, data.to_vec()),
        _ => data.to_vec(),
    };
    let inputs: [(&str, &[u8]); 9] = [
        ("app/package-lock.json", data),
        ("app/npm-shrinkwrap.json", data),
        ("app/yarn.lock", data),
        ("berry/yarn.lock", &berry),
        ("app/pnpm-lock.yaml", data),
        ("v5/pnpm-lock.yaml", &pnpm5),
        ("app/node_modules/a/package.json", data),
        ("app/node_modules/@s/b/package.json", &reduced),
        ("app/node_modules/a/node_modules/c/package.json", data),
    ];
    let files = Files::new(
        inputs
            .iter()
            .filter_map(|(path, bytes)| {
                Some(FileRef {
                    path: ImagePath::new(path).ok()?,
                    bytes,
                    layer: None,
                })
            })
            .collect(),
    );
    for cataloger in &catalogers {
        let found = cataloger.catalog(&files, &Context::default());
        assert!(
            found
                .problems
                .iter()
                .all(|p| files.iter().any(|f| f.path == p.path))
        );
        for package in &found.packages {
            let _ = package.purl.to_string();
        }
    }
});

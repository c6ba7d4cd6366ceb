//! The Python parsers over arbitrary bytes, through the catalogers: the same
//! bytes as a dist-info METADATA and RECORD pair (whole and reduced), an
//! egg-info file, a conda record and every lock and requirements format.
//! Nothing may panic, and every problem names one of the given files.
#![no_main]
use drydock_catalog::{Context, FileRef, Files, builtin};
use drydock_core::ImagePath;
use libfuzzer_sys::fuzz_target;

const PATHS: [&str; 11] = [
    "site-packages/a-1.dist-info/METADATA",
    "site-packages/a-1.dist-info/RECORD",
    "site-packages/b-1.egg-info",
    "opt/conda/conda-meta/c-1-0.json",
    "app/requirements.txt",
    "app/poetry.lock",
    "app/uv.lock",
    "app/pdm.lock",
    "app/pylock.toml",
    "app/Pipfile.lock",
    "other/requirements-dev.txt",
];

fuzz_target!(|data: &[u8]| {
    let paths: Vec<ImagePath> = PATHS
        .iter()
        .filter_map(|p| ImagePath::new(p).ok())
        .collect();
    let catalogers: Vec<_> = builtin()
        .into_iter()
        .filter(|c| matches!(c.id(), "python-installed" | "conda-meta" | "python-lock"))
        .collect();
    assert_eq!(catalogers.len(), 3);
    let reduced: Vec<Vec<u8>> = paths
        .iter()
        .map(|path| match catalogers.first() {
            Some(installed) => installed.reduce(path, data.to_vec()),
            None => data.to_vec(),
        })
        .collect();
    for contents in [
        vec![data; paths.len()],
        reduced.iter().map(Vec::as_slice).collect(),
    ] {
        let files = Files::new(
            paths
                .iter()
                .zip(contents)
                .map(|(path, bytes)| FileRef {
                    path: path.clone(),
                    bytes,
                    layer: None,
                })
                .collect(),
        );
        for cataloger in &catalogers {
            let found = cataloger.catalog(&files, &Context::default());
            assert!(found.problems.iter().all(|p| paths.contains(&p.path)));
            for package in &found.packages {
                let _ = package.purl.to_string();
            }
        }
    }
});

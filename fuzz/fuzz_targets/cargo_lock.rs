//! The `cargo-lock` cataloger over arbitrary Cargo.lock content: no panic,
//! every problem names the file, every package's purl renders.
#![no_main]
use drydock_catalog::{Context, FileRef, Files, builtin};
use drydock_core::ImagePath;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(path) = ImagePath::new("src/app/Cargo.lock") else {
        return;
    };
    for cataloger in builtin().iter().filter(|c| c.id() == "cargo-lock") {
        let found = cataloger.catalog(
            &Files::new(vec![FileRef {
                path: path.clone(),
                bytes: data,
                layer: None,
            }]),
            &Context::default(),
        );
        assert!(found.problems.iter().all(|p| p.path == path));
        for package in &found.packages {
            assert!(!package.installed);
            let _ = package.purl.to_string();
        }
    }
});

//! The `binary-metadata` cataloger over arbitrary file content (ELF, PE,
//! Mach-O readers, Go build info, cargo-auditable): no panic, the reduced
//! form says what the raw bytes say, every problem names the file.
#![no_main]
use drydock_catalog::{Context, FileRef, Files, builtin};
use drydock_core::ImagePath;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(path) = ImagePath::new("usr/bin/tool") else {
        return;
    };
    for cataloger in builtin().iter().filter(|c| c.id() == "binary-metadata") {
        let direct = cataloger.catalog(
            &Files::new(vec![FileRef {
                path: path.clone(),
                bytes: data,
                layer: None,
            }]),
            &Context::default(),
        );
        let reduced = cataloger.reduce(&path, data.to_vec());
        let via_reduce = cataloger.catalog(
            &Files::new(vec![FileRef {
                path: path.clone(),
                bytes: &reduced,
                layer: None,
            }]),
            &Context::default(),
        );
        if !data.starts_with(b"\0drydock-binmeta") {
            assert_eq!(direct.packages, via_reduce.packages);
            assert_eq!(direct.problems, via_reduce.problems);
        }
        assert!(direct.problems.iter().all(|p| p.path == path));
        for package in &direct.packages {
            let _ = package.purl.to_string();
        }
    }
});

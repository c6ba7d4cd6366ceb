//! The `binary-metadata` cataloger over arbitrary file content (ELF, PE,
//! Mach-O readers, Go build info, cargo-auditable): no panic, the reduced
//! form says what the raw bytes say — also when read in parts from a
//! stream, as the walk does — and every problem names the file.
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
        if cataloger.reads_parts()
            && let Some(in_parts) =
                drydock_oci::reduce_streamed(data, &|parts| cataloger.reduce_parts(&path, parts))
            && !data.starts_with(b"\0drydock-binmeta")
        {
            assert_eq!(in_parts, reduced);
        }
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

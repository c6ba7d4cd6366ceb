//! Go build info: arbitrary bytes after the `\xff Go buildinf:` magic in the
//! `.go.buildinfo` section of a minimal ELF (so the fuzzer explores the
//! header flags, varints, pointers and module lines, not the ELF reader).
#![no_main]
use drydock_catalog::{Context, FileRef, Files, builtin};
use drydock_core::ImagePath;
use libfuzzer_sys::fuzz_target;

#[path = "common/minimal_elf.rs"]
mod minimal_elf;
use minimal_elf::elf;

fuzz_target!(|data: &[u8]| {
    let Ok(path) = ImagePath::new("usr/bin/gotool") else {
        return;
    };
    let section = [b"\xff Go buildinf:".as_slice(), data].concat();
    let bytes = elf(".go.buildinfo", &section);
    for cataloger in builtin().iter().filter(|c| c.id() == "binary-metadata") {
        let found = cataloger.catalog(
            &Files::new(vec![FileRef {
                path: path.clone(),
                bytes: &bytes,
                layer: None,
            }]),
            &Context::default(),
        );
        assert!(found.problems.iter().all(|p| p.path == path));
        for package in &found.packages {
            let _ = package.purl.to_string();
        }
    }
});

//! cargo-auditable: arbitrary bytes as the JSON in the `.dep-v0` section of
//! a minimal ELF, wrapped in zlib stored blocks so the fuzzer reaches the
//! JSON reading rather than the decompressor.
#![no_main]
use drydock_catalog::{Context, FileRef, Files, builtin};
use drydock_core::ImagePath;
use libfuzzer_sys::fuzz_target;

#[path = "common/minimal_elf.rs"]
mod minimal_elf;
use minimal_elf::elf;

/// zlib with stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut chunks = data.chunks(0xffff).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

fuzz_target!(|data: &[u8]| {
    let Ok(path) = ImagePath::new("usr/bin/rusttool") else {
        return;
    };
    let bytes = elf(".dep-v0", &zlib_stored(data));
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

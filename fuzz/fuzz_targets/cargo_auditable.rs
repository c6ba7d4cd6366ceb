//! cargo-auditable: arbitrary bytes as the JSON in the `.dep-v0` section of
//! a minimal ELF, wrapped in zlib stored blocks so the fuzzer reaches the
//! JSON reading rather than the decompressor.
#![no_main]
use drydock_catalog::{Context, FileRef, Files, builtin};
use drydock_core::ImagePath;
use libfuzzer_sys::fuzz_target;

const BASE: u64 = 0x40_0000;

/// ELF64 LE: one read-write PT_LOAD over the file, `section` at 0x100.
fn elf(name: &str, section: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 0x100];
    out.extend_from_slice(section);
    let names_at = out.len() as u64;
    let names = [b"\0".as_slice(), name.as_bytes(), b"\0.shstrtab\0"].concat();
    out.extend_from_slice(&names);
    while out.len() % 8 != 0 {
        out.push(0);
    }
    let shoff = out.len() as u64;
    let mut header = |name: u32, kind: u32, address: u64, offset: u64, size: u64| {
        for field in [name, kind] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        for field in [3u64, address, offset, size, 0, 0, 0] {
            out.extend_from_slice(&field.to_le_bytes());
        }
    };
    header(0, 0, 0, 0, 0);
    header(1, 1, BASE + 0x100, 0x100, section.len() as u64);
    header(name.len() as u32 + 2, 3, 0, names_at, names.len() as u64);
    let total = out.len() as u64;
    let mut h = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0".to_vec();
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&0x3eu16.to_le_bytes());
    h.extend_from_slice(&1u32.to_le_bytes());
    for field in [BASE, 64, shoff] {
        h.extend_from_slice(&field.to_le_bytes());
    }
    h.extend_from_slice(&0u32.to_le_bytes());
    for field in [64u16, 56, 1, 64, 3, 2] {
        h.extend_from_slice(&field.to_le_bytes());
    }
    h.extend_from_slice(&1u32.to_le_bytes());
    h.extend_from_slice(&6u32.to_le_bytes());
    for field in [0, BASE, BASE, total, total, 0x1000] {
        h.extend_from_slice(&field.to_le_bytes());
    }
    out[..h.len()].copy_from_slice(&h);
    out
}

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

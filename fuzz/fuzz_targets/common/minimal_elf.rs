//! A minimal ELF64 LE wrapper shared by the binary-metadata fuzz targets,
//! so the fuzzer's bytes land in a section and reach the metadata readers.

pub const BASE: u64 = 0x40_0000;

/// ELF64 LE: one read-write PT_LOAD over the file, `section` at 0x100.
pub fn elf(name: &str, section: &[u8]) -> Vec<u8> {
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

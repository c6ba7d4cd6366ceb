//! The executable readers through the `binary-metadata` cataloger, on
//! hand-built ELF files: Go's pre-1.18 pointer-based build info, and hostile
//! files (tables past the end, huge varints, a zlib bomb). Each hostile file
//! gives exactly one located problem and no panic.
use std::io::Write;

use drydock_catalog::{Cataloger, Context, FileRef, Files, Found};
use drydock_core::ImagePath;

const BASE: u64 = 0x40_0000;
const MAGIC: &[u8] = b"\xff Go buildinf:";

fn cataloger() -> Box<dyn Cataloger> {
    drydock_catalog::builtin()
        .into_iter()
        .find(|c| c.id() == "binary-metadata")
        .expect("binary-metadata is built in")
}

fn catalog(bytes: &[u8]) -> Found {
    let files = Files::new(vec![FileRef {
        path: ImagePath::new("opt/app/bin/tool").unwrap(),
        bytes,
        layer: None,
    }]);
    let direct = cataloger().catalog(&files, &Context::default());
    // The reduced form must say the same.
    let reduced = cataloger().reduce(&ImagePath::new("opt/app/bin/tool").unwrap(), bytes.to_vec());
    let files = Files::new(vec![FileRef {
        path: ImagePath::new("opt/app/bin/tool").unwrap(),
        bytes: &reduced,
        layer: None,
    }]);
    let via_reduce = cataloger().catalog(&files, &Context::default());
    assert_eq!(direct.packages, via_reduce.packages);
    assert_eq!(direct.problems, via_reduce.problems);
    direct
}

/// Where `elf64` puts section `index` when every earlier one is at most 4 KiB.
fn section_address(index: u64) -> u64 {
    BASE + 0x1000 * (index + 1)
}

/// A little-endian ELF64 executable: one read-write `PT_LOAD` mapping the
/// whole file at `BASE`, the given sections each at a 4 KiB-aligned offset,
/// then `.shstrtab` and the section header table.
fn elf64(sections: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = vec![0u8; 0x1000];
    let mut placed = Vec::new();
    for (_, data) in sections {
        let at = out.len();
        out.extend_from_slice(data);
        out.resize(out.len().next_multiple_of(0x1000), 0);
        placed.push((at as u64, data.len() as u64));
    }
    let mut names = vec![0u8];
    let mut name_offsets = Vec::new();
    for (name, _) in sections
        .iter()
        .map(|(n, d)| (n, d))
        .chain([(&".shstrtab", &Vec::new())])
    {
        name_offsets.push(names.len() as u32);
        names.extend_from_slice(name.as_bytes());
        names.push(0);
    }
    let names_at = out.len() as u64;
    out.extend_from_slice(&names);
    out.resize(out.len().next_multiple_of(8), 0);
    let shoff = out.len() as u64;
    let mut header = |name: u32, kind: u32, flags: u64, address: u64, offset: u64, size: u64| {
        out.extend_from_slice(&name.to_le_bytes());
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&flags.to_le_bytes());
        out.extend_from_slice(&address.to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&[0u8; 24]);
    };
    header(0, 0, 0, 0, 0, 0);
    for (index, (offset, size)) in placed.iter().enumerate() {
        header(name_offsets[index], 1, 3, BASE + offset, *offset, *size);
    }
    header(
        *name_offsets.last().unwrap(),
        3,
        0,
        0,
        names_at,
        names.len() as u64,
    );
    let shnum = sections.len() as u16 + 2;
    let total = out.len() as u64;
    let mut h = Vec::new();
    h.extend_from_slice(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
    h.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    h.extend_from_slice(&0x3eu16.to_le_bytes()); // x86-64
    h.extend_from_slice(&1u32.to_le_bytes());
    h.extend_from_slice(&BASE.to_le_bytes()); // entry
    h.extend_from_slice(&64u64.to_le_bytes()); // phoff
    h.extend_from_slice(&shoff.to_le_bytes());
    h.extend_from_slice(&0u32.to_le_bytes());
    h.extend_from_slice(&64u16.to_le_bytes());
    h.extend_from_slice(&56u16.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes());
    h.extend_from_slice(&64u16.to_le_bytes());
    h.extend_from_slice(&shnum.to_le_bytes());
    h.extend_from_slice(&(shnum - 1).to_le_bytes());
    // PT_LOAD, read-write, the whole file.
    h.extend_from_slice(&1u32.to_le_bytes());
    h.extend_from_slice(&6u32.to_le_bytes());
    h.extend_from_slice(&0u64.to_le_bytes());
    h.extend_from_slice(&BASE.to_le_bytes());
    h.extend_from_slice(&BASE.to_le_bytes());
    h.extend_from_slice(&total.to_le_bytes());
    h.extend_from_slice(&total.to_le_bytes());
    h.extend_from_slice(&0x1000u64.to_le_bytes());
    out[..h.len()].copy_from_slice(&h);
    out
}

const START: &[u8] = b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6";
const END: &[u8] = b"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2";

fn modinfo(lines: &str) -> Vec<u8> {
    [START, lines.as_bytes(), END].concat()
}

fn go_names(found: &Found) -> Vec<(String, String, String)> {
    let mut got: Vec<_> = found
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone(), p.purl.to_string()))
        .collect();
    got.sort();
    got
}

/// Go before 1.18: the header holds pointers to string headers (data
/// pointer, length) that live elsewhere in the image.
#[test]
fn pre_1_18_build_info_is_read_through_pointers() {
    let version = b"go1.16.15";
    let modules = modinfo(
        "path\texample.org/cmd/tool\nmod\texample.org/cmd\tv1.4.0\th1:abc=\ndep\tgithub.com/pkg/errors\tv0.9.1\th1:def=\n",
    );
    // .data: two string headers (16 bytes each), then the bytes.
    let data_address = section_address(1);
    let mut data = Vec::new();
    data.extend_from_slice(&(data_address + 32).to_le_bytes());
    data.extend_from_slice(&(version.len() as u64).to_le_bytes());
    data.extend_from_slice(&(data_address + 32 + version.len() as u64).to_le_bytes());
    data.extend_from_slice(&(modules.len() as u64).to_le_bytes());
    data.extend_from_slice(version);
    data.extend_from_slice(&modules);
    let mut info = MAGIC.to_vec();
    info.extend_from_slice(&[8, 0]);
    info.extend_from_slice(&data_address.to_le_bytes());
    info.extend_from_slice(&(data_address + 16).to_le_bytes());
    let elf = elf64(&[(".go.buildinfo", info), (".data", data)]);
    let found = catalog(&elf);
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    assert_eq!(
        go_names(&found),
        [
            (
                "example.org/cmd".into(),
                "v1.4.0".into(),
                "pkg:golang/example.org/cmd@v1.4.0".into()
            ),
            (
                "github.com/pkg/errors".into(),
                "v0.9.1".into(),
                "pkg:golang/github.com/pkg/errors@v0.9.1".into()
            ),
            (
                "stdlib".into(),
                "v1.16.15".into(),
                "pkg:golang/stdlib@v1.16.15".into()
            ),
        ]
    );
}

fn inline_info(version: &[u8], modules: &[u8]) -> Vec<u8> {
    let mut info = MAGIC.to_vec();
    info.extend_from_slice(&[8, 2]);
    info.resize(32, 0);
    info.push(version.len() as u8);
    info.extend_from_slice(version);
    let mut len = modules.len();
    while len >= 0x80 {
        info.push((len as u8) | 0x80);
        len >>= 7;
    }
    info.push(len as u8);
    info.extend_from_slice(modules);
    info
}

fn one_problem(found: &Found, needle: &str) {
    assert!(found.packages.is_empty(), "{:?}", found.packages);
    assert_eq!(found.problems.len(), 1, "{:?}", found.problems);
    let problem = &found.problems[0];
    assert_eq!(problem.cataloger, "binary-metadata");
    assert_eq!(problem.path.to_string(), "/opt/app/bin/tool");
    assert!(
        problem.reason.contains(needle),
        "`{}` lacks `{needle}`",
        problem.reason
    );
}

#[test]
fn inline_build_info_in_a_hand_built_elf() {
    let info = inline_info(
        b"go1.22.1",
        &modinfo("mod\texample.org/x\tv0.0.0-20240101000000-abcdefabcdef\t\n"),
    );
    let found = catalog(&elf64(&[(".go.buildinfo", info)]));
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    assert_eq!(go_names(&found).len(), 2);
}

#[test]
fn a_huge_varint_in_go_build_info_is_a_problem() {
    let mut info = MAGIC.to_vec();
    info.extend_from_slice(&[8, 2]);
    info.resize(32, 0);
    info.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    info.extend_from_slice(b"go1.22.1");
    one_problem(&catalog(&elf64(&[(".go.buildinfo", info)])), "too large");
}

#[test]
fn a_malformed_module_line_is_a_problem_and_the_rest_is_kept() {
    let info = inline_info(
        b"go1.22.1",
        &modinfo("mod\texample.org/x\tv1.0.0\t\nnonsense line\ndep\texample.org/y\tv2.0.0\t\n"),
    );
    let found = catalog(&elf64(&[(".go.buildinfo", info)]));
    assert_eq!(found.packages.len(), 3, "{:?}", found.packages);
    assert_eq!(found.problems.len(), 1);
    assert!(
        found.problems[0].reason.contains("line 2"),
        "{}",
        found.problems[0].reason
    );
}

#[test]
fn a_section_header_table_past_the_end_is_a_problem() {
    let mut elf = elf64(&[(".data", vec![1; 16])]);
    let len = elf.len() as u64;
    elf[0x28..0x30].copy_from_slice(&(len - 64).to_le_bytes());
    one_problem(&catalog(&elf), "extends past the end");
    // A count that overflows the offset arithmetic.
    let mut elf = elf64(&[(".data", vec![1; 16])]);
    elf[0x28..0x30].copy_from_slice(&u64::MAX.to_le_bytes());
    one_problem(&catalog(&elf), "ELF");
}

#[test]
fn a_section_past_the_end_is_a_problem_when_needed() {
    let mut elf = elf64(&[(".go.buildinfo", inline_info(b"go1.22.1", &modinfo("")))]);
    // Section 1's sh_size (section headers start at e_shoff).
    let shoff = u64::from_le_bytes(elf[0x28..0x30].try_into().unwrap()) as usize;
    elf[shoff + 64 + 32..shoff + 64 + 40].copy_from_slice(&(1u64 << 40).to_le_bytes());
    one_problem(&catalog(&elf), ".go.buildinfo");
}

#[test]
fn a_truncated_elf_header_is_a_problem() {
    let elf = elf64(&[(".data", vec![1; 16])]);
    for len in [4, 5, 6, 20, 63] {
        one_problem(&catalog(&elf[..len]), "ELF");
    }
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn cargo_auditable_data_in_a_hand_built_elf() {
    let json = br#"{"packages":[{"name":"app","version":"0.1.0","source":"local","dependencies":[1,2],"root":true},{"name":"libc","version":"0.2.150","source":"crates.io"},{"name":"cc","version":"1.0.83","source":"crates.io","kind":"build"}]}"#;
    let found = catalog(&elf64(&[(".dep-v0", zlib(json))]));
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    let purls: Vec<String> = found.packages.iter().map(|p| p.purl.to_string()).collect();
    assert_eq!(
        purls,
        [
            "pkg:cargo/app@0.1.0",
            "pkg:cargo/libc@0.2.150",
            "pkg:cargo/cc@1.0.83"
        ]
    );
}

#[test]
fn a_zlib_bomb_in_dep_v0_is_a_problem() {
    // 80 MiB of zeros compress to about 80 KiB; the cap is 64 MiB.
    let bomb = {
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..80 {
            encoder.write_all(&chunk).unwrap();
        }
        encoder.finish().unwrap()
    };
    one_problem(&catalog(&elf64(&[(".dep-v0", bomb)])), "more than");
}

#[test]
fn corrupt_dep_v0_is_a_problem() {
    one_problem(
        &catalog(&elf64(&[(".dep-v0", b"not zlib".to_vec())])),
        "does not decompress",
    );
    one_problem(
        &catalog(&elf64(&[(".dep-v0", zlib(b"{\"packages\": 5}"))])),
        "not valid",
    );
}

#[test]
fn scripts_and_plain_binaries_give_nothing() {
    let found = catalog(b"#!/bin/sh\necho hello\n");
    assert!(found.packages.is_empty() && found.problems.is_empty());
    assert!(
        cataloger()
            .reduce(&ImagePath::new("bin/x").unwrap(), b"#!/bin/sh\n".to_vec())
            .is_empty()
    );
    let found = catalog(&elf64(&[(".text", vec![0x90; 64])]));
    assert!(
        found.packages.is_empty() && found.problems.is_empty(),
        "{found:?}"
    );
    // An ordinary C program from the host, if there is one.
    for host in ["/bin/ls", "/usr/bin/env"] {
        if let Ok(bytes) = std::fs::read(host) {
            let found = catalog(&bytes);
            assert!(
                found.packages.is_empty() && found.problems.is_empty(),
                "{host}: {found:?}"
            );
            assert!(
                cataloger()
                    .reduce(&ImagePath::new("bin/x").unwrap(), bytes)
                    .is_empty()
            );
        }
    }
}

//! Go: the build information the Go toolchain embeds in every binary.
//!
//! The blob starts with a 32-byte header: the magic `\xff Go buildinf:`
//! (14 bytes), the pointer size (1 byte) and flags (1 byte: bit 0 big
//! endian, bit 1 "strings inline"). Since Go 1.18 the strings follow the
//! header inline, each prefixed by its length as an unsigned varint: the
//! toolchain version (`go1.19.8`) and the module information. Before 1.18
//! the header holds, at offset 16, two pointers to Go string headers
//! (data pointer, length) that are resolved through the binary's virtual
//! address mapping.
//!
//! Where the blob is: the `.go.buildinfo` section (ELF), `__go_buildinfo`
//! (Mach-O), otherwise at a 16-byte aligned position of the first
//! initialised, writable data section (PE `.data`, old Mach-O `__data`), or
//! of a writable `PT_LOAD` segment for an ELF without section headers. An
//! ELF file with section headers but no `.go.buildinfo` is not a Go binary
//! (Go has written that section, holding the magic, since 1.13).
//!
//! The module information sits between two 16-byte sentinels and is one
//! line per entry, fields separated by tabs:
//!
//! | line | meaning | reported as |
//! |---|---|---|
//! | `path P` | the main package | — |
//! | `mod P V [SUM]` | the main module | package `P` @ `V` (`(devel)` for a local build: the purl then has no version) |
//! | `dep P V [SUM]` | a dependency | package `P` @ `V` |
//! | `=> P V SUM` | replaces the module on the line above | the replacement `P` @ `V` is reported instead, as it is the code in the binary; a local directory replacement (`../x`, no version) keeps the original path with version `(devel)` |
//! | `build K=V` | build settings | — |
//!
//! The toolchain is reported as the package `stdlib`, as the Go
//! vulnerability database names it, with the version in semver form with a
//! `v` like every other Go module version: `go1.19.8` → `v1.19.8`,
//! `go1.21` → `v1.21.0`, `go1.21rc2` → `v1.21.0-rc.2`; a version that is
//! none of these (`devel …`) is kept verbatim. Purls are
//! `pkg:golang/<module path>@<version>`, the namespace being the module path
//! up to its last `/`.
use std::fmt::Write as _;

use drydock_core::{Location, Package, PackageKind, Purl};

use crate::FileRef;
use crate::binary::{Binary, Format, find_aligned};

const MAGIC: &[u8] = b"\xff Go buildinf:";
const HEADER_SIZE: usize = 32;
const ALIGN: usize = 16;
const FLAG_BIG_ENDIAN: u8 = 0x1;
const FLAG_INLINE: u8 = 0x2;
/// Longest string read through a pointer in the pre-1.18 format.
const MAX_STRING: u64 = 1 << 20;
const SENTINEL: usize = 16;

/// The two strings of a Go binary's build information.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BuildInfo {
    pub(crate) go_version: String,
    /// The module information without its sentinels (may be empty).
    pub(crate) modules: String,
}

/// The build info of a Go binary: `Ok(None)` when it has none.
pub(crate) fn extract(binary: &Binary<'_>) -> Result<Option<BuildInfo>, String> {
    let Some(blob) = find_blob(binary)? else {
        return Ok(None);
    };
    let header = blob
        .get(..HEADER_SIZE)
        .ok_or("Go build info header is truncated")?;
    let pointer_size = header.get(14).copied().unwrap_or_default();
    let flags = header.get(15).copied().unwrap_or_default();
    let (go_version, modules) = if flags & FLAG_INLINE != 0 {
        let rest = blob.get(HEADER_SIZE..).unwrap_or_default();
        let (go_version, rest) = varint_string(rest).ok_or(
            "Go build info: the Go version string is truncated or its length is too large",
        )?;
        let (modules, _) = varint_string(rest).ok_or(
            "Go build info: the module information is truncated or its length is too large",
        )?;
        (go_version, modules)
    } else {
        if pointer_size != 4 && pointer_size != 8 {
            return Err(format!(
                "Go build info: pointer size {pointer_size} is neither 4 nor 8"
            ));
        }
        let big_endian = flags & FLAG_BIG_ENDIAN != 0;
        let size = usize::from(pointer_size);
        let read = |at: usize| crate::binary::read_uint(header, at, size, big_endian);
        let go_version = read(16).and_then(|at| pointer_string(binary, at, size, big_endian));
        let modules = read(16 + size).and_then(|at| pointer_string(binary, at, size, big_endian));
        (
            go_version.ok_or("Go build info: the Go version pointer does not resolve to a string in the file")?,
            modules.ok_or("Go build info: the module information pointer does not resolve to a string in the file")?,
        )
    };
    if go_version.is_empty() {
        return Err("Go build info has an empty Go version".to_owned());
    }
    let go_version = String::from_utf8_lossy(go_version).into_owned();
    let modules = strip_sentinels(modules);
    Ok(Some(BuildInfo {
        go_version,
        modules: String::from_utf8_lossy(modules).into_owned(),
    }))
}

/// The blob: from the magic to the end of the section or segment holding it.
fn find_blob<'a>(binary: &Binary<'a>) -> Result<Option<&'a [u8]>, String> {
    let named = match binary.format {
        Format::Elf | Format::Pe => binary.section(".go.buildinfo"),
        Format::MachO => binary
            .section_in("__DATA", "__go_buildinfo")
            .or_else(|| binary.section("__go_buildinfo")),
    };
    if let Some(section) = named {
        let data = binary.section_data(section).map_err(|e| e.to_string())?;
        return Ok(find_aligned(data, MAGIC, ALIGN).and_then(|at| data.get(at..)));
    }
    // An ELF file with a section table but no `.go.buildinfo`: not a Go
    // binary (the section exists since Go 1.13, with the magic). Not
    // searching its data keeps a stream from going back for it.
    if binary.format == Format::Elf && !binary.sections.is_empty() {
        return Ok(None);
    }
    // Go looks only at the first writable data area.
    let data = if let Some(section) = binary
        .sections
        .iter()
        .find(|s| s.writable_data && s.file_size > 0)
    {
        binary.section_data(section).ok()
    } else {
        binary
            .mappings
            .iter()
            .find(|m| m.writable && m.file_size > 0)
            .and_then(|m| binary.data.get(m.offset, m.file_size))
    };
    Ok(data.and_then(|data| find_aligned(data, MAGIC, ALIGN).and_then(|at| data.get(at..))))
}

/// An unsigned LEB128 varint as Go writes it (at most 10 bytes).
fn uvarint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (index, &byte) in bytes.iter().enumerate().take(10) {
        let bits = u64::from(byte & 0x7f);
        if index == 9 && byte > 1 {
            return None;
        }
        value |= bits << (7 * index);
        if byte & 0x80 == 0 {
            return Some((value, index + 1));
        }
    }
    None
}

fn varint_string(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (len, used) = uvarint(bytes)?;
    let rest = bytes.get(used..)?;
    let len = usize::try_from(len).ok()?;
    Some((rest.get(..len)?, rest.get(len..)?))
}

/// A Go string header (data pointer, length) at `address`, resolved.
fn pointer_string<'a>(
    binary: &Binary<'a>,
    address: u64,
    size: usize,
    big_endian: bool,
) -> Option<&'a [u8]> {
    let header = binary.read_address(address, 2 * size as u64)?;
    let data = crate::binary::read_uint(header, 0, size, big_endian)?;
    let len = crate::binary::read_uint(header, size, size, big_endian)?;
    if len > MAX_STRING {
        return None;
    }
    let bytes = binary.read_address(data, len)?;
    (bytes.len() as u64 == len).then_some(bytes)
}

fn strip_sentinels(modules: &[u8]) -> &[u8] {
    let len = modules.len();
    if len > 2 * SENTINEL && modules.get(len - SENTINEL - 1) == Some(&b'\n') {
        modules.get(SENTINEL..len - SENTINEL).unwrap_or_default()
    } else {
        &[]
    }
}

/// One module as the build info names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Module {
    pub(crate) path: String,
    pub(crate) version: String,
    pub(crate) main: bool,
}

/// The modules in the binary (replacements applied) and the lines that did
/// not parse.
pub(crate) fn parse_modules(text: &str) -> (Vec<Module>, Vec<String>) {
    let mut modules: Vec<Module> = Vec::new();
    let mut problems = Vec::new();
    // Whether the previous line was a `mod` or `dep` an `=>` may replace.
    let mut replaceable = false;
    for (number, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split('\t').collect();
        let number = number + 1;
        match fields.as_slice() {
            ["path" | "build", ..] | [""] => replaceable = false,
            [kind @ ("mod" | "dep"), path, version, rest @ ..]
                if rest.len() <= 1 && !path.is_empty() =>
            {
                modules.push(Module {
                    path: (*path).to_owned(),
                    version: (*version).to_owned(),
                    main: *kind == "mod",
                });
                replaceable = true;
            }
            ["=>", path, version, _sum] if replaceable && !path.is_empty() => {
                if let Some(last) = modules.last_mut() {
                    if is_local_path(path) {
                        "(devel)".clone_into(&mut last.version);
                    } else {
                        (*path).clone_into(&mut last.path);
                        (*version).clone_into(&mut last.version);
                    }
                }
                replaceable = false;
            }
            _ => {
                let shown: String = line.chars().take(100).collect();
                problems.push(format!(
                    "Go module information line {number} is malformed: `{}`",
                    shown.escape_debug()
                ));
                replaceable = false;
            }
        }
    }
    (modules, problems)
}

fn is_local_path(path: &str) -> bool {
    path.starts_with("./")
        || path.starts_with("../")
        || path.starts_with('/')
        || path == "."
        || path == ".."
        || path.as_bytes().get(1) == Some(&b':')
}

/// `go1.19.8` → `v1.19.8`, `go1.21` → `v1.21.0`, `go1.21rc2` → `v1.21.0-rc.2`;
/// anything else verbatim. Text after the first space (`X:boringcrypto`) is dropped.
pub(crate) fn stdlib_version(go_version: &str) -> String {
    let first = go_version.split(' ').next().unwrap_or_default();
    let Some(rest) = first.strip_prefix("go") else {
        return go_version.to_owned();
    };
    let (numbers, pre) = match rest.find(|c: char| c.is_ascii_alphabetic()) {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let parts: Vec<&str> = numbers.split('.').collect();
    if parts.is_empty()
        || parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return go_version.to_owned();
    }
    let mut version = format!("v{}", parts.join("."));
    for _ in parts.len()..3 {
        version.push_str(".0");
    }
    if !pre.is_empty() {
        let split = pre.find(|c: char| c.is_ascii_digit()).unwrap_or(pre.len());
        let (word, number) = pre.split_at(split);
        if !matches!(word, "rc" | "beta")
            || number.is_empty()
            || !number.bytes().all(|b| b.is_ascii_digit())
        {
            return go_version.to_owned();
        }
        let _ = write!(version, "-{word}.{number}");
    }
    version
}

/// The packages of one Go binary: its modules and `stdlib`.
pub(crate) fn packages(
    info: &BuildInfo,
    file: &FileRef<'_>,
    problems: &mut Vec<String>,
) -> Vec<Package> {
    let (modules, mut bad) = parse_modules(&info.modules);
    problems.append(&mut bad);
    let mut packages: Vec<Package> = modules
        .into_iter()
        .filter(|m| !m.version.is_empty() || m.main)
        .map(|m| package(&m.path, &m.version, file))
        .collect();
    packages.push(package("stdlib", &stdlib_version(&info.go_version), file));
    packages
}

fn package(path: &str, version: &str, file: &FileRef<'_>) -> Package {
    let (namespace, name) = path.rsplit_once('/').unwrap_or(("", path));
    let mut purl = Purl::new("golang", name).with_namespace(namespace);
    if version != "(devel)" {
        purl = purl.with_version(version);
    }
    Package {
        name: path.to_owned(),
        version: version.to_owned(),
        kind: PackageKind::Golang,
        purl,
        arch: None,
        source: None,
        licenses: Vec::new(),
        maintainer: None,
        installed_size: None,
        checksum: None,
        installed: true,
        locations: vec![Location {
            path: file.path.clone(),
            layer: file.layer.clone(),
        }],
        layer: None,
        files: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdlib_versions_follow_the_go_vulnerability_database() {
        assert_eq!(stdlib_version("go1.19.8"), "v1.19.8");
        assert_eq!(stdlib_version("go1.21"), "v1.21.0");
        assert_eq!(stdlib_version("go1.21rc2"), "v1.21.0-rc.2");
        assert_eq!(stdlib_version("go1.22beta1"), "v1.22.0-beta.1");
        assert_eq!(stdlib_version("go1.20.3 X:boringcrypto"), "v1.20.3");
        assert_eq!(stdlib_version("devel go1.23-abcdef"), "devel go1.23-abcdef");
    }

    #[test]
    fn a_huge_varint_is_refused() {
        assert_eq!(uvarint(&[0xff; 11]), None);
        assert_eq!(varint_string(&[0xff, 0xff, 0xff, 0xff, 0x0f, b'a']), None);
        assert_eq!(uvarint(&[0x96, 0x01]), Some((150, 2)));
    }

    #[test]
    fn replacements_apply_to_the_line_above() {
        let text = "path\texample.com/hello\nmod\texample.com/hello\t(devel)\t\ndep\texample.com/a\tv1.0.0\th1:x=\n=>\texample.com/b\tv1.1.0\th1:y=\ndep\texample.com/c\tv0.1.0\n=>\t../c\t\t\nbuild\t-compiler=gc\n";
        let (modules, problems) = parse_modules(text);
        assert!(problems.is_empty(), "{problems:?}");
        let got: Vec<(&str, &str)> = modules
            .iter()
            .map(|m| (m.path.as_str(), m.version.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("example.com/hello", "(devel)"),
                ("example.com/b", "v1.1.0"),
                ("example.com/c", "(devel)")
            ]
        );
    }
}

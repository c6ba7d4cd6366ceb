//! ELF: the file header, the section header table (names from the section
//! name string table, extended numbering for more than 0xff00 sections) and
//! the `PT_LOAD` program headers for address mapping.
use super::{Binary, BinaryError, Data, Fields, Format, Mapping, Section};

const PT_LOAD: u64 = 1;
const PF_W: u64 = 2;
const SHT_NOBITS: u64 = 8;
const SHF_WRITE: u64 = 1;
const SHF_ALLOC: u64 = 2;
const SHN_XINDEX: u64 = 0xffff;
/// Bytes before the section header table worth keeping when a stream skips
/// to it: linkers put the section name table and the small non-loaded
/// sections (`.comment`, `.dep-v0`) just before it.
const KEEP_BEFORE_SECTION_TABLE: u64 = 4 << 20;

fn error(reason: impl Into<String>) -> BinaryError {
    BinaryError::new(Format::Elf, reason)
}

pub(super) fn parse(data: Data<'_>) -> Result<Binary<'_>, BinaryError> {
    let ident = data.get(0, 6.min(data.len())).unwrap_or_default();
    let wide = match ident.get(4) {
        Some(1) => false,
        Some(2) => true,
        Some(other) => return Err(error(format!("unknown ELF class {other}"))),
        None => return Err(error("truncated ELF header")),
    };
    let big_endian = match ident.get(5) {
        Some(1) => false,
        Some(2) => true,
        Some(other) => return Err(error(format!("unknown ELF data encoding {other}"))),
        None => return Err(error("truncated ELF header")),
    };
    let header_size: u64 = if wide { 64 } else { 52 };
    let header = data.get(0, header_size).ok_or_else(|| {
        error(format!(
            "truncated ELF header: {} of {header_size} bytes",
            data.len()
        ))
    })?;
    let f = Fields {
        bytes: header,
        big_endian,
    };
    let truncated = || error("truncated ELF header");
    let (phoff, shoff, fields) = if wide {
        (f.u64(0x20), f.u64(0x28), 0x36)
    } else {
        (f.u32(0x1c).map(u64::from), f.u32(0x20).map(u64::from), 0x2a)
    };
    let phoff = phoff.ok_or_else(truncated)?;
    let shoff = shoff.ok_or_else(truncated)?;
    let phentsize = u64::from(f.u16(fields).ok_or_else(truncated)?);
    let phnum = u64::from(f.u16(fields + 2).ok_or_else(truncated)?);
    let shentsize = u64::from(f.u16(fields + 4).ok_or_else(truncated)?);
    let mut shnum = u64::from(f.u16(fields + 6).ok_or_else(truncated)?);
    let mut shstrndx = u64::from(f.u16(fields + 8).ok_or_else(truncated)?);

    let mappings = program_headers(data, wide, big_endian, phoff, phentsize, phnum)?;

    let mut sections = Vec::new();
    if shoff != 0 {
        let min_entry = if wide { 64 } else { 40 };
        if shentsize < min_entry {
            return Err(error(format!(
                "section header entry size {shentsize} is below {min_entry}"
            )));
        }
        let entry = |index: u64| -> Result<&[u8], BinaryError> {
            let at = index
                .checked_mul(shentsize)
                .and_then(|o| o.checked_add(shoff))
                .ok_or_else(|| error("section header offset overflows"))?;
            data.get_keeping(at, shentsize, KEEP_BEFORE_SECTION_TABLE)
                .ok_or_else(|| {
                    error(format!(
                        "section header {index} (offset {at}) extends past the end of the file ({} bytes)",
                        data.len()
                    ))
                })
        };
        // Extended numbering: the real counts live in section 0.
        if shnum == 0 || shstrndx == SHN_XINDEX {
            let zero = raw_section(entry(0)?, wide, big_endian).ok_or_else(truncated)?;
            if shnum == 0 {
                shnum = zero.size;
            }
            if shstrndx == SHN_XINDEX {
                shstrndx = zero.link;
            }
        }
        let table_end = shnum
            .checked_mul(shentsize)
            .and_then(|size| size.checked_add(shoff))
            .ok_or_else(|| error("section header table size overflows"))?;
        // The whole table at once (one fetch when reading in parts).
        if table_end > data.len()
            || data
                .get_keeping(shoff, table_end - shoff, KEEP_BEFORE_SECTION_TABLE)
                .is_none()
        {
            return Err(error(format!(
                "section header table (offset {shoff}, {shnum} entries of {shentsize} bytes) extends past the end of the file ({} bytes)",
                data.len()
            )));
        }
        let mut raw = Vec::new();
        for index in 0..shnum {
            raw.push(raw_section(entry(index)?, wide, big_endian).ok_or_else(truncated)?);
        }
        let names = if shnum == 0 {
            None
        } else {
            let table = raw
                .get(usize::try_from(shstrndx).unwrap_or(usize::MAX))
                .ok_or_else(|| {
                    error(format!(
                        "section name table index {shstrndx} is not below the section count {shnum}"
                    ))
                })?;
            Some(data.get(table.offset, table.size).ok_or_else(|| {
                error(format!(
                    "section name table (offset {}, {} bytes) extends past the end of the file ({} bytes)",
                    table.offset,
                    table.size,
                    data.len()
                ))
            })?)
        };
        for section in raw {
            let name = names
                .and_then(|names| names.get(usize::try_from(section.name).ok()?..))
                .map(super::fixed_name)
                .unwrap_or_default();
            let file_size = if section.kind == SHT_NOBITS {
                0
            } else {
                section.size
            };
            // A section whose bytes are not all in the file: a truncated file.
            if file_size > 0
                && section
                    .offset
                    .checked_add(file_size)
                    .is_none_or(|end| end > data.len())
            {
                return Err(error(format!(
                    "section `{name}` (offset {}, {file_size} bytes) extends past the end of the file ({} bytes)",
                    section.offset,
                    data.len()
                )));
            }
            sections.push(Section {
                segment: String::new(),
                name,
                address: section.address,
                offset: section.offset,
                file_size,
                writable_data: section.flags & (SHF_WRITE | SHF_ALLOC) == SHF_WRITE | SHF_ALLOC
                    && section.kind != SHT_NOBITS,
            });
        }
    }
    Ok(Binary {
        format: Format::Elf,
        data,
        sections,
        mappings,
    })
}

struct RawSection {
    name: u64,
    kind: u64,
    flags: u64,
    address: u64,
    offset: u64,
    size: u64,
    link: u64,
}

fn raw_section(entry: &[u8], wide: bool, big_endian: bool) -> Option<RawSection> {
    let f = Fields {
        bytes: entry,
        big_endian,
    };
    Some(if wide {
        RawSection {
            name: u64::from(f.u32(0)?),
            kind: u64::from(f.u32(4)?),
            flags: f.u64(8)?,
            address: f.u64(16)?,
            offset: f.u64(24)?,
            size: f.u64(32)?,
            link: u64::from(f.u32(40)?),
        }
    } else {
        RawSection {
            name: u64::from(f.u32(0)?),
            kind: u64::from(f.u32(4)?),
            flags: u64::from(f.u32(8)?),
            address: u64::from(f.u32(12)?),
            offset: u64::from(f.u32(16)?),
            size: u64::from(f.u32(20)?),
            link: u64::from(f.u32(24)?),
        }
    })
}

fn program_headers(
    data: Data<'_>,
    wide: bool,
    big_endian: bool,
    phoff: u64,
    phentsize: u64,
    phnum: u64,
) -> Result<Vec<Mapping>, BinaryError> {
    let mut mappings = Vec::new();
    if phoff == 0 || phnum == 0 {
        return Ok(mappings);
    }
    let min_entry = if wide { 56 } else { 32 };
    if phentsize < min_entry {
        return Err(error(format!(
            "program header entry size {phentsize} is below {min_entry}"
        )));
    }
    let table = phnum
        .checked_mul(phentsize)
        .and_then(|size| data.get(phoff, size))
        .ok_or_else(|| {
            error(format!(
                "program header table (offset {phoff}, {phnum} entries of {phentsize} bytes) extends past the end of the file ({} bytes)",
                data.len()
            ))
        })?;
    let step = usize::try_from(phentsize).unwrap_or(usize::MAX);
    for entry in table.chunks_exact(step) {
        let f = Fields {
            bytes: entry,
            big_endian,
        };
        let parsed = if wide {
            (|| {
                Some((
                    u64::from(f.u32(0)?),
                    u64::from(f.u32(4)?),
                    f.u64(8)?,
                    f.u64(16)?,
                    f.u64(32)?,
                ))
            })()
        } else {
            (|| {
                Some((
                    u64::from(f.u32(0)?),
                    u64::from(f.u32(24)?),
                    u64::from(f.u32(4)?),
                    u64::from(f.u32(8)?),
                    u64::from(f.u32(16)?),
                ))
            })()
        };
        let Some((kind, flags, offset, address, file_size)) = parsed else {
            continue;
        };
        if kind == PT_LOAD {
            mappings.push(Mapping {
                address,
                offset,
                file_size,
                writable: flags & PF_W != 0,
            });
        }
    }
    Ok(mappings)
}

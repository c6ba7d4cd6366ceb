//! PE (PE32 and PE32+): the DOS stub's pointer to the PE header, the COFF
//! header, the optional header's image base and the section table (long
//! names through the COFF string table).
use super::{Binary, BinaryError, Data, Fields, Format, Mapping, Section};

/// Longest COFF string table read (section names only).
const MAX_STRINGS: u64 = 1 << 20;

const SECTION_SIZE: u64 = 40;
const SYMBOL_SIZE: u64 = 18;
const SCN_CNT_INITIALIZED_DATA: u32 = 0x40;
const SCN_MEM_WRITE: u32 = 0x8000_0000;

fn error(reason: impl Into<String>) -> BinaryError {
    BinaryError::new(Format::Pe, reason)
}

/// `Ok(None)` for an `MZ` file that is not a PE (a DOS or NE executable).
pub(super) fn parse(data: Data<'_>) -> Result<Option<Binary<'_>>, BinaryError> {
    let f = Fields {
        bytes: data.get(0, 0x40).unwrap_or_default(),
        big_endian: false,
    };
    let Some(pe_offset) = f.u32(0x3c).map(u64::from) else {
        return Ok(None);
    };
    let Some(signature) = data.get(pe_offset, 4) else {
        return Ok(None);
    };
    if signature != b"PE\0\0" {
        return Ok(None);
    }
    let coff_at = pe_offset + 4;
    let coff = data
        .get(coff_at, 20)
        .ok_or_else(|| error("truncated COFF header"))?;
    let c = Fields {
        bytes: coff,
        big_endian: false,
    };
    let truncated = || error("truncated COFF header");
    let section_count = u64::from(c.u16(2).ok_or_else(truncated)?);
    let symbol_table = u64::from(c.u32(8).ok_or_else(truncated)?);
    let symbol_count = u64::from(c.u32(12).ok_or_else(truncated)?);
    let optional_size = u64::from(c.u16(16).ok_or_else(truncated)?);
    let optional_at = coff_at + 20;
    let optional = data.get(optional_at, optional_size).ok_or_else(|| {
        error(format!(
            "optional header ({optional_size} bytes) extends past the end of the file"
        ))
    })?;
    let o = Fields {
        bytes: optional,
        big_endian: false,
    };
    let image_base = match o.u16(0) {
        Some(0x10b) => o.u32(28).map(u64::from),
        Some(0x20b) => o.u64(24),
        Some(magic) => return Err(error(format!("unknown optional header magic {magic:#x}"))),
        None => return Err(error("missing optional header")),
    };
    let image_base = image_base.ok_or_else(|| error("truncated optional header"))?;
    let table_at = optional_at + optional_size;
    let table = section_count
        .checked_mul(SECTION_SIZE)
        .and_then(|size| data.get(table_at, size))
        .ok_or_else(|| {
            error(format!(
                "section table (offset {table_at}, {section_count} entries) extends past the end of the file ({} bytes)",
                data.len()
            ))
        })?;
    let strings = symbol_count
        .checked_mul(SYMBOL_SIZE)
        .and_then(|size| symbol_table.checked_add(size))
        .filter(|_| symbol_table != 0)
        .and_then(|at| {
            // The table starts with its own size, those 4 bytes included.
            let size = u64::from(u32::from_le_bytes(data.get(at, 4)?.try_into().ok()?));
            data.get(
                at,
                size.clamp(4, MAX_STRINGS).min(data.len().checked_sub(at)?),
            )
        });
    let mut sections = Vec::new();
    let mut mappings = Vec::new();
    for entry in table.chunks_exact(SECTION_SIZE as usize) {
        let s = Fields {
            bytes: entry,
            big_endian: false,
        };
        let field = |at| s.u32(at).ok_or_else(|| error("truncated section header"));
        let virtual_size = u64::from(field(8)?);
        let virtual_address = u64::from(field(12)?);
        let raw_size = u64::from(field(16)?);
        let raw_offset = u64::from(field(20)?);
        let characteristics = field(36)?;
        let raw_name = entry.get(..8).unwrap_or_default();
        let name = long_name(raw_name, strings).unwrap_or_else(|| super::fixed_name(raw_name));
        let file_size = if virtual_size == 0 {
            raw_size
        } else {
            raw_size.min(virtual_size)
        };
        let address = image_base.wrapping_add(virtual_address);
        let writable = characteristics & SCN_MEM_WRITE != 0;
        sections.push(Section {
            segment: String::new(),
            name,
            address,
            offset: raw_offset,
            file_size,
            writable_data: writable && characteristics & SCN_CNT_INITIALIZED_DATA != 0,
        });
        mappings.push(Mapping {
            address,
            offset: raw_offset,
            file_size,
            writable,
        });
    }
    Ok(Some(Binary {
        format: Format::Pe,
        data,
        sections,
        mappings,
    }))
}

/// A `/123` name: an offset into the COFF string table.
fn long_name(raw: &[u8], strings: Option<&[u8]>) -> Option<String> {
    let digits = raw.strip_prefix(b"/")?;
    let digits = super::fixed_name(digits);
    let offset: usize = digits.parse().ok()?;
    Some(super::fixed_name(strings?.get(offset..)?))
}

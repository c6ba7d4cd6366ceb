//! Small, bounds-checked readers for executable formats: ELF (32/64-bit,
//! both byte orders), PE (PE32 and PE32+) and Mach-O (32/64-bit, and fat
//! files holding several). Only what metadata extraction needs: the section
//! table (find a section by name, read its bytes) and the mapping from
//! virtual addresses to file offsets (Go's pre-1.18 build info is a pair of
//! pointers).
//!
//! The readers work over [`Data`]: either the whole file in memory or the
//! parts of it the walk fetched so far ([`drydock_oci::Parts`]), so a
//! binary of any size is read by its headers and the few sections needed.
//!
//! Every offset and size comes from untrusted input: all arithmetic is
//! checked, every slice is taken with `get`, and no allocation is sized by
//! a number read from the file without first checking it against the file's
//! length.
use drydock_oci::Parts;

mod elf;
mod macho;
pub(crate) mod metadata;
mod pe;

/// The container format of an executable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    Elf,
    Pe,
    MachO,
}

impl Format {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Elf => "ELF",
            Format::Pe => "PE",
            Format::MachO => "Mach-O",
        }
    }
}

/// A malformed executable: what is wrong, in words a user can act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{format}: {reason}")]
pub(crate) struct BinaryError {
    pub(crate) format: &'static str,
    pub(crate) reason: String,
}

impl BinaryError {
    pub(crate) fn new(format: Format, reason: impl Into<String>) -> BinaryError {
        BinaryError {
            format: format.name(),
            reason: reason.into(),
        }
    }
}

/// One section as the section table describes it. `segment` is Mach-O's
/// segment name (empty elsewhere).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Section {
    pub(crate) segment: String,
    pub(crate) name: String,
    /// The virtual address the section is loaded at (absolute, image base added for PE).
    pub(crate) address: u64,
    pub(crate) offset: u64,
    /// Bytes present in the file (0 for `.bss`-like sections).
    pub(crate) file_size: u64,
    /// Initialised, writable data (where Go looks when no named section exists).
    pub(crate) writable_data: bool,
}

/// A range of the file mapped at a virtual address (ELF `PT_LOAD`, PE
/// sections, Mach-O segments).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mapping {
    pub(crate) address: u64,
    pub(crate) offset: u64,
    pub(crate) file_size: u64,
    pub(crate) writable: bool,
}

/// The bytes of an executable (or of one slice of a fat Mach-O): all of
/// them, or the parts fetched so far.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Data<'a> {
    source: Source<'a>,
    base: u64,
    len: u64,
}

#[derive(Clone, Copy, Debug)]
enum Source<'a> {
    Bytes(&'a [u8]),
    Parts(&'a Parts),
}

impl<'a> Data<'a> {
    pub(crate) fn bytes(bytes: &'a [u8]) -> Data<'a> {
        Data {
            source: Source::Bytes(bytes),
            base: 0,
            len: bytes.len() as u64,
        }
    }

    pub(crate) fn parts(parts: &'a Parts) -> Data<'a> {
        Data {
            source: Source::Parts(parts),
            base: 0,
            len: parts.len(),
        }
    }

    pub(crate) fn len(self) -> u64 {
        self.len
    }

    /// `len` bytes at `offset`, `None` when outside the data (or, for
    /// parts, not fetched yet: the walk then fetches them and asks again).
    pub(crate) fn get(self, offset: u64, len: u64) -> Option<&'a [u8]> {
        self.get_keeping(offset, len, 0)
    }

    /// [`Data::get`] for a range at the end of a file, usually just after
    /// the small pieces it points to: keep `keep_before` bytes before it
    /// when a stream skips to it.
    pub(crate) fn get_keeping(self, offset: u64, len: u64, keep_before: u64) -> Option<&'a [u8]> {
        if offset.checked_add(len)? > self.len {
            return None;
        }
        let at = self.base.checked_add(offset)?;
        match self.source {
            Source::Bytes(bytes) => range(bytes, at, len),
            Source::Parts(parts) => parts.get_keeping(at, len, keep_before),
        }
    }

    /// Whether the data begins with `prefix`.
    pub(crate) fn starts_with(self, prefix: &[u8]) -> bool {
        self.get(0, prefix.len() as u64) == Some(prefix)
    }

    /// The `len` bytes at `offset` as data of their own.
    pub(crate) fn slice(self, offset: u64, len: u64) -> Option<Data<'a>> {
        if offset.checked_add(len)? > self.len {
            return None;
        }
        Some(Data {
            source: self.source,
            base: self.base.checked_add(offset)?,
            len,
        })
    }
}

/// A parsed executable over the file's bytes (one slice of a fat Mach-O).
#[derive(Clone, Debug)]
pub(crate) struct Binary<'a> {
    pub(crate) format: Format,
    pub(crate) data: Data<'a>,
    pub(crate) sections: Vec<Section>,
    pub(crate) mappings: Vec<Mapping>,
}

/// The outcome of sniffing a file.
#[derive(Debug)]
pub(crate) enum Parsed<'a> {
    /// Not ELF, PE or Mach-O (a script, a text file, …).
    NotBinary,
    /// One executable, or several for a fat Mach-O.
    Binaries(Vec<Binary<'a>>),
}

/// Sniff the magic and parse the headers. A file with a known magic whose
/// headers do not fit is an error, not `NotBinary`.
pub(crate) fn parse(data: Data<'_>) -> Result<Parsed<'_>, BinaryError> {
    if data.starts_with(b"\x7fELF") {
        return elf::parse(data).map(|b| Parsed::Binaries(vec![b]));
    }
    if data.starts_with(b"MZ") {
        return pe::parse(data).map(|b| b.map_or(Parsed::NotBinary, |b| Parsed::Binaries(vec![b])));
    }
    if let Some(kind) = macho::sniff(data) {
        return macho::parse(data, kind).map(Parsed::Binaries);
    }
    Ok(Parsed::NotBinary)
}

impl<'a> Binary<'a> {
    /// The first section named `name` (in any Mach-O segment).
    pub(crate) fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The first section named `name` in Mach-O segment `segment`.
    pub(crate) fn section_in(&self, segment: &str, name: &str) -> Option<&Section> {
        self.sections
            .iter()
            .find(|s| s.segment == segment && s.name == name)
    }

    /// The bytes of a section; an error when the table points past the file.
    pub(crate) fn section_data(&self, section: &Section) -> Result<&'a [u8], BinaryError> {
        self.data.get(section.offset, section.file_size).ok_or_else(|| {
            BinaryError::new(
                self.format,
                format!(
                    "section `{}` (offset {}, {} bytes) extends past the end of the file ({} bytes)",
                    section.name,
                    section.offset,
                    section.file_size,
                    self.data.len()
                ),
            )
        })
    }

    /// The file bytes at virtual address `address`, up to `len` bytes but
    /// never past the end of the mapping that holds it.
    pub(crate) fn read_address(&self, address: u64, len: u64) -> Option<&'a [u8]> {
        let mapping = self
            .mappings
            .iter()
            .find(|m| address >= m.address && address - m.address < m.file_size)?;
        let start = mapping.offset.checked_add(address - mapping.address)?;
        let available = mapping.file_size - (address - mapping.address);
        self.data.get(start, len.min(available))
    }
}

/// `bytes[offset..offset + len]`, checked.
pub(crate) fn range(bytes: &[u8], offset: u64, len: u64) -> Option<&[u8]> {
    let start = usize::try_from(offset).ok()?;
    let len = usize::try_from(len).ok()?;
    bytes.get(start..start.checked_add(len)?)
}

/// An unsigned integer of `size` (1, 2, 4 or 8) bytes at `offset`.
pub(crate) fn read_uint(bytes: &[u8], offset: usize, size: usize, big_endian: bool) -> Option<u64> {
    let field = bytes.get(offset..offset.checked_add(size)?)?;
    if !matches!(size, 1 | 2 | 4 | 8) {
        return None;
    }
    let mut value: u64 = 0;
    if big_endian {
        for &b in field {
            value = (value << 8) | u64::from(b);
        }
    } else {
        for &b in field.iter().rev() {
            value = (value << 8) | u64::from(b);
        }
    }
    Some(value)
}

/// A little cursor over a header with fixed-width fields in one byte order.
#[derive(Clone, Copy)]
pub(crate) struct Fields<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) big_endian: bool,
}

impl Fields<'_> {
    pub(crate) fn u16(&self, offset: usize) -> Option<u16> {
        read_uint(self.bytes, offset, 2, self.big_endian).map(|v| v as u16)
    }
    pub(crate) fn u32(&self, offset: usize) -> Option<u32> {
        read_uint(self.bytes, offset, 4, self.big_endian).map(|v| v as u32)
    }
    pub(crate) fn u64(&self, offset: usize) -> Option<u64> {
        read_uint(self.bytes, offset, 8, self.big_endian)
    }
}

/// A NUL-terminated (or field-filling) name from a fixed-width field.
pub(crate) fn fixed_name(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(field.get(..end).unwrap_or_default()).into_owned()
}

/// The first position of `needle` in `haystack` that is a multiple of `align`.
pub(crate) fn find_aligned(haystack: &[u8], needle: &[u8], align: usize) -> Option<usize> {
    (0..haystack.len()).step_by(align.max(1)).find(|&at| {
        haystack
            .get(at..)
            .is_some_and(|rest| rest.starts_with(needle))
    })
}

//! rpm header blobs as the rpmdb stores them.
//!
//! A blob is the "header" part of an rpm file without its 8-byte magic:
//!
//! ```text
//! u32 il            number of index entries        (big-endian, like all of it)
//! u32 dl            length of the data store
//! il × { u32 tag, u32 type, u32 offset, u32 count }
//! dl bytes          the data store; `offset` is relative to its start
//! ```
//!
//! Every access is bounds-checked against the data store; nothing is
//! allocated from a count before the count has been checked against the bytes
//! that could hold it.

/// rpm's own limits (`HEADER_TAGS_MAX`, `HEADER_DATA_MAX` in lib/header.c).
const MAX_ENTRIES: u32 = 0xffff;
const MAX_DATA: u32 = 0x0fff_ffff;
const ENTRY_SIZE: usize = 16;

pub(crate) const TAG_NAME: u32 = 1000;
pub(crate) const TAG_VERSION: u32 = 1001;
pub(crate) const TAG_RELEASE: u32 = 1002;
pub(crate) const TAG_EPOCH: u32 = 1003;
pub(crate) const TAG_SIZE: u32 = 1009;
pub(crate) const TAG_VENDOR: u32 = 1011;
pub(crate) const TAG_LICENSE: u32 = 1014;
pub(crate) const TAG_PACKAGER: u32 = 1015;
pub(crate) const TAG_ARCH: u32 = 1022;
pub(crate) const TAG_OLDFILENAMES: u32 = 1027;
pub(crate) const TAG_FILEDIGESTS: u32 = 1035;
pub(crate) const TAG_SOURCERPM: u32 = 1044;
pub(crate) const TAG_DIRINDEXES: u32 = 1116;
pub(crate) const TAG_BASENAMES: u32 = 1117;
pub(crate) const TAG_DIRNAMES: u32 = 1118;
pub(crate) const TAG_LONGSIZE: u32 = 5009;
pub(crate) const TAG_FILEDIGESTALGO: u32 = 5011;

const TYPE_CHAR: u32 = 1;
const TYPE_INT8: u32 = 2;
const TYPE_INT16: u32 = 3;
pub(crate) const TYPE_INT32: u32 = 4;
const TYPE_INT64: u32 = 5;
pub(crate) const TYPE_STRING: u32 = 6;
#[cfg(test)]
const TYPE_BIN: u32 = 7;
pub(crate) const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum HeaderError {
    #[error("header blob is {0} bytes, too short for its 8-byte intro")]
    TooShort(usize),
    #[error(
        "header blob claims {entries} index entries and {data} data bytes, beyond rpm's limits"
    )]
    TooLarge { entries: u32, data: u32 },
    #[error(
        "header blob claims {expected} bytes ({entries} index entries, {data} data bytes) but is {actual}"
    )]
    LengthMismatch {
        entries: u32,
        data: u32,
        expected: usize,
        actual: usize,
    },
    #[error("tag {tag}: type {ty} is not what the tag holds")]
    WrongType { tag: u32, ty: u32 },
    #[error("tag {tag}: {count} values at offset {offset} run past the {data}-byte data store")]
    OutOfBounds {
        tag: u32,
        offset: u32,
        count: u32,
        data: usize,
    },
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    tag: u32,
    ty: u32,
    offset: u32,
    count: u32,
}

/// A parsed header blob: the index and a view of the data store.
#[derive(Debug)]
pub(crate) struct Header<'a> {
    entries: Vec<Entry>,
    data: &'a [u8],
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let chunk = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(chunk.try_into().ok()?))
}

impl<'a> Header<'a> {
    pub(crate) fn parse(blob: &'a [u8]) -> Result<Header<'a>, HeaderError> {
        let (Some(entries), Some(data)) = (be32(blob, 0), be32(blob, 4)) else {
            return Err(HeaderError::TooShort(blob.len()));
        };
        if entries > MAX_ENTRIES || data > MAX_DATA {
            return Err(HeaderError::TooLarge { entries, data });
        }
        // Both factors are bounded above, so this cannot overflow.
        let index_len = entries as usize * ENTRY_SIZE;
        let expected = 8 + index_len + data as usize;
        if expected != blob.len() {
            return Err(HeaderError::LengthMismatch {
                entries,
                data,
                expected,
                actual: blob.len(),
            });
        }
        let index = blob.get(8..8 + index_len).unwrap_or_default();
        let store = blob.get(8 + index_len..).unwrap_or_default();
        let entries = index
            .chunks_exact(ENTRY_SIZE)
            .filter_map(|raw| {
                Some(Entry {
                    tag: be32(raw, 0)?,
                    ty: be32(raw, 4)?,
                    offset: be32(raw, 8)?,
                    count: be32(raw, 12)?,
                })
            })
            .collect();
        Ok(Header {
            entries,
            data: store,
        })
    }

    fn entry(&self, tag: u32) -> Option<Entry> {
        self.entries.iter().find(|entry| entry.tag == tag).copied()
    }

    fn out_of_bounds(&self, entry: Entry) -> HeaderError {
        HeaderError::OutOfBounds {
            tag: entry.tag,
            offset: entry.offset,
            count: entry.count,
            data: self.data.len(),
        }
    }

    /// `count` NUL-terminated strings starting at the entry's offset.
    fn strings_of(&self, entry: Entry, count: u32) -> Result<Vec<&'a [u8]>, HeaderError> {
        let data: &'a [u8] = self.data;
        let mut rest = data
            .get(entry.offset as usize..)
            .ok_or_else(|| self.out_of_bounds(entry))?;
        // Each string takes at least its NUL: a count larger than the bytes
        // left is a lie, caught before allocating for it.
        if count as usize > rest.len() {
            return Err(self.out_of_bounds(entry));
        }
        let mut out = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let end = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or_else(|| self.out_of_bounds(entry))?;
            out.push(rest.get(..end).unwrap_or_default());
            rest = rest.get(end + 1..).unwrap_or_default();
        }
        Ok(out)
    }

    /// A string tag (`STRING`, the first of an `I18NSTRING` or
    /// `STRING_ARRAY`), as bytes.
    pub(crate) fn bytes(&self, tag: u32) -> Result<Option<&'a [u8]>, HeaderError> {
        let Some(entry) = self.entry(tag) else {
            return Ok(None);
        };
        match entry.ty {
            TYPE_STRING | TYPE_I18NSTRING | TYPE_STRING_ARRAY if entry.count >= 1 => {
                Ok(self.strings_of(entry, 1)?.into_iter().next())
            }
            _ => Err(HeaderError::WrongType { tag, ty: entry.ty }),
        }
    }

    /// A string tag, decoded as UTF-8 (lossily: rpm does not enforce it).
    pub(crate) fn string(&self, tag: u32) -> Result<Option<String>, HeaderError> {
        Ok(self
            .bytes(tag)?
            .map(|bytes| String::from_utf8_lossy(bytes).into_owned()))
    }

    /// A `STRING_ARRAY` tag; absent is empty.
    pub(crate) fn string_array(&self, tag: u32) -> Result<Vec<&'a [u8]>, HeaderError> {
        let Some(entry) = self.entry(tag) else {
            return Ok(Vec::new());
        };
        match entry.ty {
            TYPE_STRING_ARRAY | TYPE_I18NSTRING => self.strings_of(entry, entry.count),
            TYPE_STRING => self.strings_of(entry, 1),
            _ => Err(HeaderError::WrongType { tag, ty: entry.ty }),
        }
    }

    /// An integer array tag of any integer width, widened to `u64`; absent is
    /// empty.
    pub(crate) fn integers(&self, tag: u32) -> Result<Vec<u64>, HeaderError> {
        let Some(entry) = self.entry(tag) else {
            return Ok(Vec::new());
        };
        let width: usize = match entry.ty {
            TYPE_CHAR | TYPE_INT8 => 1,
            TYPE_INT16 => 2,
            TYPE_INT32 => 4,
            TYPE_INT64 => 8,
            _ => return Err(HeaderError::WrongType { tag, ty: entry.ty }),
        };
        let start = entry.offset as usize;
        let bytes = (entry.count as usize)
            .checked_mul(width)
            .and_then(|len| start.checked_add(len))
            .and_then(|end| self.data.get(start..end))
            .ok_or_else(|| self.out_of_bounds(entry))?;
        Ok(bytes
            .chunks_exact(width)
            .map(|chunk| chunk.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b)))
            .collect())
    }

    /// The first value of an integer tag.
    pub(crate) fn integer(&self, tag: u32) -> Result<Option<u64>, HeaderError> {
        Ok(self.integers(tag)?.first().copied())
    }

    /// Whether the header has the tag at all (any type).
    #[cfg(test)]
    pub(crate) fn has(&self, tag: u32) -> bool {
        self.entry(tag).is_some()
    }

    /// A `BIN` tag's bytes.
    #[cfg(test)]
    pub(crate) fn binary(&self, tag: u32) -> Result<Option<&'a [u8]>, HeaderError> {
        let Some(entry) = self.entry(tag) else {
            return Ok(None);
        };
        if entry.ty != TYPE_BIN {
            return Err(HeaderError::WrongType { tag, ty: entry.ty });
        }
        let start = entry.offset as usize;
        start
            .checked_add(entry.count as usize)
            .and_then(|end| self.data.get(start..end))
            .map(Some)
            .ok_or_else(|| self.out_of_bounds(entry))
    }
}

/// Build a header blob from `(tag, type, value bytes, count)` entries; the
/// test helper for hostile-input tests (the real fixtures come from rpm).
#[cfg(test)]
pub(crate) fn build(entries: &[(u32, u32, &[u8], u32)]) -> Vec<u8> {
    let mut index = Vec::new();
    let mut data = Vec::new();
    for &(tag, ty, value, count) in entries {
        let align = match ty {
            TYPE_INT16 => 2,
            TYPE_INT32 => 4,
            TYPE_INT64 => 8,
            _ => 1,
        };
        while data.len() % align != 0 {
            data.push(0);
        }
        index.extend_from_slice(&tag.to_be_bytes());
        index.extend_from_slice(&ty.to_be_bytes());
        index.extend_from_slice(&(data.len() as u32).to_be_bytes());
        index.extend_from_slice(&count.to_be_bytes());
        data.extend_from_slice(value);
    }
    let mut blob = Vec::new();
    blob.extend_from_slice(&((entries.len()) as u32).to_be_bytes());
    blob.extend_from_slice(&(data.len() as u32).to_be_bytes());
    blob.extend_from_slice(&index);
    blob.extend_from_slice(&data);
    blob
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]
mod tests {
    use super::*;

    #[test]
    fn reads_strings_arrays_and_integers() {
        let blob = build(&[
            (TAG_NAME, TYPE_STRING, b"hello\0", 1),
            (TAG_BASENAMES, TYPE_STRING_ARRAY, b"a\0bc\0", 2),
            (TAG_DIRINDEXES, TYPE_INT32, &[0, 0, 0, 1, 0, 0, 0, 2], 2),
            (63, TYPE_BIN, &[1, 2, 3], 3),
        ]);
        let header = Header::parse(&blob).unwrap();
        assert_eq!(header.string(TAG_NAME).unwrap().as_deref(), Some("hello"));
        assert_eq!(
            header.string_array(TAG_BASENAMES).unwrap(),
            vec![&b"a"[..], &b"bc"[..]]
        );
        assert_eq!(header.integers(TAG_DIRINDEXES).unwrap(), vec![1, 2]);
        assert_eq!(header.binary(63).unwrap(), Some(&[1u8, 2, 3][..]));
        assert!(!header.has(TAG_EPOCH));
        assert_eq!(header.integer(TAG_EPOCH).unwrap(), None);
    }

    #[test]
    fn index_count_claiming_more_than_the_blob_is_an_error() {
        let mut blob = build(&[(TAG_NAME, TYPE_STRING, b"x\0", 1)]);
        blob[3] = 200; // 200 entries, but the blob holds one
        assert!(matches!(
            Header::parse(&blob),
            Err(HeaderError::LengthMismatch { entries: 200, .. })
        ));
        blob[0] = 0xff; // beyond rpm's tag limit
        assert!(matches!(
            Header::parse(&blob),
            Err(HeaderError::TooLarge { .. })
        ));
        assert!(matches!(
            Header::parse(&[0, 0, 0]),
            Err(HeaderError::TooShort(3))
        ));
    }

    #[test]
    fn entries_pointing_outside_the_data_store_are_errors() {
        // An unterminated string.
        let blob = build(&[(TAG_NAME, TYPE_STRING, b"abc", 1)]);
        let header = Header::parse(&blob).unwrap();
        assert!(matches!(
            header.string(TAG_NAME),
            Err(HeaderError::OutOfBounds { .. })
        ));
        // A string array whose count exceeds the data.
        let blob = build(&[(TAG_BASENAMES, TYPE_STRING_ARRAY, b"a\0", 0x7fff_ffff)]);
        let header = Header::parse(&blob).unwrap();
        assert!(header.string_array(TAG_BASENAMES).is_err());
        // An integer array whose count overflows.
        let blob = build(&[(TAG_DIRINDEXES, TYPE_INT32, &[0; 4], u32::MAX)]);
        let header = Header::parse(&blob).unwrap();
        assert!(header.integers(TAG_DIRINDEXES).is_err());
        // A string read as an integer.
        let blob = build(&[(TAG_EPOCH, TYPE_STRING, b"1\0", 1)]);
        let header = Header::parse(&blob).unwrap();
        assert!(matches!(
            header.integer(TAG_EPOCH),
            Err(HeaderError::WrongType { .. })
        ));
    }
}

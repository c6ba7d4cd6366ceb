//! A small, bounds-checked reader for the zip format (PKWARE APPNOTE.TXT),
//! enough to list an archive's central directory and read single entries.
//!
//! Everything read from the archive is checked against the bytes actually
//! present before it is used: offsets and lengths must fall inside the
//! input, declared sizes are compared with caps before anything is
//! inflated, and inflation stops one byte past the declared size, so an
//! entry that lies about its size costs at most its declared size.
//!
//! Supported: stored (method 0) and deflated (method 8) entries, ZIP64 end
//! records and extra fields, a prefix before the archive (self-executing
//! jars carry a launch script) found by comparing where the central
//! directory is with where the end record says it is. Not supported (an
//! error for that entry only): encryption and every other method.
use std::borrow::Cow;
use std::io::Read as _;

const END_SIGNATURE: u32 = 0x0605_4b50;
const ZIP64_LOCATOR_SIGNATURE: u32 = 0x0706_4b50;
const ZIP64_END_SIGNATURE: u32 = 0x0606_4b50;
const CENTRAL_SIGNATURE: u32 = 0x0201_4b50;
const LOCAL_SIGNATURE: u32 = 0x0403_4b50;
const END_LENGTH: usize = 22;
const ZIP64_LOCATOR_LENGTH: usize = 20;
const ZIP64_END_LENGTH: usize = 56;
const CENTRAL_LENGTH: usize = 46;
const LOCAL_LENGTH: usize = 30;
/// The end record's comment is at most this long.
const MAX_COMMENT: usize = 0xffff;
/// Deflate cannot expand data by more than about 1032:1; a declared ratio
/// above this is a lie or a bomb.
const MAX_RATIO: u64 = 1100;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum ZipError {
    #[error("not a zip archive: no end of central directory record")]
    NoEnd,
    #[error("truncated zip archive: the {0} runs past the end of the file")]
    Truncated(&'static str),
    #[error("corrupt zip archive: {0}")]
    Corrupt(String),
    #[error("entry `{name}`: {reason}")]
    Entry { name: String, reason: String },
}

/// A parsed zip archive over borrowed bytes.
pub(crate) struct Zip<'a> {
    data: &'a [u8],
    /// Bytes before the archive proper (offsets in the archive count from here).
    base: u64,
    /// The central directory.
    directory: &'a [u8],
}

/// One central directory entry.
#[derive(Clone, Debug)]
pub(crate) struct Entry<'a> {
    pub(crate) name: &'a [u8],
    flags: u16,
    method: u16,
    crc32: u32,
    pub(crate) compressed_size: u64,
    pub(crate) size: u64,
    local_offset: u64,
}

impl Entry<'_> {
    pub(crate) fn display_name(&self) -> String {
        String::from_utf8_lossy(self.name).into_owned()
    }

    fn error(&self, reason: impl Into<String>) -> ZipError {
        ZipError::Entry {
            name: self.display_name(),
            reason: reason.into(),
        }
    }
}

fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    let bytes = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes(bytes.try_into().ok()?))
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    let bytes = data.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

fn u64_at(data: &[u8], at: usize) -> Option<u64> {
    let bytes = data.get(at..at.checked_add(8)?)?;
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

fn to_usize(value: u64, what: &'static str) -> Result<usize, ZipError> {
    usize::try_from(value).map_err(|_| ZipError::Truncated(what))
}

/// The position of the end of central directory record: the last signature
/// whose comment ends at or before the end of the data.
fn find_end(data: &[u8]) -> Option<usize> {
    let last = data.len().checked_sub(END_LENGTH)?;
    let first = last.saturating_sub(MAX_COMMENT);
    (first..=last).rev().find(|&at| {
        u32_at(data, at) == Some(END_SIGNATURE)
            && u16_at(data, at + 20)
                .is_some_and(|comment| at + END_LENGTH + usize::from(comment) <= data.len())
    })
}

impl<'a> Zip<'a> {
    pub(crate) fn parse(data: &'a [u8]) -> Result<Zip<'a>, ZipError> {
        let end = find_end(data).ok_or(ZipError::NoEnd)?;
        let field16 = |at: usize| u16_at(data, end + at).ok_or(ZipError::NoEnd);
        let field32 = |at: usize| u32_at(data, end + at).ok_or(ZipError::NoEnd);
        let (disk, directory_disk) = (field16(4)?, field16(6)?);
        let entries = field16(10)?;
        let mut directory_size = u64::from(field32(12)?);
        let mut directory_offset = u64::from(field32(16)?);
        // Where the central directory ends: the end record, or the ZIP64 end record.
        let mut directory_end = end;
        let zip64 =
            entries == 0xffff || directory_size == 0xffff_ffff || directory_offset == 0xffff_ffff;
        if zip64
            && let Some(locator) = end.checked_sub(ZIP64_LOCATOR_LENGTH)
            && u32_at(data, locator) == Some(ZIP64_LOCATOR_SIGNATURE)
        {
            let record = locator
                .checked_sub(ZIP64_END_LENGTH)
                .filter(|&at| u32_at(data, at) == Some(ZIP64_END_SIGNATURE))
                .ok_or_else(|| {
                    ZipError::Corrupt("ZIP64 locator without a ZIP64 end record".into())
                })?;
            directory_size =
                u64_at(data, record + 40).ok_or(ZipError::Truncated("ZIP64 end record"))?;
            directory_offset =
                u64_at(data, record + 48).ok_or(ZipError::Truncated("ZIP64 end record"))?;
            directory_end = record;
        } else if disk != 0 || directory_disk != 0 {
            return Err(ZipError::Corrupt(
                "multi-disk archives are not supported".into(),
            ));
        }
        let directory_start = (directory_end as u64)
            .checked_sub(directory_size)
            .ok_or(ZipError::Truncated("central directory"))?;
        let base = directory_start.checked_sub(directory_offset).ok_or_else(|| {
            ZipError::Corrupt(format!(
                "central directory of {directory_size} bytes at offset {directory_offset} lies past its end record"
            ))
        })?;
        let directory = data
            .get(to_usize(directory_start, "central directory")?..directory_end)
            .ok_or(ZipError::Truncated("central directory"))?;
        Ok(Zip {
            data,
            base,
            directory,
        })
    }

    /// The central directory entries, in order; an error ends the listing.
    pub(crate) fn entries(&self) -> Entries<'a> {
        Entries {
            directory: self.directory,
            at: 0,
            failed: false,
        }
    }

    /// The stored bytes of an entry (still compressed).
    fn raw(&self, entry: &Entry<'_>) -> Result<&'a [u8], ZipError> {
        let local = self
            .base
            .checked_add(entry.local_offset)
            .and_then(|at| usize::try_from(at).ok())
            .filter(|&at| u32_at(self.data, at) == Some(LOCAL_SIGNATURE))
            .ok_or_else(|| entry.error("no local file header at its recorded offset"))?;
        let name_length =
            u16_at(self.data, local + 26).ok_or_else(|| entry.error("truncated local header"))?;
        let extra_length =
            u16_at(self.data, local + 28).ok_or_else(|| entry.error("truncated local header"))?;
        let start = local + LOCAL_LENGTH + usize::from(name_length) + usize::from(extra_length);
        let length =
            usize::try_from(entry.compressed_size).map_err(|_| entry.error("too large"))?;
        start
            .checked_add(length)
            .and_then(|end| self.data.get(start..end))
            .ok_or_else(|| entry.error("data runs past the end of the archive (truncated?)"))
    }

    /// The content of `entry`, which may be at most `cap` bytes. Stored
    /// entries are borrowed; deflated ones are inflated up to their declared
    /// size and checked against it and their CRC-32.
    pub(crate) fn read(&self, entry: &Entry<'_>, cap: u64) -> Result<Cow<'a, [u8]>, ZipError> {
        if entry.flags & 1 != 0 {
            return Err(entry.error("encrypted"));
        }
        if entry.size > cap {
            return Err(entry.error(format!(
                "declares {} bytes uncompressed, more than the {cap}-byte limit",
                entry.size
            )));
        }
        let raw = self.raw(entry)?;
        let content: Cow<'a, [u8]> = match entry.method {
            0 => {
                if entry.size != entry.compressed_size {
                    return Err(entry.error("stored entry whose sizes differ"));
                }
                Cow::Borrowed(raw)
            }
            8 => {
                if entry.size
                    > entry
                        .compressed_size
                        .saturating_mul(MAX_RATIO)
                        .saturating_add(1024)
                {
                    return Err(entry.error(format!(
                        "declares {} bytes from {} compressed, a ratio deflate cannot reach (zip bomb?)",
                        entry.size, entry.compressed_size
                    )));
                }
                let mut out =
                    Vec::with_capacity(usize::try_from(entry.size.min(1 << 20)).unwrap_or(0));
                flate2::read::DeflateDecoder::new(raw)
                    .take(entry.size.saturating_add(1))
                    .read_to_end(&mut out)
                    .map_err(|error| entry.error(format!("does not inflate: {error}")))?;
                if out.len() as u64 != entry.size {
                    return Err(entry.error(format!(
                        "inflates to {}{} bytes, not the {} it declares",
                        if out.len() as u64 > entry.size {
                            "more than "
                        } else {
                            ""
                        },
                        out.len()
                            .min(usize::try_from(entry.size).unwrap_or(usize::MAX)),
                        entry.size
                    )));
                }
                Cow::Owned(out)
            }
            method => return Err(entry.error(format!("unsupported compression method {method}"))),
        };
        let mut crc = flate2::Crc::new();
        crc.update(&content);
        if crc.sum() != entry.crc32 {
            return Err(entry.error("CRC-32 mismatch"));
        }
        Ok(content)
    }
}

/// Iterator over central directory entries.
pub(crate) struct Entries<'a> {
    directory: &'a [u8],
    at: usize,
    failed: bool,
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Entry<'a>, ZipError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.at >= self.directory.len() {
            return None;
        }
        let result = parse_entry(self.directory, self.at);
        match result {
            Ok((entry, next)) => {
                self.at = next;
                Some(Ok(entry))
            }
            Err(error) => {
                self.failed = true;
                Some(Err(error))
            }
        }
    }
}

fn parse_entry(directory: &[u8], at: usize) -> Result<(Entry<'_>, usize), ZipError> {
    let truncated = || ZipError::Truncated("central directory entry");
    if u32_at(directory, at) != Some(CENTRAL_SIGNATURE) {
        return Err(ZipError::Corrupt(format!(
            "bad central directory entry signature at directory offset {at}"
        )));
    }
    let field16 = |offset: usize| u16_at(directory, at + offset).ok_or_else(truncated);
    let field32 = |offset: usize| u32_at(directory, at + offset).ok_or_else(truncated);
    let flags = field16(8)?;
    let method = field16(10)?;
    let crc32 = field32(16)?;
    let mut compressed_size = u64::from(field32(20)?);
    let mut size = u64::from(field32(24)?);
    let name_length = usize::from(field16(28)?);
    let extra_length = usize::from(field16(30)?);
    let comment_length = usize::from(field16(32)?);
    let mut local_offset = u64::from(field32(42)?);
    let name_start = at + CENTRAL_LENGTH;
    let extra_start = name_start + name_length;
    let next = extra_start + extra_length + comment_length;
    let name = directory
        .get(name_start..extra_start)
        .ok_or_else(truncated)?;
    let extra = directory
        .get(extra_start..extra_start + extra_length)
        .ok_or_else(truncated)?;
    if next > directory.len() {
        return Err(truncated());
    }
    // ZIP64 extended information: the 64-bit values, in this order, for
    // each 32-bit field that holds 0xffffffff.
    let mut field = 0;
    while let (Some(id), Some(length)) = (u16_at(extra, field), u16_at(extra, field + 2)) {
        let body_start = field + 4;
        let body_end = body_start + usize::from(length);
        let Some(body) = extra.get(body_start..body_end) else {
            break;
        };
        if id == 1 {
            let mut offset = 0;
            for value in [&mut size, &mut compressed_size, &mut local_offset] {
                if *value == 0xffff_ffff {
                    *value = u64_at(body, offset)
                        .ok_or_else(|| ZipError::Corrupt("ZIP64 extra field too short".into()))?;
                    offset += 8;
                }
            }
        }
        field = body_end;
    }
    Ok((
        Entry {
            name,
            flags,
            method,
            crc32,
            compressed_size,
            size,
            local_offset,
        },
        next,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal archive with one stored entry, written by hand from APPNOTE.
    fn stored(name: &[u8], content: &[u8]) -> Vec<u8> {
        let mut crc = flate2::Crc::new();
        crc.update(content);
        let mut out = Vec::new();
        out.extend_from_slice(&LOCAL_SIGNATURE.to_le_bytes());
        out.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&(content.len() as u32).to_le_bytes());
        out.extend_from_slice(&(content.len() as u32).to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(name);
        out.extend_from_slice(content);
        let directory = out.len();
        out.extend_from_slice(&CENTRAL_SIGNATURE.to_le_bytes());
        out.extend_from_slice(&[20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&(content.len() as u32).to_le_bytes());
        out.extend_from_slice(&(content.len() as u32).to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&[0; 12]);
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(name);
        let size = out.len() - directory;
        out.extend_from_slice(&END_SIGNATURE.to_le_bytes());
        out.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
        out.extend_from_slice(&(size as u32).to_le_bytes());
        out.extend_from_slice(&(directory as u32).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    #[test]
    fn reads_a_stored_entry_with_and_without_a_prefix() {
        let archive = stored(b"a.txt", b"hello");
        for prefix in [&b""[..], b"#!/bin/sh\nexec java -jar \"$0\"\n"] {
            let data = [prefix, &archive].concat();
            let zip = Zip::parse(&data).unwrap();
            let entries: Vec<_> = zip.entries().collect::<Result<_, _>>().unwrap();
            assert_eq!(entries.len(), 1);
            assert_eq!(entries[0].name, b"a.txt");
            assert_eq!(&*zip.read(&entries[0], 100).unwrap(), b"hello");
            assert!(zip.read(&entries[0], 4).is_err());
        }
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let archive = stored(b"a.txt", b"hello");
        for length in 0..archive.len() {
            let data = &archive[..length];
            if let Ok(zip) = Zip::parse(data) {
                for entry in zip.entries().flatten() {
                    let _ = zip.read(&entry, 100);
                }
            }
        }
        assert_eq!(Zip::parse(b"").err(), Some(ZipError::NoEnd));
    }

    #[test]
    fn a_corrupted_crc_is_reported() {
        let mut archive = stored(b"a.txt", b"hello");
        let at = archive.len() - 22 - 5 - 46 + 16;
        archive[at] ^= 1;
        let zip = Zip::parse(&archive).unwrap();
        let entry = zip.entries().next().unwrap().unwrap();
        assert!(matches!(zip.read(&entry, 100), Err(ZipError::Entry { .. })));
    }
}

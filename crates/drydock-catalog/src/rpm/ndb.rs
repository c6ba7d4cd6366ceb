//! rpm's own package database, `Packages.db` ("ndb", rpm ≥ 4.16,
//! lib/backend/ndb/rpmpkg.c). All integers are little-endian.
//!
//! ```text
//! slot pages   slotnpages × 4096 bytes; the first 32 bytes of page 0 are the
//!              database header: "RpmP", version 0, generation, slotnpages,
//!              nextpkgidx. The rest are 16-byte slots:
//!              "Slot", pkgidx, blkoff, blkcnt    (blkoff 0 = free slot)
//! blobs        at blkoff × 16, blkcnt × 16 bytes:
//!              "BlbS", pkgidx, generation, bloblen    16-byte head
//!              bloblen bytes of header blob, zero padding
//!              adler32, bloblen, "BlbE"               12-byte tail
//!              adler32 covers the head, the blob and the padding.
//! ```

use std::borrow::Cow;

use super::Blobs;

const HEADER_MAGIC: u32 = u32::from_le_bytes(*b"RpmP");
const SLOT_MAGIC: u32 = u32::from_le_bytes(*b"Slot");
const BLOB_HEAD_MAGIC: u32 = u32::from_le_bytes(*b"BlbS");
const BLOB_TAIL_MAGIC: u32 = u32::from_le_bytes(*b"BlbE");
const VERSION: u32 = 0;
const HEADER_SIZE: usize = 32;
const PAGE_SIZE: usize = 4096;
const SLOT_SIZE: usize = 16;
const BLOCK_SIZE: usize = 16;
const BLOB_HEAD_SIZE: usize = 16;
const BLOB_TAIL_SIZE: usize = 12;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum NdbError {
    #[error("ndb file is {0} bytes, too short for its 32-byte header")]
    TooShort(usize),
    #[error("not an rpm ndb database (bad magic)")]
    Magic,
    #[error("ndb version {0} is not supported (expected 0)")]
    Version(u32),
    #[error("ndb header claims {pages} slot pages but the file is {len} bytes")]
    SlotPages { pages: u32, len: usize },
    #[error("ndb slot {0} has a bad magic")]
    SlotMagic(usize),
}

/// A problem with one slot's blob; the other slots are still read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum BlobError {
    #[error("ndb slot {slot} (package {pkgidx}): {what}")]
    Structure {
        slot: usize,
        pkgidx: u32,
        what: &'static str,
    },
    #[error(
        "ndb slot {slot} (package {pkgidx}): adler32 {actual:#010x} does not match the recorded {recorded:#010x}"
    )]
    Checksum {
        slot: usize,
        pkgidx: u32,
        recorded: u32,
        actual: u32,
    },
}

fn le32(bytes: &[u8], at: usize) -> Option<u32> {
    let chunk = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(chunk.try_into().ok()?))
}

/// Adler-32 (RFC 1950).
fn adler32(bytes: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    // 5552 bytes is the most that can be summed before b can overflow.
    for chunk in bytes.chunks(5552) {
        for &byte in chunk {
            a += u32::from(byte);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    b << 16 | a
}

struct Slot {
    number: usize,
    pkgidx: u32,
    block_offset: u32,
    block_count: u32,
}

fn blob_at<'a>(
    bytes: &'a [u8],
    slot: &Slot,
    first_blob_block: usize,
) -> Result<&'a [u8], BlobError> {
    let bad = |what| BlobError::Structure {
        slot: slot.number,
        pkgidx: slot.pkgidx,
        what,
    };
    let block_offset = slot.block_offset as usize;
    let block_count = slot.block_count as usize;
    if slot.pkgidx == 0 || block_count == 0 || block_offset < first_blob_block {
        return Err(bad(
            "bad slot (zero package index or count, or blob inside the slot pages)",
        ));
    }
    let start = block_offset
        .checked_mul(BLOCK_SIZE)
        .ok_or_else(|| bad("blob offset overflows"))?;
    let end = block_count
        .checked_mul(BLOCK_SIZE)
        .and_then(|len| start.checked_add(len))
        .ok_or_else(|| bad("blob length overflows"))?;
    let area = bytes
        .get(start..end)
        .ok_or_else(|| bad("blob runs past the end of the file (truncated database)"))?;
    if area.len() < BLOB_HEAD_SIZE + BLOB_TAIL_SIZE {
        return Err(bad("blob area too small"));
    }
    if le32(area, 0) != Some(BLOB_HEAD_MAGIC) {
        return Err(bad("blob head has a bad magic"));
    }
    if le32(area, 4) != Some(slot.pkgidx) {
        return Err(bad("blob head names another package"));
    }
    let blob_len = le32(area, 12).unwrap_or(0) as usize;
    let expected_blocks = (BLOB_HEAD_SIZE + BLOB_TAIL_SIZE)
        .checked_add(blob_len)
        .map(|len| len.div_ceil(BLOCK_SIZE));
    if expected_blocks != Some(block_count) {
        return Err(bad("blob length does not match the slot's block count"));
    }
    let tail_at = area.len() - BLOB_TAIL_SIZE;
    let (covered, tail) = area.split_at(tail_at);
    if le32(tail, 8) != Some(BLOB_TAIL_MAGIC) {
        return Err(bad("blob tail has a bad magic"));
    }
    if le32(tail, 4) != Some(blob_len as u32) {
        return Err(bad("blob tail length differs from the head"));
    }
    let recorded = le32(tail, 0).unwrap_or(0);
    let actual = adler32(covered);
    if recorded != actual {
        return Err(BlobError::Checksum {
            slot: slot.number,
            pkgidx: slot.pkgidx,
            recorded,
            actual,
        });
    }
    covered
        .get(BLOB_HEAD_SIZE..BLOB_HEAD_SIZE + blob_len)
        .ok_or_else(|| bad("blob runs past its area"))
}

/// Every package blob in the database, keyed by package index.
pub(crate) fn read(bytes: &[u8]) -> Result<Blobs<'_>, NdbError> {
    if bytes.len() < HEADER_SIZE {
        return Err(NdbError::TooShort(bytes.len()));
    }
    if le32(bytes, 0) != Some(HEADER_MAGIC) {
        return Err(NdbError::Magic);
    }
    let version = le32(bytes, 4).unwrap_or(u32::MAX);
    if version != VERSION {
        return Err(NdbError::Version(version));
    }
    let slot_pages = le32(bytes, 12).unwrap_or(0);
    let slot_area = (slot_pages as usize)
        .checked_mul(PAGE_SIZE)
        .filter(|&len| slot_pages > 0 && len <= bytes.len())
        .ok_or(NdbError::SlotPages {
            pages: slot_pages,
            len: bytes.len(),
        })?;
    let first_blob_block = slot_area / BLOCK_SIZE;
    let mut blobs = Blobs::default();
    let slots = bytes
        .get(HEADER_SIZE..slot_area)
        .unwrap_or_default()
        .chunks_exact(SLOT_SIZE);
    for (index, raw) in slots.enumerate() {
        let number = index + HEADER_SIZE / SLOT_SIZE;
        if le32(raw, 0) != Some(SLOT_MAGIC) {
            return Err(NdbError::SlotMagic(number));
        }
        let slot = Slot {
            number,
            pkgidx: le32(raw, 4).unwrap_or(0),
            block_offset: le32(raw, 8).unwrap_or(0),
            block_count: le32(raw, 12).unwrap_or(0),
        };
        if slot.block_offset == 0 {
            continue; // a free slot
        }
        match blob_at(bytes, &slot, first_blob_block) {
            Ok(blob) => blobs
                .blobs
                .push((format!("package {}", slot.pkgidx), Cow::Borrowed(blob))),
            Err(error) => blobs.problems.push(error.to_string()),
        }
    }
    Ok(blobs)
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
    fn adler32_matches_rfc1950_examples() {
        assert_eq!(adler32(b""), 1);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
        // Long enough to need the modulo.
        let long = vec![0xffu8; 100_000];
        let (mut a, mut b) = (1u64, 0u64);
        for &byte in &long {
            a = (a + u64::from(byte)) % 65521;
            b = (b + a) % 65521;
        }
        assert_eq!(u64::from(adler32(&long)), b << 16 | a);
    }

    #[test]
    fn garbage_and_truncation_are_errors() {
        assert_eq!(read(b"RpmP").unwrap_err(), NdbError::TooShort(4));
        assert_eq!(read(&[0u8; 64]).unwrap_err(), NdbError::Magic);
        let mut header = vec![0u8; 64];
        header[..4].copy_from_slice(b"RpmP");
        header[12..16].copy_from_slice(&1u32.to_le_bytes());
        assert!(matches!(read(&header), Err(NdbError::SlotPages { .. })));
        header.resize(PAGE_SIZE, 0);
        assert_eq!(read(&header).unwrap_err(), NdbError::SlotMagic(2));
    }

    #[test]
    fn a_slot_pointing_past_the_end_is_a_problem_not_a_panic() {
        let mut db = vec![0u8; PAGE_SIZE];
        db[..4].copy_from_slice(b"RpmP");
        db[12..16].copy_from_slice(&1u32.to_le_bytes());
        for slot in db[HEADER_SIZE..].chunks_exact_mut(SLOT_SIZE) {
            slot[..4].copy_from_slice(b"Slot");
        }
        let slot = &mut db[HEADER_SIZE..HEADER_SIZE + SLOT_SIZE];
        slot[4..8].copy_from_slice(&1u32.to_le_bytes());
        slot[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        slot[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        let blobs = read(&db).unwrap();
        assert!(blobs.blobs.is_empty());
        assert_eq!(blobs.problems.len(), 1, "{:?}", blobs.problems);
    }
}

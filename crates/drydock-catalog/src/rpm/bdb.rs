//! The Berkeley DB hash database rpm used before 4.16 (`Packages`: key = a
//! 4-byte header number, value = a header blob), read without libdb.
//!
//! Facts used (Berkeley DB's on-disk format, as rpm's lib/backend/bdb_ro.c
//! also reads it):
//!
//! ```text
//! page 0, hash metadata     magic 0x061561 at 12 (its byte order is the
//!                           database's), version at 16 (8–10), page size at
//!                           20, encryption at 24, last page at 32,
//!                           max_bucket at 72, spares[32] at 96
//! bucket b lives on page    b + spares[bit length of b]
//! every page                page number at 8, next page at 16, entries (u16)
//!                           at 20, free-area offset / overflow length (u16)
//!                           at 22, type at 25, item offsets (u16) from 26
//! hash pages (type 2, 13)   items in key/value pairs; item i spans from its
//!                           offset to the previous item's (the page end for
//!                           item 0); first byte 1 = inline data follows,
//!                           3 = off-page: page number at +4, length at +8
//! overflow pages (type 7)   that page's data length at 22, data from 26
//! ```

use std::borrow::Cow;
use std::collections::HashSet;

use super::Blobs;

const HASH_MAGIC: u32 = 0x0006_1561;
const BTREE_MAGIC: u32 = 0x0005_3162;
const PAGE_HEADER_SIZE: usize = 26;
const PAGE_HASH_UNSORTED: u8 = 2;
const PAGE_OVERFLOW: u8 = 7;
const PAGE_HASH: u8 = 13;
const ITEM_KEYDATA: u8 = 1;
const ITEM_OFFPAGE: u8 = 3;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum BdbError {
    #[error("Berkeley DB file is {0} bytes, too short for its metadata page")]
    TooShort(usize),
    #[error("not a Berkeley DB hash database (bad magic)")]
    Magic,
    #[error("Berkeley DB btree databases are not rpm package databases")]
    Btree,
    #[error("Berkeley DB hash version {0} is not supported (8 to 10 are)")]
    Version(u32),
    #[error("Berkeley DB page size {0} is invalid")]
    PageSize(u32),
    #[error("Berkeley DB database is encrypted")]
    Encrypted,
    #[error("Berkeley DB page {page}: {what}")]
    Page { page: u32, what: &'static str },
    #[error("Berkeley DB page {0} is reached twice (a cycle or a shared page)")]
    PageRevisited(u32),
    #[error("Berkeley DB max bucket {buckets} is more than the file's {pages} pages can hold")]
    Buckets { buckets: u32, pages: u32 },
}

/// A problem with one key/value pair; the others are still read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum ItemError {
    #[error("Berkeley DB page {page} item {item}: {what}")]
    Item {
        page: u32,
        item: usize,
        what: &'static str,
    },
    #[error(transparent)]
    Database(#[from] BdbError),
}

struct Database<'a> {
    bytes: &'a [u8],
    big_endian: bool,
    page_size: usize,
    pages: u32,
}

impl<'a> Database<'a> {
    fn u16(&self, bytes: &[u8], at: usize) -> Option<u16> {
        let raw: [u8; 2] = bytes.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if self.big_endian {
            u16::from_be_bytes(raw)
        } else {
            u16::from_le_bytes(raw)
        })
    }

    fn u32(&self, bytes: &[u8], at: usize) -> Option<u32> {
        let raw: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if self.big_endian {
            u32::from_be_bytes(raw)
        } else {
            u32::from_le_bytes(raw)
        })
    }

    /// Page `number`, checked to be in the file and to carry its own number.
    fn page(&self, number: u32) -> Result<&'a [u8], BdbError> {
        let bad = |what| BdbError::Page { page: number, what };
        if number >= self.pages {
            return Err(bad("is past the end of the file"));
        }
        let start = number as usize * self.page_size;
        let page = self
            .bytes
            .get(start..start + self.page_size)
            .ok_or_else(|| bad("is past the end of the file"))?;
        if self.u32(page, 8) != Some(number) {
            return Err(bad("carries another page number"));
        }
        Ok(page)
    }

    /// The `len` bytes of an overflow chain starting at `first`.
    fn overflow(
        &self,
        first: u32,
        len: usize,
        visited: &mut HashSet<u32>,
    ) -> Result<Vec<u8>, BdbError> {
        let mut out = Vec::with_capacity(len);
        let mut number = first;
        while out.len() < len {
            if !visited.insert(number) {
                return Err(BdbError::PageRevisited(number));
            }
            let page = self.page(number)?;
            let bad = |what| BdbError::Page { page: number, what };
            if page.get(25) != Some(&PAGE_OVERFLOW) {
                return Err(bad("is not an overflow page"));
            }
            let here = usize::from(self.u16(page, 22).unwrap_or(0));
            if here == 0 || here > len - out.len() {
                return Err(bad("overflow length disagrees with the item"));
            }
            let data = page
                .get(PAGE_HEADER_SIZE..PAGE_HEADER_SIZE + here)
                .ok_or_else(|| bad("overflow data runs past the page"))?;
            out.extend_from_slice(data);
            number = self.u32(page, 16).unwrap_or(0);
        }
        Ok(out)
    }

    /// Item `index` of hash page `page`: inline or off-page bytes.
    fn item(
        &self,
        page: &'a [u8],
        number: u32,
        index: usize,
        visited: &mut HashSet<u32>,
    ) -> Result<Cow<'a, [u8]>, ItemError> {
        let bad = |what| ItemError::Item {
            page: number,
            item: index,
            what,
        };
        let offset_of = |i: usize| self.u16(page, PAGE_HEADER_SIZE + 2 * i).map(usize::from);
        let start = offset_of(index).ok_or_else(|| bad("offset past the page"))?;
        let end = if index == 0 {
            self.page_size
        } else {
            offset_of(index - 1).ok_or_else(|| bad("offset past the page"))?
        };
        let item = page
            .get(start..end)
            .filter(|item| !item.is_empty())
            .ok_or_else(|| bad("item bounds are out of order or past the page"))?;
        match item.first().copied() {
            Some(ITEM_KEYDATA) => Ok(Cow::Borrowed(item.get(1..).unwrap_or_default())),
            Some(ITEM_OFFPAGE) => {
                let (Some(first), Some(len)) = (self.u32(item, 4), self.u32(item, 8)) else {
                    return Err(bad("off-page item is truncated"));
                };
                let len = len as usize;
                if len == 0 || len > self.bytes.len() {
                    return Err(bad("off-page length is larger than the file"));
                }
                Ok(Cow::Owned(self.overflow(first, len, visited)?))
            }
            _ => Err(bad(
                "item type is not inline or off-page data (duplicates are not used by rpm)",
            )),
        }
    }
}

/// Every key/value pair of the hash database whose key is a non-zero 4-byte
/// header number (rpm keeps a bookkeeping record under key 0).
pub(crate) fn read(bytes: &[u8]) -> Result<Blobs<'_>, BdbError> {
    if bytes.len() < 512 {
        return Err(BdbError::TooShort(bytes.len()));
    }
    let magic_le = bytes
        .get(12..16)
        .and_then(|raw| raw.try_into().ok())
        .map(u32::from_le_bytes);
    let magic_be = bytes
        .get(12..16)
        .and_then(|raw| raw.try_into().ok())
        .map(u32::from_be_bytes);
    let big_endian = match (magic_le, magic_be) {
        (Some(HASH_MAGIC), _) => false,
        (_, Some(HASH_MAGIC)) => true,
        (Some(BTREE_MAGIC), _) | (_, Some(BTREE_MAGIC)) => return Err(BdbError::Btree),
        _ => return Err(BdbError::Magic),
    };
    let mut database = Database {
        bytes,
        big_endian,
        page_size: 0,
        pages: 0,
    };
    let version = database.u32(bytes, 16).unwrap_or(0);
    if !(8..=10).contains(&version) {
        return Err(BdbError::Version(version));
    }
    let page_size = database.u32(bytes, 20).unwrap_or(0);
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(BdbError::PageSize(page_size));
    }
    if bytes.get(24).copied().unwrap_or(0) != 0 {
        return Err(BdbError::Encrypted);
    }
    database.page_size = page_size as usize;
    database.pages = u32::try_from(bytes.len() / database.page_size).unwrap_or(u32::MAX);
    let max_bucket = database.u32(bytes, 72).unwrap_or(0);
    if max_bucket >= database.pages {
        return Err(BdbError::Buckets {
            buckets: max_bucket,
            pages: database.pages,
        });
    }
    let mut spares = [0u32; 32];
    for (i, spare) in spares.iter_mut().enumerate() {
        *spare = database.u32(bytes, 96 + 4 * i).unwrap_or(0);
    }

    let mut blobs = Blobs::default();
    let mut visited = HashSet::new();
    for bucket in 0..=max_bucket {
        let bits = (u32::BITS - bucket.leading_zeros()) as usize;
        let spare = spares.get(bits).copied().unwrap_or(0);
        let mut number = bucket.checked_add(spare).ok_or(BdbError::Page {
            page: bucket,
            what: "bucket page number overflows",
        })?;
        // A bucket's pages form a chain through the next-page pointer.
        while number != 0 {
            if !visited.insert(number) {
                return Err(BdbError::PageRevisited(number));
            }
            let page = database.page(number)?;
            match page.get(25).copied() {
                Some(PAGE_HASH | PAGE_HASH_UNSORTED) => {}
                _ => {
                    return Err(BdbError::Page {
                        page: number,
                        what: "is not a hash page",
                    });
                }
            }
            let entries = usize::from(database.u16(page, 20).unwrap_or(0));
            if PAGE_HEADER_SIZE + 2 * entries > database.page_size {
                return Err(BdbError::Page {
                    page: number,
                    what: "entry count exceeds the page",
                });
            }
            for pair in 0..entries / 2 {
                let key = database.item(page, number, 2 * pair, &mut visited);
                let value = database.item(page, number, 2 * pair + 1, &mut visited);
                let (key, value) = match (key, value) {
                    (Ok(key), Ok(value)) => (key, value),
                    (Err(error), _) | (_, Err(error)) => {
                        blobs.problems.push(error.to_string());
                        continue;
                    }
                };
                let Some(header_number) = database.u32(&key, 0).filter(|_| key.len() == 4) else {
                    blobs.problems.push(format!(
                        "Berkeley DB page {number}: a {}-byte key is not a header number",
                        key.len()
                    ));
                    continue;
                };
                if header_number == 0 {
                    continue;
                }
                blobs.blobs.push((format!("header {header_number}"), value));
            }
            number = database.u32(page, 16).unwrap_or(0);
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

    fn meta(page_size: u32, max_bucket: u32) -> Vec<u8> {
        let mut db = vec![0u8; page_size as usize * 2];
        db[12..16].copy_from_slice(&HASH_MAGIC.to_le_bytes());
        db[16..20].copy_from_slice(&9u32.to_le_bytes());
        db[20..24].copy_from_slice(&page_size.to_le_bytes());
        db[72..76].copy_from_slice(&max_bucket.to_le_bytes());
        db[96..100].copy_from_slice(&1u32.to_le_bytes()); // bucket 0 on page 1
        // page 1: an empty hash page
        let page = &mut db[page_size as usize..];
        page[8..12].copy_from_slice(&1u32.to_le_bytes());
        page[25] = PAGE_HASH;
        db
    }

    #[test]
    fn an_empty_database_reads_as_empty() {
        let db = meta(512, 0);
        let blobs = read(&db).unwrap();
        assert!(blobs.blobs.is_empty() && blobs.problems.is_empty());
    }

    #[test]
    fn a_bucket_chain_pointing_to_itself_is_an_error() {
        let mut db = meta(512, 0);
        db[512 + 16..512 + 20].copy_from_slice(&1u32.to_le_bytes());
        assert_eq!(read(&db).unwrap_err(), BdbError::PageRevisited(1));
    }

    #[test]
    fn garbage_and_truncation_are_errors() {
        assert_eq!(read(&[0u8; 100]).unwrap_err(), BdbError::TooShort(100));
        assert_eq!(read(&[0u8; 1024]).unwrap_err(), BdbError::Magic);
        let db = meta(512, 0);
        assert!(matches!(
            read(&db[..600]),
            Err(BdbError::Page { page: 1, .. })
        ));
        let mut db = meta(512, 0);
        db[72..76].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(read(&db), Err(BdbError::Buckets { .. })));
        let mut db = meta(512, 0);
        db[20..24].copy_from_slice(&1000u32.to_le_bytes());
        assert_eq!(read(&db).unwrap_err(), BdbError::PageSize(1000));
    }

    #[test]
    fn an_off_page_item_with_a_huge_length_is_a_problem() {
        let mut db = meta(512, 0);
        let page = &mut db[512..];
        page[20..22].copy_from_slice(&2u16.to_le_bytes());
        // key at 500..512 inline, value off-page at 488..500
        page[26..28].copy_from_slice(&500u16.to_le_bytes());
        page[28..30].copy_from_slice(&488u16.to_le_bytes());
        page[500] = ITEM_KEYDATA;
        page[501..505].copy_from_slice(&7u32.to_le_bytes());
        page[488] = ITEM_OFFPAGE;
        page[492..496].copy_from_slice(&1u32.to_le_bytes());
        page[496..500].copy_from_slice(&u32::MAX.to_le_bytes());
        let blobs = read(&db).unwrap();
        assert!(blobs.blobs.is_empty());
        assert_eq!(blobs.problems.len(), 1, "{:?}", blobs.problems);
    }
}

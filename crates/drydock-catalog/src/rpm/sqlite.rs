//! A minimal, read-only reader of the SQLite database file format
//! (<https://www.sqlite.org/fileformat2.html>), enough to read rpm's
//! `rpmdb.sqlite`: the `sqlite_schema` table on page 1 names the root page of
//! `Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)`,
//! whose table b-tree is walked for its rows.
//!
//! Every page is visited at most once (tree pages and overflow pages share one
//! visited set), so a cycle is an error instead of a loop, and the bytes
//! assembled from overflow chains never exceed the file's size.
//!
//! Only the main database file is read. rpm opens it in WAL mode but
//! checkpoints (`wal_checkpoint(TRUNCATE)`) when it closes, so an image's
//! `rpmdb.sqlite` holds every committed transaction.

use std::borrow::Cow;
use std::collections::HashSet;

use super::Blobs;

const MAGIC: &[u8; 16] = b"SQLite format 3\0";
const HEADER_SIZE: usize = 100;
const PAGE_TABLE_INTERIOR: u8 = 5;
const PAGE_TABLE_LEAF: u8 = 13;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum SqliteError {
    #[error("not an SQLite 3 database (bad magic)")]
    Magic,
    #[error("SQLite page size {0} is invalid")]
    PageSize(u32),
    #[error("SQLite usable page size {0} is below 480 bytes")]
    Usable(usize),
    #[error("SQLite file is {0} bytes, shorter than one page")]
    Truncated(usize),
    #[error("SQLite page {page} is out of range (the file has {pages} pages)")]
    PageOutOfRange { page: u64, pages: u32 },
    #[error("SQLite page {0} is referenced twice (a cycle or a shared page)")]
    PageRevisited(u32),
    #[error("SQLite page {page}: type {ty} is not a table b-tree page")]
    PageType { page: u32, ty: u8 },
    #[error("SQLite page {page}: {what} runs past the end of the page")]
    PageBounds { page: u32, what: &'static str },
    #[error("SQLite schema has no `Packages` table")]
    NoPackagesTable,
    #[error("SQLite text encoding {0} is unknown")]
    Encoding(u32),
}

/// A problem with one row, reported without giving up on the others.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum RowError {
    #[error("SQLite page {page} cell {cell}: {what}")]
    Cell {
        page: u32,
        cell: usize,
        what: &'static str,
    },
    #[error("SQLite row {rowid}: {what}")]
    Row { rowid: i64, what: &'static str },
    #[error(transparent)]
    Tree(#[from] SqliteError),
}

/// A row's id and full payload, or what was wrong with its cell.
type Row<'a> = Result<(i64, Cow<'a, [u8]>), RowError>;

#[derive(Debug, PartialEq)]
enum Value<'a> {
    Null,
    Integer(i64),
    Real,
    Blob(&'a [u8]),
    Text(&'a [u8]),
}

struct Database<'a> {
    bytes: &'a [u8],
    page_size: usize,
    usable: usize,
    pages: u32,
    encoding: u32,
}

struct Visited(HashSet<u32>);

impl Visited {
    fn insert(&mut self, page: u32) -> Result<(), SqliteError> {
        if self.0.insert(page) {
            Ok(())
        } else {
            Err(SqliteError::PageRevisited(page))
        }
    }
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    let chunk = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes(chunk.try_into().ok()?))
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    let chunk = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(chunk.try_into().ok()?))
}

/// An SQLite varint at the start of `bytes`: its value and length.
fn varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value: u64 = 0;
    for (i, &b) in bytes.iter().enumerate().take(9) {
        if i == 8 {
            return Some((value << 8 | u64::from(b), 9));
        }
        value = value << 7 | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// The columns of a record (<https://www.sqlite.org/fileformat2.html#record_format>).
fn record(payload: &[u8]) -> Option<Vec<Value<'_>>> {
    let (header_len, mut at) = varint(payload)?;
    let header_len = usize::try_from(header_len).ok()?;
    let header = payload.get(..header_len)?;
    let mut body = payload.get(header_len..)?;
    let mut values = Vec::new();
    while at < header_len {
        let (serial, used) = varint(header.get(at..)?)?;
        at += used;
        let (value, len) = match serial {
            0 => (Value::Null, 0),
            1..=6 => {
                let len = *[0, 1, 2, 3, 4, 6, 8].get(usize::try_from(serial).ok()?)?;
                let raw = body.get(..len)?;
                let first = raw.first().copied().unwrap_or(0);
                let sign = if first & 0x80 != 0 { -1i64 } else { 0 };
                let value = raw
                    .iter()
                    .fold(sign, |acc, &b| acc.wrapping_shl(8) | i64::from(b));
                (Value::Integer(value), len)
            }
            7 => (Value::Real, 8),
            8 => (Value::Integer(0), 0),
            9 => (Value::Integer(1), 0),
            10 | 11 => return None,
            n => {
                let len = usize::try_from((n - 12) / 2).ok()?;
                let raw = body.get(..len)?;
                if n % 2 == 0 {
                    (Value::Blob(raw), len)
                } else {
                    (Value::Text(raw), len)
                }
            }
        };
        body = body.get(len..)?;
        values.push(value);
    }
    Some(values)
}

impl<'a> Database<'a> {
    fn open(bytes: &'a [u8]) -> Result<Database<'a>, SqliteError> {
        if bytes.get(..16) != Some(&MAGIC[..]) {
            return Err(SqliteError::Magic);
        }
        let raw_size = be16(bytes, 16).ok_or(SqliteError::Magic)?;
        let page_size: u32 = if raw_size == 1 {
            65536
        } else {
            u32::from(raw_size)
        };
        if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
            return Err(SqliteError::PageSize(page_size));
        }
        let page_size = page_size as usize;
        let reserved = usize::from(bytes.get(20).copied().unwrap_or(0));
        let usable = page_size - reserved;
        if usable < 480 {
            return Err(SqliteError::Usable(usable));
        }
        if bytes.len() < page_size {
            return Err(SqliteError::Truncated(bytes.len()));
        }
        let pages = u32::try_from(bytes.len() / page_size).unwrap_or(u32::MAX);
        let encoding = match be32(bytes, 56).unwrap_or(0) {
            0 => 1,
            e @ 1..=3 => e,
            other => return Err(SqliteError::Encoding(other)),
        };
        Ok(Database {
            bytes,
            page_size,
            usable,
            pages,
            encoding,
        })
    }

    /// Page `number` (1-based), cut to its usable size.
    fn page(&self, number: u64) -> Result<&'a [u8], SqliteError> {
        let out_of_range = || SqliteError::PageOutOfRange {
            page: number,
            pages: self.pages,
        };
        if number == 0 || number > u64::from(self.pages) {
            return Err(out_of_range());
        }
        let start = usize::try_from(number - 1)
            .ok()
            .and_then(|n| n.checked_mul(self.page_size))
            .ok_or_else(out_of_range)?;
        self.bytes
            .get(start..start + self.usable)
            .ok_or_else(out_of_range)
    }

    fn text(&self, raw: &[u8]) -> String {
        match self.encoding {
            2 | 3 => {
                let units: Vec<u16> = raw
                    .chunks_exact(2)
                    .map(|pair| match (self.encoding, pair) {
                        (2, &[lo, hi]) => u16::from_le_bytes([lo, hi]),
                        (_, &[hi, lo]) => u16::from_be_bytes([hi, lo]),
                        _ => 0,
                    })
                    .collect();
                String::from_utf16_lossy(&units)
            }
            _ => String::from_utf8_lossy(raw).into_owned(),
        }
    }

    /// Walk the table b-tree rooted at `root`, calling `row` with each row's
    /// id and full payload (overflow chains followed). Errors in one cell go
    /// to `row` too; errors in the tree's structure end the walk.
    fn walk_table(
        &self,
        root: u32,
        visited: &mut Visited,
        row: &mut dyn FnMut(Row<'a>),
    ) -> Result<(), SqliteError> {
        let mut stack = vec![root];
        while let Some(number) = stack.pop() {
            visited.insert(number)?;
            let page = self.page(u64::from(number))?;
            let header_at = if number == 1 { HEADER_SIZE } else { 0 };
            let bounds = |what| SqliteError::PageBounds { page: number, what };
            let ty = *page
                .get(header_at)
                .ok_or_else(|| bounds("the page header"))?;
            let cells =
                usize::from(be16(page, header_at + 3).ok_or_else(|| bounds("the page header"))?);
            let (pointers_at, right_most) = match ty {
                PAGE_TABLE_LEAF => (header_at + 8, None),
                PAGE_TABLE_INTERIOR => (
                    header_at + 12,
                    Some(be32(page, header_at + 8).ok_or_else(|| bounds("the page header"))?),
                ),
                ty => return Err(SqliteError::PageType { page: number, ty }),
            };
            let pointers = page
                .get(pointers_at..pointers_at + cells * 2)
                .ok_or_else(|| bounds("the cell pointer array"))?;
            let offsets = pointers
                .chunks_exact(2)
                .map(|pair| usize::from(be16(pair, 0).unwrap_or(0)));
            if let Some(right_most) = right_most {
                // Children in reverse so rows come out in rowid order.
                let mut children = Vec::with_capacity(cells + 1);
                for offset in offsets {
                    children.push(be32(page, offset).ok_or_else(|| bounds("a cell"))?);
                }
                stack.push(right_most);
                stack.extend(children.into_iter().rev());
            } else {
                for (cell, offset) in offsets.enumerate() {
                    row(self.leaf_cell(page, number, cell, offset, visited));
                }
            }
        }
        Ok(())
    }

    fn leaf_cell(
        &self,
        page: &'a [u8],
        number: u32,
        cell: usize,
        offset: usize,
        visited: &mut Visited,
    ) -> Result<(i64, Cow<'a, [u8]>), RowError> {
        let bad = |what| RowError::Cell {
            page: number,
            cell,
            what,
        };
        let rest = page
            .get(offset..)
            .ok_or_else(|| bad("cell offset past the page"))?;
        let (payload_len, used) = varint(rest).ok_or_else(|| bad("truncated payload size"))?;
        let rest = rest.get(used..).unwrap_or_default();
        let (rowid, used) = varint(rest).ok_or_else(|| bad("truncated rowid"))?;
        let rest = rest.get(used..).unwrap_or_default();
        #[expect(
            clippy::cast_possible_wrap,
            reason = "SQLite rowids are two's complement"
        )]
        let rowid = rowid as i64;
        let payload_len = usize::try_from(payload_len)
            .ok()
            .filter(|&len| len <= self.bytes.len())
            .ok_or_else(|| bad("payload larger than the file"))?;
        // How much of the payload is on this page (fileformat2 §1.6).
        let usable = self.usable;
        let max_local = usable - 35;
        let local = if payload_len <= max_local {
            payload_len
        } else {
            let min_local = (usable - 12) * 32 / 255 - 23;
            let k = min_local + (payload_len - min_local) % (usable - 4);
            if k <= max_local { k } else { min_local }
        };
        let local_bytes = rest
            .get(..local)
            .ok_or_else(|| bad("payload runs past the page"))?;
        if local == payload_len {
            return Ok((rowid, Cow::Borrowed(local_bytes)));
        }
        let mut next =
            be32(rest, local).ok_or_else(|| bad("overflow pointer runs past the page"))?;
        let mut payload = Vec::with_capacity(payload_len);
        payload.extend_from_slice(local_bytes);
        while payload.len() < payload_len {
            visited.insert(next)?;
            let overflow = self.page(u64::from(next))?;
            let take = (payload_len - payload.len()).min(usable - 4);
            payload.extend_from_slice(overflow.get(4..4 + take).unwrap_or_default());
            next = be32(overflow, 0).unwrap_or(0);
        }
        Ok((rowid, Cow::Owned(payload)))
    }
}

/// The second column of a `Packages` row, `blob`.
fn blob_column(payload: &[u8]) -> Result<&[u8], &'static str> {
    match record(payload).ok_or("malformed record")?.get(1) {
        Some(Value::Blob(blob)) => Ok(blob),
        Some(Value::Null | Value::Integer(_) | Value::Real | Value::Text(_)) | None => {
            Err("the `blob` column is not a blob")
        }
    }
}

/// The `blob` column of every row of the `Packages` table, keyed by `hnum`.
pub(crate) fn read(bytes: &[u8]) -> Result<Blobs<'_>, SqliteError> {
    let database = Database::open(bytes)?;
    let mut visited = Visited(HashSet::new());
    let mut root = None;
    let mut schema_problems = Vec::new();
    database.walk_table(1, &mut visited, &mut |row| match row {
        Ok((_, payload)) => {
            let Some(columns) = record(&payload) else {
                schema_problems.push("SQLite schema row: malformed record".to_owned());
                return;
            };
            if let [
                Value::Text(ty),
                Value::Text(name),
                _,
                Value::Integer(page),
                ..,
            ] = &columns[..]
                && database.text(ty) == "table"
                && database.text(name).eq_ignore_ascii_case("Packages")
            {
                root = Some(*page);
            }
        }
        Err(error) => schema_problems.push(error.to_string()),
    })?;
    let root = root.ok_or(SqliteError::NoPackagesTable)?;
    let root = u32::try_from(root).map_err(|_| SqliteError::PageOutOfRange {
        page: root.unsigned_abs(),
        pages: database.pages,
    })?;
    let mut blobs = Blobs {
        blobs: Vec::new(),
        problems: schema_problems,
    };
    database.walk_table(root, &mut visited, &mut |row| {
        let row = row.and_then(|(rowid, payload)| {
            let blob = match payload {
                Cow::Borrowed(payload) => blob_column(payload).map(Cow::Borrowed),
                Cow::Owned(payload) => blob_column(&payload).map(|blob| Cow::Owned(blob.to_vec())),
            }
            .map_err(|what| RowError::Row { rowid, what })?;
            Ok((rowid, blob))
        });
        match row {
            Ok((rowid, blob)) => blobs.blobs.push((format!("hnum {rowid}"), blob)),
            Err(error) => blobs.problems.push(error.to_string()),
        }
    })?;
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
    fn varints_decode_per_the_spec() {
        assert_eq!(varint(&[0x05]), Some((5, 1)));
        assert_eq!(varint(&[0x81, 0x00]), Some((128, 2)));
        assert_eq!(varint(&[0xff; 9]), Some((u64::MAX, 9)));
        assert_eq!(varint(&[0x81]), None);
    }

    #[test]
    fn records_decode_serial_types() {
        // header: len 4, NULL, int8, blob(2)
        let payload = [4, 0, 1, 16, 0xff, 0xab, 0xcd];
        assert_eq!(
            record(&payload).unwrap(),
            vec![Value::Null, Value::Integer(-1), Value::Blob(&[0xab, 0xcd])]
        );
        // a blob claiming more than the payload
        assert_eq!(record(&[2, 40, 1]), None);
    }

    /// A one-page database whose only b-tree page is an interior page
    /// pointing to itself.
    fn self_referencing() -> Vec<u8> {
        let mut db = vec![0u8; 512];
        db[..16].copy_from_slice(MAGIC);
        db[16..18].copy_from_slice(&512u16.to_be_bytes());
        db[56..60].copy_from_slice(&1u32.to_be_bytes());
        db[100] = PAGE_TABLE_INTERIOR;
        db[108..112].copy_from_slice(&1u32.to_be_bytes()); // right-most child: page 1
        db
    }

    #[test]
    fn a_page_pointing_to_itself_is_an_error() {
        assert_eq!(
            read(&self_referencing()).unwrap_err(),
            SqliteError::PageRevisited(1)
        );
    }

    #[test]
    fn garbage_and_truncation_are_errors() {
        assert_eq!(read(b"nope").unwrap_err(), SqliteError::Magic);
        let db = self_referencing();
        assert_eq!(read(&db[..200]).unwrap_err(), SqliteError::Truncated(200));
        let mut bad_size = db.clone();
        bad_size[16..18].copy_from_slice(&1000u16.to_be_bytes());
        assert_eq!(read(&bad_size).unwrap_err(), SqliteError::PageSize(1000));
        let mut leaf = db;
        leaf[100] = PAGE_TABLE_LEAF;
        assert_eq!(read(&leaf).unwrap_err(), SqliteError::NoPackagesTable);
    }
}

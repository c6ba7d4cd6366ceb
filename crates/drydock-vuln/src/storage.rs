//! The on-disk layout: generations switched by an atomic rename of
//! `CURRENT`, one JSON-lines shard per ecosystem.
use std::collections::HashMap;
use std::io::{BufRead, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::cve::CveRecord;
use crate::database::{Metadata, SCHEMA_VERSION};
use crate::error::DbError;
use crate::model::{Advisory, Epss, KevEntry};

/// The CVE records of a generation (JSON lines sorted by id, with an index
/// in the shards' format keyed by CVE id).
pub(crate) const CVE_FILE: &str = "cve.jsonl";

const CURRENT: &str = "CURRENT";
const GENERATION_PREFIX: &str = "gen-";

fn read_error(path: &Path) -> impl FnOnce(std::io::Error) -> DbError + '_ {
    move |source| DbError::Read {
        path: path.to_owned(),
        source,
    }
}

fn write_error(path: &Path) -> impl FnOnce(std::io::Error) -> DbError + '_ {
    move |source| DbError::Write {
        path: path.to_owned(),
        source,
    }
}

/// The live generation directory, if the database has been written.
pub(crate) fn current_generation(dir: &Path) -> Result<Option<PathBuf>, DbError> {
    let current = dir.join(CURRENT);
    let name = match fs_err::read_to_string(&current) {
        Ok(name) => name,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(read_error(&current)(error)),
    };
    let name = name.trim();
    if !valid_generation_name(name) {
        return Err(DbError::Corrupt {
            path: current,
            what: format!("bad generation name `{name}`"),
        });
    }
    Ok(Some(dir.join(name)))
}

fn valid_generation_name(name: &str) -> bool {
    name.strip_prefix(GENERATION_PREFIX)
        .is_some_and(|number| !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()))
}

pub(crate) fn read_metadata(generation: &Path) -> Result<Metadata, DbError> {
    let path = generation.join("metadata.json");
    let bytes = fs_err::read(&path).map_err(read_error(&path))?;
    // Check the schema version before the shape, so that a future layout
    // gets the version message rather than a parse error.
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|source| DbError::Json {
            path: path.clone(),
            source,
        })?;
    let found = value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    if found != u64::from(SCHEMA_VERSION) {
        return Err(DbError::SchemaVersion {
            path: generation.to_owned(),
            found: u32::try_from(found).unwrap_or(u32::MAX),
            expected: SCHEMA_VERSION,
        });
    }
    serde_json::from_value(value).map_err(|source| DbError::Json { path, source })
}

pub(crate) fn read_kev(generation: &Path) -> Result<HashMap<String, KevEntry>, DbError> {
    let path = generation.join("kev.json");
    let bytes = match fs_err::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(error) => return Err(read_error(&path)(error)),
    };
    let entries: Vec<KevEntry> =
        serde_json::from_slice(&bytes).map_err(|source| DbError::Json { path, source })?;
    Ok(entries
        .into_iter()
        .map(|entry| (entry.cve_id.clone(), entry))
        .collect())
}

pub(crate) fn read_epss(generation: &Path) -> Result<HashMap<String, Epss>, DbError> {
    let path = generation.join("epss.tsv");
    let text = match fs_err::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(error) => return Err(read_error(&path)(error)),
    };
    let mut map = HashMap::with_capacity(text.len() / 32);
    for (number, line) in text.lines().enumerate() {
        let mut fields = line.split('\t');
        let parsed = (|| {
            let cve = fields.next()?;
            let score = fields.next()?.parse().ok()?;
            let percentile = fields.next()?.parse().ok()?;
            Some((cve.to_owned(), Epss { score, percentile }))
        })();
        let Some((cve, epss)) = parsed else {
            return Err(DbError::Corrupt {
                path,
                what: format!("line {}: bad EPSS row", number + 1),
            });
        };
        map.insert(cve, epss);
    }
    Ok(map)
}

/// A shard: its ecosystem (first line) and records.
pub(crate) fn read_shard(path: &Path) -> Result<(String, Vec<Advisory>), DbError> {
    let file = fs_err::File::open(path).map_err(read_error(path))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let mut line = Vec::new();
    reader
        .read_until(b'\n', &mut line)
        .map_err(read_error(path))?;
    let ecosystem: String = serde_json::from_slice(&line).map_err(|source| DbError::Json {
        path: path.to_owned(),
        source,
    })?;
    let mut advisories = Vec::new();
    loop {
        line.clear();
        if reader
            .read_until(b'\n', &mut line)
            .map_err(read_error(path))?
            == 0
        {
            break;
        }
        let advisory: Advisory = serde_json::from_slice(&line).map_err(|source| DbError::Json {
            path: path.to_owned(),
            source,
        })?;
        advisories.push(advisory);
    }
    Ok((ecosystem, advisories))
}

/// Calls `each` with every record line of a shard (without its newline),
/// reading the file line by line.
pub(crate) fn for_each_shard_line(
    path: &Path,
    mut each: impl FnMut(&[u8]) -> Result<(), DbError>,
) -> Result<(), DbError> {
    let file = fs_err::File::open(path).map_err(read_error(path))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let mut line = Vec::new();
    let mut first = true;
    loop {
        line.clear();
        if reader
            .read_until(b'\n', &mut line)
            .map_err(read_error(path))?
            == 0
        {
            return Ok(());
        }
        if std::mem::take(&mut first) {
            continue; // the ecosystem
        }
        let record = line.strip_suffix(b"\n").unwrap_or(&line);
        if !record.is_empty() {
            each(record)?;
        }
    }
}

/// `<shard>.idx`, written next to every shard: where each record's line
/// starts and which records each package name (normalised) has, so that a
/// lookup reads and parses only its own records. A generation without
/// index files (written before they existed) is read shard by shard.
///
/// Format: a first line with the JSON array of the byte offsets of every
/// record line in the shard, then the end of the last one (record `i` is
/// `offsets[i]..offsets[i + 1]`); then one line per name,
/// `<name as a JSON string>\t<record>,<record>,…`, sorted by the bytes of
/// the JSON string, records ascending. Opening it parses only the offsets
/// and finds the line starts; a lookup binary-searches the lines.
#[derive(Debug)]
pub(crate) struct ShardIndex {
    pub(crate) offsets: Vec<u64>,
    /// The name lines, and for each: (start, tab, end) in `names`.
    names: Vec<u8>,
    lines: Vec<(usize, usize, usize)>,
}

impl ShardIndex {
    /// The record numbers of a normalised name (`None`: not in the shard).
    pub(crate) fn lookup(&self, path: &Path, key: &str) -> Result<Option<Vec<u32>>, DbError> {
        let encoded = serde_json::to_string(key).map_err(|source| DbError::Json {
            path: path.to_owned(),
            source,
        })?;
        let name_of = |&(start, tab, _): &(usize, usize, usize)| {
            self.names.get(start..tab).unwrap_or_default()
        };
        let Ok(found) = self
            .lines
            .binary_search_by(|line| name_of(line).cmp(encoded.as_bytes()))
        else {
            return Ok(None);
        };
        let records = self.offsets.len().saturating_sub(1);
        let corrupt = || DbError::Corrupt {
            path: path.to_owned(),
            what: format!("bad record list for `{key}`"),
        };
        let (_, tab, end) = *self.lines.get(found).ok_or_else(corrupt)?;
        let list = self
            .names
            .get(tab.saturating_add(1)..end)
            .ok_or_else(corrupt)?;
        list.split(|&byte| byte == b',')
            .map(|number| {
                std::str::from_utf8(number)
                    .ok()
                    .and_then(|number| number.parse::<u32>().ok())
                    .filter(|&number| (number as usize) < records)
                    .ok_or_else(corrupt)
            })
            .collect::<Result<Vec<u32>, DbError>>()
            .map(Some)
    }
}

pub(crate) fn index_path(shard: &Path) -> PathBuf {
    let mut name = shard.as_os_str().to_owned();
    name.push(".idx");
    PathBuf::from(name)
}

/// Writes an index: `offsets` as described on [`ShardIndex`],
/// `names` normalised name → ascending record numbers.
fn write_index(
    path: &Path,
    offsets: &[u64],
    names: &HashMap<String, Vec<u32>>,
) -> Result<(), DbError> {
    let mut lines: Vec<(String, &Vec<u32>)> = names
        .iter()
        .map(|(name, records)| Ok((serde_json::to_string(name)?, records)))
        .collect::<Result<_, serde_json::Error>>()
        .map_err(|source| DbError::Json {
            path: path.to_owned(),
            source,
        })?;
    lines.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    write_file(path, |out| {
        serde_json::to_writer(&mut *out, offsets).map_err(std::io::Error::other)?;
        out.write_all(b"\n")?;
        for (name, records) in &lines {
            out.write_all(name.as_bytes())?;
            let mut separator = b'\t';
            for record in *records {
                write!(out, "{}{record}", char::from(separator))?;
                separator = b',';
            }
            out.write_all(b"\n")?;
        }
        Ok(())
    })
}

/// A shard's index and the open shard, checked against each other.
/// `None` when the shard has no index file.
pub(crate) fn open_indexed_shard(
    shard: &Path,
) -> Result<Option<(ShardIndex, std::fs::File)>, DbError> {
    let path = index_path(shard);
    let mut bytes = match fs_err::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(read_error(&path)(error)),
    };
    let corrupt = |what: &str| DbError::Corrupt {
        path: path.clone(),
        what: what.to_owned(),
    };
    let first_line = bytes
        .iter()
        .position(|&byte| byte == b'\n')
        .ok_or_else(|| corrupt("no offsets line"))?;
    let offsets_line = bytes.get(..first_line).unwrap_or_default();
    let offsets: Vec<u64> = match parse_offsets(offsets_line) {
        Some(offsets) => offsets,
        None => serde_json::from_slice(offsets_line).map_err(|source| DbError::Json {
            path: path.clone(),
            source,
        })?,
    };
    let names = bytes.split_off(first_line.saturating_add(1));
    let mut lines = Vec::new();
    let mut start = 0;
    // JSON names and decimal lists are UTF-8: then `str::find` (memchr)
    // finds the line ends, much faster than a byte loop on a large index.
    let text = std::str::from_utf8(&names).ok();
    let next_newline = |from: usize| -> Option<usize> {
        let found = match text {
            Some(text) => text.get(from..)?.find('\n'),
            None => names.get(from..)?.iter().position(|&byte| byte == b'\n'),
        };
        found.and_then(|offset| from.checked_add(offset))
    };
    while let Some(position) = next_newline(start) {
        let line = names.get(start..position).unwrap_or_default();
        let tab = line
            .iter()
            .position(|&byte| byte == b'\t')
            .ok_or_else(|| corrupt("a name line without records"))?;
        lines.push((start, start.saturating_add(tab), position));
        start = position.saturating_add(1);
    }
    if start != names.len() {
        return Err(corrupt("truncated name line"));
    }
    let name = |&(start, tab, _): &(usize, usize, usize)| names.get(start..tab).unwrap_or_default();
    if !lines
        .windows(2)
        .all(|pair| matches!(pair, [a, b] if name(a) < name(b)))
    {
        return Err(corrupt("names out of order"));
    }
    let file = fs_err::File::open(shard)
        .map_err(read_error(shard))?
        .into_file();
    let length = file.metadata().map_err(read_error(shard))?.len();
    if offsets.is_empty()
        || !offsets
            .windows(2)
            .all(|pair| matches!(pair, [a, b] if a <= b))
        || offsets.last().is_some_and(|&end| end > length)
    {
        return Err(corrupt(
            "record offsets out of order or past the shard's end",
        ));
    }
    Ok(Some((
        ShardIndex {
            offsets,
            names,
            lines,
        },
        file,
    )))
}

/// The offsets line as [`write_index`] writes it (`[0,12,…]`, no spaces),
/// without serde; `None` for anything else (parsed by serde_json then, for
/// its error).
fn parse_offsets(line: &[u8]) -> Option<Vec<u64>> {
    let inner = line.strip_prefix(b"[")?.strip_suffix(b"]")?;
    if inner.is_empty() {
        return Some(Vec::new());
    }
    let mut offsets = Vec::with_capacity(inner.len() / 4);
    for number in inner.split(|&byte| byte == b',') {
        if number.is_empty() || number.len() > 19 || !number.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let value = number.iter().try_fold(0_u64, |value, &digit| {
            value.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
        })?;
        offsets.push(value);
    }
    Some(offsets)
}

/// The bytes of records `first..=last` (lines of the shard), with one read.
pub(crate) fn read_records(
    path: &Path,
    file: &mut std::fs::File,
    index: &ShardIndex,
    first: usize,
    last: usize,
) -> Result<Vec<u8>, DbError> {
    let corrupt = || DbError::Corrupt {
        path: path.to_owned(),
        what: format!("records {first}..={last} not in the index"),
    };
    let start = *index.offsets.get(first).ok_or_else(corrupt)?;
    let end = *index
        .offsets
        .get(last.checked_add(1).ok_or_else(corrupt)?)
        .ok_or_else(corrupt)?;
    // Checked against the file's length when the index was opened.
    let length = usize::try_from(end.saturating_sub(start)).map_err(|_| corrupt())?;
    let mut bytes = vec![0; length];
    file.seek(SeekFrom::Start(start))
        .and_then(|_| file.read_exact(&mut bytes))
        .map_err(read_error(path))?;
    Ok(bytes)
}

/// Parses the record lines [`read_records`] returned.
pub(crate) fn parse_records<T: serde::de::DeserializeOwned>(
    path: &Path,
    bytes: &[u8],
) -> Result<Vec<T>, DbError> {
    // Valid UTF-8 (the usual case): checked once, then parsed as `str`,
    // which skips serde_json's per-string UTF-8 validation.
    if let Ok(text) = std::str::from_utf8(bytes) {
        return text
            .split('\n')
            .filter(|line| !line.is_empty())
            .map(|line| {
                serde_json::from_str(line).map_err(|source| DbError::Json {
                    path: path.to_owned(),
                    source,
                })
            })
            .collect();
    }
    bytes
        .split(|&byte| byte == b'\n')
        .filter(|line| !line.is_empty())
        .map(|line| {
            serde_json::from_slice(line).map_err(|source| DbError::Json {
                path: path.to_owned(),
                source,
            })
        })
        .collect()
}

/// Exclusive writer lock, released when dropped (or when the process dies).
pub(crate) struct WriterLock {
    _file: std::fs::File,
}

pub(crate) fn lock(dir: &Path) -> Result<WriterLock, DbError> {
    fs_err::create_dir_all(dir).map_err(write_error(dir))?;
    let path = dir.join("lock");
    let file = fs_err::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(write_error(&path))?
        .into_file();
    match file.try_lock() {
        Ok(()) => Ok(WriterLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(DbError::Locked {
            path: dir.to_owned(),
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(DbError::Write { path, source }),
    }
}

/// A generation being written: a `gen-N` directory that `CURRENT` does not
/// name until [`commit_generation`], with a `spill/` directory for the
/// import's external sorts. A killed import leaves it behind; the next one
/// removes it first.
pub(crate) struct Staging {
    dir: PathBuf,
    name: String,
    pub(crate) path: PathBuf,
    pub(crate) previous: Option<PathBuf>,
    existing: Vec<PathBuf>,
    pub(crate) spill: PathBuf,
    /// Bytes each external sort keeps in memory before spilling a run.
    pub(crate) budget: usize,
    used_names: std::collections::HashSet<String>,
}

/// The default for [`Staging::budget`]: three sorts at most are live at
/// once (records, shards, one shard's names).
pub(crate) const SORT_BUDGET: usize = 48 << 20;

/// Starts a new generation next to the current one (removing leftovers of
/// killed imports). Must be called with the writer lock held.
pub(crate) fn begin_generation(dir: &Path) -> Result<Staging, DbError> {
    let previous = current_generation(dir)?;
    // Leftovers of a killed import (not CURRENT, not the previous one) go first.
    let mut highest = 0u64;
    let mut existing = Vec::new();
    for entry in fs_err::read_dir(dir).map_err(read_error(dir))? {
        let entry = entry.map_err(read_error(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if valid_generation_name(&name) {
            let number: u64 = name
                .get(GENERATION_PREFIX.len()..)
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            highest = highest.max(number);
            existing.push(entry.path());
        }
    }
    for path in &existing {
        if Some(path) != previous.as_ref() {
            fs_err::remove_dir_all(path).map_err(write_error(path))?;
        }
    }
    let Some(next) = highest.checked_add(1) else {
        return Err(DbError::Corrupt {
            path: dir.to_owned(),
            what: "generation numbers exhausted".to_owned(),
        });
    };
    let name = format!("{GENERATION_PREFIX}{next}");
    let path = dir.join(&name);
    let osv_dir = path.join("osv");
    fs_err::create_dir_all(&osv_dir).map_err(write_error(&osv_dir))?;
    let spill = path.join("spill");
    fs_err::create_dir_all(&spill).map_err(write_error(&spill))?;
    Ok(Staging {
        dir: dir.to_owned(),
        name,
        path,
        previous,
        existing,
        spill,
        budget: SORT_BUDGET,
        used_names: std::collections::HashSet::new(),
    })
}

impl Staging {
    /// Remove the unfinished generation (after an error).
    pub(crate) fn abandon(self) {
        let _ = fs_err::remove_dir_all(&self.path);
    }

    /// A writer for the shard of `ecosystem`; shards must be started in
    /// ecosystem order (their file names depend on it).
    pub(crate) fn shard(&mut self, ecosystem: &str) -> Result<ShardWriter, DbError> {
        let file_name = shard_file_name(ecosystem, &mut self.used_names);
        let path = self.path.join("osv").join(&file_name);
        let file = fs_err::File::create(&path)
            .map_err(write_error(&path))?
            .into_file();
        let mut out = BufWriter::with_capacity(1 << 16, file);
        let mut line = serde_json::to_vec(ecosystem).map_err(|source| DbError::Json {
            path: path.clone(),
            source,
        })?;
        line.push(b'\n');
        out.write_all(&line).map_err(write_error(&path))?;
        let offsets_path = self.spill.join(format!("{file_name}.offsets"));
        let offsets = BufWriter::with_capacity(
            1 << 16,
            fs_err::File::create(&offsets_path)
                .map_err(write_error(&offsets_path))?
                .into_file(),
        );
        Ok(ShardWriter {
            names: crate::spill::Sorter::new(
                &self.spill,
                &format!("{file_name}.names"),
                self.budget / 2,
            ),
            file_name,
            path,
            out,
            offsets,
            offsets_path,
            offset: line.len() as u64,
            records: 0,
            affected: 0,
        })
    }
}

/// Writes one shard and its index record by record, in the order given
/// (the caller sorts): the names index goes through an external sort.
pub(crate) struct ShardWriter {
    pub(crate) file_name: String,
    path: PathBuf,
    out: BufWriter<std::fs::File>,
    offsets: BufWriter<std::fs::File>,
    offsets_path: PathBuf,
    offset: u64,
    pub(crate) records: usize,
    pub(crate) affected: usize,
    names: crate::spill::Sorter,
}

/// What a finished shard holds, for the status.
pub(crate) struct ShardSummary {
    pub(crate) file_name: String,
    pub(crate) records: usize,
    pub(crate) affected: usize,
    /// Distinct normalised names.
    pub(crate) packages: usize,
}

impl ShardWriter {
    /// Append one record line (`json`, without its newline) affecting the
    /// normalised `names` of this shard's ecosystem.
    pub(crate) fn push(
        &mut self,
        json: &[u8],
        names: &[&str],
        affected: usize,
    ) -> Result<(), DbError> {
        let number = u32::try_from(self.records).map_err(|_| DbError::Corrupt {
            path: self.path.clone(),
            what: "more than 4,294,967,295 records in one shard".to_owned(),
        })?;
        let separator = if self.records == 0 { "" } else { "," };
        write!(self.offsets, "{separator}{}", self.offset)
            .map_err(write_error(&self.offsets_path))?;
        self.out
            .write_all(json)
            .and_then(|()| self.out.write_all(b"\n"))
            .map_err(write_error(&self.path))?;
        self.offset += json.len() as u64 + 1;
        for name in names {
            let encoded = serde_json::to_vec(name).map_err(|source| DbError::Json {
                path: self.path.clone(),
                source,
            })?;
            self.names
                .push(crate::spill::Item {
                    keys: vec![encoded, number.to_be_bytes().to_vec()],
                    payload: Vec::new(),
                })
                .map_err(write_error(&self.offsets_path))?;
        }
        self.records += 1;
        self.affected += affected;
        Ok(())
    }

    /// Sync the shard and write its index (see [`ShardIndex`]).
    pub(crate) fn finish(mut self) -> Result<ShardSummary, DbError> {
        let separator = if self.records == 0 { "" } else { "," };
        write!(self.offsets, "{separator}{}", self.offset)
            .map_err(write_error(&self.offsets_path))?;
        let offsets = self
            .offsets
            .into_inner()
            .map_err(|error| write_error(&self.offsets_path)(error.into_error()))?;
        drop(offsets);
        let file = self
            .out
            .into_inner()
            .map_err(|error| write_error(&self.path)(error.into_error()))?;
        file.sync_all().map_err(write_error(&self.path))?;
        let index = index_path(&self.path);
        let offsets_path = self.offsets_path;
        let sorted = self.names.finish().map_err(write_error(&index))?;
        let mut packages = 0usize;
        write_file(&index, |out| {
            out.write_all(b"[")?;
            std::io::copy(&mut fs_err::File::open(&offsets_path)?, out)?;
            out.write_all(b"]\n")?;
            let mut current: Option<Vec<u8>> = None;
            for item in sorted {
                let item = item?;
                let mut keys = item.keys.into_iter();
                let (Some(name), Some(number)) = (keys.next(), keys.next()) else {
                    continue;
                };
                let number = u32::from_be_bytes(
                    number
                        .try_into()
                        .map_err(|_| std::io::Error::other("bad record number in a names run"))?,
                );
                if current.as_ref() == Some(&name) {
                    write!(out, ",{number}")?;
                } else {
                    if current.is_some() {
                        out.write_all(b"\n")?;
                    }
                    out.write_all(&name)?;
                    write!(out, "\t{number}")?;
                    packages += 1;
                    current = Some(name);
                }
            }
            if current.is_some() {
                out.write_all(b"\n")?;
            }
            Ok(())
        })?;
        let _ = fs_err::remove_file(&offsets_path);
        Ok(ShardSummary {
            file_name: self.file_name,
            records: self.records,
            affected: self.affected,
            packages,
        })
    }
}

/// The CVE records of a new generation.
pub(crate) enum CveContents<'a> {
    /// As in the previous generation (linked, not rewritten).
    Unchanged,
    /// These records, sorted by id.
    Records(Vec<&'a CveRecord>),
}

/// What a generation holds besides its shards.
pub(crate) struct Rest<'a> {
    pub(crate) metadata: Metadata,
    pub(crate) cves: CveContents<'a>,
    pub(crate) kev: Vec<&'a KevEntry>,
    pub(crate) epss: Vec<(&'a String, &'a Epss)>,
}

/// Writes the rest of the generation, syncs it, switches `CURRENT` to it
/// by rename, and removes all but the previous generation.
pub(crate) fn commit_generation(staging: Staging, mut rest: Rest<'_>) -> Result<PathBuf, DbError> {
    let Staging {
        dir,
        name,
        path: generation,
        previous,
        existing,
        spill,
        ..
    } = staging;
    fs_err::remove_dir_all(&spill).map_err(write_error(&spill))?;
    let osv_dir = generation.join("osv");
    if !rest.kev.is_empty() {
        rest.kev.sort_by(|a, b| a.cve_id.cmp(&b.cve_id));
        write_file(&generation.join("kev.json"), |out| {
            serde_json::to_writer(out, &rest.kev).map_err(std::io::Error::other)
        })?;
    }
    if !rest.epss.is_empty() {
        rest.epss.sort_by(|a, b| a.0.cmp(b.0));
        write_file(&generation.join("epss.tsv"), |out| {
            for (cve, epss) in &rest.epss {
                writeln!(out, "{cve}\t{}\t{}", epss.score, epss.percentile)?;
            }
            Ok(())
        })?;
    }
    match &rest.cves {
        CveContents::Records(records) if !records.is_empty() => {
            write_cves(&generation.join(CVE_FILE), records)?;
        }
        CveContents::Records(_) => {}
        CveContents::Unchanged => {
            if let Some(previous) = &previous {
                let file = previous.join(CVE_FILE);
                for from in [index_path(&file), file] {
                    let Some(name) = from.file_name() else {
                        continue;
                    };
                    let to = generation.join(name);
                    if from.exists() {
                        // Files of a generation never change: a link will do.
                        fs_err::hard_link(&from, &to)
                            .or_else(|_| fs_err::copy(&from, &to).map(|_| ()))
                            .map_err(write_error(&to))?;
                    }
                }
            }
        }
    }
    write_file(&generation.join("metadata.json"), |out| {
        serde_json::to_writer_pretty(out, &rest.metadata).map_err(std::io::Error::other)
    })?;
    sync_dir(&osv_dir)?;
    sync_dir(&generation)?;

    let current_tmp = dir.join("CURRENT.tmp");
    write_file(&current_tmp, |out| writeln!(out, "{name}"))?;
    let current = dir.join(CURRENT);
    fs_err::rename(&current_tmp, &current).map_err(write_error(&current))?;
    sync_dir(&dir)?;
    // Keep the generation just replaced (a reader may still be loading its
    // shards); drop anything older.
    for path in existing {
        if Some(&path) != previous.as_ref() && path.exists() {
            fs_err::remove_dir_all(&path).map_err(write_error(&path))?;
        }
    }
    Ok(generation)
}

fn shard_file_name(ecosystem: &str, used: &mut std::collections::HashSet<String>) -> String {
    let mut base: String = ecosystem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if base.is_empty() || base.starts_with('.') {
        base.insert(0, '_');
    }
    let mut name = format!("{base}.jsonl");
    let mut counter = 1;
    while !used.insert(name.clone()) {
        counter += 1;
        name = format!("{base}~{counter}.jsonl");
    }
    name
}

fn write_file(
    path: &Path,
    body: impl FnOnce(&mut BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<(), DbError> {
    let file = fs_err::File::create(path)
        .map_err(write_error(path))?
        .into_file();
    let mut out = BufWriter::with_capacity(1 << 16, file);
    body(&mut out).map_err(write_error(path))?;
    let file = out
        .into_inner()
        .map_err(|error| write_error(path)(error.into_error()))?;
    file.sync_all().map_err(write_error(path))
}

fn sync_dir(path: &Path) -> Result<(), DbError> {
    fs_err::File::open(path)
        .and_then(|dir| dir.sync_all())
        .map_err(write_error(path))
}

/// Writes the CVE records (sorted by id) and their index.
fn write_cves(path: &Path, records: &[&CveRecord]) -> Result<(), DbError> {
    let mut offsets: Vec<u64> = Vec::with_capacity(records.len().saturating_add(1));
    let mut names: HashMap<String, Vec<u32>> = HashMap::with_capacity(records.len());
    write_file(path, |out| {
        let mut offset = 0_u64;
        let mut line = Vec::new();
        for (number, record) in records.iter().enumerate() {
            offsets.push(offset);
            line.clear();
            serde_json::to_writer(&mut line, record).map_err(std::io::Error::other)?;
            line.push(b'\n');
            out.write_all(&line)?;
            offset += line.len() as u64;
            let number = u32::try_from(number).map_err(std::io::Error::other)?;
            names.entry(record.id.clone()).or_default().push(number);
        }
        offsets.push(offset);
        Ok(())
    })?;
    write_index(&index_path(path), &offsets, &names)
}

/// Every CVE record of a generation (for the next import's merge).
pub(crate) fn read_all_cves(generation: &Path) -> Result<Vec<CveRecord>, DbError> {
    let path = generation.join(CVE_FILE);
    let bytes = match fs_err::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(read_error(&path)(error)),
    };
    parse_records(&path, &bytes)
}

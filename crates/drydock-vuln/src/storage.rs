//! The on-disk layout: generations switched by an atomic rename of
//! `CURRENT`, one JSON-lines shard per ecosystem.
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::cve::CveRecord;
use crate::database::{Metadata, SCHEMA_VERSION};
use crate::error::DbError;
use crate::model::{Advisory, Epss, KevEntry, normalize_name};

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

/// Writes a shard's index: `offsets` as described on [`ShardIndex`],
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

/// Everything a generation holds.
pub(crate) struct Contents<'a> {
    pub(crate) metadata: Metadata,
    /// CVE records, sorted by id.
    pub(crate) cves: Vec<&'a CveRecord>,
    pub(crate) shards: BTreeMap<String, Vec<&'a Advisory>>,
    pub(crate) kev: Vec<&'a KevEntry>,
    pub(crate) epss: Vec<(&'a String, &'a Epss)>,
}

/// Writes a new generation next to the current one, syncs it, switches
/// `CURRENT` to it by rename, and removes all but the previous generation.
/// Must be called with the writer lock held.
pub(crate) fn write_generation(dir: &Path, mut contents: Contents<'_>) -> Result<PathBuf, DbError> {
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
    let generation = dir.join(&name);
    let osv_dir = generation.join("osv");
    fs_err::create_dir_all(&osv_dir).map_err(write_error(&osv_dir))?;

    let mut used = std::collections::HashSet::new();
    for (ecosystem, records) in &mut contents.shards {
        let file_name = shard_file_name(ecosystem, &mut used);
        let path = osv_dir.join(&file_name);
        // Records of one package next to each other: a lookup reads them
        // with one read.
        let mut keyed: Vec<(String, &Advisory)> = records
            .iter()
            .map(|advisory| {
                let first_name = advisory
                    .affected
                    .iter()
                    .filter(|affected| affected.package.ecosystem == *ecosystem)
                    .map(|affected| normalize_name(ecosystem, &affected.package.name))
                    .min()
                    .unwrap_or_default();
                (first_name, *advisory)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
        *records = keyed.into_iter().map(|(_, advisory)| advisory).collect();
        let mut offsets: Vec<u64> = Vec::with_capacity(records.len().saturating_add(1));
        let mut names: HashMap<String, Vec<u32>> = HashMap::new();
        write_file(&path, |out| {
            let mut line = serde_json::to_vec(ecosystem).map_err(std::io::Error::other)?;
            line.push(b'\n');
            out.write_all(&line)?;
            let mut offset = line.len() as u64;
            for (number, advisory) in records.iter().enumerate() {
                offsets.push(offset);
                line.clear();
                serde_json::to_writer(&mut line, advisory).map_err(std::io::Error::other)?;
                line.push(b'\n');
                out.write_all(&line)?;
                offset += line.len() as u64;
                let number = u32::try_from(number).map_err(std::io::Error::other)?;
                for affected in &advisory.affected {
                    if affected.package.ecosystem != *ecosystem {
                        continue;
                    }
                    let numbers = names
                        .entry(normalize_name(ecosystem, &affected.package.name))
                        .or_default();
                    if numbers.last() != Some(&number) {
                        numbers.push(number);
                    }
                }
            }
            offsets.push(offset);
            Ok(())
        })?;
        write_index(&index_path(&path), &offsets, &names)?;
        contents
            .metadata
            .shards
            .insert(ecosystem.clone(), file_name);
    }
    if !contents.kev.is_empty() {
        contents.kev.sort_by(|a, b| a.cve_id.cmp(&b.cve_id));
        write_file(&generation.join("kev.json"), |out| {
            serde_json::to_writer(out, &contents.kev).map_err(std::io::Error::other)
        })?;
    }
    if !contents.epss.is_empty() {
        contents.epss.sort_by(|a, b| a.0.cmp(b.0));
        write_file(&generation.join("epss.tsv"), |out| {
            for (cve, epss) in &contents.epss {
                writeln!(out, "{cve}\t{}\t{}", epss.score, epss.percentile)?;
            }
            Ok(())
        })?;
    }
    if !contents.cves.is_empty() {
        write_cves(&generation.join(CVE_FILE), &contents.cves)?;
    }
    write_file(&generation.join("metadata.json"), |out| {
        serde_json::to_writer_pretty(out, &contents.metadata).map_err(std::io::Error::other)
    })?;
    sync_dir(&osv_dir)?;
    sync_dir(&generation)?;

    let current_tmp = dir.join("CURRENT.tmp");
    write_file(&current_tmp, |out| writeln!(out, "{name}"))?;
    let current = dir.join(CURRENT);
    fs_err::rename(&current_tmp, &current).map_err(write_error(&current))?;
    sync_dir(dir)?;
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

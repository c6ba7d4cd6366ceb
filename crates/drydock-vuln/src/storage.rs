//! The on-disk layout: generations switched by an atomic rename of
//! `CURRENT`, one JSON-lines shard per ecosystem.
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::database::{Metadata, SCHEMA_VERSION};
use crate::error::DbError;
use crate::model::{Advisory, Epss, KevEntry};

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
    for (ecosystem, records) in &contents.shards {
        let file_name = shard_file_name(ecosystem, &mut used);
        let path = osv_dir.join(&file_name);
        write_file(&path, |out| {
            serde_json::to_writer(&mut *out, ecosystem).map_err(std::io::Error::other)?;
            out.write_all(b"\n")?;
            for advisory in records {
                serde_json::to_writer(&mut *out, advisory).map_err(std::io::Error::other)?;
                out.write_all(b"\n")?;
            }
            Ok(())
        })?;
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

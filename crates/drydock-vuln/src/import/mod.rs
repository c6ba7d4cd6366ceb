//! `db import`: reads every input (format detected from content), merges
//! into the current records (by id, newer `modified` wins) and writes a new
//! generation. Any unreadable input fails the whole import before anything
//! is written.
mod cverecords;
mod debian;
mod epss;
mod kev;
mod osv;
mod secdb;

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cve::CveRecord;
use crate::database::{
    CveStatus, Database, EcosystemStatus, EpssStatus, KevStatus, Metadata, SourceStatus,
    compute_status,
};
use crate::error::{DbError, ImportError};
use crate::model::{Advisory, Epss, KevEntry};

pub use debian::debian_release_number;

/// Largest single input (file, zip entry, decompressed gzip) accepted.
pub const MAX_INPUT_BYTES: u64 = 4 << 30;

/// What one import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    /// Files and zip entries read.
    pub inputs: usize,
    /// Advisory records read from the inputs.
    pub records_read: usize,
    /// Records new to the database.
    pub added: usize,
    /// Records that replaced an older (or equally old) record with the same id.
    pub replaced: usize,
    /// Records ignored because the database has a newer one with the same id.
    pub kept_newer: usize,
    pub kev_entries: usize,
    pub epss_entries: usize,
    /// NVD / CVE JSON 5 records read from the inputs.
    pub cve_records: usize,
    /// CVSS vectors in those records.
    pub cvss_vectors: usize,
    /// Vectors drydock's CVSS code refuses (`CVE-…: vector: reason`): kept
    /// in the record, never used for a severity.
    pub cvss_rejected: Vec<String>,
    /// Vectors whose score, recomputed by drydock, differs from the score
    /// the file states by more than 0.05 (`CVE-…: vector: file X, drydock Y`).
    pub cvss_score_mismatches: Vec<String>,
    /// CVE records in the database afterwards.
    pub total_cve_records: usize,
    /// Records read per data source.
    pub per_source: BTreeMap<String, usize>,
    /// Records in the database afterwards.
    pub total_records: usize,
}

/// One parsed input.
pub(crate) enum Parsed {
    Advisories(Vec<Advisory>),
    Kev {
        catalog_version: String,
        date_released: String,
        entries: Vec<KevEntry>,
    },
    Epss {
        model_version: String,
        score_date: String,
        entries: Vec<(String, Epss)>,
    },
    Cves(Vec<cverecords::Parsed>),
}

/// Inserts `advisory` unless a record with the same id and a newer
/// `modified` is present. Returns how it went.
pub(crate) fn merge_one(records: &mut HashMap<String, Advisory>, advisory: Advisory) -> Merge {
    match records.get_mut(&advisory.id) {
        None => {
            records.insert(advisory.id.clone(), advisory);
            Merge::Added
        }
        Some(existing) => {
            if crate::time::compare_times(&advisory.modified, &existing.modified) == Ordering::Less
            {
                Merge::KeptNewer
            } else {
                *existing = advisory;
                Merge::Replaced
            }
        }
    }
}

pub(crate) enum Merge {
    Added,
    Replaced,
    KeptNewer,
}

impl Database {
    /// Imports `paths` into the database in `dir` (created if missing), at
    /// the current time. See [`Database::import_at`].
    pub fn import(dir: &Path, paths: &[PathBuf]) -> Result<ImportReport, DbError> {
        Database::import_at(dir, paths, crate::time::now_seconds())
    }

    /// Imports `paths` (OSV JSON files, directories of them, OSV `all.zip`
    /// archives, Debian security tracker JSON, Alpine/Wolfi secdb JSON, CISA
    /// KEV JSON, FIRST EPSS CSV, each optionally gzip-compressed), with
    /// `now` (seconds since the epoch) as the import time. Atomic: on any
    /// error nothing changes.
    pub fn import_at(dir: &Path, paths: &[PathBuf], now: i64) -> Result<ImportReport, DbError> {
        import_with_budget(dir, paths, now, crate::storage::SORT_BUDGET)
    }
}

/// [`Database::import_at`] with the external sorts' memory budget.
pub(crate) fn import_with_budget(
    dir: &Path,
    paths: &[PathBuf],
    now: i64,
    budget: usize,
) -> Result<ImportReport, DbError> {
    let _lock = crate::storage::lock(dir)?;
    {
        let mut staging = crate::storage::begin_generation(dir)?;
        staging.budget = budget;
        match import_into(&mut staging, paths, now) {
            Ok((report, metadata, tables)) => {
                let rest = crate::storage::Rest {
                    metadata,
                    cves: match &tables.cves {
                        Some(cves) => crate::storage::CveContents::Records(cves.values().collect()),
                        None => crate::storage::CveContents::Unchanged,
                    },
                    kev: tables.kev.values().collect(),
                    epss: tables.epss.iter().collect(),
                };
                crate::storage::commit_generation(staging, rest)?;
                Ok(report)
            }
            Err(error) => {
                staging.abandon();
                Err(error)
            }
        }
    }
}

/// The small tables of a generation (KEV, EPSS) and the CVE records when
/// this import changes them (`None`: the previous file is kept).
struct Tables {
    kev: HashMap<String, KevEntry>,
    epss: HashMap<String, Epss>,
    /// By id (ordered, as the generation stores them).
    cves: Option<std::collections::BTreeMap<String, CveRecord>>,
}

/// A record on its way through the merge: where it came from (0: the
/// previous generation, 1: an input), its `modified` time and its JSON.
fn merge_payload(origin: u8, modified: &str, json: &[u8]) -> Vec<u8> {
    let mut payload = Vec::with_capacity(5 + modified.len() + json.len());
    payload.push(origin);
    payload.extend_from_slice(&u32::try_from(modified.len()).unwrap_or(0).to_le_bytes());
    payload.extend_from_slice(modified.as_bytes());
    payload.extend_from_slice(json);
    payload
}

fn split_payload(payload: &[u8]) -> Option<(u8, &str, &[u8])> {
    let (&origin, rest) = payload.split_first()?;
    let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let modified = std::str::from_utf8(rest.get(4..4 + len)?).ok()?;
    Some((origin, modified, rest.get(4 + len..)?))
}

#[derive(serde::Deserialize)]
struct RecordHead {
    id: String,
    #[serde(default)]
    modified: String,
}

/// The import proper, writing the shards of the staged generation: every
/// record (previous ones first, then the inputs in order) goes through an
/// external sort by (id, arrival), is merged by id as [`merge_one`] would,
/// and goes through a second external sort by (ecosystem, first package
/// name, id) into the shards. Memory is bounded by the sort budgets, not by
/// the number of records.
fn import_into(
    staging: &mut crate::storage::Staging,
    paths: &[PathBuf],
    now: i64,
) -> Result<(ImportReport, Metadata, Tables), DbError> {
    let now_text = crate::time::format_rfc3339(now);
    let mut report = ImportReport::default();
    let spill_error = |path: &Path| {
        let path = path.to_owned();
        move |source| DbError::Write { path, source }
    };
    let spill = staging.spill.clone();
    let previous_metadata = match &staging.previous {
        Some(generation) => Some(crate::storage::read_metadata(generation)?),
        None => None,
    };
    let previous_status = previous_metadata.as_ref().map_or_else(
        || compute_status(&[], None, Vec::new(), None, None, None),
        |m| m.status.clone(),
    );
    let mut tables = Tables {
        kev: match &staging.previous {
            Some(generation) => crate::storage::read_kev(generation)?,
            None => HashMap::new(),
        },
        epss: match &staging.previous {
            Some(generation) => crate::storage::read_epss(generation)?,
            None => HashMap::new(),
        },
        cves: None,
    };

    // 1. Every record by (id, arrival).
    let mut records = crate::spill::Sorter::new(&spill, "records", staging.budget);
    let mut arrival: u64 = 0;
    if let (Some(generation), Some(metadata)) = (&staging.previous, &previous_metadata) {
        for file in metadata.shards.values() {
            let path = generation.join("osv").join(file);
            crate::storage::for_each_shard_line(&path, |line| {
                let head: RecordHead =
                    serde_json::from_slice(line).map_err(|source| DbError::Json {
                        path: path.clone(),
                        source,
                    })?;
                arrival += 1;
                records
                    .push(crate::spill::Item {
                        keys: vec![head.id.into_bytes(), arrival.to_be_bytes().to_vec()],
                        payload: merge_payload(0, &head.modified, line),
                    })
                    .map_err(spill_error(&spill))
            })?;
        }
    }
    let mut cves_touched = false;
    let mut kev_status = previous_status.kev.clone();
    let mut epss_status = previous_status.epss.clone();
    let mut touched_sources = std::collections::BTreeSet::new();
    let previous_generation = staging.previous.clone();
    {
        let mut sink = |input: Parsed, report: &mut ImportReport| -> Result<(), DbError> {
            match input {
                Parsed::Advisories(advisories) => {
                    for advisory in advisories {
                        report.records_read += 1;
                        *report
                            .per_source
                            .entry(advisory.data_source.clone())
                            .or_default() += 1;
                        touched_sources.insert(advisory.data_source.clone());
                        let json =
                            serde_json::to_vec(&advisory).map_err(|source| DbError::Json {
                                path: spill.clone(),
                                source,
                            })?;
                        arrival += 1;
                        records
                            .push(crate::spill::Item {
                                keys: vec![
                                    advisory.id.into_bytes(),
                                    arrival.to_be_bytes().to_vec(),
                                ],
                                payload: merge_payload(1, &advisory.modified, &json),
                            })
                            .map_err(spill_error(&spill))?;
                    }
                }
                Parsed::Kev {
                    catalog_version,
                    date_released,
                    entries,
                } => {
                    report.kev_entries += entries.len();
                    for entry in entries {
                        tables.kev.insert(entry.cve_id.clone(), entry);
                    }
                    kev_status = Some(KevStatus {
                        catalog_version,
                        date_released,
                        count: tables.kev.len(),
                        last_import: now_text.clone(),
                    });
                }
                Parsed::Cves(parsed) => {
                    cves_touched = true;
                    if tables.cves.is_none() {
                        tables.cves = Some(match &previous_generation {
                            Some(generation) => crate::storage::read_all_cves(generation)?
                                .into_iter()
                                .map(|record| (record.id.clone(), record))
                                .collect(),
                            None => std::collections::BTreeMap::new(),
                        });
                    }
                    let by_id = tables.cves.get_or_insert_with(Default::default);
                    for (record, origin) in parsed {
                        report.cve_records += 1;
                        check_scores(&record, report);
                        by_id
                            .entry(record.id.clone())
                            .or_insert_with(|| CveRecord::empty(&record.id))
                            .merge(record, origin);
                    }
                }
                Parsed::Epss {
                    model_version,
                    score_date,
                    entries,
                } => {
                    // A score file is a complete daily snapshot: it replaces the table.
                    report.epss_entries += entries.len();
                    tables.epss = entries.into_iter().collect();
                    epss_status = Some(EpssStatus {
                        model_version,
                        score_date,
                        count: tables.epss.len(),
                        last_import: now_text.clone(),
                    });
                }
            }
            Ok(())
        };
        for path in paths {
            read_path(path, &now_text, &mut sink, &mut report)?;
        }
    }

    // 2. Merge by id; each winner on to its shards by (ecosystem, first name, id).
    let mut shards = crate::spill::Sorter::new(&spill, "shards", staging.budget);
    let mut per_source: BTreeMap<String, usize> = BTreeMap::new();
    let mut winner: Option<(Vec<u8>, Vec<u8>)> = None;
    let mut place = |id: Vec<u8>,
                     payload: Vec<u8>,
                     report: &mut ImportReport|
     -> Result<(), DbError> {
        let Some((_, _, json)) = split_payload(&payload) else {
            return Err(DbError::Corrupt {
                path: spill.clone(),
                what: "bad record in a sort run".to_owned(),
            });
        };
        let advisory: Advisory = serde_json::from_slice(json).map_err(|source| DbError::Json {
            path: spill.clone(),
            source,
        })?;
        report.total_records += 1;
        *per_source.entry(advisory.data_source.clone()).or_default() += 1;
        let mut ecosystems: Vec<&str> = advisory
            .affected
            .iter()
            .map(|affected| affected.package.ecosystem.as_str())
            .collect();
        ecosystems.sort_unstable();
        ecosystems.dedup();
        if ecosystems.is_empty() {
            ecosystems.push(crate::database::NO_ECOSYSTEM);
        }
        for ecosystem in ecosystems {
            let mut names: Vec<String> = Vec::new();
            let mut affected = 0usize;
            for entry in &advisory.affected {
                if entry.package.ecosystem == ecosystem {
                    affected += 1;
                    names.push(crate::model::normalize_name(ecosystem, &entry.package.name));
                }
            }
            names.sort_unstable();
            names.dedup();
            let first_name = names.first().cloned().unwrap_or_default();
            let mut shard_payload = Vec::new();
            shard_payload
                .extend_from_slice(&u32::try_from(affected).unwrap_or(u32::MAX).to_le_bytes());
            shard_payload
                .extend_from_slice(&u32::try_from(names.len()).unwrap_or(u32::MAX).to_le_bytes());
            for name in &names {
                shard_payload
                    .extend_from_slice(&u32::try_from(name.len()).unwrap_or(0).to_le_bytes());
                shard_payload.extend_from_slice(name.as_bytes());
            }
            shard_payload.extend_from_slice(json);
            shards
                .push(crate::spill::Item {
                    keys: vec![
                        ecosystem.as_bytes().to_vec(),
                        first_name.into_bytes(),
                        id.clone(),
                    ],
                    payload: shard_payload,
                })
                .map_err(spill_error(&spill))?;
        }
        Ok(())
    };
    for item in records.finish().map_err(spill_error(&spill))? {
        let item = item.map_err(spill_error(&spill))?;
        let mut keys = item.keys.into_iter();
        let id = keys.next().unwrap_or_default();
        if winner.as_ref().is_some_and(|(current, _)| *current != id)
            && let Some((done, payload)) = winner.take()
        {
            place(done, payload, &mut report)?;
        }
        let Some((origin, modified, _)) = split_payload(&item.payload) else {
            continue;
        };
        match &winner {
            // A previous record stored in several shards: the first copy stands.
            Some(_) if origin == 0 => {}
            None => {
                if origin != 0 {
                    report.added += 1;
                }
                winner = Some((id, item.payload));
            }
            Some((_, current)) => {
                let current_modified = split_payload(current).map_or("", |(_, m, _)| m);
                if crate::time::compare_times(modified, current_modified) == Ordering::Less {
                    report.kept_newer += 1;
                } else {
                    report.replaced += 1;
                    winner = Some((id, item.payload));
                }
            }
        }
    }
    if let Some((done, payload)) = winner.take() {
        place(done, payload, &mut report)?;
    }

    // 3. The shards, one after the other.
    let mut metadata_shards = BTreeMap::new();
    let mut ecosystems = Vec::new();
    let mut writer: Option<(String, crate::storage::ShardWriter)> = None;
    let finish = |writer: Option<(String, crate::storage::ShardWriter)>,
                  metadata_shards: &mut BTreeMap<String, String>,
                  ecosystems: &mut Vec<EcosystemStatus>|
     -> Result<(), DbError> {
        if let Some((ecosystem, writer)) = writer {
            let summary = writer.finish()?;
            metadata_shards.insert(ecosystem.clone(), summary.file_name);
            ecosystems.push(EcosystemStatus {
                ecosystem,
                records: summary.records,
                affected: summary.affected,
                packages: summary.packages,
            });
        }
        Ok(())
    };
    for item in shards.finish().map_err(spill_error(&spill))? {
        let item = item.map_err(spill_error(&spill))?;
        let ecosystem =
            String::from_utf8_lossy(item.keys.first().map_or(&[][..], Vec::as_slice)).into_owned();
        if writer
            .as_ref()
            .is_none_or(|(current, _)| *current != ecosystem)
        {
            finish(writer.take(), &mut metadata_shards, &mut ecosystems)?;
            writer = Some((ecosystem.clone(), staging.shard(&ecosystem)?));
        }
        let corrupt = || DbError::Corrupt {
            path: spill.clone(),
            what: "bad record in a shard sort run".to_owned(),
        };
        let payload = item.payload.as_slice();
        let read_u32 = |at: usize| -> Option<usize> {
            Some(u32::from_le_bytes(payload.get(at..at + 4)?.try_into().ok()?) as usize)
        };
        let affected = read_u32(0).ok_or_else(corrupt)?;
        let count = read_u32(4).ok_or_else(corrupt)?;
        let mut at = 8;
        let mut names = Vec::with_capacity(count);
        for _ in 0..count {
            let len = read_u32(at).ok_or_else(corrupt)?;
            let name = payload
                .get(at + 4..at + 4 + len)
                .and_then(|name| std::str::from_utf8(name).ok())
                .ok_or_else(corrupt)?;
            names.push(name);
            at += 4 + len;
        }
        let json = payload.get(at..).ok_or_else(corrupt)?;
        if let Some((_, shard)) = writer.as_mut() {
            shard.push(json, &names, affected)?;
        }
    }
    finish(writer.take(), &mut metadata_shards, &mut ecosystems)?;

    let sources = per_source
        .into_iter()
        .map(|(name, count)| {
            let last_import = if touched_sources.contains(&name) {
                now_text.clone()
            } else {
                previous_status
                    .sources
                    .iter()
                    .find(|source| source.name == name)
                    .map_or_else(|| now_text.clone(), |source| source.last_import.clone())
            };
            SourceStatus {
                name,
                records: count,
                last_import,
            }
        })
        .collect();
    let cve_status = match &tables.cves {
        None => previous_status.cve.clone(),
        Some(cves) => (!cves.is_empty()).then(|| CveStatus {
            count: cves.len(),
            with_cvss: cves.values().filter(|cve| !cve.metrics.is_empty()).count(),
            last_import: match (&previous_status.cve, cves_touched) {
                (Some(previous), false) => previous.last_import.clone(),
                _ => now_text.clone(),
            },
        }),
    };
    report.total_cve_records = cve_status.as_ref().map_or(0, |status| status.count);
    let mut status = compute_status(
        &[],
        Some(now_text),
        sources,
        kev_status,
        epss_status,
        cve_status,
    );
    status.ecosystems = ecosystems;
    Ok((
        report,
        Metadata {
            status,
            shards: metadata_shards,
        },
        tables,
    ))
}

/// Where parsed inputs go, one at a time.
pub(crate) type Sink<'a> = dyn FnMut(Parsed, &mut ImportReport) -> Result<(), DbError> + 'a;

fn read_path(
    path: &Path,
    now: &str,
    sink: &mut Sink<'_>,
    report: &mut ImportReport,
) -> Result<(), DbError> {
    let display = path.display().to_string();
    let metadata = fs_err::metadata(path).map_err(|source| ImportError::Read {
        path: display.clone(),
        source,
    })?;
    if metadata.is_dir() {
        let mut files = Vec::new();
        walk(path, &mut files)?;
        files.sort();
        for file in files {
            read_path(&file, now, sink, report)?;
        }
        return Ok(());
    }
    if metadata.len() > MAX_INPUT_BYTES {
        return Err(ImportError::TooLarge {
            path: display,
            limit: MAX_INPUT_BYTES,
        }
        .into());
    }
    let read_error = |source| ImportError::Read {
        path: display.clone(),
        source,
    };
    // A zip archive is read entry by entry from the file, never whole.
    let mut file = fs_err::File::open(path).map_err(read_error)?;
    let mut magic = [0u8; 4];
    let is_zip = match file.read_exact(&mut magic) {
        Ok(()) => magic == *b"PK\x03\x04" || magic == *b"PK\x05\x06",
        Err(_) => false,
    };
    if is_zip {
        let mut file = file.into_file();
        // Entries whose local header has their sizes (what zip writers that
        // can seek produce) are read in file order without holding the
        // central directory, which for an archive of a million records is
        // itself hundreds of megabytes once parsed; others through it.
        let mut local = [0u8; 8];
        let streamable = file
            .seek(std::io::SeekFrom::Start(0))
            .and_then(|_| file.read_exact(&mut local))
            .is_ok()
            && local.starts_with(b"PK\x03\x04")
            && local.get(6).is_some_and(|flags| flags & 0x08 == 0);
        file.seek(std::io::SeekFrom::Start(0)).map_err(read_error)?;
        let reader = std::io::BufReader::with_capacity(1 << 16, file);
        if streamable {
            return read_zip_stream(&display, reader, now, sink, report);
        }
        return read_zip(&display, reader, now, sink, report, 0);
    }
    drop(file);
    let bytes = fs_err::read(path).map_err(read_error)?;
    read_bytes(&display, bytes, now, sink, report)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), ImportError> {
    let display = || dir.display().to_string();
    for entry in fs_err::read_dir(dir).map_err(|source| ImportError::Read {
        path: display(),
        source,
    })? {
        let entry = entry.map_err(|source| ImportError::Read {
            path: display(),
            source,
        })?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let file_type = entry.file_type().map_err(|source| ImportError::Read {
            path: display(),
            source,
        })?;
        if file_type.is_dir() {
            walk(&path, files)?;
        } else if name.ends_with(".json")
            || name.ends_with(".zip")
            || name.ends_with(".csv")
            || name.ends_with(".gz")
        {
            // Inside directories only data files are read (a README or
            // LICENSE next to the records is not an input).
            files.push(path);
        }
    }
    Ok(())
}

/// Reads one input whose format is detected from its content.
pub(crate) fn read_bytes(
    path: &str,
    bytes: Vec<u8>,
    now: &str,
    sink: &mut Sink<'_>,
    report: &mut ImportReport,
) -> Result<(), DbError> {
    report.inputs += 1;
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        report.inputs = report.inputs.saturating_sub(1);
        return read_zip(path, std::io::Cursor::new(bytes), now, sink, report, 0);
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut decoded = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes.as_slice())
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut decoded)
            .map_err(|source| ImportError::Read {
                path: path.to_owned(),
                source,
            })?;
        if decoded.len() as u64 > MAX_INPUT_BYTES {
            return Err(ImportError::TooLarge {
                path: path.to_owned(),
                limit: MAX_INPUT_BYTES,
            }
            .into());
        }
        report.inputs = report.inputs.saturating_sub(1);
        return read_bytes(path, decoded, now, sink, report);
    }
    let parsed = parse_document(path, &bytes, now)?;
    drop(bytes);
    sink(parsed, report)
}

/// Entry points for the fuzz targets (not a stable API): each parses
/// untrusted bytes as one format and returns the records it produced.
#[doc(hidden)]
pub mod fuzzing {
    use super::{ImportReport, Parsed, debian, read_bytes, secdb};
    use crate::model::Advisory;

    const NOW: &str = "2024-01-01T00:00:00Z";

    /// One OSV record (JSON object), as `db import` reads it.
    pub fn osv(bytes: &[u8]) -> Option<Advisory> {
        let value = serde_json::from_slice(bytes).ok()?;
        super::osv::parse_one("fuzz", value).ok()
    }

    /// The Debian security tracker JSON.
    pub fn debian_tracker(bytes: &[u8]) -> Vec<Advisory> {
        serde_json::from_slice(bytes)
            .ok()
            .and_then(|value| debian::parse("fuzz", &value, NOW).ok())
            .unwrap_or_default()
    }

    /// Alpine / Wolfi secdb JSON.
    pub fn secdb(bytes: &[u8]) -> Vec<Advisory> {
        serde_json::from_slice(bytes)
            .ok()
            .and_then(|value| secdb::parse("fuzz", &value, NOW).ok())
            .unwrap_or_default()
    }

    /// NVD CVE API 2.0 JSON (a page or a bare `cve` object) or a CVE JSON
    /// 5 record: the CVE records it holds.
    pub fn cve_records(bytes: &[u8]) -> Vec<crate::cve::CveRecord> {
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
            return Vec::new();
        };
        let Some(object) = value.as_object() else {
            return Vec::new();
        };
        let parsed = if super::cverecords::looks_like_cve5(object) {
            super::cverecords::parse_cve5("fuzz", &value).map(|record| vec![record])
        } else if super::cverecords::looks_like_nvd_response(object) {
            super::cverecords::parse_nvd_response("fuzz", &value)
        } else {
            super::cverecords::parse_nvd_cve("fuzz", &value).map(|record| vec![record])
        };
        parsed
            .map(|records| records.into_iter().map(|(record, _)| record).collect())
            .unwrap_or_default()
    }

    /// Any input `db import` accepts (zip, gzip, every format by content).
    pub fn any_input(bytes: &[u8]) -> usize {
        let mut parsed = Vec::new();
        let mut report = ImportReport::default();
        let mut sink = |input: Parsed, _: &mut ImportReport| {
            parsed.push(input);
            Ok(())
        };
        if read_bytes("fuzz", bytes.to_vec(), NOW, &mut sink, &mut report).is_err() {
            return 0;
        }
        parsed
            .iter()
            .map(|input| match input {
                Parsed::Advisories(advisories) => advisories.len(),
                Parsed::Kev { entries, .. } => entries.len(),
                Parsed::Epss { entries, .. } => entries.len(),
                Parsed::Cves(records) => records.len(),
            })
            .sum()
    }
}

fn parse_document(path: &str, bytes: &[u8], now: &str) -> Result<Parsed, ImportError> {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let body = bytes.get(start..).unwrap_or_default();
    if body.starts_with(b"#") || body.starts_with(b"cve,") {
        return epss::parse(path, body);
    }
    if body.starts_with(b"cveID,") {
        return kev::parse_csv(path, body);
    }
    if !(body.starts_with(b"{") || body.starts_with(b"[")) {
        return Err(ImportError::UnknownFormat {
            path: path.to_owned(),
        });
    }
    // NVD / CVE JSON 5 input, sniffed from its first keys (as NVD and the
    // CVE Program write them): typed parse, skipping what is not kept.
    if body.starts_with(b"{") {
        let head = body.get(..body.len().min(512)).unwrap_or_default();
        let has = |needle: &[u8]| head.windows(needle.len()).any(|window| window == needle);
        if (has(b"\"CVE_RECORD\"") || has(b"\"cveMetadata\""))
            && let Some(record) = cverecords::typed::cve5(body)
        {
            return Ok(Parsed::Cves(vec![record]));
        }
        if (has(b"\"resultsPerPage\"") || has(b"\"NVD_CVE\""))
            && let Some(records) = cverecords::typed::nvd_page(body)
        {
            return Ok(Parsed::Cves(records));
        }
        if (has(b"\"sourceIdentifier\"") || has(b"\"vulnStatus\""))
            && let Some(record) = cverecords::typed::nvd_cve(body)
        {
            return Ok(Parsed::Cves(vec![record]));
        }
    }
    // Fast path for the common case, one OSV record per file: typed parse
    // in one pass. Anything else (or a broken record, for its error) goes
    // through the generic detection below.
    if body.starts_with(b"{")
        && body.len() < (1 << 20)
        && let Ok(advisory) = serde_json::from_slice::<Advisory>(body)
    {
        return osv::finish(path, advisory).map(|advisory| Parsed::Advisories(vec![advisory]));
    }
    let value: Value = serde_json::from_slice(body).map_err(|source| ImportError::Json {
        path: path.to_owned(),
        source,
    })?;
    if cverecords::is_cvelist_delta(&value) {
        return Ok(Parsed::Cves(Vec::new()));
    }
    match &value {
        Value::Array(_) => osv::parse_many(path, value).map(Parsed::Advisories),
        Value::Object(object) => {
            if cverecords::looks_like_cve5(object) {
                cverecords::parse_cve5(path, &value).map(|record| Parsed::Cves(vec![record]))
            } else if cverecords::looks_like_nvd_response(object) {
                cverecords::parse_nvd_response(path, &value).map(Parsed::Cves)
            } else if cverecords::looks_like_nvd_cve(object) {
                cverecords::parse_nvd_cve(path, &value).map(|record| Parsed::Cves(vec![record]))
            } else if object.contains_key("id") && object.contains_key("modified") {
                osv::parse_one(path, value).map(|advisory| Parsed::Advisories(vec![advisory]))
            } else if object.contains_key("vulnerabilities")
                && (object.contains_key("catalogVersion") || object.contains_key("title"))
            {
                kev::parse(path, value)
            } else if object.contains_key("packages")
                && (object.contains_key("distroversion")
                    || object.contains_key("reponame")
                    || object.contains_key("urlprefix"))
            {
                secdb::parse(path, &value, now).map(Parsed::Advisories)
            } else if debian::looks_like_tracker(object) {
                debian::parse(path, &value, now).map(Parsed::Advisories)
            } else {
                Err(ImportError::UnknownFormat {
                    path: path.to_owned(),
                })
            }
        }
        _ => Err(ImportError::UnknownFormat {
            path: path.to_owned(),
        }),
    }
}

fn read_zip<R: Read + std::io::Seek>(
    path: &str,
    reader: R,
    now: &str,
    sink: &mut Sink<'_>,
    report: &mut ImportReport,
    depth: u8,
) -> Result<(), DbError> {
    let zip_error = |source| ImportError::Zip {
        path: path.to_owned(),
        source,
    };
    let mut archive = zip::ZipArchive::new(reader).map_err(zip_error)?;
    // One inflater for every entry: a fresh one per entry (what
    // `ZipArchive::by_index` makes) costs more than inflating a small record.
    let mut inflater = flate2::Decompress::new(false);
    let mut raw = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index_raw(index).map_err(zip_error)?;
        if entry.is_dir() {
            continue;
        }
        let name = format!("{path}: {}", entry.name());
        let extension = std::path::Path::new(entry.name())
            .extension()
            .map(std::ffi::OsStr::to_ascii_lowercase);
        // A zip inside the zip (the CVE Program's bulk download wraps
        // `cves.zip`), one level deep.
        let nested = depth == 0 && extension.as_deref() == Some("zip".as_ref());
        if !(extension.as_deref() == Some("json".as_ref()) || nested) {
            continue;
        }
        let declared = entry.size();
        if declared > MAX_INPUT_BYTES {
            return Err(DbError::from(ImportError::TooLarge {
                path: name,
                limit: MAX_INPUT_BYTES,
            }));
        }
        let method = entry.compression();
        let expected_crc = entry.crc32();
        let content = if entry.encrypted()
            || !matches!(
                method,
                zip::CompressionMethod::Stored | zip::CompressionMethod::Deflated
            ) {
            drop(entry);
            read_zip_entry(&mut archive, index, &name, declared).map_err(zip_error)??
        } else {
            raw.clear();
            (&mut entry)
                .take(MAX_INPUT_BYTES + 1)
                .read_to_end(&mut raw)
                .map_err(|source| ImportError::Read {
                    path: name.clone(),
                    source,
                })?;
            let content = if method == zip::CompressionMethod::Stored {
                raw.clone()
            } else {
                inflate(&mut inflater, &raw, declared, &name)?
            };
            let mut crc = flate2::Crc::new();
            crc.update(&content);
            if crc.sum() != expected_crc {
                return Err(DbError::from(ImportError::Read {
                    path: name,
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "CRC-32 of the entry does not match the archive's",
                    ),
                }));
            }
            content
        };
        if content.len() as u64 > MAX_INPUT_BYTES {
            return Err(DbError::from(ImportError::TooLarge {
                path: name,
                limit: MAX_INPUT_BYTES,
            }));
        }
        if nested {
            read_zip(
                &name,
                std::io::Cursor::new(content),
                now,
                sink,
                report,
                depth + 1,
            )?;
            continue;
        }
        report.inputs += 1;
        let parsed = parse_document(&name, &content, now)?;
        sink(parsed, report)?;
    }
    Ok(())
}

/// A zip archive read entry by entry from its local headers, in file order
/// (one nested zip level, CRC-32 checked by the zip crate as each entry
/// ends). Entries whose local header lacks their sizes are an error naming
/// the archive, as they cannot be read this way.
fn read_zip_stream(
    path: &str,
    mut reader: impl Read,
    now: &str,
    sink: &mut Sink<'_>,
    report: &mut ImportReport,
) -> Result<(), DbError> {
    let zip_error = |source| ImportError::Zip {
        path: path.to_owned(),
        source,
    };
    let mut content = Vec::new();
    loop {
        let Some(mut entry) =
            zip::read::read_zipfile_from_stream(&mut reader).map_err(zip_error)?
        else {
            return Ok(());
        };
        if entry.is_dir() {
            continue;
        }
        let name = format!("{path}: {}", entry.name());
        let extension = std::path::Path::new(entry.name())
            .extension()
            .map(std::ffi::OsStr::to_ascii_lowercase);
        let nested = extension.as_deref() == Some("zip".as_ref());
        if !(extension.as_deref() == Some("json".as_ref()) || nested) {
            continue;
        }
        if entry.size() > MAX_INPUT_BYTES {
            return Err(ImportError::TooLarge {
                path: name,
                limit: MAX_INPUT_BYTES,
            }
            .into());
        }
        content.clear();
        (&mut entry)
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut content)
            .map_err(|source| ImportError::Read {
                path: name.clone(),
                // The zip crate checks the CRC-32 as the entry ends: say so
                // as the central-directory reader does.
                source: if source.to_string() == "Invalid checksum" {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "CRC-32 of the entry does not match the archive's",
                    )
                } else {
                    source
                },
            })?;
        drop(entry);
        if content.len() as u64 > MAX_INPUT_BYTES {
            return Err(ImportError::TooLarge {
                path: name,
                limit: MAX_INPUT_BYTES,
            }
            .into());
        }
        if nested {
            let nested_bytes = std::mem::take(&mut content);
            read_zip(
                &name,
                std::io::Cursor::new(nested_bytes),
                now,
                sink,
                report,
                1,
            )?;
            continue;
        }
        report.inputs += 1;
        let parsed = parse_document(&name, &content, now)?;
        sink(parsed, report)?;
    }
}

/// An entry through the zip crate's own readers (other compression
/// methods, encryption: their errors name the problem).
fn read_zip_entry<R: Read + std::io::Seek>(
    archive: &mut zip::ZipArchive<R>,
    index: usize,
    name: &str,
    declared: u64,
) -> Result<Result<Vec<u8>, ImportError>, zip::result::ZipError> {
    let mut entry = archive.by_index(index)?;
    // The declared size is only a hint: read at most the limit.
    let mut content = Vec::with_capacity(declared.min(1 << 24) as usize);
    Ok((&mut entry)
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut content)
        .map(|_| content)
        .map_err(|source| ImportError::Read {
            path: name.to_owned(),
            source,
        }))
}

/// Inflates one raw-deflate zip entry with a reused inflater, reading at
/// most `MAX_INPUT_BYTES + 1` bytes (the declared size is only a hint).
fn inflate(
    inflater: &mut flate2::Decompress,
    input: &[u8],
    declared: u64,
    name: &str,
) -> Result<Vec<u8>, ImportError> {
    let invalid = |message: String| ImportError::Read {
        path: name.to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, message),
    };
    inflater.reset(false);
    let mut out: Vec<u8> = Vec::with_capacity(declared.min(1 << 24) as usize + 1);
    loop {
        if out.len() == out.capacity() {
            out.reserve(out.capacity().max(1 << 16));
        }
        let before = (inflater.total_in(), inflater.total_out());
        let consumed = usize::try_from(before.0).unwrap_or(usize::MAX);
        let rest = input.get(consumed..).unwrap_or_default();
        let status = inflater
            .decompress_vec(rest, &mut out, flate2::FlushDecompress::Finish)
            .map_err(|error| invalid(error.to_string()))?;
        if out.len() as u64 > MAX_INPUT_BYTES {
            return Err(ImportError::TooLarge {
                path: name.to_owned(),
                limit: MAX_INPUT_BYTES,
            });
        }
        if status == flate2::Status::StreamEnd {
            return Ok(out);
        }
        let all_read = usize::try_from(inflater.total_in()).is_ok_and(|n| n >= input.len());
        let stuck = before == (inflater.total_in(), inflater.total_out());
        if (all_read || stuck) && out.len() < out.capacity() {
            return Err(invalid("truncated deflate data".to_owned()));
        }
    }
}

/// Recomputes every vector's base score with drydock's CVSS code and
/// records the ones it refuses or scores differently from the file.
fn check_scores(record: &CveRecord, report: &mut ImportReport) {
    for metric in &record.metrics {
        report.cvss_vectors += 1;
        match crate::cvss::score(&metric.vector) {
            Err(error) => report
                .cvss_rejected
                .push(format!("{}: `{}`: {error}", record.id, metric.vector)),
            Ok(score) => {
                if let Some(stated) = metric.base_score
                    && (stated - score.base_score).abs() > 0.05
                {
                    report.cvss_score_mismatches.push(format!(
                        "{}: `{}`: file {stated}, drydock {}",
                        record.id, metric.vector, score.base_score
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::{Path, PathBuf};

    use super::*;

    const NOW: i64 = 1_714_521_600;

    /// OSV records over three ecosystems (some in two), with ids repeated
    /// across files at older and newer `modified` times.
    fn write_inputs(dir: &Path, round: u32) -> Vec<PathBuf> {
        let mut paths = Vec::new();
        for file in 0..3u32 {
            let sub = dir.join(format!("round{round}-file{file}"));
            std::fs::create_dir_all(&sub).unwrap();
            for n in 0..300u32 {
                let id = format!("TEST-{:04}", (n * 7 + file * 13 + round * 29) % 500);
                let month = 1 + (n + file + round) % 12;
                let ecosystem = ["PyPI", "npm", "crates.io"][(n % 3) as usize];
                let mut affected = vec![serde_json::json!({
                    "package": {"ecosystem": ecosystem,
                                "name": format!("Package_{}", n % 40)},
                    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0"}]}],
                })];
                if n % 5 == 0 {
                    affected.push(serde_json::json!({
                        "package": {"ecosystem": "Go", "name": format!("example.com/m{}", n % 9)},
                        "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}],
                    }));
                }
                if n % 11 == 0 {
                    affected.clear();
                }
                let record = serde_json::json!({
                    "id": id,
                    "modified": format!("2024-{month:02}-01T00:00:00Z"),
                    "details": format!("record {n} of file {file}, round {round}"),
                    "affected": affected,
                });
                let path = sub.join(format!("{n}.json"));
                std::fs::write(&path, serde_json::to_vec(&record).unwrap()).unwrap();
            }
            paths.push(sub);
        }
        paths
    }

    /// Every file of the live generation, by name.
    fn generation_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        let generation = crate::storage::current_generation(dir).unwrap().unwrap();
        let mut files = BTreeMap::new();
        let mut stack = vec![generation.clone()];
        while let Some(at) = stack.pop() {
            for entry in std::fs::read_dir(&at).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let name = path
                        .strip_prefix(&generation)
                        .unwrap()
                        .display()
                        .to_string();
                    files.insert(name, std::fs::read(&path).unwrap());
                }
            }
        }
        files
    }

    /// The merge counts as one in-memory map of records would give them.
    fn expected_counts(rounds: &[Vec<PathBuf>]) -> Vec<(usize, usize, usize, usize)> {
        let mut records: HashMap<String, Advisory> = HashMap::new();
        let mut counts = Vec::new();
        for paths in rounds {
            let (mut added, mut replaced, mut kept) = (0, 0, 0);
            let mut report = ImportReport::default();
            let mut sink = |input: Parsed, _: &mut ImportReport| {
                if let Parsed::Advisories(advisories) = input {
                    for advisory in advisories {
                        match merge_one(&mut records, advisory) {
                            Merge::Added => added += 1,
                            Merge::Replaced => replaced += 1,
                            Merge::KeptNewer => kept += 1,
                        }
                    }
                }
                Ok(())
            };
            for path in paths {
                read_path(path, "2024-05-01T00:00:00Z", &mut sink, &mut report).unwrap();
            }
            counts.push((added, replaced, kept, records.len()));
        }
        counts
    }

    #[test]
    fn spilling_to_many_sorted_runs_writes_the_same_database_and_counts() {
        let temp = tempfile::tempdir().unwrap();
        let rounds = vec![write_inputs(temp.path(), 0), write_inputs(temp.path(), 1)];
        let expected = expected_counts(&rounds);
        let in_memory = temp.path().join("db-memory");
        let spilled = temp.path().join("db-spilled");
        for (round, paths) in rounds.iter().enumerate() {
            let a =
                import_with_budget(&in_memory, paths, NOW, crate::storage::SORT_BUDGET).unwrap();
            // A budget of a few records: hundreds of runs per sort.
            let b = import_with_budget(&spilled, paths, NOW, 4 << 10).unwrap();
            assert_eq!(a, b, "round {round}");
            let (added, replaced, kept, total) = expected[round];
            assert_eq!(
                (a.added, a.replaced, a.kept_newer, a.total_records),
                (added, replaced, kept, total),
                "round {round}"
            );
            assert_eq!(generation_files(&in_memory), generation_files(&spilled));
        }
        // And the database reads back: every record once, by name.
        let database = Database::open(&spilled).unwrap();
        assert_eq!(
            database.all_advisories().unwrap().len(),
            expected.last().unwrap().3
        );
        let found = database.advisories("PyPI", "package-0").unwrap();
        assert!(!found.is_empty());
        assert!(
            database
                .status()
                .ecosystems
                .iter()
                .any(|e| e.ecosystem.is_empty())
        );
    }
}

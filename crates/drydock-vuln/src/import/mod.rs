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
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::cve::CveRecord;
use crate::database::{
    CveStatus, Database, EpssStatus, KevStatus, Metadata, SourceStatus, compute_status,
    shard_records,
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
        let now_text = crate::time::format_rfc3339(now);
        let _lock = crate::storage::lock(dir)?;
        let mut report = ImportReport::default();

        // Read every input first: a bad one fails the import before any write.
        let mut parsed = Vec::new();
        for path in paths {
            read_path(path, &now_text, &mut parsed, &mut report)?;
        }

        let current = Database::open(dir)?;
        let previous_status = current.status().clone();
        let mut records: HashMap<String, Advisory> = HashMap::new();
        for advisory in current.all_advisories()? {
            records.insert(advisory.id.clone(), advisory.clone());
        }
        let mut kev: HashMap<String, KevEntry> = current
            .kev_entries()
            .map(|entry| (entry.cve_id.clone(), entry.clone()))
            .collect();
        let mut epss: HashMap<String, Epss> = current
            .epss_entries()
            .map(|(cve, epss)| (cve.clone(), *epss))
            .collect();
        let mut cves: HashMap<String, CveRecord> = current
            .all_cve_records()?
            .into_iter()
            .map(|record| (record.id.clone(), record))
            .collect();
        let mut cves_touched = false;
        let mut kev_status = previous_status.kev.clone();
        let mut epss_status = previous_status.epss.clone();
        let mut touched_sources = std::collections::BTreeSet::new();

        for input in parsed {
            match input {
                Parsed::Advisories(advisories) => {
                    for advisory in advisories {
                        report.records_read += 1;
                        *report
                            .per_source
                            .entry(advisory.data_source.clone())
                            .or_default() += 1;
                        touched_sources.insert(advisory.data_source.clone());
                        match merge_one(&mut records, advisory) {
                            Merge::Added => report.added += 1,
                            Merge::Replaced => report.replaced += 1,
                            Merge::KeptNewer => report.kept_newer += 1,
                        }
                    }
                }
                Parsed::Kev {
                    catalog_version,
                    date_released,
                    entries,
                } => {
                    report.kev_entries += entries.len();
                    for entry in entries {
                        kev.insert(entry.cve_id.clone(), entry);
                    }
                    kev_status = Some(KevStatus {
                        catalog_version,
                        date_released,
                        count: kev.len(),
                        last_import: now_text.clone(),
                    });
                }
                Parsed::Cves(records) => {
                    cves_touched = true;
                    for (record, origin) in records {
                        report.cve_records += 1;
                        check_scores(&record, &mut report);
                        cves.entry(record.id.clone())
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
                    epss = entries.into_iter().collect();
                    epss_status = Some(EpssStatus {
                        model_version,
                        score_date,
                        count: epss.len(),
                        last_import: now_text.clone(),
                    });
                }
            }
        }

        let mut records: Vec<Advisory> = records.into_values().collect();
        records.sort_by(|a, b| a.id.cmp(&b.id));
        report.total_records = records.len();

        let mut per_source: BTreeMap<&str, usize> = BTreeMap::new();
        for advisory in &records {
            *per_source.entry(advisory.data_source.as_str()).or_default() += 1;
        }
        let sources = per_source
            .into_iter()
            .map(|(name, count)| {
                let last_import = if touched_sources.contains(name) {
                    now_text.clone()
                } else {
                    previous_status
                        .sources
                        .iter()
                        .find(|source| source.name == name)
                        .map_or_else(|| now_text.clone(), |source| source.last_import.clone())
                };
                SourceStatus {
                    name: name.to_owned(),
                    records: count,
                    last_import,
                }
            })
            .collect();
        let mut cves: Vec<CveRecord> = cves.into_values().collect();
        cves.sort_by(|a, b| a.id.cmp(&b.id));
        report.total_cve_records = cves.len();
        let cve_status = if cves.is_empty() {
            None
        } else {
            Some(CveStatus {
                count: cves.len(),
                with_cvss: cves.iter().filter(|cve| !cve.metrics.is_empty()).count(),
                last_import: match (&previous_status.cve, cves_touched) {
                    (Some(previous), false) => previous.last_import.clone(),
                    _ => now_text.clone(),
                },
            })
        };
        let status = compute_status(
            &records,
            Some(now_text),
            sources,
            kev_status,
            epss_status,
            cve_status,
        );
        let contents = crate::storage::Contents {
            cves: cves.iter().collect(),
            metadata: Metadata {
                status,
                shards: BTreeMap::new(),
            },
            shards: shard_records(&records),
            kev: kev.values().collect(),
            epss: epss.iter().collect(),
        };
        crate::storage::write_generation(dir, contents)?;
        Ok(report)
    }
}

fn read_path(
    path: &Path,
    now: &str,
    parsed: &mut Vec<Parsed>,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
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
            read_path(&file, now, parsed, report)?;
        }
        return Ok(());
    }
    if metadata.len() > MAX_INPUT_BYTES {
        return Err(ImportError::TooLarge {
            path: display,
            limit: MAX_INPUT_BYTES,
        });
    }
    let bytes = fs_err::read(path).map_err(|source| ImportError::Read {
        path: display.clone(),
        source,
    })?;
    read_bytes(&display, bytes, now, parsed, report)
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
    parsed: &mut Vec<Parsed>,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    report.inputs += 1;
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        report.inputs = report.inputs.saturating_sub(1);
        return read_zip(path, bytes, now, parsed, report, 0);
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
            });
        }
        report.inputs = report.inputs.saturating_sub(1);
        return read_bytes(path, decoded, now, parsed, report);
    }
    parsed.push(parse_document(path, &bytes, now)?);
    Ok(())
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
        if read_bytes("fuzz", bytes.to_vec(), NOW, &mut parsed, &mut report).is_err() {
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

fn read_zip(
    path: &str,
    bytes: Vec<u8>,
    now: &str,
    parsed: &mut Vec<Parsed>,
    report: &mut ImportReport,
    depth: u8,
) -> Result<(), ImportError> {
    let zip_error = |source| ImportError::Zip {
        path: path.to_owned(),
        source,
    };
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(zip_error)?;
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
            return Err(ImportError::TooLarge {
                path: name,
                limit: MAX_INPUT_BYTES,
            });
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
                return Err(ImportError::Read {
                    path: name,
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "CRC-32 of the entry does not match the archive's",
                    ),
                });
            }
            content
        };
        if content.len() as u64 > MAX_INPUT_BYTES {
            return Err(ImportError::TooLarge {
                path: name,
                limit: MAX_INPUT_BYTES,
            });
        }
        if nested {
            read_zip(&name, content, now, parsed, report, depth + 1)?;
            continue;
        }
        report.inputs += 1;
        parsed.push(parse_document(&name, &content, now)?);
    }
    Ok(())
}

/// An entry through the zip crate's own readers (other compression
/// methods, encryption: their errors name the problem).
fn read_zip_entry(
    archive: &mut zip::ZipArchive<std::io::Cursor<Vec<u8>>>,
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

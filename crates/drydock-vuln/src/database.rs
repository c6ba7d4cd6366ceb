//! The advisory database: query API over stored records, loaded lazily one
//! ecosystem at a time.
//!
//! On disk (see docs/database.md):
//! ```text
//! <db>/lock                   flock(2)-ed by a writer
//! <db>/CURRENT                name of the live generation, replaced by rename(2)
//! <db>/gen-<n>/metadata.json  schema version, last update, sources, counts, shard files
//! <db>/gen-<n>/osv/<eco>.jsonl one drydock-model advisory per line, per ecosystem
//! <db>/gen-<n>/osv/<eco>.jsonl.idx where each record starts, records by package name
//! <db>/gen-<n>/kev.json       CISA KEV entries
//! <db>/gen-<n>/epss.tsv       cve<TAB>score<TAB>percentile
//! ```
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use serde::{Deserialize, Serialize};

use crate::cve::CveRecord;
use crate::error::DbError;
use crate::model::{Advisory, Epss, KevEntry, normalize_name};

/// Version of the on-disk layout; a database written by another version is
/// refused with a hint to re-import.
pub const SCHEMA_VERSION: u32 = 1;

/// The shard key of records that affect no package at all.
pub(crate) const NO_ECOSYSTEM: &str = "";

/// What `drydock db status` prints; also the core of `metadata.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub schema_version: u32,
    /// RFC 3339 time of the last successful import (`None`: empty database).
    pub last_update: Option<String>,
    pub sources: Vec<SourceStatus>,
    pub ecosystems: Vec<EcosystemStatus>,
    pub kev: Option<KevStatus>,
    pub epss: Option<EpssStatus>,
    /// NVD / CVE JSON 5 records (severity enrichment); absent in databases
    /// written before they existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cve: Option<CveStatus>,
}

/// The CVE records (NVD, CVE JSON 5) in the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CveStatus {
    /// CVE records stored.
    pub count: usize,
    /// Records with at least one CVSS vector.
    pub with_cvss: usize,
    pub last_import: String,
}

/// One data source (`osv:PyPI`, `debian-security-tracker`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceStatus {
    pub name: String,
    /// Records from this source now in the database.
    pub records: usize,
    /// RFC 3339 time of the last import that brought records of this source.
    pub last_import: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcosystemStatus {
    /// `PyPI`, `Debian:12`, … (`""` for records that affect no package).
    pub ecosystem: String,
    /// Records with at least one `affected` entry in this ecosystem.
    pub records: usize,
    /// `affected` entries in this ecosystem, over all records.
    pub affected: usize,
    /// Distinct (normalised) package names.
    pub packages: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KevStatus {
    pub catalog_version: String,
    pub date_released: String,
    pub count: usize,
    pub last_import: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpssStatus {
    pub model_version: String,
    pub score_date: String,
    pub count: usize,
    pub last_import: String,
}

/// `metadata.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Metadata {
    #[serde(flatten)]
    pub(crate) status: Status,
    /// Ecosystem → shard file name under `osv/`.
    pub(crate) shards: BTreeMap<String, String>,
}

struct Shard {
    file: Option<PathBuf>,
    /// Every record, parsed (first use of a whole-shard API, or a shard
    /// without an index file).
    data: OnceLock<ShardData>,
    /// The shard's index (`None`: no index file), for name lookups that
    /// parse only the records they return.
    indexed: OnceLock<Option<IndexedShard>>,
}

struct IndexedShard {
    index: crate::storage::ShardIndex,
    file: Mutex<std::fs::File>,
    /// Records parsed so far, by record number.
    records: Vec<OnceLock<Box<Advisory>>>,
}

#[derive(Default)]
struct ShardData {
    advisories: Vec<Advisory>,
    by_name: HashMap<String, Vec<u32>>,
}

/// An opened advisory database (read-only; imports write a new generation).
pub struct Database {
    generation: Option<PathBuf>,
    status: Status,
    shards: BTreeMap<String, Shard>,
    by_id: OnceLock<HashMap<String, (String, u32)>>,
    kev: HashMap<String, KevEntry>,
    epss: HashMap<String, Epss>,
    cves: CveTable,
}

/// The CVE records: read through their index one CVE at a time, or held
/// in memory ([`Database::with_cve_records`]).
#[derive(Default)]
struct CveTable {
    file: Option<PathBuf>,
    indexed: OnceLock<Option<IndexedCves>>,
    memory: HashMap<String, CveRecord>,
}

struct IndexedCves {
    index: crate::storage::ShardIndex,
    file: Mutex<std::fs::File>,
    records: Vec<OnceLock<Box<CveRecord>>>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("generation", &self.generation)
            .field("ecosystems", &self.shards.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Database {
    /// An in-memory database (tests, `sbom:` scans against fixtures).
    /// Records are kept as given, one per id (the newest `modified` wins).
    pub fn from_records(
        advisories: impl IntoIterator<Item = Advisory>,
        kev: impl IntoIterator<Item = KevEntry>,
        epss: impl IntoIterator<Item = (String, Epss)>,
    ) -> Database {
        let mut merged: HashMap<String, Advisory> = HashMap::new();
        for advisory in advisories {
            crate::import::merge_one(&mut merged, advisory);
        }
        let mut records: Vec<Advisory> = merged.into_values().collect();
        records.sort_by(|a, b| a.id.cmp(&b.id));
        let sharded = shard_records(&records);
        let kev: HashMap<String, KevEntry> = kev
            .into_iter()
            .map(|entry| (entry.cve_id.clone(), entry))
            .collect();
        let epss: HashMap<String, Epss> = epss.into_iter().collect();
        let status = compute_status(&records, None, Vec::new(), None, None, None);
        let shards = sharded
            .into_iter()
            .map(|(ecosystem, advisories)| {
                let data = OnceLock::new();
                let advisories = advisories.into_iter().cloned().collect();
                let _ = data.set(index_shard(&ecosystem, advisories));
                let indexed = OnceLock::new();
                let _ = indexed.set(None);
                (
                    ecosystem,
                    Shard {
                        file: None,
                        data,
                        indexed,
                    },
                )
            })
            .collect();
        Database {
            generation: None,
            status,
            shards,
            by_id: OnceLock::new(),
            kev,
            epss,
            cves: CveTable::default(),
        }
    }

    /// Adds CVE records to an in-memory database (tests, fixtures); a
    /// record with an id already present replaces it.
    #[must_use]
    pub fn with_cve_records(mut self, records: impl IntoIterator<Item = CveRecord>) -> Database {
        for record in records {
            self.cves.memory.insert(record.id.clone(), record);
        }
        self
    }

    /// What NVD and the CVE record say about `cve` (`None`: not imported).
    pub fn cve(&self, cve: &str) -> Result<Option<&CveRecord>, DbError> {
        if let Some(record) = self.cves.memory.get(cve) {
            return Ok(Some(record));
        }
        let Some(file) = &self.cves.file else {
            return Ok(None);
        };
        let indexed = if let Some(indexed) = self.cves.indexed.get() {
            indexed.as_ref()
        } else {
            let opened =
                crate::storage::open_indexed_shard(file)?.map(|(index, handle)| IndexedCves {
                    records: std::iter::repeat_with(OnceLock::new)
                        .take(index.offsets.len().saturating_sub(1))
                        .collect(),
                    index,
                    file: Mutex::new(handle),
                });
            self.cves.indexed.get_or_init(|| opened).as_ref()
        };
        let Some(indexed) = indexed else {
            return Ok(None);
        };
        let Some(numbers) = indexed.index.lookup(file, cve)? else {
            return Ok(None);
        };
        let Some(&number) = numbers.first() else {
            return Ok(None);
        };
        let number = number as usize;
        let Some(slot) = indexed.records.get(number) else {
            return Ok(None);
        };
        if slot.get().is_none() {
            let bytes = {
                let mut handle = indexed
                    .file
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                crate::storage::read_records(file, &mut handle, &indexed.index, number, number)?
            };
            let mut parsed: Vec<CveRecord> = crate::storage::parse_records(file, &bytes)?;
            let Some(record) = parsed.pop().filter(|_| parsed.is_empty()) else {
                return Err(DbError::Corrupt {
                    path: file.clone(),
                    what: format!("record {number}: not one line"),
                });
            };
            let _ = slot.set(Box::new(record));
        }
        Ok(slot.get().map(|record| &**record))
    }

    /// Opens the database in `dir` (as written by [`Database::import`]). A
    /// directory without a database opens as an empty database.
    pub fn open(dir: &Path) -> Result<Database, DbError> {
        let Some(generation) = crate::storage::current_generation(dir)? else {
            return Ok(Database::from_records([], [], []));
        };
        let metadata = crate::storage::read_metadata(&generation)?;
        let shards = metadata
            .shards
            .iter()
            .map(|(ecosystem, file)| {
                let shard = Shard {
                    file: Some(generation.join("osv").join(file)),
                    data: OnceLock::new(),
                    indexed: OnceLock::new(),
                };
                (ecosystem.clone(), shard)
            })
            .collect();
        let kev = crate::storage::read_kev(&generation)?;
        let epss = crate::storage::read_epss(&generation)?;
        let cve_file = generation.join(crate::storage::CVE_FILE);
        let cves = CveTable {
            file: cve_file.exists().then_some(cve_file),
            ..CveTable::default()
        };
        Ok(Database {
            generation: Some(generation),
            status: metadata.status,
            shards,
            by_id: OnceLock::new(),
            kev,
            epss,
            cves,
        })
    }

    /// The records with an `affected` entry for `name` in exactly this
    /// `ecosystem` (`PyPI`, `Debian:12`, `Alpine:v3.19`: the release is part
    /// of the key). `name` is normalised with [`normalize_name`]. Withdrawn
    /// records are included (check [`Advisory::is_withdrawn`]).
    pub fn advisories(&self, ecosystem: &str, name: &str) -> Result<Vec<&Advisory>, DbError> {
        let key = normalize_name(ecosystem, name);
        if let Some(shard) = self.shards.get(ecosystem)
            && shard.data.get().is_none()
            && let Some(indexed) = Self::indexed(shard)?
        {
            return indexed.lookup(shard.file.as_deref().unwrap_or(Path::new("")), &key);
        }
        let Some(shard) = self.shard(ecosystem)? else {
            return Ok(Vec::new());
        };
        Ok(shard
            .by_name
            .get(&key)
            .map(|indices| {
                indices
                    .iter()
                    .filter_map(|&index| shard.advisories.get(index as usize))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Every record of one ecosystem (loads its shard).
    pub fn ecosystem_advisories(&self, ecosystem: &str) -> Result<&[Advisory], DbError> {
        Ok(self
            .shard(ecosystem)?
            .map_or(&[][..], |shard| shard.advisories.as_slice()))
    }

    /// The ecosystems present, sorted (`Debian:12`, `PyPI`, …).
    pub fn ecosystems(&self) -> impl Iterator<Item = &str> {
        self.shards
            .keys()
            .map(String::as_str)
            .filter(|key| !key.is_empty())
    }

    /// A record by its id (loads every shard on first use).
    pub fn by_id(&self, id: &str) -> Result<Option<&Advisory>, DbError> {
        if self.by_id.get().is_none() {
            let mut map = HashMap::new();
            for (ecosystem, shard) in &self.shards {
                let data = Self::load(shard)?;
                for (index, advisory) in data.advisories.iter().enumerate() {
                    map.entry(advisory.id.clone())
                        .or_insert_with(|| (ecosystem.clone(), index as u32));
                }
            }
            let _ = self.by_id.set(map);
        }
        let Some((ecosystem, index)) = self.by_id.get().and_then(|map| map.get(id)) else {
            return Ok(None);
        };
        Ok(self
            .shard(ecosystem)?
            .and_then(|shard| shard.advisories.get(*index as usize)))
    }

    /// The CISA KEV entry of a CVE.
    pub fn kev(&self, cve: &str) -> Option<&KevEntry> {
        self.kev.get(cve)
    }

    /// The FIRST EPSS score of a CVE.
    pub fn epss(&self, cve: &str) -> Option<Epss> {
        self.epss.get(cve).copied()
    }

    pub fn status(&self) -> &Status {
        &self.status
    }

    /// Every record, each once (loads every shard).
    pub fn all_advisories(&self) -> Result<Vec<&Advisory>, DbError> {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for shard in self.shards.values() {
            for advisory in &Self::load(shard)?.advisories {
                if seen.insert(advisory.id.as_str()) {
                    out.push(advisory);
                }
            }
        }
        Ok(out)
    }

    fn shard(&self, ecosystem: &str) -> Result<Option<&ShardData>, DbError> {
        match self.shards.get(ecosystem) {
            Some(shard) => Self::load(shard).map(Some),
            None => Ok(None),
        }
    }

    fn indexed(shard: &Shard) -> Result<Option<&IndexedShard>, DbError> {
        if let Some(indexed) = shard.indexed.get() {
            return Ok(indexed.as_ref());
        }
        let opened = match &shard.file {
            Some(file) => crate::storage::open_indexed_shard(file)?,
            None => None,
        };
        let indexed = opened.map(|(index, file)| IndexedShard {
            records: std::iter::repeat_with(OnceLock::new)
                .take(index.offsets.len().saturating_sub(1))
                .collect(),
            index,
            file: Mutex::new(file),
        });
        Ok(shard.indexed.get_or_init(|| indexed).as_ref())
    }

    fn load(shard: &Shard) -> Result<&ShardData, DbError> {
        if let Some(data) = shard.data.get() {
            return Ok(data);
        }
        let Some(file) = &shard.file else {
            return Ok(shard.data.get_or_init(ShardData::default));
        };
        let (ecosystem, advisories) = crate::storage::read_shard(file)?;
        Ok(shard
            .data
            .get_or_init(|| index_shard(&ecosystem, advisories)))
    }
}

impl IndexedShard {
    /// The records of one normalised name, reading each run of consecutive
    /// records not parsed yet with one read.
    fn lookup(&self, path: &Path, key: &str) -> Result<Vec<&Advisory>, DbError> {
        let Some(numbers) = self.index.lookup(path, key)? else {
            return Ok(Vec::new());
        };
        let missing: Vec<usize> = numbers
            .iter()
            .map(|&number| number as usize)
            .filter(|&number| {
                self.records
                    .get(number)
                    .is_some_and(|slot| slot.get().is_none())
            })
            .collect();
        let mut run_start = 0;
        while let Some(&first) = missing.get(run_start) {
            let mut run_end = run_start;
            while missing
                .get(run_end + 1)
                .is_some_and(|&next| Some(next) == missing.get(run_end).map(|&n| n + 1))
            {
                run_end += 1;
            }
            let last = missing.get(run_end).copied().unwrap_or(first);
            let bytes = {
                let mut file = self
                    .file
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                crate::storage::read_records(path, &mut file, &self.index, first, last)?
            };
            let parsed = crate::storage::parse_records(path, &bytes)?;
            if parsed.len() != last - first + 1 {
                return Err(DbError::Corrupt {
                    path: path.to_owned(),
                    what: format!("records {first}..={last}: line count differs from the index"),
                });
            }
            for (number, advisory) in (first..=last).zip(parsed) {
                if let Some(slot) = self.records.get(number) {
                    let _ = slot.set(Box::new(advisory));
                }
            }
            run_start = run_end + 1;
        }
        Ok(numbers
            .iter()
            .filter_map(|&number| self.records.get(number as usize)?.get())
            .map(|advisory| &**advisory)
            .collect())
    }
}

/// Groups records by every ecosystem they affect (a record affecting two
/// ecosystems is stored in both shards).
pub(crate) fn shard_records(records: &[Advisory]) -> BTreeMap<String, Vec<&Advisory>> {
    let mut shards: BTreeMap<String, Vec<&Advisory>> = BTreeMap::new();
    for advisory in records {
        let mut ecosystems: Vec<&str> = advisory
            .affected
            .iter()
            .map(|affected| affected.package.ecosystem.as_str())
            .collect();
        ecosystems.sort_unstable();
        ecosystems.dedup();
        if ecosystems.is_empty() {
            ecosystems.push(NO_ECOSYSTEM);
        }
        for ecosystem in ecosystems {
            shards
                .entry(ecosystem.to_owned())
                .or_default()
                .push(advisory);
        }
    }
    shards
}

fn index_shard(ecosystem: &str, advisories: Vec<Advisory>) -> ShardData {
    let mut by_name: HashMap<String, Vec<u32>> = HashMap::new();
    for (index, advisory) in advisories.iter().enumerate() {
        for affected in &advisory.affected {
            if affected.package.ecosystem != ecosystem {
                continue;
            }
            let indices = by_name
                .entry(normalize_name(ecosystem, &affected.package.name))
                .or_default();
            let index = index as u32;
            if indices.last() != Some(&index) {
                indices.push(index);
            }
        }
    }
    ShardData {
        advisories,
        by_name,
    }
}

/// Per-ecosystem counts of a record set.
pub(crate) fn compute_status(
    records: &[Advisory],
    last_update: Option<String>,
    sources: Vec<SourceStatus>,
    kev: Option<KevStatus>,
    epss: Option<EpssStatus>,
    cve: Option<CveStatus>,
) -> Status {
    let mut per_ecosystem: BTreeMap<&str, (usize, usize, std::collections::HashSet<String>)> =
        BTreeMap::new();
    for advisory in records {
        let mut seen: Vec<&str> = Vec::new();
        for affected in &advisory.affected {
            let ecosystem = affected.package.ecosystem.as_str();
            let entry = per_ecosystem.entry(ecosystem).or_default();
            entry.1 += 1;
            entry
                .2
                .insert(normalize_name(ecosystem, &affected.package.name));
            if !seen.contains(&ecosystem) {
                seen.push(ecosystem);
                entry.0 += 1;
            }
        }
        if advisory.affected.is_empty() {
            per_ecosystem.entry(NO_ECOSYSTEM).or_default().0 += 1;
        }
    }
    let ecosystems = per_ecosystem
        .into_iter()
        .map(
            |(ecosystem, (records, affected, packages))| EcosystemStatus {
                ecosystem: ecosystem.to_owned(),
                records,
                affected,
                packages: packages.len(),
            },
        )
        .collect();
    Status {
        schema_version: SCHEMA_VERSION,
        last_update,
        sources,
        ecosystems,
        kev,
        epss,
        cve,
    }
}

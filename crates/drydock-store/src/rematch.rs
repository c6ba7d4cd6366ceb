//! Re-matching stored SBOMs against the vulnerability database.
//!
//! Packages are matched once per identity (and distro group for OS
//! packages), not once per image: a fleet of 10,000 images over a few
//! thousand distinct packages costs a few thousand lookups. The verdicts
//! (`matches`) and the per-image findings are diffed against what is
//! stored and only the changes are written, each with an event.
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use drydock_core::{Distro, Package, PackageKind, SourcePackage};
use drydock_vuln::{Database, Finding, FixState, VexDocument};
use sha2::Digest as _;

use crate::ingest::{EventInsert, event_row, hex};
use crate::sql::Value;
use crate::{Store, StoreError, params, row};

/// Which images to re-match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RematchScope {
    /// Every analysed image still seen somewhere.
    All,
    /// These image ids (just cataloged, or seen again).
    Images(Vec<i64>),
}

/// What a re-match changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RematchReport {
    pub images: usize,
    /// Distinct (distro group, package) pairs looked up.
    pub packages: usize,
    pub matches_added: usize,
    pub matches_updated: usize,
    pub matches_withdrawn: usize,
    pub findings_opened: usize,
    pub findings_reopened: usize,
    pub findings_resolved: usize,
    pub findings_unchanged: usize,
    /// Images whose findings were compared with their verdicts (after a
    /// database update: only those holding a package whose verdicts changed).
    pub images_compared: usize,
    /// With workers: re-match jobs queued instead of matching here.
    #[serde(skip_serializing_if = "is_zero")]
    pub queued_jobs: usize,
}

#[allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_zero(value: &usize) -> bool {
    *value == 0
}

/// A stored finding: id, open?
type Stored = (i64, bool);

struct ImageRow {
    id: i64,
    digest: String,
    group: String,
}

struct MatchRow {
    id: i64,
    active: bool,
    hash: String,
}

/// What the compute phase of a re-match found, for the write phase.
struct Computed {
    report: RematchReport,
    images: Vec<ImageRow>,
    image_index: HashMap<i64, usize>,
    image_packages: Vec<Vec<i64>>,
    package_ids: BTreeSet<i64>,
    packages: HashMap<i64, Package>,
    tasks: BTreeSet<(String, i64)>,
    verdicts: BTreeMap<(String, i64), Vec<Verdict>>,
    load_all: bool,
}

/// The verdict for one (group, package, vulnerability).
struct Verdict {
    finding: Finding,
    detail: String,
    hash: String,
}

fn severity_rank(finding: &Finding) -> i64 {
    finding.severity as i64
}

impl Store {
    /// Re-matches the images of `scope` against `db` (with the VEX
    /// documents stored in the store) and writes only what changed.
    /// `cause` is recorded on finding-opened events (`new-image`,
    /// `database-update`, `rematch`).
    pub fn rematch(
        &mut self,
        db: &Database,
        scope: &RematchScope,
        cause: &str,
        now: i64,
    ) -> Result<RematchReport, StoreError> {
        let vex = self.vex_documents()?;
        // Matching (the CPU work) happens outside the write transaction, so
        // workers re-matching different images run it in parallel; the
        // writes are serialised (one writer at a time, on both backends).
        let computed = self.rematch_compute(db, scope)?;
        self.transaction(|store| {
            if store.backend() == crate::Backend::Postgres {
                store
                    .conn()
                    .batch("SELECT pg_advisory_xact_lock(7264032)")?;
            }
            store.rematch_write(db, &vex, computed, cause, now)
        })
    }

    fn rematch_compute(
        &mut self,
        db: &Database,
        scope: &RematchScope,
    ) -> Result<Computed, StoreError> {
        let mut report = RematchReport::default();
        let conn = self.conn();
        // 1. Images and their distros.
        let mut images: Vec<ImageRow> = Vec::new();
        let mut distros: HashMap<String, Distro> = HashMap::new();
        let wanted: Option<HashSet<i64>> = match scope {
            RematchScope::All => None,
            RematchScope::Images(ids) => Some(ids.iter().copied().collect()),
        };
        conn.query_each(
            "SELECT id, digest, group_key, distro_id, distro_version, distro_codename FROM images \
             WHERE status = 'analysed' AND gone_at IS NULL",
            &[],
            |row| {
                let id = row.int(0);
                if wanted.as_ref().is_some_and(|w| !w.contains(&id)) {
                    return Ok(());
                }
                let group = row.text(2);
                if !group.is_empty() && !distros.contains_key(&group) {
                    distros.insert(
                        group.clone(),
                        Distro {
                            id: row.text(3),
                            version_id: row.text(4),
                            version_codename: row.opt_text(5).filter(|c| !c.is_empty()),
                            pretty_name: None,
                            id_like: Vec::new(),
                        },
                    );
                }
                images.push(ImageRow {
                    id,
                    digest: row.text(1),
                    group,
                });
                Ok(())
            },
        )?;
        report.images = images.len();
        let image_index: HashMap<i64, usize> = images
            .iter()
            .enumerate()
            .map(|(index, image)| (image.id, index))
            .collect();
        // 2. Which packages each image has (matchable ones).
        let mut image_packages: Vec<Vec<i64>> = vec![Vec::new(); images.len()];
        let mut package_ids: BTreeSet<i64> = BTreeSet::new();
        conn.query_each(
            "SELECT image_id, package_id FROM image_packages WHERE matchable = 1",
            &[],
            |row| {
                if let Some(&index) = image_index.get(&row.int(0))
                    && let Some(list) = image_packages.get_mut(index)
                {
                    let package = row.int(1);
                    list.push(package);
                    package_ids.insert(package);
                }
                Ok(())
            },
        )?;
        // 3. The packages themselves.
        let mut packages: HashMap<i64, Package> = HashMap::with_capacity(package_ids.len());
        let load_all = wanted.is_none();
        let mut load = |row: crate::sql::Row| {
            let id = row.int(0);
            if !package_ids.contains(&id) {
                return Ok(());
            }
            let Ok(kind) = row.text(1).parse::<PackageKind>() else {
                return Ok(());
            };
            let Ok(purl) = drydock_sbom::parse_purl(&row.text(4)) else {
                return Ok(());
            };
            let source = match (row.opt_text(5), row.opt_text(6)) {
                (Some(name), Some(version)) => Some(SourcePackage { name, version }),
                _ => None,
            };
            packages.insert(
                id,
                Package {
                    name: row.text(2),
                    version: row.text(3),
                    kind,
                    purl,
                    arch: None,
                    source,
                    licenses: Vec::new(),
                    maintainer: None,
                    installed_size: None,
                    checksum: None,
                    installed: true,
                    locations: Vec::new(),
                    layer: None,
                    files: Vec::new(),
                },
            );
            Ok(())
        };
        if load_all {
            conn.query_each(
                "SELECT id, kind, name, version, purl, source_name, source_version FROM packages",
                &[],
                &mut load,
            )?;
        } else {
            let ids: Vec<Value> = package_ids.iter().map(|id| Value::Int(*id)).collect();
            conn.query_each_in(
                "SELECT id, kind, name, version, purl, source_name, source_version \
                 FROM packages WHERE id IN ({in})",
                &ids,
                &mut load,
            )?;
        }
        // 4. The (group, package) pairs to look up: a few thousand from
        // millions of image packages, gathered without copying a group.
        let mut pairs: HashSet<(&str, i64)> = HashSet::new();
        for (image, list) in images.iter().zip(&image_packages) {
            for package_id in list {
                if let Some(package) = packages.get(package_id) {
                    pairs.insert((group_of(image, package), *package_id));
                }
            }
        }
        let tasks: BTreeSet<(String, i64)> = pairs
            .into_iter()
            .map(|(group, package)| (group.to_owned(), package))
            .collect();
        report.packages = tasks.len();
        // 5. Look them up.
        let mut verdicts: BTreeMap<(String, i64), Vec<Verdict>> = BTreeMap::new();
        for (group, package_id) in &tasks {
            let Some(package) = packages.get(package_id) else {
                continue;
            };
            let distro = distros.get(group);
            let outcome = drydock_vuln::match_packages(db, std::slice::from_ref(package), distro)?;
            let mut list = Vec::with_capacity(outcome.findings.len());
            for mut finding in outcome.findings {
                finding.package.location = None;
                let detail =
                    serde_json::to_string(&finding).map_err(|source| StoreError::Json {
                        what: format!("finding {}", finding.id),
                        source,
                    })?;
                let hash = hex(&sha2::Sha256::digest(detail.as_bytes()));
                list.push(Verdict {
                    finding,
                    detail,
                    hash,
                });
            }
            if !list.is_empty() {
                verdicts.insert((group.clone(), *package_id), list);
            }
        }
        Ok(Computed {
            report,
            images,
            image_index,
            image_packages,
            package_ids,
            packages,
            tasks,
            verdicts,
            load_all,
        })
    }

    fn rematch_write(
        &mut self,
        db: &Database,
        vex: &[VexDocument],
        computed: Computed,
        cause: &str,
        now: i64,
    ) -> Result<RematchReport, StoreError> {
        let Computed {
            mut report,
            images,
            image_index,
            image_packages,
            package_ids,
            packages,
            tasks,
            verdicts,
            load_all,
        } = computed;
        // 6. Stored verdicts for those pairs.
        let conn = self.conn();
        let mut stored: HashMap<(String, i64, String), MatchRow> = HashMap::new();
        {
            let mut keep = |row: crate::sql::Row| {
                let key = (row.text(1), row.int(2), row.text(3));
                if tasks.contains(&(key.0.clone(), key.1)) {
                    stored.insert(
                        key,
                        MatchRow {
                            id: row.int(0),
                            active: row.int(4) != 0,
                            hash: row.text(5),
                        },
                    );
                }
                Ok(())
            };
            if load_all {
                conn.query_each(
                    "SELECT id, group_key, package_id, vuln_id, active, detail_hash FROM matches",
                    &[],
                    &mut keep,
                )?;
            } else {
                let ids: Vec<Value> = package_ids.iter().map(|id| Value::Int(*id)).collect();
                conn.query_each_in(
                    "SELECT id, group_key, package_id, vuln_id, active, detail_hash \
                     FROM matches WHERE package_id IN ({in})",
                    &ids,
                    &mut keep,
                )?;
            }
        }
        // 7. Write verdict changes; remember match ids and their findings.
        // Keyed by borrowed (group, package): looked up for every package of
        // every compared image, without building a string each time.
        let mut active: HashMap<(&str, i64), Vec<(i64, usize)>> = HashMap::new();
        let mut current: HashSet<i64> = HashSet::new();
        let mut findings_by_match: HashMap<i64, Finding> = HashMap::new();
        let mut changed: HashSet<(&str, i64)> = HashSet::new();
        for ((group, package_id), list) in &verdicts {
            for (position, verdict) in list.iter().enumerate() {
                let finding = &verdict.finding;
                let key = (group.clone(), *package_id, finding.id.clone());
                let published = db
                    .by_id(&finding.id)
                    .ok()
                    .flatten()
                    .and_then(|advisory| advisory.published.as_deref())
                    .and_then(crate::parse_time)
                    .or_else(|| {
                        finding.aliases.iter().find_map(|alias| {
                            db.by_id(alias)
                                .ok()
                                .flatten()
                                .and_then(|a| a.published.as_deref())
                                .and_then(crate::parse_time)
                        })
                    });
                let values = row![
                    finding.severity.as_str(),
                    severity_rank(finding),
                    finding.kev.is_some(),
                    finding.epss.as_ref().map(|e| e.score),
                    finding.state == FixState::Fixed,
                    finding.fixed_versions.join(", "),
                    published,
                    verdict.detail.as_str(),
                    verdict.hash.as_str(),
                    now
                ];
                let id = match stored.get(&key) {
                    Some(row) if row.active && row.hash == verdict.hash => row.id,
                    Some(row) => {
                        let mut update = values.clone();
                        update.push(Value::Int(row.id));
                        conn.execute(
                            "UPDATE matches SET active = 1, severity = $1, severity_rank = $2, \
                             kev = $3, epss = $4, fixable = $5, fixed = $6, published = $7, detail = $8, \
                             detail_hash = $9, updated_at = $10 WHERE id = $11",
                            &update,
                        )?;
                        conn.execute(
                            "DELETE FROM match_ids WHERE match_id = $1",
                            &params![row.id],
                        )?;
                        insert_ids(conn, row.id, finding)?;
                        changed.insert((group.as_str(), *package_id));
                        report.matches_updated += 1;
                        row.id
                    }
                    None => {
                        let mut insert = row![group.as_str(), *package_id, finding.id.as_str()];
                        insert.extend(values);
                        let row = conn
                            .query_one(
                                "INSERT INTO matches (group_key, package_id, vuln_id, active, \
                                 severity, severity_rank, kev, epss, fixable, fixed, published, detail, \
                                 detail_hash, updated_at) VALUES ($1, $2, $3, 1, $4, $5, $6, $7, \
                                 $8, $9, $10, $11, $12, $13) \
                                 ON CONFLICT (group_key, package_id, vuln_id) DO UPDATE SET \
                                 active = 1, severity = excluded.severity, \
                                 severity_rank = excluded.severity_rank, kev = excluded.kev, \
                                 epss = excluded.epss, fixable = excluded.fixable, \
                                 fixed = excluded.fixed, published = excluded.published, \
                                 detail = excluded.detail, detail_hash = excluded.detail_hash, \
                                 updated_at = excluded.updated_at RETURNING id",
                                &insert,
                            )?
                            .ok_or_else(|| StoreError::Invalid("no id returned".into()))?;
                        let id = row.int(0);
                        insert_ids(conn, id, finding)?;
                        changed.insert((group.as_str(), *package_id));
                        report.matches_added += 1;
                        id
                    }
                };
                current.insert(id);
                active
                    .entry((group.as_str(), *package_id))
                    .or_default()
                    .push((id, position));
                if !vex.is_empty() {
                    findings_by_match.insert(id, finding.clone());
                }
            }
        }
        let mut withdrawn: HashSet<i64> = HashSet::new();
        for (key, row) in &stored {
            if row.active && !current.contains(&row.id) {
                changed.insert((key.0.as_str(), key.1));
                conn.execute(
                    "UPDATE matches SET active = 0, updated_at = $1 WHERE id = $2",
                    &params![now, row.id],
                )?;
                withdrawn.insert(row.id);
                report.matches_withdrawn += 1;
            }
        }
        // 8. Which images need their findings compared: every image of an
        // `Images` scope; otherwise only images holding a package whose
        // verdicts changed (or all of them when VEX documents apply). The
        // findings of every other image already equal their verdicts.
        let full = !load_all || !vex.is_empty();
        let affected: Vec<usize> = images
            .iter()
            .zip(&image_packages)
            .enumerate()
            .filter(|(_, (image, list))| {
                full || list.iter().any(|package_id| {
                    packages.get(package_id).is_some_and(|package| {
                        changed.contains(&(group_of(image, package), *package_id))
                    })
                })
            })
            .map(|(index, _)| index)
            .collect();
        report.images_compared = affected.len();
        let vex_ids: HashSet<&str> = vex
            .iter()
            .flat_map(|d| d.statements.iter())
            .flat_map(|s| s.vulnerabilities.iter().map(String::as_str))
            .collect();
        let mut info: HashMap<i64, (String, String, String, bool)> = HashMap::new();
        // Batches of images bound the memory (findings, events) of a re-match.
        for batch in affected.chunks(256) {
            let mut desired: HashSet<(i64, i64)> = HashSet::new();
            let mut suppressed: HashMap<(i64, i64), String> = HashMap::new();
            for &index in batch {
                let (Some(image), Some(list)) = (images.get(index), image_packages.get(index))
                else {
                    continue;
                };
                desired_findings(
                    image,
                    list,
                    &packages,
                    &active,
                    &findings_by_match,
                    &vex_ids,
                    vex,
                    &mut desired,
                    &mut suppressed,
                );
            }
            // 9. Stored findings of these images.
            let ids: Vec<i64> = batch
                .iter()
                .filter_map(|index| images.get(*index).map(|image| image.id))
                .collect();
            let mut existing: HashMap<(i64, i64), Stored> = HashMap::new();
            let values: Vec<Value> = ids.iter().map(|id| Value::Int(*id)).collect();
            conn.query_each_in(
                "SELECT id, image_id, match_id, CASE WHEN state = 'open' THEN 1 ELSE 0 END \
                 FROM findings WHERE image_id IN ({in})",
                &values,
                |row| {
                    existing.insert((row.int(1), row.int(2)), (row.int(0), row.int(3) == 1));
                    Ok(())
                },
            )?;
            // 10. Diff, written per batch.
            let digest_of = |image_id: i64| {
                image_index
                    .get(&image_id)
                    .and_then(|i| images.get(*i))
                    .map(|i| i.digest.clone())
                    .unwrap_or_default()
            };
            let mut opened: Vec<Vec<Value>> = Vec::new();
            let mut events: Vec<Vec<Value>> = Vec::new();
            let mut desired_sorted: Vec<&(i64, i64)> = desired.iter().collect();
            desired_sorted.sort_unstable();
            for &&(image_id, match_id) in &desired_sorted {
                match existing.get(&(image_id, match_id)) {
                    Some((_, true)) => report.findings_unchanged += 1,
                    Some((id, false)) => {
                        conn.execute(
                            "UPDATE findings SET state = 'open', resolved_at = NULL, cause = NULL, \
                             suppressed = NULL WHERE id = $1",
                            &params![*id],
                        )?;
                        let (vuln, purl, severity, kev) = match_info(conn, &mut info, match_id)?;
                        let digest = digest_of(image_id);
                        events.push(event_row(&EventInsert {
                            time: now,
                            kind: "finding-opened",
                            digest: &digest,
                            vuln_id: Some(&vuln),
                            package: Some(&purl),
                            severity: Some(&severity),
                            kev: Some(kev),
                            cause: "reopened",
                        }));
                        report.findings_reopened += 1;
                    }
                    None => {
                        opened.push(row![image_id, match_id, "open", now]);
                        let (vuln, purl, severity, kev) = match_info(conn, &mut info, match_id)?;
                        let digest = digest_of(image_id);
                        events.push(event_row(&EventInsert {
                            time: now,
                            kind: "finding-opened",
                            digest: &digest,
                            vuln_id: Some(&vuln),
                            package: Some(&purl),
                            severity: Some(&severity),
                            kev: Some(kev),
                            cause,
                        }));
                        report.findings_opened += 1;
                    }
                }
            }
            conn.insert_many(
                "findings",
                &["image_id", "match_id", "state", "first_seen"],
                &opened,
                "",
            )?;
            let mut stale: Vec<(&(i64, i64), &Stored)> = existing
                .iter()
                .filter(|(key, (_, open))| *open && !desired.contains(key))
                .collect();
            stale.sort_unstable_by_key(|(key, _)| **key);
            for ((image_id, match_id), (id, _)) in stale {
                let resolution = if let Some(vex) = suppressed.get(&(*image_id, *match_id)) {
                    vex.clone()
                } else if withdrawn.contains(match_id) {
                    let (vuln, _, _, _) = match_info(conn, &mut info, *match_id)?;
                    if db
                        .by_id(&vuln)
                        .ok()
                        .flatten()
                        .is_some_and(drydock_vuln::Advisory::is_withdrawn)
                    {
                        "advisory-withdrawn".to_owned()
                    } else {
                        "no-longer-affected".to_owned()
                    }
                } else {
                    "no-longer-affected".to_owned()
                };
                conn.execute(
                    "UPDATE findings SET state = 'resolved', resolved_at = $1, cause = $2 WHERE id = $3",
                    &params![now, resolution.as_str(), *id],
                )?;
                let (vuln, purl, severity, kev) = match_info(conn, &mut info, *match_id)?;
                let digest = digest_of(*image_id);
                events.push(event_row(&EventInsert {
                    time: now,
                    kind: "finding-resolved",
                    digest: &digest,
                    vuln_id: Some(&vuln),
                    package: Some(&purl),
                    severity: Some(&severity),
                    kev: Some(kev),
                    cause: &resolution,
                }));
                report.findings_resolved += 1;
            }
            conn.insert_many(
                "events",
                &[
                    "time", "kind", "digest", "vuln_id", "package", "severity", "kev", "cause",
                ],
                &events,
                "",
            )?;
        }
        Ok(report)
    }

    /// The VEX documents stored with `add_vex`.
    pub fn vex_documents(&mut self) -> Result<Vec<VexDocument>, StoreError> {
        let rows = self
            .conn()
            .query("SELECT id, body FROM vex_documents ORDER BY id", &[])?;
        let mut documents = Vec::with_capacity(rows.len());
        for row in rows {
            let name = row.text(0);
            let document = drydock_vuln::parse_vex(&name, &row.blob(1))
                .map_err(|e| StoreError::Invalid(format!("stored VEX `{name}`: {e}")))?;
            documents.push(document);
        }
        Ok(documents)
    }

    /// Stores a VEX document (validated); it applies from the next re-match.
    pub fn add_vex(&mut self, name: &str, body: &[u8], now: i64) -> Result<(), StoreError> {
        drydock_vuln::parse_vex(name, body)
            .map_err(|e| StoreError::Invalid(format!("VEX `{name}`: {e}")))?;
        self.conn().execute(
            "INSERT INTO vex_documents (id, body, added_at) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET body = $2, added_at = $3",
            &params![name, body.to_vec(), now],
        )?;
        Ok(())
    }
}

/// Vulnerability, package purl, severity and KEV of a match (cached).
fn match_info(
    conn: &mut crate::sql::Conn,
    cache: &mut HashMap<i64, (String, String, String, bool)>,
    match_id: i64,
) -> Result<(String, String, String, bool), StoreError> {
    if let Some(found) = cache.get(&match_id) {
        return Ok(found.clone());
    }
    let row = conn
        .query_one(
            "SELECT m.vuln_id, p.purl, m.severity, m.kev FROM matches m \
             JOIN packages p ON p.id = m.package_id WHERE m.id = $1",
            &params![match_id],
        )?
        .ok_or_else(|| StoreError::Invalid(format!("match {match_id} vanished")))?;
    let found = (row.text(0), row.text(1), row.text(2), row.int(3) != 0);
    cache.insert(match_id, found.clone());
    Ok(found)
}

/// The findings one image should have: its packages' active verdicts, with
/// the VEX documents applied (suppressed ones recorded with their status).
#[allow(
    clippy::too_many_arguments,
    reason = "one step of the re-match, split out for size"
)]
fn desired_findings(
    image: &ImageRow,
    list: &[i64],
    packages: &HashMap<i64, Package>,
    active: &HashMap<(&str, i64), Vec<(i64, usize)>>,
    findings_by_match: &HashMap<i64, Finding>,
    vex_ids: &HashSet<&str>,
    vex: &[VexDocument],
    desired: &mut HashSet<(i64, i64)>,
    suppressed: &mut HashMap<(i64, i64), String>,
) {
    let mut candidates: Vec<(i64, Finding)> = Vec::new();
    for package_id in list {
        let Some(package) = packages.get(package_id) else {
            continue;
        };
        let Some(ids) = active.get(&(group_of(image, package), *package_id)) else {
            continue;
        };
        for (match_id, _) in ids {
            let under_vex = findings_by_match
                .get(match_id)
                .filter(|finding| finding.all_ids().any(|id| vex_ids.contains(id)));
            match under_vex {
                Some(finding) => candidates.push((*match_id, finding.clone())),
                None => {
                    desired.insert((image.id, *match_id));
                }
            }
        }
    }
    if candidates.is_empty() {
        return;
    }
    let source_ids = vec![image.digest.clone()];
    let tagged: Vec<Finding> = candidates
        .into_iter()
        .map(|(id, mut finding)| {
            finding.records.push(format!("\u{1}{id}"));
            finding
        })
        .collect();
    let (kept, dropped) = drydock_vuln::apply_vex(tagged, vex, &source_ids);
    let id_of = |finding: &Finding| {
        finding.records.iter().find_map(|r| {
            r.strip_prefix('\u{1}')
                .and_then(|id| id.parse::<i64>().ok())
        })
    };
    for finding in kept {
        if let Some(id) = id_of(&finding) {
            desired.insert((image.id, id));
        }
    }
    for finding in dropped {
        if let Some(id) = id_of(&finding) {
            let status = finding
                .suppressed
                .as_ref()
                .map_or("not_affected", |s| s.status.as_str());
            suppressed.insert((image.id, id), format!("vex-{}", status.replace('_', "-")));
        }
    }
}

fn insert_ids(conn: &mut crate::sql::Conn, id: i64, finding: &Finding) -> Result<(), StoreError> {
    let ids: BTreeSet<String> = finding.all_ids().map(str::to_ascii_uppercase).collect();
    let rows: Vec<Vec<Value>> = ids.into_iter().map(|vid| row![vid, id]).collect();
    conn.insert_many(
        "match_ids",
        &["vid", "match_id"],
        &rows,
        "ON CONFLICT DO NOTHING",
    )
}

/// The distro group a package is matched in: OS packages by the image's
/// release, language packages in one group for every image.
fn group_of<'a>(image: &'a ImageRow, package: &Package) -> &'a str {
    if package.kind.is_os() {
        &image.group
    } else {
        ""
    }
}

//! Putting images, their SBOMs and where they are seen into the store.
use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::{Read, Write};

use drydock_sbom::Sbom;
use sha2::Digest as _;

use crate::sql::Value;
use crate::{Store, StoreError, params, row};

/// Where a digest is seen: one registry tag or one Kubernetes container.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Sighting {
    /// Unique within its source for one place *and* digest (the same
    /// place holding another digest later is a replacement).
    pub key: String,
    pub digest: String,
    pub kind: SightingKind,
    /// The reference as the source names it (`host/repo:tag`, the pod's image).
    pub reference: String,
    pub registry: Option<String>,
    pub repository: Option<String>,
    pub tag: Option<String>,
    pub cluster: Option<String>,
    pub namespace: Option<String>,
    pub workload_kind: Option<String>,
    pub workload: Option<String>,
    pub pod: Option<String>,
    pub container: Option<String>,
    pub container_kind: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SightingKind {
    Registry,
    Kubernetes,
}

impl SightingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SightingKind::Registry => "registry",
            SightingKind::Kubernetes => "kubernetes",
        }
    }
}

/// What [`Store::record_sightings`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncOutcome {
    pub new_sightings: usize,
    pub gone_sightings: usize,
    pub images_first_seen: usize,
    pub images_gone: usize,
    pub findings_resolved: usize,
    /// Images seen again after they had gone: re-match them.
    #[serde(skip)]
    pub reappeared: Vec<i64>,
}

/// An image's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRecord {
    pub id: i64,
    pub digest: String,
    /// `analysed` or `not-analysed`.
    pub status: String,
    pub reason: Option<String>,
    pub gone: bool,
}

/// Package identity shared across images: kind, name, version, purl, source.
pub(crate) fn identity(package: &drydock_core::Package) -> String {
    let (source_name, source_version) = package
        .source
        .as_ref()
        .map_or(("", ""), |s| (s.name.as_str(), s.version.as_str()));
    format!(
        "{}\u{1}{}\u{1}{}\u{1}{}\u{1}{}\u{1}{}",
        package.kind.as_str(),
        package.name,
        package.version,
        package.purl,
        source_name,
        source_version
    )
}

/// The distro group an image's OS packages are matched in.
pub(crate) fn group_key(distro: Option<&drydock_core::Distro>) -> String {
    distro.map_or_else(String::new, |d| {
        format!(
            "{}\u{1}{}\u{1}{}",
            d.id,
            d.version_id,
            d.version_codename.as_deref().unwrap_or("")
        )
    })
}

pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

pub(crate) fn gunzip(bytes: &[u8], limit: u64) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(limit)
        .read_to_end(&mut out)?;
    Ok(out)
}

impl Store {
    /// The image row of `digest`, if any.
    pub fn image(&mut self, digest: &str) -> Result<Option<ImageRecord>, StoreError> {
        let row = self.conn().query_one(
            "SELECT id, digest, status, reason, gone_at FROM images WHERE digest = $1",
            &params![digest],
        )?;
        Ok(row.map(|row| ImageRecord {
            id: row.int(0),
            digest: row.text(1),
            status: row.text(2),
            reason: row.opt_text(3),
            gone: row.opt_int(4).is_some(),
        }))
    }

    /// Digests whose SBOM is stored.
    pub fn analysed_digests(&mut self) -> Result<HashSet<String>, StoreError> {
        let rows = self
            .conn()
            .query("SELECT digest FROM images WHERE status = 'analysed'", &[])?;
        Ok(rows.into_iter().map(|row| row.text(0)).collect())
    }

    /// Stores the SBOM of `digest` (once per digest) with its packages.
    /// `matchable[i]` is false for packages the matcher must not look up
    /// on their own (a language package installed by an OS package).
    /// Returns the image id.
    pub fn put_sbom(
        &mut self,
        digest: &str,
        sbom: &Sbom,
        matchable: &[bool],
        now: i64,
    ) -> Result<i64, StoreError> {
        let mut native = Vec::new();
        drydock_sbom::write_native_json(sbom, &mut native).map_err(|source| {
            StoreError::CorruptSbom {
                digest: digest.to_owned(),
                source: Box::new(source),
            }
        })?;
        let sha = hex(&sha2::Sha256::digest(&native));
        let blob = gzip(&native);
        let distro = sbom.distro.as_ref();
        let group = group_key(distro);
        let image = sbom.source.image.as_ref();
        let platform = image.map(|i| {
            let mut text = format!("{}/{}", i.os, i.architecture);
            if let Some(variant) = &i.variant {
                text.push('/');
                text.push_str(variant);
            }
            text
        });
        let manifest = image
            .and_then(|i| i.manifest_digest.as_ref())
            .map(ToString::to_string);
        let layers = image.map_or(0, |i| i.layers.len() as i64);
        self.transaction(|store| {
            let conn = store.conn();
            conn.execute(
                "INSERT INTO images (digest, status, reason, analysed_at, first_seen, last_seen, \
                 distro_id, distro_version, distro_codename, group_key, platform, manifest_digest, \
                 layer_count, package_count, sbom, sbom_sha256) \
                 VALUES ($1, 'analysed', NULL, $2, $2, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                 ON CONFLICT (digest) DO UPDATE SET status = 'analysed', reason = NULL, \
                 analysed_at = $2, distro_id = $3, distro_version = $4, distro_codename = $5, \
                 group_key = $6, platform = $7, manifest_digest = $8, layer_count = $9, \
                 package_count = $10, sbom = $11, sbom_sha256 = $12",
                &params![
                    digest,
                    now,
                    distro.map(|d| d.id.clone()),
                    distro.map(|d| d.version_id.clone()),
                    distro.and_then(|d| d.version_codename.clone()),
                    group,
                    platform,
                    manifest,
                    layers,
                    sbom.packages.len() as i64,
                    blob,
                    sha
                ],
            )?;
            let image_id = conn
                .query_one("SELECT id FROM images WHERE digest = $1", &params![digest])?
                .map(|row| row.int(0))
                .ok_or_else(|| StoreError::Invalid(format!("image `{digest}` vanished")))?;
            conn.execute(
                "DELETE FROM image_packages WHERE image_id = $1",
                &params![image_id],
            )?;
            let ids = store.package_ids(&sbom.packages)?;
            let mut rows: Vec<Vec<Value>> = Vec::with_capacity(sbom.packages.len());
            let mut seen: HashSet<(i64, String)> = HashSet::new();
            for (index, package) in sbom.packages.iter().enumerate() {
                let Some(&package_id) = ids.get(index) else {
                    continue;
                };
                let location = package
                    .locations
                    .first()
                    .map(|l| l.path.to_display())
                    .unwrap_or_default();
                if !seen.insert((package_id, location.clone())) {
                    continue;
                }
                let layer = package
                    .layer
                    .as_ref()
                    .or_else(|| package.locations.first().and_then(|l| l.layer.as_ref()))
                    .map(|l| l.index as i64);
                let matchable = matchable.get(index).copied().unwrap_or(true);
                rows.push(row![image_id, package_id, location, layer, matchable]);
            }
            store.conn().insert_many(
                "image_packages",
                &["image_id", "package_id", "location", "layer", "matchable"],
                &rows,
                "ON CONFLICT DO NOTHING",
            )?;
            Ok(image_id)
        })
    }

    /// Package ids for `packages` (inserting new identities), in order.
    fn package_ids(&mut self, packages: &[drydock_core::Package]) -> Result<Vec<i64>, StoreError> {
        let identities: Vec<String> = packages.iter().map(identity).collect();
        let mut known: HashMap<String, i64> = HashMap::new();
        let unique: BTreeSet<&String> = identities.iter().collect();
        let values: Vec<Value> = unique.iter().map(|s| Value::from(s.as_str())).collect();
        self.conn().query_each_in(
            "SELECT identity, id FROM packages WHERE identity IN ({in})",
            &values,
            |row| {
                known.insert(row.text(0), row.int(1));
                Ok(())
            },
        )?;
        let mut missing: Vec<Vec<Value>> = Vec::new();
        let mut queued: HashSet<&str> = HashSet::new();
        for (package, identity) in packages.iter().zip(&identities) {
            if known.contains_key(identity) || !queued.insert(identity.as_str()) {
                continue;
            }
            missing.push(row![
                identity.as_str(),
                package.kind.as_str(),
                package.name.as_str(),
                package.version.as_str(),
                package.purl.to_string(),
                package.source.as_ref().map(|s| s.name.clone()),
                package.source.as_ref().map(|s| s.version.clone())
            ]);
        }
        if !missing.is_empty() {
            self.conn().insert_many(
                "packages",
                &[
                    "identity",
                    "kind",
                    "name",
                    "version",
                    "purl",
                    "source_name",
                    "source_version",
                ],
                &missing,
                "ON CONFLICT (identity) DO NOTHING",
            )?;
            let new: Vec<&String> = identities
                .iter()
                .filter(|identity| !known.contains_key(*identity))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let values: Vec<Value> = new.iter().map(|s| Value::from(s.as_str())).collect();
            self.conn().query_each_in(
                "SELECT identity, id FROM packages WHERE identity IN ({in})",
                &values,
                |row| {
                    known.insert(row.text(0), row.int(1));
                    Ok(())
                },
            )?;
        }
        Ok(identities
            .iter()
            .map(|identity| known.get(identity).copied().unwrap_or(-1))
            .collect())
    }

    /// Records that `digest` could not be analysed, and why (it is still
    /// inventoried: its sightings are kept).
    pub fn put_not_analysed(
        &mut self,
        digest: &str,
        reason: &str,
        now: i64,
    ) -> Result<i64, StoreError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO images (digest, status, reason, first_seen, last_seen, group_key, \
             layer_count, package_count) VALUES ($1, 'not-analysed', $2, $3, $3, '', 0, 0) \
             ON CONFLICT (digest) DO UPDATE SET reason = $2 WHERE images.status = 'not-analysed'",
            &params![digest, reason, now],
        )?;
        conn.query_one("SELECT id FROM images WHERE digest = $1", &params![digest])?
            .map(|row| row.int(0))
            .ok_or_else(|| StoreError::Invalid(format!("image `{digest}` vanished")))
    }

    /// The stored SBOM of `digest`.
    pub fn sbom(&mut self, digest: &str) -> Result<Option<Sbom>, StoreError> {
        let Some(row) = self.conn().query_one(
            "SELECT sbom FROM images WHERE digest = $1 AND status = 'analysed'",
            &params![digest],
        )?
        else {
            return Ok(None);
        };
        let corrupt = |source: Box<dyn std::error::Error + Send + Sync>| StoreError::CorruptSbom {
            digest: digest.to_owned(),
            source,
        };
        let bytes = gunzip(&row.blob(0), 1 << 31).map_err(|e| corrupt(Box::new(e)))?;
        drydock_sbom::read_native(&bytes)
            .map(Some)
            .map_err(|e| corrupt(Box::new(e)))
    }

    /// Replaces the current sightings of `source` with `sightings`: new ones
    /// are added, missing ones marked gone. Images seen for the first time
    /// and images no longer seen anywhere get events; the open findings of
    /// an image no longer seen anywhere are resolved (`fixed-by-new-digest`
    /// when a digest without that vulnerability took its place,
    /// `image-replaced` when the replacement still has it, `image-gone`
    /// otherwise). Every image must already have a row.
    pub fn record_sightings(
        &mut self,
        source: &str,
        sightings: &[Sighting],
        now: i64,
    ) -> Result<SyncOutcome, StoreError> {
        self.transaction(|store| store.record_sightings_locked(source, sightings, now))
    }

    fn record_sightings_locked(
        &mut self,
        source: &str,
        sightings: &[Sighting],
        now: i64,
    ) -> Result<SyncOutcome, StoreError> {
        let mut outcome = SyncOutcome::default();
        let conn = self.conn();
        let mut existing: HashMap<String, (i64, bool)> = HashMap::new();
        for row in conn.query(
            "SELECT key, id, gone_at FROM sightings WHERE source = $1",
            &params![source],
        )? {
            existing.insert(row.text(0), (row.int(1), row.opt_int(2).is_some()));
        }
        let mut image_ids: HashMap<String, i64> = HashMap::new();
        let mut touched_images: BTreeSet<i64> = BTreeSet::new();
        let mut present: HashSet<&str> = HashSet::new();
        for sighting in sightings {
            present.insert(sighting.key.as_str());
            let image_id = if let Some(id) = image_ids.get(&sighting.digest) {
                *id
            } else {
                {
                    let id = conn
                        .query_one(
                            "SELECT id FROM images WHERE digest = $1",
                            &params![sighting.digest.as_str()],
                        )?
                        .map(|row| row.int(0))
                        .ok_or_else(|| {
                            StoreError::Invalid(format!(
                                "no image row for `{}` seen at {}",
                                sighting.digest, sighting.reference
                            ))
                        })?;
                    image_ids.insert(sighting.digest.clone(), id);
                    id
                }
            };
            touched_images.insert(image_id);
            if let Some((id, gone)) = existing.get(&sighting.key) {
                conn.execute(
                    "UPDATE sightings SET last_seen = $1, gone_at = NULL WHERE id = $2",
                    &params![now, *id],
                )?;
                if *gone {
                    outcome.new_sightings += 1;
                }
            } else {
                conn.execute(
                        "INSERT INTO sightings (source, key, image_id, kind, reference, registry, \
                         repository, tag, cluster, namespace, workload_kind, workload, pod, \
                         container, container_kind, first_seen, last_seen) VALUES \
                         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16)",
                        &params![
                            source,
                            sighting.key.as_str(),
                            image_id,
                            sighting.kind.as_str(),
                            sighting.reference.as_str(),
                            sighting.registry.clone(),
                            sighting.repository.clone(),
                            sighting.tag.clone(),
                            sighting.cluster.clone(),
                            sighting.namespace.clone(),
                            sighting.workload_kind.clone(),
                            sighting.workload.clone(),
                            sighting.pod.clone(),
                            sighting.container.clone(),
                            sighting.container_kind.clone(),
                            now
                        ],
                    )?;
                outcome.new_sightings += 1;
            }
        }
        // Sightings of this source that disappeared.
        let mut lost_images: BTreeSet<i64> = BTreeSet::new();
        for (key, (id, gone)) in &existing {
            if *gone || present.contains(key.as_str()) {
                continue;
            }
            conn.execute(
                "UPDATE sightings SET gone_at = $1 WHERE id = $2",
                &params![now, *id],
            )?;
            outcome.gone_sightings += 1;
            if let Some(row) = conn.query_one(
                "SELECT image_id FROM sightings WHERE id = $1",
                &params![*id],
            )? {
                lost_images.insert(row.int(0));
            }
        }
        // Images seen (again): first-seen events, back from gone.
        for image_id in &touched_images {
            let Some(row) = conn.query_one(
                "SELECT digest, gone_at, last_seen, first_seen FROM images WHERE id = $1",
                &params![*image_id],
            )?
            else {
                continue;
            };
            let digest = row.text(0);
            let was_gone = row.opt_int(1).is_some();
            let has_events = conn
                .query_one(
                    "SELECT 1 FROM events WHERE kind = 'image-first-seen' AND digest = $1",
                    &params![digest.as_str()],
                )?
                .is_some();
            conn.execute(
                "UPDATE images SET last_seen = $1, gone_at = NULL WHERE id = $2",
                &params![now, *image_id],
            )?;
            if !has_events {
                outcome.images_first_seen += 1;
                insert_event(
                    conn,
                    &EventInsert {
                        time: now,
                        kind: "image-first-seen",
                        digest: &digest,
                        cause: source,
                        ..EventInsert::default()
                    },
                )?;
            } else if was_gone {
                outcome.reappeared.push(*image_id);
                insert_event(
                    conn,
                    &EventInsert {
                        time: now,
                        kind: "image-seen-again",
                        digest: &digest,
                        cause: source,
                        ..EventInsert::default()
                    },
                )?;
            }
        }
        // Images no longer seen anywhere.
        for image_id in lost_images {
            let still = self.conn().query_one(
                "SELECT COUNT(*) FROM sightings WHERE image_id = $1 AND gone_at IS NULL",
                &params![image_id],
            )?;
            if still.is_some_and(|row| row.int(0) > 0) {
                continue;
            }
            outcome.images_gone += 1;
            outcome.findings_resolved += self.retire_image(image_id, now)?;
        }
        let conn = self.conn();
        conn.execute(
            "UPDATE sources SET last_sync = $1, last_error = NULL WHERE name = $2",
            &params![now, source],
        )?;
        Ok(outcome)
    }

    /// Marks an image gone and resolves its open findings.
    fn retire_image(&mut self, image_id: i64, now: i64) -> Result<usize, StoreError> {
        let Some(row) = self.conn().query_one(
            "SELECT digest FROM images WHERE id = $1",
            &params![image_id],
        )?
        else {
            return Ok(0);
        };
        let digest = row.text(0);
        // A patched image of this one (`fleet remediate`) that runs now
        // replaced it, wherever it runs.
        let remediated = self.running_remediation(&digest)?;
        let conn = self.conn();
        conn.execute(
            "UPDATE images SET gone_at = $1 WHERE id = $2",
            &params![now, image_id],
        )?;
        insert_event(
            conn,
            &EventInsert {
                time: now,
                kind: "image-gone",
                digest: &digest,
                cause: "no-longer-seen",
                ..EventInsert::default()
            },
        )?;
        // What replaced it: digests now active at the slots it held.
        let replacements = conn.query(
            "SELECT DISTINCT i.id, i.digest, i.status FROM sightings old \
             JOIN sightings cur ON cur.source = old.source AND cur.gone_at IS NULL \
               AND cur.image_id <> old.image_id \
               AND COALESCE(cur.repository, '') = COALESCE(old.repository, '') \
               AND COALESCE(cur.tag, '') = COALESCE(old.tag, '') \
               AND COALESCE(cur.cluster, '') = COALESCE(old.cluster, '') \
               AND COALESCE(cur.namespace, '') = COALESCE(old.namespace, '') \
               AND COALESCE(cur.workload_kind, '') = COALESCE(old.workload_kind, '') \
               AND COALESCE(cur.workload, cur.pod, '') = COALESCE(old.workload, old.pod, '') \
               AND COALESCE(cur.container, '') = COALESCE(old.container, '') \
             JOIN images i ON i.id = cur.image_id \
             WHERE old.image_id = $1",
            &params![image_id],
        )?;
        let mut replacements = replacements;
        replacements.sort_by_key(|row| row.text(1));
        let is_remediation = remediated.is_some();
        let replacement: Option<(i64, String, bool)> = remediated.or_else(|| {
            replacements
                .first()
                .map(|row| (row.int(0), row.text(1), row.text(2) == "analysed"))
        });
        let fixed = if is_remediation {
            "remediated"
        } else {
            "fixed-by-new-digest"
        };
        let open = conn.query(
            "SELECT f.id, m.vuln_id, p.purl, p.name, m.severity, m.kev \
             FROM findings f JOIN matches m ON m.id = f.match_id \
             JOIN packages p ON p.id = m.package_id \
             WHERE f.image_id = $1 AND f.state = 'open' ORDER BY m.vuln_id, p.purl, f.id",
            &params![image_id],
        )?;
        let mut resolved = 0;
        for row in open {
            let vuln = row.text(1);
            let cause = match &replacement {
                None => "image-gone".to_owned(),
                // Not analysed yet (queued for a worker): it replaced this
                // image, whether it fixed the finding is not known.
                Some((_, new_digest, false)) => format!("image-replaced:{new_digest}"),
                Some((new_id, new_digest, true)) => {
                    let still = conn.query_one(
                        "SELECT 1 FROM findings f JOIN matches m ON m.id = f.match_id \
                         JOIN packages p ON p.id = m.package_id \
                         WHERE f.image_id = $1 AND f.state = 'open' AND m.vuln_id = $2 AND p.name = $3",
                        &params![*new_id, vuln.as_str(), row.text(3)],
                    )?;
                    if still.is_some() {
                        format!("image-replaced:{new_digest}")
                    } else {
                        format!("{fixed}:{new_digest}")
                    }
                }
            };
            conn.execute(
                "UPDATE findings SET state = 'resolved', resolved_at = $1, cause = $2 WHERE id = $3",
                &params![now, cause.as_str(), row.int(0)],
            )?;
            insert_event(
                conn,
                &EventInsert {
                    time: now,
                    kind: "finding-resolved",
                    digest: &digest,
                    vuln_id: Some(&vuln),
                    package: Some(&row.text(2)),
                    severity: Some(&row.text(4)),
                    kev: Some(row.int(5) != 0),
                    cause: &cause,
                },
            )?;
            resolved += 1;
        }
        Ok(resolved)
    }
}

#[derive(Default)]
pub(crate) struct EventInsert<'a> {
    pub(crate) time: i64,
    pub(crate) kind: &'a str,
    pub(crate) digest: &'a str,
    pub(crate) vuln_id: Option<&'a str>,
    pub(crate) package: Option<&'a str>,
    pub(crate) severity: Option<&'a str>,
    pub(crate) kev: Option<bool>,
    pub(crate) cause: &'a str,
}

pub(crate) fn event_row(event: &EventInsert<'_>) -> Vec<Value> {
    row![
        event.time,
        event.kind,
        event.digest,
        event.vuln_id,
        event.package,
        event.severity,
        event.kev,
        event.cause
    ]
}

pub(crate) fn insert_event(
    conn: &mut crate::sql::Conn,
    event: &EventInsert<'_>,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO events (time, kind, digest, vuln_id, package, severity, kev, cause) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &event_row(event),
    )?;
    Ok(())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

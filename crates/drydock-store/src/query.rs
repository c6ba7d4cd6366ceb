//! Reading the fleet: images, findings with their locations, events, sources.
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

use drydock_vuln::SeverityLevel;

use crate::sql::{Row, Value};
use crate::{Store, StoreError, params, rfc3339};

/// One place a digest is seen (`locations[]` in the JSON).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LocationRow {
    pub kind: String,
    pub source: String,
    pub reference: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload_kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workload: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_kind: Option<String>,
    pub first_seen: String,
    pub last_seen: String,
}

impl LocationRow {
    /// `registry/repo:tag` or `cluster/namespace/Kind/workload/pod/container`.
    pub fn short(&self) -> String {
        match self.kind.as_str() {
            "kubernetes" => {
                let mut parts = vec![
                    self.cluster.clone().unwrap_or_default(),
                    self.namespace.clone().unwrap_or_default(),
                ];
                if let (Some(kind), Some(name)) = (&self.workload_kind, &self.workload) {
                    parts.push(format!("{kind}/{name}"));
                }
                parts.push(self.pod.clone().unwrap_or_default());
                parts.push(self.container.clone().unwrap_or_default());
                parts.join("/")
            }
            _ => self.reference.clone(),
        }
    }
}

/// `drydock fleet images` rows.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ImageSummary {
    pub digest: String,
    /// `analysed` or `not-analysed`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distro: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    pub packages: i64,
    /// Open findings by severity (`critical`, `high`, …, `unknown`) and `kev`.
    pub findings: BTreeMap<String, i64>,
    pub first_seen: String,
    pub last_seen: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gone_at: Option<String>,
    pub locations: Vec<LocationRow>,
}

/// Filters of `drydock fleet findings`.
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    /// An id or alias (`CVE-…`, `GHSA-…`), case-insensitive.
    pub vuln: Option<String>,
    /// At or above this severity.
    pub severity: Option<SeverityLevel>,
    pub kev: bool,
    pub fixable: bool,
    pub namespace: Option<String>,
    pub cluster: Option<String>,
    /// A digest, or a reference / repository as seen in a location.
    pub image: Option<String>,
    /// A package name.
    pub package: Option<String>,
    /// Free text: a substring (case-insensitive) of a vulnerability id or
    /// alias, a package name, an image digest or reference, or a pod or
    /// workload name.
    pub q: Option<String>,
    /// Resolved findings too.
    pub include_resolved: bool,
    pub limit: Option<usize>,
    /// Only findings after this one in priority order (keyset paging).
    pub after: Option<FindingCursor>,
}

/// A finding's place in priority order: the key of keyset paging.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FindingCursor {
    pub kev: i64,
    pub severity_rank: i64,
    pub epss: f64,
    pub fixable: i64,
    pub package: String,
    pub version: String,
    pub purl: String,
    pub vuln_id: String,
    pub id: i64,
}

impl FindingCursor {
    fn match_key(&self) -> MatchKey {
        MatchKey {
            kev: self.kev,
            severity_rank: self.severity_rank,
            epss: self.epss,
            fixable: self.fixable,
            package: self.package.clone(),
            version: self.version.clone(),
            purl: self.purl.clone(),
            vuln_id: self.vuln_id.clone(),
        }
    }
}

/// What every finding of one match shares of the priority order.
#[derive(Debug, Clone)]
struct MatchKey {
    kev: i64,
    severity_rank: i64,
    /// `-1` when unknown.
    epss: f64,
    fixable: i64,
    package: String,
    version: String,
    purl: String,
    vuln_id: String,
}

impl MatchKey {
    /// Priority order: KEV, higher severity, higher EPSS, fixable first,
    /// then package name, version, purl and vulnerability id (byte order).
    fn order(&self, other: &MatchKey) -> std::cmp::Ordering {
        other
            .kev
            .cmp(&self.kev)
            .then(other.severity_rank.cmp(&self.severity_rank))
            .then(
                other
                    .epss
                    .partial_cmp(&self.epss)
                    .unwrap_or(std::cmp::Ordering::Equal),
            )
            .then(other.fixable.cmp(&self.fixable))
            .then_with(|| self.package.cmp(&other.package))
            .then_with(|| self.version.cmp(&other.version))
            .then_with(|| self.purl.cmp(&other.purl))
            .then_with(|| self.vuln_id.cmp(&other.vuln_id))
    }
}

/// A match a filter can select findings of.
#[derive(Debug, Clone)]
struct Candidate {
    id: i64,
    key: MatchKey,
    /// How many open findings it has, where the store keeps the count.
    open: Option<i64>,
    /// All its findings match (else only those of the plan's `images`).
    text: bool,
}

/// The matches of a narrow filter in priority order (see
/// [`Store::finding_plan`]).
struct MatchPlan {
    candidates: Vec<Candidate>,
    /// Images whose every finding matches the free text.
    images: Vec<i64>,
}

impl MatchPlan {
    /// Appends the condition that keeps, of these matches, only the
    /// findings of the plan's images for those not matched by their text.
    fn restrict(&self, group: &[Candidate], sql: &mut String) {
        if group.iter().all(|c| c.text) {
            return;
        }
        let text: Vec<i64> = group.iter().filter(|c| c.text).map(|c| c.id).collect();
        let images = id_list(&self.images);
        if text.is_empty() {
            let _ = write!(sql, " AND f.image_id IN ({images})");
        } else {
            let _ = write!(
                sql,
                " AND (f.match_id IN ({}) OR f.image_id IN ({images}))",
                id_list(&text)
            );
        }
    }
}

/// At most this many images matched by free text for the match-by-match
/// plan (all their matches are candidates); more are sorted in one query.
const PLAN_IMAGES: usize = 200;
/// At most this many candidate matches for the match-by-match plan.
const PLAN_MATCHES: usize = 20_000;

/// Row ids as SQL literals (`1, 2, 3`; never empty: `NULL` for none).
fn id_list(ids: &[i64]) -> String {
    if ids.is_empty() {
        return "NULL".to_owned();
    }
    let mut out = String::with_capacity(ids.len() * 8);
    for (index, id) in ids.iter().enumerate() {
        if index > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{id}");
    }
    out
}

/// A finding's own columns, as a page query reads them (from the index on
/// (match, state, id, …) alone when paging match by match).
struct FindingHead {
    id: i64,
    match_id: i64,
    image_id: i64,
    state: String,
    first_seen: i64,
    resolved_at: Option<i64>,
    cause: Option<String>,
}

const HEAD_COLUMNS: &str =
    "f.id, f.match_id, f.image_id, f.state, f.first_seen, f.resolved_at, f.cause";

impl FindingHead {
    fn from_row(row: &Row) -> FindingHead {
        FindingHead {
            id: row.int(0),
            match_id: row.int(1),
            image_id: row.int(2),
            state: row.text(3),
            first_seen: row.int(4),
            resolved_at: row.opt_int(5),
            cause: row.opt_text(6),
        }
    }
}

/// One finding of one image.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingRow {
    /// The finding's row id (stable, the last key of priority order).
    pub id: i64,
    pub severity_rank: i64,
    pub digest: String,
    pub state: String,
    pub first_seen: i64,
    pub resolved_at: Option<i64>,
    pub cause: Option<String>,
    pub vuln_id: String,
    pub severity: String,
    pub kev: bool,
    pub epss: Option<f64>,
    pub fixable: bool,
    pub fixed: String,
    pub package: String,
    pub version: String,
    pub purl: String,
    pub location: Option<String>,
    /// The finding as `drydock scan -f json` writes it (no `package.location`),
    /// shared by the findings of one match.
    pub detail: Arc<str>,
    /// Where the image is seen, shared by the findings of one image.
    pub locations: Arc<[LocationRow]>,
}

impl FindingRow {
    /// Where this row is in priority order (to continue after it).
    pub fn cursor(&self) -> FindingCursor {
        FindingCursor {
            kev: i64::from(self.kev),
            severity_rank: self.severity_rank,
            epss: self.epss.unwrap_or(-1.0),
            fixable: i64::from(self.fixable),
            package: self.package.clone(),
            version: self.version.clone(),
            purl: self.purl.clone(),
            vuln_id: self.vuln_id.clone(),
            id: self.id,
        }
    }

    /// The finding JSON: scan's fields plus `digest`, `status` (`open` or
    /// `resolved`), `first_seen`, `resolved_at`, `resolution` (the cause),
    /// `locations`.
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(self.detail.len() + 512);
        self.write_json(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// [`FindingRow::to_json`] appended to `out`: the fleet's fields first,
    /// keys in byte order (locations' too), then the stored scan finding,
    /// its package given its file `location`.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"digest\":");
        push_json(out, &self.digest);
        out.extend_from_slice(b",\"first_seen\":");
        push_json(out, &rfc3339(self.first_seen));
        out.extend_from_slice(b",\"locations\":[");
        for (index, location) in self.locations.iter().enumerate() {
            if index > 0 {
                out.push(b',');
            }
            location.write_sorted_json(out);
        }
        out.extend_from_slice(b"],\"resolution\":");
        push_json(out, &self.cause);
        out.extend_from_slice(b",\"resolved_at\":");
        push_json(out, &self.resolved_at.map(rfc3339));
        out.extend_from_slice(b",\"status\":");
        push_json(out, &self.state);
        let Some(rest) = self.detail.strip_prefix('{') else {
            out.push(b'}');
            return;
        };
        if rest.trim() == "}" {
            out.push(b'}');
            return;
        }
        out.push(b',');
        // The stored detail is serde's compact form of a Finding: the
        // package object is the first one closed before `matched_via`.
        let split = rest
            .find("},\"matched_via\":")
            .and_then(|at| rest.split_at_checked(at));
        match (&self.location, split) {
            (Some(location), Some((package, after))) => {
                out.extend_from_slice(package.as_bytes());
                out.extend_from_slice(b",\"location\":");
                push_json(out, location);
                out.extend_from_slice(after.as_bytes());
            }
            _ => out.extend_from_slice(rest.as_bytes()),
        }
    }
}

/// `value` as JSON, appended.
fn push_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    // Writing strings and options into a vector cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

impl LocationRow {
    /// This location as a JSON object with its keys in byte order (as
    /// `serde_json`'s map writes them), absent fields left out.
    fn write_sorted_json(&self, out: &mut Vec<u8>) {
        // Every field named: a field added to the struct fails to compile
        // here until it is placed in the key order.
        let LocationRow {
            kind,
            source,
            reference,
            registry,
            repository,
            tag,
            cluster,
            namespace,
            workload_kind,
            workload,
            pod,
            container,
            container_kind,
            first_seen,
            last_seen,
        } = self;
        let fields: [(&str, Option<&str>); 15] = [
            ("cluster", cluster.as_deref()),
            ("container", container.as_deref()),
            ("container_kind", container_kind.as_deref()),
            ("first_seen", Some(first_seen)),
            ("kind", Some(kind)),
            ("last_seen", Some(last_seen)),
            ("namespace", namespace.as_deref()),
            ("pod", pod.as_deref()),
            ("reference", Some(reference)),
            ("registry", registry.as_deref()),
            ("repository", repository.as_deref()),
            ("source", Some(source)),
            ("tag", tag.as_deref()),
            ("workload", workload.as_deref()),
            ("workload_kind", workload_kind.as_deref()),
        ];
        out.push(b'{');
        let mut first = true;
        for (name, value) in fields {
            let Some(value) = value else { continue };
            if !first {
                out.push(b',');
            }
            first = false;
            out.push(b'"');
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":");
            push_json(out, value);
        }
        out.push(b'}');
    }
}

/// One event (`drydock fleet events`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EventRecord {
    pub seq: i64,
    pub time: String,
    pub kind: String,
    pub digest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vulnerability: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kev: Option<bool>,
    pub cause: String,
}

/// A configured inventory source.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceRow {
    pub name: String,
    pub kind: String,
    pub target: String,
    /// Source-specific settings (JSON).
    pub config: serde_json::Value,
    pub created_at: String,
    pub last_sync: Option<String>,
    pub last_error: Option<String>,
}

pub(crate) fn location_row(row: &mut Row, offset: usize) -> LocationRow {
    LocationRow {
        kind: row.take_text(offset).unwrap_or_default(),
        source: row.take_text(offset + 1).unwrap_or_default(),
        reference: row.take_text(offset + 2).unwrap_or_default(),
        registry: row.take_text(offset + 3),
        repository: row.take_text(offset + 4),
        tag: row.take_text(offset + 5),
        cluster: row.take_text(offset + 6),
        namespace: row.take_text(offset + 7),
        workload_kind: row.take_text(offset + 8),
        workload: row.take_text(offset + 9),
        pod: row.take_text(offset + 10),
        container: row.take_text(offset + 11),
        container_kind: row.take_text(offset + 12),
        first_seen: rfc3339(row.int(offset + 13)),
        last_seen: rfc3339(row.int(offset + 14)),
    }
}

pub(crate) const LOCATION_COLUMNS: &str = "kind, source, reference, registry, repository, tag, cluster, \
     namespace, workload_kind, workload, pod, container, container_kind, first_seen, last_seen";

impl Store {
    /// Active sightings of these images, by image id, in a stable order.
    fn locations_of(
        &mut self,
        image_ids: &[i64],
    ) -> Result<HashMap<i64, Vec<LocationRow>>, StoreError> {
        let mut out: HashMap<i64, Vec<LocationRow>> = HashMap::new();
        let mut ids: Vec<i64> = image_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let values: Vec<Value> = ids.iter().map(|id| Value::Int(*id)).collect();
        // Sorted here: SQLite would sort each chunk in a temporary b-tree.
        let mut keyed: HashMap<i64, Vec<(String, LocationRow)>> = HashMap::new();
        let sql = format!(
            "SELECT image_id, key, {LOCATION_COLUMNS} FROM sightings \
             WHERE gone_at IS NULL AND image_id IN ({{in}})"
        );
        self.conn().query_each_in(&sql, &values, |mut row| {
            let key = row.take_text(1).unwrap_or_default();
            keyed
                .entry(row.int(0))
                .or_default()
                .push((key, location_row(&mut row, 2)));
            Ok(())
        })?;
        for (image, mut rows) in keyed {
            rows.sort_by(|a, b| (&a.1.source, &a.0).cmp(&(&b.1.source, &b.0)));
            out.insert(image, rows.into_iter().map(|(_, row)| row).collect());
        }
        Ok(out)
    }

    /// Every image with where it is seen and its open findings by severity.
    pub fn images(&mut self) -> Result<Vec<ImageSummary>, StoreError> {
        self.image_summaries("", &[], "")
    }

    /// Images after digest `after` (in digest order), at most `limit`.
    pub fn images_page(
        &mut self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ImageSummary>, StoreError> {
        let limit = format!(" LIMIT {limit}");
        match after {
            Some(after) => self.image_summaries(" WHERE digest > $1", &params![after], &limit),
            None => self.image_summaries("", &[], &limit),
        }
    }

    /// One image's summary.
    pub fn image_summary(&mut self, digest: &str) -> Result<Option<ImageSummary>, StoreError> {
        Ok(self
            .image_summaries(" WHERE digest = $1", &params![digest], "")?
            .into_iter()
            .next())
    }

    fn image_summaries(
        &mut self,
        condition: &str,
        values: &[Value],
        limit: &str,
    ) -> Result<Vec<ImageSummary>, StoreError> {
        let rows = self.conn().query(
            &format!(
                "SELECT id, digest, status, reason, distro_id, distro_version, platform, \
                 package_count, first_seen, last_seen, gone_at FROM images{condition} \
                 ORDER BY digest{limit}"
            ),
            values,
        )?;
        let ids: Vec<i64> = rows.iter().map(|row| row.int(0)).collect();
        let mut counts: HashMap<i64, BTreeMap<String, i64>> = HashMap::new();
        let mut count_row = |row: Row| {
            let entry = counts.entry(row.int(0)).or_default();
            *entry.entry(row.text(1)).or_default() += row.int(3);
            if row.int(2) != 0 {
                *entry.entry("kev".to_owned()).or_default() += row.int(3);
            }
            Ok(())
        };
        let count_sql = "SELECT f.image_id, m.severity, m.kev, COUNT(*) FROM findings f \
             JOIN matches m ON m.id = f.match_id WHERE f.state = 'open'";
        if condition.is_empty() && limit.is_empty() {
            self.conn().query_each(
                &format!("{count_sql} GROUP BY f.image_id, m.severity, m.kev"),
                &[],
                count_row,
            )?;
        } else {
            for chunk in ids.chunks(500) {
                let placeholders: Vec<String> =
                    (1..=chunk.len()).map(|i| format!("${i}")).collect();
                let values: Vec<Value> = chunk.iter().map(|id| Value::Int(*id)).collect();
                self.conn().query_each(
                    &format!(
                        "{count_sql} AND f.image_id IN ({}) GROUP BY f.image_id, m.severity, m.kev",
                        placeholders.join(", ")
                    ),
                    &values,
                    &mut count_row,
                )?;
            }
        }
        let mut locations = self.locations_of(&ids)?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let id = row.int(0);
                let distro = row.opt_text(4).map(|id| {
                    let version = row.text(5);
                    if version.is_empty() {
                        id
                    } else {
                        format!("{id} {version}")
                    }
                });
                ImageSummary {
                    digest: row.text(1),
                    status: row.text(2),
                    reason: row.opt_text(3),
                    distro,
                    platform: row.opt_text(6),
                    packages: row.int(7),
                    findings: counts.remove(&id).unwrap_or_default(),
                    first_seen: rfc3339(row.int(8)),
                    last_seen: rfc3339(row.int(9)),
                    gone_at: row.opt_int(10).map(rfc3339),
                    locations: locations.remove(&id).unwrap_or_default(),
                }
            })
            .collect())
    }

    /// Findings matching `filter`, in priority order (KEV, severity, EPSS,
    /// fixable first, package name, version, purl, vulnerability id, then
    /// the finding's id), each with its locations.
    pub fn findings(&mut self, filter: &FindingFilter) -> Result<Vec<FindingRow>, StoreError> {
        let heads = match self.finding_plan(filter)? {
            Some(plan) => self.plan_page(filter, &plan)?,
            None => self.scan_page(filter)?,
        };
        self.finding_rows(heads)
    }

    /// [`Store::findings`] and how many findings match (`limit` and `after`
    /// ignored), sharing the work of both.
    pub fn findings_with_total(
        &mut self,
        filter: &FindingFilter,
    ) -> Result<(Vec<FindingRow>, i64), StoreError> {
        let (heads, total) = match self.finding_plan(filter)? {
            Some(plan) => (
                self.plan_page(filter, &plan)?,
                self.plan_count(filter, &plan)?,
            ),
            None => (self.scan_page(filter)?, self.scan_count(filter)?),
        };
        Ok((self.finding_rows(heads)?, total))
    }

    /// How many findings match `filter` (its `limit` and `after` ignored).
    pub fn count_findings(&mut self, filter: &FindingFilter) -> Result<i64, StoreError> {
        match self.finding_plan(filter)? {
            Some(plan) => self.plan_count(filter, &plan),
            None => self.scan_count(filter),
        }
    }

    /// The matches whose findings `filter` can select, in priority order,
    /// when they are few enough to page findings match by match (a filter
    /// on the vulnerability, the package or free text); `None` otherwise.
    fn finding_plan(&mut self, filter: &FindingFilter) -> Result<Option<MatchPlan>, StoreError> {
        let q = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
        if filter.vuln.is_none() && filter.package.is_none() && q.is_none() {
            return Ok(None);
        }
        // Each match's open findings, where the store keeps their count.
        let open = match self.backend() {
            crate::Backend::Sqlite => "m.open_findings",
            crate::Backend::Postgres => "NULL",
        };
        let mut sql = format!(
            "SELECT m.id, m.kev, m.severity_rank, COALESCE(m.epss, -1.0), m.fixable, p.name, \
             p.version, p.purl, m.vuln_id, {open} FROM matches m \
             JOIN packages p ON p.id = m.package_id WHERE 1 = 1",
        );
        let mut values = match_conditions(filter, &mut sql);
        let mut images = Vec::new();
        let mut text_matched = None;
        if let Some(q) = q {
            let lower = q.to_lowercase();
            let pattern = format!("%{}%", like_escape(&lower));
            // Images whose digest or places hold the text: all their findings.
            let image_sql = self.text_images_sql(&lower);
            let mut image_values = vec![Value::from(pattern.as_str())];
            if image_sql.contains("$2") {
                image_values.push(Value::from(fts_phrase(&lower)));
            }
            let rows = self.conn().query(&image_sql, &image_values)?;
            images = rows.iter().map(|row| row.int(0)).collect();
            images.sort_unstable();
            if images.len() > PLAN_IMAGES {
                return Ok(None);
            }
            let mut text_sql = sql.clone();
            let mut text_values = values.clone();
            text_values.push(Value::from(pattern.to_uppercase()));
            text_values.push(Value::from(pattern));
            // On SQLite, `LIKE` alone ignores ASCII case, as `LOWER` would.
            let name = match self.backend() {
                crate::Backend::Sqlite => "name",
                crate::Backend::Postgres => "LOWER(name)",
            };
            let _ = write!(
                text_sql,
                " AND (m.id IN (SELECT match_id FROM match_ids WHERE vid LIKE ${} ESCAPE '!') \
                 OR m.package_id IN (SELECT id FROM packages WHERE {name} LIKE ${} ESCAPE '!'))",
                text_values.len() - 1,
                text_values.len()
            );
            text_matched = Some((text_sql, text_values));
        }
        let mut candidates: Vec<Candidate> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut add = |row: Row, text: bool| {
            if seen.insert(row.int(0)) {
                candidates.push(Candidate {
                    id: row.int(0),
                    key: MatchKey {
                        kev: row.int(1),
                        severity_rank: row.int(2),
                        epss: row.real(3),
                        fixable: row.int(4),
                        package: row.text(5),
                        version: row.text(6),
                        purl: row.text(7),
                        vuln_id: row.text(8),
                    },
                    open: row.opt_int(9),
                    text,
                });
            }
        };
        match text_matched {
            None => {
                for row in self.conn().query(&sql, &values)? {
                    add(row, true);
                }
            }
            Some((text_sql, text_values)) => {
                for row in self.conn().query(&text_sql, &text_values)? {
                    add(row, true);
                }
                if !images.is_empty() {
                    // Any match of those images, whatever its text.
                    let _ = write!(
                        sql,
                        " AND m.id IN (SELECT match_id FROM findings WHERE image_id IN ({}))",
                        id_list(&images)
                    );
                    for row in self.conn().query(&sql, &values)? {
                        add(row, false);
                    }
                }
            }
        }
        values.clear();
        if candidates.len() > PLAN_MATCHES {
            return Ok(None);
        }
        candidates.sort_by(|a, b| a.key.order(&b.key).then(a.id.cmp(&b.id)));
        Ok(Some(MatchPlan { candidates, images }))
    }

    /// The query of the images whose digest, or a live sighting's
    /// reference, pod or workload, holds `lower` (the text lowercased):
    /// `$1` is its `LIKE` pattern, `$2` (when used) its trigram phrase.
    /// Digests are scanned only when the text can occur in one; on SQLite
    /// a text of three characters or more finds its sightings through the
    /// trigram index, each candidate re-checked with the same `LIKE`.
    fn text_images_sql(&self, lower: &str) -> String {
        let mut parts = Vec::new();
        if may_occur_in_digest(lower) {
            parts.push("SELECT id FROM images WHERE digest LIKE $1 ESCAPE '!'".to_owned());
        }
        // SQLite's `LIKE` ignores ASCII case as its `LOWER` does (and costs
        // a quarter of it): the same rows as the PostgreSQL form.
        parts.push(match self.backend() {
            crate::Backend::Sqlite => {
                let indexed = if lower.chars().count() >= 3 {
                    "id IN (SELECT rowid FROM sightings_text WHERE sightings_text MATCH $2) AND "
                } else {
                    ""
                };
                format!(
                    "SELECT image_id FROM sightings WHERE {indexed}gone_at IS NULL \
                     AND (reference LIKE $1 ESCAPE '!' OR pod LIKE $1 ESCAPE '!' \
                     OR workload LIKE $1 ESCAPE '!')"
                )
            }
            crate::Backend::Postgres => "SELECT image_id FROM sightings WHERE gone_at IS NULL \
                 AND (LOWER(reference) LIKE $1 ESCAPE '!' OR LOWER(COALESCE(pod, '')) LIKE $1 ESCAPE '!' \
                 OR LOWER(COALESCE(workload, '')) LIKE $1 ESCAPE '!')"
                .to_owned(),
        });
        parts.join(" UNION ")
    }

    /// Finding ids of one page of `plan`: match by match in priority order,
    /// each match's findings (or those of a run of matches with the same
    /// key) in id order, through the index on (match, state, id).
    fn plan_page(
        &mut self,
        filter: &FindingFilter,
        plan: &MatchPlan,
    ) -> Result<Vec<FindingHead>, StoreError> {
        let limit = filter.limit.unwrap_or(usize::MAX);
        let after = filter.after.as_ref().map(|a| (a.match_key(), a.id));
        let mut out = Vec::new();
        for group in plan.candidates.chunk_by(|a, b| a.key.order(&b.key).is_eq()) {
            if out.len() >= limit {
                break;
            }
            let Some(key) = group.first().map(|c| &c.key) else {
                continue;
            };
            let after_id = match &after {
                Some((after_key, id)) => match key.order(after_key) {
                    std::cmp::Ordering::Less => continue,
                    std::cmp::Ordering::Equal => Some(*id),
                    std::cmp::Ordering::Greater => None,
                },
                None => None,
            };
            let mut sql = format!("SELECT {HEAD_COLUMNS} FROM findings f WHERE");
            let ids: Vec<i64> = group.iter().map(|c| c.id).collect();
            if let [id] = ids.as_slice() {
                let _ = write!(sql, " f.match_id = {id}");
            } else {
                let _ = write!(sql, " f.match_id IN ({})", id_list(&ids));
            }
            let values = image_conditions(filter, &mut sql);
            plan.restrict(group, &mut sql);
            if let Some(id) = after_id {
                let _ = write!(sql, " AND f.id > {id}");
            }
            sql.push_str(" ORDER BY f.id");
            if limit != usize::MAX {
                let _ = write!(sql, " LIMIT {}", limit - out.len());
            }
            self.conn().query_each(&sql, &values, |row| {
                out.push(FindingHead::from_row(&row));
                Ok(())
            })?;
        }
        Ok(out)
    }

    /// How many findings `plan` holds: the sum of the kept counts of its
    /// matches when all their open findings are selected (no condition on
    /// the image, resolved findings left out), else counted from the index
    /// on (match, state, id), a few hundred matches at a time.
    fn plan_count(&mut self, filter: &FindingFilter, plan: &MatchPlan) -> Result<i64, StoreError> {
        let mut conditions = String::new();
        let _ = image_conditions(filter, &mut conditions);
        let open_only = conditions == " AND f.state = 'open'";
        let mut total = 0;
        for text in [true, false] {
            let mut group: Vec<Candidate> = Vec::new();
            for candidate in plan.candidates.iter().filter(|c| c.text == text) {
                match candidate.open {
                    Some(open) if text && open_only => total += open,
                    _ => group.push(candidate.clone()),
                }
            }
            for chunk in group.chunks(500) {
                let ids: Vec<i64> = chunk.iter().map(|c| c.id).collect();
                let mut sql = format!(
                    "SELECT COUNT(*) FROM findings f WHERE f.match_id IN ({})",
                    id_list(&ids)
                );
                let values = image_conditions(filter, &mut sql);
                plan.restrict(chunk, &mut sql);
                total += self
                    .conn()
                    .query_one(&sql, &values)?
                    .map_or(0, |row| row.int(0));
            }
        }
        Ok(total)
    }

    /// Finding ids of one page by sorting every match of `filter` (the
    /// filters [`Store::finding_plan`] cannot narrow first).
    fn scan_page(&mut self, filter: &FindingFilter) -> Result<Vec<FindingHead>, StoreError> {
        let mut sql = format!(
            "SELECT {HEAD_COLUMNS} FROM findings f JOIN matches m ON m.id = f.match_id \
             JOIN images i ON i.id = f.image_id JOIN packages p ON p.id = m.package_id WHERE 1 = 1",
        );
        let mut values = finding_conditions(filter, &mut sql);
        // Text in byte order on both backends (PostgreSQL's default is the
        // database's locale), as the match-by-match path sorts it.
        let c = match self.backend() {
            crate::Backend::Postgres => " COLLATE \"C\"",
            crate::Backend::Sqlite => "",
        };
        if let Some(after) = &filter.after {
            let mut bind = |value: Value| {
                values.push(value);
                format!("${}", values.len())
            };
            let keys = [
                bind(Value::Int(1 - after.kev)),
                bind(Value::Int(-after.severity_rank)),
                bind(Value::Real(-after.epss)),
                bind(Value::Int(1 - after.fixable)),
                bind(Value::from(after.package.as_str())),
                bind(Value::from(after.version.as_str())),
                bind(Value::from(after.purl.as_str())),
                bind(Value::from(after.vuln_id.as_str())),
                bind(Value::Int(after.id)),
            ];
            let _ = write!(
                sql,
                " AND (1 - m.kev, -m.severity_rank, -COALESCE(m.epss, -1.0), 1 - m.fixable, \
                 p.name{c}, p.version{c}, p.purl{c}, m.vuln_id{c}, f.id) > ({})",
                keys.join(", ")
            );
        }
        let _ = write!(
            sql,
            " ORDER BY m.kev DESC, m.severity_rank DESC, COALESCE(m.epss, -1.0) DESC, \
             m.fixable DESC, p.name{c}, p.version{c}, p.purl{c}, m.vuln_id{c}, f.id"
        );
        if let Some(limit) = filter.limit {
            let _ = write!(sql, " LIMIT {limit}");
        }
        let mut heads = Vec::new();
        self.conn().query_each(&sql, &values, |row| {
            heads.push(FindingHead::from_row(&row));
            Ok(())
        })?;
        Ok(heads)
    }

    fn scan_count(&mut self, filter: &FindingFilter) -> Result<i64, StoreError> {
        let mut sql = String::from(
            "SELECT COUNT(*) FROM findings f JOIN matches m ON m.id = f.match_id \
             JOIN images i ON i.id = f.image_id JOIN packages p ON p.id = m.package_id WHERE 1 = 1",
        );
        let values = finding_conditions(filter, &mut sql);
        Ok(self
            .conn()
            .query_one(&sql, &values)?
            .map_or(0, |r| r.int(0)))
    }

    /// These findings (in this order) with their match, image digest,
    /// package file location and the image's locations: each match, image
    /// and package read once, through indexes that hold what is read.
    fn finding_rows(&mut self, heads: Vec<FindingHead>) -> Result<Vec<FindingRow>, StoreError> {
        let mut match_ids: Vec<i64> = heads.iter().map(|h| h.match_id).collect();
        match_ids.sort_unstable();
        match_ids.dedup();
        let mut image_ids: Vec<i64> = heads.iter().map(|h| h.image_id).collect();
        image_ids.sort_unstable();
        image_ids.dedup();
        // Each match's row, and its stored finding shared by its findings.
        let mut matches: HashMap<i64, (Row, Arc<str>)> = HashMap::with_capacity(match_ids.len());
        let values: Vec<Value> = match_ids.iter().map(|id| Value::Int(*id)).collect();
        self.conn().query_each_in(
            "SELECT m.id, m.package_id, m.vuln_id, m.severity, m.kev, m.epss, m.fixable, \
             m.fixed, p.name, p.version, p.purl, m.detail, m.severity_rank \
             FROM matches m JOIN packages p ON p.id = m.package_id WHERE m.id IN ({in})",
            &values,
            |mut row| {
                let detail = Arc::from(row.take_text(11).unwrap_or_default());
                matches.insert(row.int(0), (row, detail));
                Ok(())
            },
        )?;
        // Digests from the index on (id, digest): the image rows hold SBOMs.
        let mut digests: HashMap<i64, String> = HashMap::with_capacity(image_ids.len());
        let values: Vec<Value> = image_ids.iter().map(|id| Value::Int(*id)).collect();
        // SQLite would read the image rows for a long list of ids: the
        // index is named.
        let digest_sql = match self.backend() {
            crate::Backend::Sqlite => {
                "SELECT id, digest FROM images INDEXED BY images_id_digest WHERE id IN ({in})"
            }
            crate::Backend::Postgres => "SELECT id, digest FROM images WHERE id IN ({in})",
        };
        self.conn().query_each_in(digest_sql, &values, |row| {
            digests.insert(row.int(0), row.text(1));
            Ok(())
        })?;
        let mut locations = self.locations_of(&image_ids)?;
        // The package's file location in each image: one query per package
        // (a page of one vulnerability names a few), through the index on
        // the package (on SQLite it holds the key: image and location; on
        // PostgreSQL the key's own index serves).
        let mut files: HashMap<(i64, i64), String> = HashMap::new();
        let mut by_package: BTreeMap<i64, std::collections::BTreeSet<i64>> = BTreeMap::new();
        for head in &heads {
            if let Some((row, _)) = matches.get(&head.match_id) {
                by_package
                    .entry(row.int(1))
                    .or_default()
                    .insert(head.image_id);
            }
        }
        for (package, images) in by_package {
            let images: Vec<Value> = images.into_iter().map(Value::Int).collect();
            // `package` is an integer id from the store, not user text.
            let sql = format!(
                "SELECT image_id, MIN(location) FROM image_packages \
                 WHERE package_id = {package} AND image_id IN ({{in}}) GROUP BY image_id"
            );
            self.conn().query_each_in(&sql, &images, |row| {
                let location = row.text(1);
                if !location.is_empty() {
                    files.insert((row.int(0), package), location);
                }
                Ok(())
            })?;
        }
        let mut shared: HashMap<i64, Arc<[LocationRow]>> = HashMap::new();
        Ok(heads
            .into_iter()
            .filter_map(|head| {
                let (row, detail) = matches.get(&head.match_id)?;
                let image_locations = shared
                    .entry(head.image_id)
                    .or_insert_with(|| locations.remove(&head.image_id).unwrap_or_default().into())
                    .clone();
                Some(FindingRow {
                    id: head.id,
                    severity_rank: row.int(12),
                    digest: digests.get(&head.image_id).cloned().unwrap_or_default(),
                    state: head.state,
                    first_seen: head.first_seen,
                    resolved_at: head.resolved_at,
                    cause: head.cause,
                    vuln_id: row.text(2),
                    severity: row.text(3),
                    kev: row.int(4) != 0,
                    epss: row.opt_int(5).map(|_| row.real(5)),
                    fixable: row.int(6) != 0,
                    fixed: row.text(7),
                    package: row.text(8),
                    version: row.text(9),
                    purl: row.text(10),
                    location: files.get(&(head.image_id, row.int(1))).cloned(),
                    detail: Arc::clone(detail),
                    locations: image_locations,
                })
            })
            .collect())
    }

    /// Events after `since` (seconds), oldest first.
    pub fn events(&mut self, since: Option<i64>) -> Result<Vec<EventRecord>, StoreError> {
        let rows = self.conn().query(
            "SELECT seq, time, kind, digest, vuln_id, package, severity, kev, cause FROM events \
             WHERE time >= $1 ORDER BY seq",
            &params![since.unwrap_or(i64::MIN)],
        )?;
        Ok(rows.iter().map(event_record).collect())
    }

    /// Events with a sequence number above `after`, oldest first, at most `limit`.
    pub fn events_after(&mut self, after: i64, limit: i64) -> Result<Vec<EventRecord>, StoreError> {
        let rows = self.conn().query(
            "SELECT seq, time, kind, digest, vuln_id, package, severity, kev, cause FROM events \
             WHERE seq > $1 ORDER BY seq LIMIT $2",
            &params![after, limit],
        )?;
        Ok(rows.iter().map(event_record).collect())
    }

    /// Adds an inventory source; its name must be new.
    pub fn add_source(
        &mut self,
        name: &str,
        kind: &str,
        target: &str,
        config: &serde_json::Value,
        now: i64,
    ) -> Result<(), StoreError> {
        if self.source(name)?.is_some() {
            return Err(StoreError::Invalid(format!(
                "a source named `{name}` exists already (remove it first: `drydock fleet remove {name}`)"
            )));
        }
        self.conn().execute(
            "INSERT INTO sources (name, kind, target, config, created_at) VALUES ($1, $2, $3, $4, $5)",
            &params![name, kind, target, config.to_string(), now],
        )?;
        Ok(())
    }

    pub fn source(&mut self, name: &str) -> Result<Option<SourceRow>, StoreError> {
        Ok(self.sources()?.into_iter().find(|s| s.name == name))
    }

    pub fn sources(&mut self) -> Result<Vec<SourceRow>, StoreError> {
        let rows = self.conn().query(
            "SELECT name, kind, target, config, created_at, last_sync, last_error FROM sources ORDER BY name",
            &[],
        )?;
        Ok(rows
            .into_iter()
            .map(|row| SourceRow {
                name: row.text(0),
                kind: row.text(1),
                target: row.text(2),
                config: serde_json::from_str(&row.text(3)).unwrap_or(serde_json::Value::Null),
                created_at: rfc3339(row.int(4)),
                last_sync: row.opt_int(5).map(rfc3339),
                last_error: row.opt_text(6),
            })
            .collect())
    }

    /// Removes a source; its sightings go as a sync that saw nothing would
    /// make them go (images no longer seen anywhere are retired).
    pub fn remove_source(&mut self, name: &str, now: i64) -> Result<bool, StoreError> {
        if self.source(name)?.is_none() {
            return Ok(false);
        }
        self.record_sightings(name, &[], now)?;
        self.transaction(|store| {
            store
                .conn()
                .execute("DELETE FROM sightings WHERE source = $1", &params![name])?;
            store
                .conn()
                .execute("DELETE FROM sources WHERE name = $1", &params![name])?;
            Ok(())
        })?;
        Ok(true)
    }

    /// Records a failed sync of `source` (the rest of the inventory goes on).
    pub fn source_failed(&mut self, name: &str, error: &str, now: i64) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE sources SET last_sync = $1, last_error = $2 WHERE name = $3",
            &params![now, error, name],
        )?;
        Ok(())
    }

    /// Counts for dashboards and tests: images, SBOMs, packages, open findings.
    pub fn counts(&mut self) -> Result<BTreeMap<String, i64>, StoreError> {
        let mut out = BTreeMap::new();
        for (name, sql) in [
            ("images", "SELECT COUNT(*) FROM images"),
            (
                "sboms",
                "SELECT COUNT(*) FROM images WHERE status = 'analysed'",
            ),
            ("packages", "SELECT COUNT(*) FROM packages"),
            ("image_packages", "SELECT COUNT(*) FROM image_packages"),
            (
                "open_findings",
                "SELECT COUNT(*) FROM findings WHERE state = 'open'",
            ),
            (
                "resolved_findings",
                "SELECT COUNT(*) FROM findings WHERE state = 'resolved'",
            ),
            (
                "sightings",
                "SELECT COUNT(*) FROM sightings WHERE gone_at IS NULL",
            ),
            ("events", "SELECT COUNT(*) FROM events"),
        ] {
            let count = self.conn().query_one(sql, &[])?.map_or(0, |r| r.int(0));
            out.insert(name.to_owned(), count);
        }
        Ok(out)
    }
}

/// The `WHERE` conditions of `filter` appended to `sql` (which ends in a
/// `WHERE`), over `findings f`, `matches m`, `images i`, `packages p`;
/// returns the bound values.
pub(crate) fn finding_conditions(filter: &FindingFilter, sql: &mut String) -> Vec<Value> {
    let mut values = image_conditions(filter, sql);
    push_match_conditions(filter, sql, &mut values);
    if let Some(q) = filter.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let pattern = format!("%{}%", like_escape(&q.to_lowercase()));
        let upper = bind(&mut values, Value::from(pattern.to_uppercase()));
        let lower = bind(&mut values, Value::from(pattern));
        // Digests are scanned only when the text can occur in one.
        let digests = if may_occur_in_digest(&q.to_lowercase()) {
            format!("SELECT id FROM images WHERE digest LIKE {lower} ESCAPE '!' UNION ")
        } else {
            String::new()
        };
        let _ = write!(
            sql,
            " AND (f.match_id IN (SELECT match_id FROM match_ids WHERE vid LIKE {upper} ESCAPE '!' \
               UNION SELECT id FROM matches WHERE package_id IN \
                 (SELECT id FROM packages WHERE LOWER(name) LIKE {lower} ESCAPE '!')) \
             OR f.image_id IN ({digests}SELECT image_id FROM sightings WHERE gone_at IS NULL \
               AND (LOWER(reference) LIKE {lower} ESCAPE '!' OR LOWER(COALESCE(pod, '')) LIKE {lower} ESCAPE '!' \
               OR LOWER(COALESCE(workload, '')) LIKE {lower} ESCAPE '!')))"
        );
    }
    values
}

fn bind(values: &mut Vec<Value>, value: Value) -> String {
    values.push(value);
    format!("${}", values.len())
}

/// The conditions of `filter` on a finding's state and image (over
/// `findings f` alone), appended to `sql`; returns the bound values.
fn image_conditions(filter: &FindingFilter, sql: &mut String) -> Vec<Value> {
    let mut values: Vec<Value> = Vec::new();
    if !filter.include_resolved {
        sql.push_str(" AND f.state = 'open'");
    }
    if let Some(namespace) = &filter.namespace {
        let p = bind(&mut values, Value::from(namespace.as_str()));
        let _ = write!(
            sql,
            " AND f.image_id IN (SELECT image_id FROM sightings WHERE gone_at IS NULL AND namespace = {p})"
        );
    }
    if let Some(cluster) = &filter.cluster {
        let p = bind(&mut values, Value::from(cluster.as_str()));
        let _ = write!(
            sql,
            " AND f.image_id IN (SELECT image_id FROM sightings WHERE gone_at IS NULL AND cluster = {p})"
        );
    }
    if let Some(image) = &filter.image {
        let p = bind(&mut values, Value::from(image.as_str()));
        let _ = write!(
            sql,
            " AND f.image_id IN (SELECT id FROM images WHERE digest = {p} UNION SELECT image_id FROM sightings \
             WHERE gone_at IS NULL AND (reference = {p} OR repository = {p} \
             OR (COALESCE(registry, '') || '/' || COALESCE(repository, '')) = {p}))"
        );
    }
    values
}

/// The conditions of `filter` on the match (over `matches m`, `packages
/// p`): vulnerability, severity, KEV, fixable, package; free text aside.
fn match_conditions(filter: &FindingFilter, sql: &mut String) -> Vec<Value> {
    let mut values = Vec::new();
    push_match_conditions(filter, sql, &mut values);
    values
}

fn push_match_conditions(filter: &FindingFilter, sql: &mut String, values: &mut Vec<Value>) {
    if let Some(vuln) = &filter.vuln {
        let p = bind(values, Value::from(vuln.to_ascii_uppercase()));
        let _ = write!(
            sql,
            " AND m.id IN (SELECT match_id FROM match_ids WHERE vid = {p})"
        );
    }
    if let Some(severity) = filter.severity {
        let p = bind(values, Value::Int(severity as i64));
        let _ = write!(sql, " AND m.severity_rank >= {p}");
    }
    if filter.kev {
        sql.push_str(" AND m.kev = 1");
    }
    if filter.fixable {
        sql.push_str(" AND m.fixable = 1");
    }
    if let Some(package) = &filter.package {
        let p = bind(values, Value::from(package.as_str()));
        let _ = write!(sql, " AND p.name = {p}");
    }
}

/// `%`, `_` and the escape character `!` taken literally in a `LIKE` pattern.
fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(c);
    }
    out
}

/// Whether `lower` (lowercased text) can be a substring of a stored image
/// digest: `sha256:` or `sha512:` and lowercase hex digits, as
/// [`drydock_core::Digest`] writes them (images are stored by that form).
fn may_occur_in_digest(lower: &str) -> bool {
    let hex = |text: &str| {
        text.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    ["sha256", "sha512"]
        .iter()
        .any(|algorithm| match lower.split_once(':') {
            // The colon is the digest's only one: before it, the end of the
            // algorithm's name; after it, hex.
            Some((before, after)) => algorithm.ends_with(before) && hex(after),
            // Within the name, or within the hex.
            None => algorithm.contains(lower) || hex(lower),
        })
}

/// `text` as an FTS5 phrase: a string in double quotes (doubled inside);
/// with the trigram tokenizer, the rows holding it as a substring (ignoring
/// case), and maybe more.
fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

pub(crate) fn event_record(row: &Row) -> EventRecord {
    EventRecord {
        seq: row.int(0),
        time: rfc3339(row.int(1)),
        kind: row.text(2),
        digest: row.text(3),
        vulnerability: row.opt_text(4),
        package: row.opt_text(5),
        severity: row.opt_text(6),
        kev: row.opt_int(7).map(|k| k != 0),
        cause: row.text(8),
    }
}

#[cfg(test)]
#[path = "query_tests.rs"]
mod tests;

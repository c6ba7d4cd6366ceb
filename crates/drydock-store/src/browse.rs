//! Queries of the API and the dashboard (`drydock serve`): where images
//! run, summaries per vulnerability, counts and trends. Both backends, the
//! same statements.
use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::query::{
    FindingFilter, LOCATION_COLUMNS, LocationRow, finding_conditions, location_row,
};
use crate::sql::Value;
use crate::{Store, StoreError, params};

/// One running container: its place and its image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Placement {
    pub digest: String,
    /// `analysed` or `not-analysed`.
    pub status: String,
    #[serde(flatten)]
    pub location: LocationRow,
}

/// One vulnerability across the fleet (the vulnerabilities table).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct VulnerabilitySummary {
    pub id: String,
    /// The highest severity among its findings.
    pub severity: String,
    pub kev: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epss: Option<f64>,
    /// A fix is known for at least one affected package.
    pub fixable: bool,
    pub images: i64,
    pub findings: i64,
    /// Affected package names, sorted, at most 5.
    pub packages: Vec<String>,
}

/// Findings opened and resolved on one day (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct TrendDay {
    /// Days since the epoch.
    pub day: i64,
    pub opened: i64,
    pub resolved: i64,
}

const SEVERITIES: [&str; 6] = ["critical", "high", "medium", "low", "negligible", "unknown"];

impl Store {
    /// Refreshes the query planner's statistics where they are missing or
    /// stale (SQLite: `PRAGMA optimize` with a bounded analysis; without
    /// statistics its planner takes `findings.state = 'open'` for a
    /// selective index and scans every open finding). PostgreSQL's
    /// autovacuum keeps its own statistics: nothing to do.
    pub fn optimize(&mut self) -> Result<(), StoreError> {
        if self.backend() == crate::Backend::Sqlite {
            // Sampled statistics (`analysis_limit`) misjudge `state` as
            // selective: a full ANALYZE (about a second at 1.5 million
            // findings) when none exist, else SQLite's own judgement.
            let analysed = self
                .conn()
                .query_one(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'",
                    &[],
                )?
                .is_some();
            self.conn().batch(if analysed {
                "PRAGMA optimize = 0x10002"
            } else {
                "ANALYZE"
            })?;
        }
        Ok(())
    }

    /// Containers seen in Kubernetes clusters now, optionally of one cluster
    /// and namespace, ordered by cluster, namespace, workload, pod, container.
    pub fn placements(
        &mut self,
        cluster: Option<&str>,
        namespace: Option<&str>,
    ) -> Result<Vec<Placement>, StoreError> {
        let mut sql = format!(
            "SELECT i.digest, i.status, {} FROM sightings s JOIN images i ON i.id = s.image_id \
             WHERE s.gone_at IS NULL AND s.kind = 'kubernetes'",
            LOCATION_COLUMNS
                .split(", ")
                .map(|c| format!("s.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut values = Vec::new();
        if let Some(cluster) = cluster {
            values.push(Value::from(cluster));
            let _ = write!(sql, " AND s.cluster = ${}", values.len());
        }
        if let Some(namespace) = namespace {
            values.push(Value::from(namespace));
            let _ = write!(sql, " AND s.namespace = ${}", values.len());
        }
        sql.push_str(
            " ORDER BY s.cluster, s.namespace, s.workload_kind, s.workload, s.pod, s.container, i.digest",
        );
        let rows = self.conn().query(&sql, &values)?;
        Ok(rows
            .into_iter()
            .map(|mut row| Placement {
                digest: row.take_text(0).unwrap_or_default(),
                status: row.take_text(1).unwrap_or_default(),
                location: location_row(&mut row, 2),
            })
            .collect())
    }

    /// Events at or after `since` with a sequence number above `after`,
    /// oldest first, at most `limit`.
    pub fn events_page(
        &mut self,
        since: Option<i64>,
        after: i64,
        limit: usize,
    ) -> Result<Vec<crate::EventRecord>, StoreError> {
        let rows = self.conn().query(
            &format!(
                "SELECT seq, time, kind, digest, vuln_id, package, severity, kev, cause FROM events \
                 WHERE time >= $1 AND seq > $2 ORDER BY seq LIMIT {limit}"
            ),
            &params![since.unwrap_or(i64::MIN), after],
        )?;
        Ok(rows.iter().map(crate::query::event_record).collect())
    }

    /// Open findings by severity, plus `kev`, `fixable` and `total`; and
    /// `vulnerabilities` (distinct ids) and `images` (with an open finding).
    pub fn open_counts(&mut self) -> Result<BTreeMap<String, i64>, StoreError> {
        let mut out: BTreeMap<String, i64> =
            SEVERITIES.iter().map(|s| ((*s).to_owned(), 0)).collect();
        for key in ["kev", "fixable", "total"] {
            out.insert(key.to_owned(), 0);
        }
        self.conn().query_each(
            "SELECT m.severity, m.kev, m.fixable, COUNT(*) FROM findings f \
             JOIN matches m ON m.id = f.match_id WHERE f.state = 'open' \
             GROUP BY m.severity, m.kev, m.fixable",
            &[],
            |row| {
                let count = row.int(3);
                *out.entry(row.text(0)).or_default() += count;
                if row.int(1) != 0 {
                    *out.entry("kev".to_owned()).or_default() += count;
                }
                if row.int(2) != 0 {
                    *out.entry("fixable".to_owned()).or_default() += count;
                }
                *out.entry("total".to_owned()).or_default() += count;
                Ok(())
            },
        )?;
        let distinct = self
            .conn()
            .query_one(
                "SELECT COUNT(DISTINCT m.vuln_id), COUNT(DISTINCT f.image_id) FROM findings f \
                 JOIN matches m ON m.id = f.match_id WHERE f.state = 'open'",
                &[],
            )?
            .map_or((0, 0), |r| (r.int(0), r.int(1)));
        out.insert("vulnerabilities".to_owned(), distinct.0);
        out.insert("images".to_owned(), distinct.1);
        Ok(out)
    }

    /// Images by status and sightings by kind (active), for `/metrics`.
    pub fn inventory_counts(&mut self) -> Result<BTreeMap<String, i64>, StoreError> {
        let mut out = BTreeMap::new();
        self.conn().query_each(
            "SELECT status, CASE WHEN gone_at IS NULL THEN 'current' ELSE 'gone' END, COUNT(*) \
             FROM images GROUP BY status, CASE WHEN gone_at IS NULL THEN 'current' ELSE 'gone' END",
            &[],
            |row| {
                out.insert(
                    format!("images:{}:{}", row.text(0), row.text(1)),
                    row.int(2),
                );
                Ok(())
            },
        )?;
        self.conn().query_each(
            "SELECT kind, COUNT(*) FROM sightings WHERE gone_at IS NULL GROUP BY kind",
            &[],
            |row| {
                out.insert(format!("sightings:{}", row.text(0)), row.int(1));
                Ok(())
            },
        )?;
        Ok(out)
    }

    /// Findings opened and resolved per day (from the event log), oldest first.
    pub fn finding_trend(&mut self) -> Result<Vec<TrendDay>, StoreError> {
        let mut days: BTreeMap<i64, TrendDay> = BTreeMap::new();
        self.conn().query_each(
            "SELECT time / 86400, kind, COUNT(*) FROM events \
             WHERE kind IN ('finding-opened', 'finding-resolved') GROUP BY time / 86400, kind",
            &[],
            |row| {
                let day = row.int(0);
                let entry = days.entry(day).or_insert(TrendDay {
                    day,
                    opened: 0,
                    resolved: 0,
                });
                if row.text(1) == "finding-opened" {
                    entry.opened += row.int(2);
                } else {
                    entry.resolved += row.int(2);
                }
                Ok(())
            },
        )?;
        Ok(days.into_values().collect())
    }

    /// Vulnerabilities with findings matching `filter`, in priority order
    /// (KEV, severity, EPSS, fixable, id), `offset` rows skipped, at most
    /// `limit`; and how many there are in all.
    pub fn vulnerability_summaries(
        &mut self,
        filter: &FindingFilter,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<VulnerabilitySummary>, i64), StoreError> {
        let mut conditions = String::new();
        let values = finding_conditions(filter, &mut conditions);
        let from = "FROM findings f JOIN matches m ON m.id = f.match_id \
             JOIN images i ON i.id = f.image_id JOIN packages p ON p.id = m.package_id WHERE 1 = 1";
        let total = self
            .conn()
            .query_one(
                &format!("SELECT COUNT(DISTINCT m.vuln_id) {from}{conditions}"),
                &values,
            )?
            .map_or(0, |r| r.int(0));
        let rows = self.conn().query(
            &format!(
                "SELECT m.vuln_id, MAX(m.kev), MAX(m.severity_rank), MAX(COALESCE(m.epss, -1.0)), \
                 MAX(m.fixable), COUNT(DISTINCT f.image_id), COUNT(*) {from}{conditions} \
                 GROUP BY m.vuln_id ORDER BY MAX(m.kev) DESC, MAX(m.severity_rank) DESC, \
                 MAX(COALESCE(m.epss, -1.0)) DESC, MAX(m.fixable) DESC, m.vuln_id \
                 LIMIT {limit} OFFSET {offset}"
            ),
            &values,
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id = row.text(0);
            let packages = self.conn().query(
                "SELECT DISTINCT p.name FROM matches m JOIN packages p ON p.id = m.package_id \
                 WHERE m.vuln_id = $1 AND EXISTS (SELECT 1 FROM findings f WHERE f.match_id = m.id) \
                 ORDER BY p.name LIMIT 5",
                &params![id.as_str()],
            )?;
            let epss = row.real(3);
            out.push(VulnerabilitySummary {
                severity: severity_name(row.int(2)),
                kev: row.int(1) != 0,
                epss: (epss >= 0.0).then_some(epss),
                fixable: row.int(4) != 0,
                images: row.int(5),
                findings: row.int(6),
                packages: packages.iter().map(|r| r.text(0)).collect(),
                id,
            });
        }
        Ok((out, total))
    }
}

/// The name of a severity rank (`severity_rank` column).
fn severity_name(rank: i64) -> String {
    use drydock_vuln::SeverityLevel;
    [
        SeverityLevel::Unknown,
        SeverityLevel::Negligible,
        SeverityLevel::Low,
        SeverityLevel::Medium,
        SeverityLevel::High,
        SeverityLevel::Critical,
    ]
    .into_iter()
    .find(|level| *level as i64 == rank)
    .map_or_else(|| "unknown".to_owned(), |level| level.to_string())
}

//! Time to identify (MTTI) and time to remediate (MTTR), per severity, for
//! KEV and per ISO week, and the open findings past their deadline.
//!
//! - identify = when drydock first reported the finding − the later of the
//!   advisory's publication and the digest's first sighting (never < 0; a
//!   finding whose advisory has no publication date counts from the
//!   sighting);
//! - remediate = when it was resolved − when it was first reported, for
//!   every resolution except `advisory-withdrawn` (a withdrawn advisory is
//!   not a fix);
//! - median and p90 by the nearest-rank method: the value at rank
//!   ⌈p·n⌉ of the n sorted durations.
use std::collections::BTreeMap;

use crate::{Store, StoreError, rfc3339};

/// Deadlines in days for open findings (US BOD 19-02 / 22-01 defaults).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Deadlines {
    pub kev: Option<i64>,
    pub critical: Option<i64>,
    pub high: Option<i64>,
    pub medium: Option<i64>,
    pub low: Option<i64>,
}

impl Default for Deadlines {
    fn default() -> Self {
        Deadlines {
            kev: Some(14),
            critical: Some(15),
            high: Some(30),
            medium: None,
            low: None,
        }
    }
}

impl Deadlines {
    /// Applies `NAME=DAYS` (`kev=7`, `critical=10`, `medium=90`, `high=off`).
    pub fn set(&mut self, text: &str) -> Result<(), String> {
        let (name, days) = text
            .split_once('=')
            .ok_or_else(|| format!("`{text}`: expected SEVERITY=DAYS (e.g. critical=15)"))?;
        let days = match days.trim() {
            "off" | "none" => None,
            number => Some(
                number
                    .parse::<i64>()
                    .ok()
                    .filter(|d| *d >= 0)
                    .ok_or_else(|| format!("`{text}`: days must be a whole number or `off`"))?,
            ),
        };
        let slot = match name.trim().to_ascii_lowercase().as_str() {
            "kev" => &mut self.kev,
            "critical" => &mut self.critical,
            "high" => &mut self.high,
            "medium" => &mut self.medium,
            "low" => &mut self.low,
            other => {
                return Err(format!(
                    "`{other}`: expected kev, critical, high, medium or low"
                ));
            }
        };
        *slot = days;
        Ok(())
    }

    fn for_finding(&self, severity: &str, kev: bool) -> Option<i64> {
        if kev && let Some(days) = self.kev {
            return Some(days);
        }
        match severity {
            "critical" => self.critical,
            "high" => self.high,
            "medium" => self.medium,
            "low" => self.low,
            _ => None,
        }
    }
}

/// Median and p90 of a set of durations, in seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct MttSummary {
    pub count: usize,
    pub median_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
}

impl MttSummary {
    fn of(mut values: Vec<i64>) -> MttSummary {
        values.sort_unstable();
        let rank = |p: f64| -> Option<i64> {
            if values.is_empty() {
                return None;
            }
            let index = ((p * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1;
            values.get(index).copied()
        };
        MttSummary {
            count: values.len(),
            median_seconds: rank(0.5),
            p90_seconds: rank(0.9),
        }
    }
}

/// One ISO week: identification and remediation in that week.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct WeekSummary {
    /// `2026-W48`.
    pub week: String,
    pub mtti: MttSummary,
    pub mttr: MttSummary,
}

/// An open finding past its deadline.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Overdue {
    pub digest: String,
    pub vulnerability: String,
    pub package: String,
    pub severity: String,
    pub kev: bool,
    pub first_seen: String,
    pub deadline_days: i64,
    pub overdue_days: i64,
}

/// `drydock fleet metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Metrics {
    pub now: String,
    /// Keys: `all`, `kev`, and each severity.
    pub mtti: BTreeMap<String, MttSummary>,
    pub mttr: BTreeMap<String, MttSummary>,
    pub weeks: Vec<WeekSummary>,
    pub open: usize,
    pub overdue: Vec<Overdue>,
}

/// `YYYY-Www` of an instant (ISO 8601 week date).
pub(crate) fn iso_week(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    // 1970-01-01 was a Thursday; ISO weekday 1 = Monday.
    let weekday = (days + 3).rem_euclid(7) + 1;
    let thursday = days - weekday + 4;
    let year = civil_year(thursday);
    let jan1 = days_from_civil(year, 1, 1);
    let week = (thursday - jan1) / 7 + 1;
    format!("{year:04}-W{week:02}")
}

fn civil_year(days: i64) -> i64 {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(month <= 2)
}

fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl Store {
    /// MTTI/MTTR over every finding in the store, and overdue open ones at `now`.
    pub fn metrics(&mut self, deadlines: &Deadlines, now: i64) -> Result<Metrics, StoreError> {
        let mut mtti: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        let mut mttr: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        let mut weeks: BTreeMap<String, (Vec<i64>, Vec<i64>)> = BTreeMap::new();
        let mut metrics = Metrics {
            now: rfc3339(now),
            ..Metrics::default()
        };
        // Streamed: a fleet has millions of findings.
        self.conn().query_each(
            "SELECT f.first_seen, f.resolved_at, f.cause, f.state, m.severity, m.kev, \
             m.published, i.first_seen, i.digest, m.vuln_id, p.name \
             FROM findings f JOIN matches m ON m.id = f.match_id \
             JOIN images i ON i.id = f.image_id JOIN packages p ON p.id = m.package_id \
             ORDER BY f.id",
            &[],
            |row| {
                let reported = row.int(0);
                let severity = row.text(4);
                let kev = row.int(5) != 0;
                let start = row.opt_int(6).unwrap_or(i64::MIN).max(row.int(7));
                let identify = (reported - start).max(0);
                let mut keys = vec!["all".to_owned(), severity.clone()];
                if kev {
                    keys.push("kev".to_owned());
                }
                for key in &keys {
                    mtti.entry(key.clone()).or_default().push(identify);
                }
                weeks
                    .entry(iso_week(reported))
                    .or_default()
                    .0
                    .push(identify);
                let cause = row.text(2);
                if let Some(resolved) = row.opt_int(1)
                    && row.text(3) == "resolved"
                    && cause != "advisory-withdrawn"
                {
                    let remediate = (resolved - reported).max(0);
                    for key in &keys {
                        mttr.entry(key.clone()).or_default().push(remediate);
                    }
                    weeks
                        .entry(iso_week(resolved))
                        .or_default()
                        .1
                        .push(remediate);
                }
                if row.text(3) == "open" {
                    metrics.open += 1;
                    if let Some(days) = deadlines.for_finding(&severity, kev) {
                        let age = now - reported;
                        if age > days * 86_400 {
                            metrics.overdue.push(Overdue {
                                digest: row.text(8),
                                vulnerability: row.text(9),
                                package: row.text(10),
                                severity: severity.clone(),
                                kev,
                                first_seen: rfc3339(reported),
                                deadline_days: days,
                                overdue_days: (age - days * 86_400) / 86_400,
                            });
                        }
                    }
                }
                Ok(())
            },
        )?;
        metrics.mtti = mtti
            .into_iter()
            .map(|(k, v)| (k, MttSummary::of(v)))
            .collect();
        metrics.mttr = mttr
            .into_iter()
            .map(|(k, v)| (k, MttSummary::of(v)))
            .collect();
        metrics.weeks = weeks
            .into_iter()
            .map(|(week, (identify, remediate))| WeekSummary {
                week,
                mtti: MttSummary::of(identify),
                mttr: MttSummary::of(remediate),
            })
            .collect();
        metrics.overdue.sort_by(|a, b| {
            b.overdue_days
                .cmp(&a.overdue_days)
                .then_with(|| a.digest.cmp(&b.digest))
                .then_with(|| a.vulnerability.cmp(&b.vulnerability))
        });
        Ok(metrics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let s = MttSummary::of(vec![5, 1, 3, 2, 4]);
        assert_eq!(s.median_seconds, Some(3));
        assert_eq!(s.p90_seconds, Some(5));
        let s = MttSummary::of(vec![10, 20]);
        assert_eq!(s.median_seconds, Some(10));
        assert_eq!(s.p90_seconds, Some(20));
        assert_eq!(MttSummary::of(vec![]).median_seconds, None);
    }

    #[test]
    fn iso_weeks() {
        // 2021-01-03 is in 2020-W53; 2021-01-04 starts 2021-W01.
        assert_eq!(iso_week(1_609_632_000), "2020-W53");
        assert_eq!(iso_week(1_609_718_400), "2021-W01");
        // 2026-12-02 (a Wednesday).
        assert_eq!(iso_week(1_796_212_800), "2026-W49");
    }
}

//! Notification targets and their outbox.
//!
//! A target reads the event log from its `cursor`. [`Store::enqueue_deliveries`]
//! turns the events past the cursor that pass the target's filters into
//! `deliveries` rows (one per event, keyed by [`idempotency_key`]) and
//! advances the cursor in the same transaction, so an event is queued
//! exactly once. A sender claims a due delivery ([`Store::claim_delivery`]:
//! a conditional update, so two senders never send the same row at once),
//! sends it, and marks it delivered or failed with the next attempt time.
//! Ticket formats (`github-issue`, `jira`) keep one row per (target,
//! vulnerability, digest) in `tickets`.
use sha2::Digest as _;

use drydock_vuln::SeverityLevel;

use crate::ingest::hex;
use crate::query::{EventRecord, LocationRow};
use crate::{Store, StoreError, params, rfc3339};

/// A configured notification target.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NotifyTarget {
    pub name: String,
    pub url: String,
    #[serde(skip)]
    pub secret: Option<String>,
    #[serde(skip)]
    pub token: Option<String>,
    /// `generic`, `slack`, `github-issue` or `jira`.
    pub format: String,
    /// Findings at or above this severity (`unknown`: everything).
    pub min_severity: String,
    pub kev_only: bool,
    /// Format-specific settings (Jira project, transition, timeout, labels).
    pub options: serde_json::Value,
    pub created_at: i64,
    /// The last event sequence number queued for this target.
    pub cursor: i64,
}

impl NotifyTarget {
    /// Ticket formats track one ticket per (vulnerability, digest).
    pub fn is_ticket(&self) -> bool {
        matches!(self.format.as_str(), "github-issue" | "jira")
    }

    /// Whether `event` is for this target.
    pub fn wants(&self, event: &EventRecord) -> bool {
        let finding = matches!(event.kind.as_str(), "finding-opened" | "finding-resolved");
        if self.is_ticket() && !finding {
            return false;
        }
        let minimum: SeverityLevel = self.min_severity.parse().unwrap_or_default();
        if !finding {
            // Image events carry no severity: only unfiltered targets get them.
            return minimum == SeverityLevel::Unknown && !self.kev_only;
        }
        if self.kev_only && event.kev != Some(true) {
            return false;
        }
        let severity: SeverityLevel = event
            .severity
            .as_deref()
            .and_then(|s| s.parse().ok())
            .unwrap_or_default();
        severity >= minimum
    }
}

/// The idempotency key of one event for one target: SHA-256 over target,
/// digest, vulnerability, package, kind and sequence number.
pub fn idempotency_key(target: &str, event: &EventRecord) -> String {
    let mut hasher = sha2::Sha256::new();
    for part in [
        target,
        event.digest.as_str(),
        event.vulnerability.as_deref().unwrap_or(""),
        event.package.as_deref().unwrap_or(""),
        event.kind.as_str(),
        &event.seq.to_string(),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hex(&hasher.finalize())
}

/// One queued delivery with its event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub key: String,
    pub attempts: i64,
    pub event: EventRecord,
}

/// Delivery counts of a target (`drydock fleet notify list`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DeliveryStats {
    pub delivered: i64,
    pub pending: i64,
    /// Pending deliveries that failed at least once.
    pub failing: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt: Option<String>,
}

/// One ticket of a ticket-format target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub target: String,
    pub vuln_id: String,
    pub digest: String,
    /// The issue number (GitHub) or key (Jira).
    pub external_id: Option<String>,
    /// `open` or `closed`.
    pub state: String,
    pub locations: i64,
    /// SHA-256 of the body last sent.
    pub body_sha: Option<String>,
}

fn target_from_row(row: &crate::Row) -> NotifyTarget {
    NotifyTarget {
        name: row.text(0),
        url: row.text(1),
        secret: row.opt_text(2),
        format: row.text(3),
        min_severity: row.text(4),
        kev_only: row.int(5) != 0,
        created_at: row.int(6),
        cursor: row.int(7),
        token: row.opt_text(8),
        options: row
            .opt_text(9)
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or(serde_json::Value::Null),
    }
}

const TARGET_COLUMNS: &str =
    "name, url, secret, format, min_severity, kev_only, created_at, cursor, token, options";

const EVENT_COLUMNS: &str = "e.seq, e.time, e.kind, e.digest, e.vuln_id, e.package, e.severity, \
     e.kev, e.cause";

fn event_from_row(row: &crate::Row, offset: usize) -> EventRecord {
    EventRecord {
        seq: row.int(offset),
        time: rfc3339(row.int(offset + 1)),
        kind: row.text(offset + 2),
        digest: row.text(offset + 3),
        vulnerability: row.opt_text(offset + 4),
        package: row.opt_text(offset + 5),
        severity: row.opt_text(offset + 6),
        kev: row.opt_int(offset + 7).map(|k| k != 0),
        cause: row.text(offset + 8),
    }
}

impl Store {
    /// Adds a target. It starts at the current end of the event log, or at
    /// its beginning with `from_start`. Returns the starting cursor.
    pub fn add_notify_target(
        &mut self,
        target: &NotifyTarget,
        from_start: bool,
    ) -> Result<i64, StoreError> {
        self.transaction(|store| {
            let conn = store.conn();
            if conn
                .query_one(
                    "SELECT 1 FROM notify_targets WHERE name = $1",
                    &params![target.name.as_str()],
                )?
                .is_some()
            {
                return Err(StoreError::Invalid(format!(
                    "a notification target named `{}` exists already (remove it first: `drydock fleet notify remove {}`)",
                    target.name, target.name
                )));
            }
            let cursor = if from_start {
                0
            } else {
                conn.query_one("SELECT COALESCE(MAX(seq), 0) FROM events", &[])?
                    .map_or(0, |row| row.int(0))
            };
            conn.execute(
                &format!(
                    "INSERT INTO notify_targets ({TARGET_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
                ),
                &params![
                    target.name.as_str(),
                    target.url.as_str(),
                    target.secret.clone(),
                    target.format.as_str(),
                    target.min_severity.as_str(),
                    target.kev_only,
                    target.created_at,
                    cursor,
                    target.token.clone(),
                    target.options.to_string()
                ],
            )?;
            Ok(cursor)
        })
    }

    /// Every target, by name.
    pub fn notify_targets(&mut self) -> Result<Vec<NotifyTarget>, StoreError> {
        let rows = self.conn().query(
            &format!("SELECT {TARGET_COLUMNS} FROM notify_targets ORDER BY name"),
            &[],
        )?;
        Ok(rows.iter().map(target_from_row).collect())
    }

    /// Removes a target with its deliveries and tickets.
    pub fn remove_notify_target(&mut self, name: &str) -> Result<bool, StoreError> {
        self.transaction(|store| {
            let conn = store.conn();
            let removed =
                conn.execute("DELETE FROM notify_targets WHERE name = $1", &params![name])?;
            conn.execute("DELETE FROM deliveries WHERE target = $1", &params![name])?;
            conn.execute("DELETE FROM tickets WHERE target = $1", &params![name])?;
            Ok(removed > 0)
        })
    }

    /// Queues the events past the cursor of `target` that pass its filters
    /// and advances the cursor, in one transaction. Returns how many were
    /// queued.
    pub fn enqueue_deliveries(&mut self, target: &str, now: i64) -> Result<usize, StoreError> {
        self.transaction(|store| {
            let Some(row) = store.conn().query_one(
                &format!("SELECT {TARGET_COLUMNS} FROM notify_targets WHERE name = $1"),
                &params![target],
            )?
            else {
                return Err(StoreError::Invalid(format!(
                    "no notification target named `{target}`"
                )));
            };
            let target = target_from_row(&row);
            let mut cursor = target.cursor;
            let mut queued = 0;
            loop {
                let events = store.events_after(cursor, 1000)?;
                let Some(last) = events.last() else { break };
                let last = last.seq;
                let mut rows = Vec::new();
                for event in events.iter().filter(|e| target.wants(e)) {
                    rows.push(crate::row![
                        target.name.as_str(),
                        idempotency_key(&target.name, event),
                        event.seq,
                        "pending",
                        0_i64,
                        now
                    ]);
                }
                queued += rows.len();
                store.conn().insert_many(
                    "deliveries",
                    &[
                        "target",
                        "key",
                        "event_seq",
                        "state",
                        "attempts",
                        "next_attempt",
                    ],
                    &rows,
                    "ON CONFLICT (target, key) DO NOTHING",
                )?;
                cursor = last;
            }
            if cursor != target.cursor {
                store.conn().execute(
                    "UPDATE notify_targets SET cursor = $1 WHERE name = $2",
                    &params![cursor, target.name.as_str()],
                )?;
            }
            Ok(queued)
        })
    }

    /// Pending deliveries of `target` due at `now`, oldest event first, up
    /// to the first one that is waiting (for a retry, or claimed by another
    /// sender): events reach a target in order.
    pub fn due_deliveries(
        &mut self,
        target: &str,
        now: i64,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError> {
        let rows = self.conn().query(
            &format!(
                "SELECT d.id, d.key, d.attempts, {EVENT_COLUMNS} FROM deliveries d \
                 JOIN events e ON e.seq = d.event_seq \
                 WHERE d.target = $1 AND d.state = 'pending' AND d.next_attempt <= $2 \
                 AND NOT EXISTS (SELECT 1 FROM deliveries w WHERE w.target = $1 \
                   AND w.state = 'pending' AND w.next_attempt > $2 AND w.event_seq < d.event_seq) \
                 ORDER BY d.event_seq, d.id LIMIT $3"
            ),
            &params![target, now, limit],
        )?;
        Ok(rows
            .iter()
            .map(|row| Delivery {
                id: row.int(0),
                key: row.text(1),
                attempts: row.int(2),
                event: event_from_row(row, 3),
            })
            .collect())
    }

    /// Claims a due delivery until `lease_until` (a sender that dies
    /// leaves it to be retried then). `false` when another sender has it.
    pub fn claim_delivery(
        &mut self,
        id: i64,
        now: i64,
        lease_until: i64,
    ) -> Result<bool, StoreError> {
        let changed = self.conn().execute(
            "UPDATE deliveries SET next_attempt = $1 \
             WHERE id = $2 AND state = 'pending' AND next_attempt <= $3",
            &params![lease_until, id, now],
        )?;
        Ok(changed == 1)
    }

    /// The receiver acknowledged the delivery.
    pub fn delivery_succeeded(
        &mut self,
        id: i64,
        attempts: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE deliveries SET state = 'delivered', attempts = $1, delivered_at = $2, \
             last_error = NULL WHERE id = $3",
            &params![attempts, now, id],
        )?;
        Ok(())
    }

    /// Every attempt of this run failed: kept, retried at `next_attempt`.
    pub fn delivery_failed(
        &mut self,
        id: i64,
        attempts: i64,
        error: &str,
        next_attempt: i64,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE deliveries SET attempts = $1, last_error = $2, next_attempt = $3 WHERE id = $4",
            &params![attempts, error, next_attempt, id],
        )?;
        Ok(())
    }

    /// Delivery counts of `target`.
    pub fn delivery_stats(&mut self, target: &str) -> Result<DeliveryStats, StoreError> {
        let mut stats = DeliveryStats::default();
        for row in self.conn().query(
            "SELECT state, COUNT(*), SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END), \
             MIN(next_attempt) FROM deliveries WHERE target = $1 GROUP BY state",
            &params![target],
        )? {
            match row.text(0).as_str() {
                "delivered" => stats.delivered = row.int(1),
                "pending" => {
                    stats.pending = row.int(1);
                    stats.failing = row.int(2);
                    stats.next_attempt = row.opt_int(3).map(rfc3339);
                }
                _ => {}
            }
        }
        stats.last_error = self
            .conn()
            .query_one(
                "SELECT last_error FROM deliveries WHERE target = $1 AND state = 'pending' \
                 AND last_error IS NOT NULL ORDER BY event_seq DESC LIMIT 1",
                &params![target],
            )?
            .and_then(|row| row.opt_text(0));
        Ok(stats)
    }

    /// The ticket of (target, vulnerability, digest), if any.
    pub fn ticket(
        &mut self,
        target: &str,
        vuln_id: &str,
        digest: &str,
    ) -> Result<Option<Ticket>, StoreError> {
        let row = self.conn().query_one(
            "SELECT target, vuln_id, digest, external_id, state, locations, body_sha FROM tickets \
             WHERE target = $1 AND vuln_id = $2 AND digest = $3",
            &params![target, vuln_id, digest],
        )?;
        Ok(row.map(|row| ticket_from_row(&row)))
    }

    /// Open tickets of `target`.
    pub fn open_tickets(&mut self, target: &str) -> Result<Vec<Ticket>, StoreError> {
        let rows = self.conn().query(
            "SELECT target, vuln_id, digest, external_id, state, locations, body_sha FROM tickets \
             WHERE target = $1 AND state = 'open' ORDER BY vuln_id, digest",
            &params![target],
        )?;
        Ok(rows.iter().map(ticket_from_row).collect())
    }

    /// Inserts or replaces a ticket row.
    pub fn put_ticket(&mut self, ticket: &Ticket, now: i64) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO tickets (target, vuln_id, digest, external_id, state, locations, \
             body_sha, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (target, vuln_id, digest) DO UPDATE SET external_id = $4, state = $5, \
             locations = $6, body_sha = $7, updated_at = $8",
            &params![
                ticket.target.as_str(),
                ticket.vuln_id.as_str(),
                ticket.digest.as_str(),
                ticket.external_id.clone(),
                ticket.state.as_str(),
                ticket.locations,
                ticket.body_sha.clone(),
                now
            ],
        )?;
        Ok(())
    }

    /// Where `digest` is seen now (active sightings), in a stable order.
    pub fn image_locations(&mut self, digest: &str) -> Result<Vec<LocationRow>, StoreError> {
        let rows = self.conn().query(
            "SELECT s.kind, s.source, s.reference, s.registry, s.repository, s.tag, s.cluster, \
             s.namespace, s.workload_kind, s.workload, s.pod, s.container, s.container_kind, \
             s.first_seen, s.last_seen FROM sightings s JOIN images i ON i.id = s.image_id \
             WHERE i.digest = $1 AND s.gone_at IS NULL ORDER BY s.source, s.key",
            &params![digest],
        )?;
        Ok(rows
            .iter()
            .map(|row| LocationRow {
                kind: row.text(0),
                source: row.text(1),
                reference: row.text(2),
                registry: row.opt_text(3),
                repository: row.opt_text(4),
                tag: row.opt_text(5),
                cluster: row.opt_text(6),
                namespace: row.opt_text(7),
                workload_kind: row.opt_text(8),
                workload: row.opt_text(9),
                pod: row.opt_text(10),
                container: row.opt_text(11),
                container_kind: row.opt_text(12),
                first_seen: rfc3339(row.int(13)),
                last_seen: rfc3339(row.int(14)),
            })
            .collect())
    }
}

fn ticket_from_row(row: &crate::Row) -> Ticket {
    Ticket {
        target: row.text(0),
        vuln_id: row.text(1),
        digest: row.text(2),
        external_id: row.opt_text(3),
        state: row.text(4),
        locations: row.int(5),
        body_sha: row.opt_text(6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str, severity: Option<&str>, kev: Option<bool>) -> EventRecord {
        EventRecord {
            seq: 7,
            time: rfc3339(0),
            kind: kind.to_owned(),
            digest: "sha256:aa".to_owned(),
            vulnerability: severity.map(|_| "CVE-1".to_owned()),
            package: severity.map(|_| "pkg:pypi/a@1".to_owned()),
            severity: severity.map(str::to_owned),
            kev,
            cause: "test".to_owned(),
        }
    }

    fn target(format: &str, min: &str, kev_only: bool) -> NotifyTarget {
        NotifyTarget {
            name: "t".to_owned(),
            url: "http://x".to_owned(),
            secret: None,
            token: None,
            format: format.to_owned(),
            min_severity: min.to_owned(),
            kev_only,
            options: serde_json::Value::Null,
            created_at: 0,
            cursor: 0,
        }
    }

    #[test]
    fn filters() {
        let high = event("finding-opened", Some("high"), Some(false));
        let low_kev = event("finding-resolved", Some("low"), Some(true));
        let image = event("image-first-seen", None, None);
        let all = target("generic", "unknown", false);
        assert!(all.wants(&high) && all.wants(&low_kev) && all.wants(&image));
        let medium = target("generic", "medium", false);
        assert!(medium.wants(&high) && !medium.wants(&low_kev) && !medium.wants(&image));
        let kev = target("slack", "unknown", true);
        assert!(!kev.wants(&high) && kev.wants(&low_kev) && !kev.wants(&image));
        let tickets = target("jira", "unknown", false);
        assert!(tickets.wants(&high) && !tickets.wants(&image));
    }

    fn log(store: &mut Store, kind: &str, vuln: &str, severity: &str) {
        crate::ingest::insert_event(
            store.conn(),
            &crate::ingest::EventInsert {
                time: 100,
                kind,
                digest: "sha256:aa",
                vuln_id: Some(vuln),
                package: Some("pkg:pypi/a@1"),
                severity: Some(severity),
                kev: Some(false),
                cause: "test",
            },
        )
        .unwrap();
    }

    #[test]
    fn outbox_queues_once_claims_once_and_keeps_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&crate::StoreUrl::Sqlite(dir.path().join("fleet.db"))).unwrap();
        log(&mut store, "finding-opened", "CVE-1", "high");
        // A new target starts at the end of the log, unless from the start.
        assert_eq!(
            store
                .add_notify_target(&target("generic", "unknown", false), false)
                .unwrap(),
            1
        );
        let mut all = target("generic", "unknown", false);
        all.name = "all".to_owned();
        assert_eq!(store.add_notify_target(&all, true).unwrap(), 0);
        assert!(
            store.add_notify_target(&all, true).is_err(),
            "names are unique"
        );
        log(&mut store, "finding-opened", "CVE-2", "low");
        log(&mut store, "finding-resolved", "CVE-1", "high");
        assert_eq!(store.enqueue_deliveries("t", 100).unwrap(), 2);
        assert_eq!(
            store.enqueue_deliveries("t", 100).unwrap(),
            0,
            "queued once"
        );
        assert_eq!(store.enqueue_deliveries("all", 100).unwrap(), 3);
        let due = store.due_deliveries("t", 100, 10).unwrap();
        let seqs: Vec<i64> = due.iter().map(|d| d.event.seq).collect();
        assert_eq!(seqs, [2, 3]);
        assert_eq!(due[0].key, idempotency_key("t", &due[0].event));
        // One sender per delivery.
        assert!(store.claim_delivery(due[0].id, 100, 400).unwrap());
        assert!(!store.claim_delivery(due[0].id, 100, 400).unwrap());
        // A delivery waiting for its retry holds back the later ones.
        store
            .delivery_failed(due[0].id, 3, "HTTP 500", 160)
            .unwrap();
        assert!(store.due_deliveries("t", 100, 10).unwrap().is_empty());
        let stats = store.delivery_stats("t").unwrap();
        assert_eq!((stats.pending, stats.failing, stats.delivered), (2, 1, 0));
        assert_eq!(stats.last_error.as_deref(), Some("HTTP 500"));
        let due = store.due_deliveries("t", 160, 10).unwrap();
        assert_eq!(due.len(), 2);
        for delivery in &due {
            assert!(store.claim_delivery(delivery.id, 160, 460).unwrap());
            store.delivery_succeeded(delivery.id, 1, 160).unwrap();
        }
        let stats = store.delivery_stats("t").unwrap();
        assert_eq!((stats.pending, stats.delivered), (0, 2));
        assert!(store.remove_notify_target("t").unwrap());
        assert!(!store.remove_notify_target("t").unwrap());
        assert_eq!(store.delivery_stats("t").unwrap().delivered, 0);
    }

    #[test]
    fn keys_differ_by_every_part() {
        let base = event("finding-opened", Some("high"), Some(false));
        let key = idempotency_key("t", &base);
        assert_eq!(key.len(), 64);
        assert_ne!(key, idempotency_key("u", &base));
        let mut other = base.clone();
        other.seq = 8;
        assert_ne!(key, idempotency_key("t", &other));
        let mut other = base.clone();
        other.kind = "finding-resolved".to_owned();
        assert_ne!(key, idempotency_key("t", &other));
        let mut other = base;
        other.package = Some("pkg:pypi/b@1".to_owned());
        assert_ne!(key, idempotency_key("t", &other));
    }
}

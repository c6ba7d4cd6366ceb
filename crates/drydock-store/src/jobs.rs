//! The job queue of `drydock worker` (PostgreSQL stores only): jobs are
//! claimed with `FOR UPDATE SKIP LOCKED`, kept alive by a heartbeat, and a
//! job whose worker stopped beating (killed, machine lost) is claimed again
//! by another worker. Every job's effect is idempotent (cataloging a digest
//! already stored, re-matching with the same data), so a job that ran
//! twice because its first worker died mid-way leaves one result.
use crate::sql::Backend;
use crate::{Store, StoreError, params};

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    /// `catalog` or `rematch`.
    pub kind: String,
    pub payload: serde_json::Value,
    /// Including this one.
    pub attempts: i64,
}

/// A job as listed: id, kind, state, attempts, worker.
pub type JobRow = (i64, String, String, i64, Option<String>);

/// Queue counts by state.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueStatus {
    pub queued: i64,
    pub running: i64,
    pub done: i64,
    pub failed: i64,
}

impl Store {
    fn require_postgres(&self) -> Result<(), StoreError> {
        if self.backend() == Backend::Postgres {
            Ok(())
        } else {
            Err(StoreError::Invalid(
                "workers need a PostgreSQL store (`--store postgres://…`); the embedded SQLite store does the work in place".to_owned(),
            ))
        }
    }

    /// Whether sync and re-match hand their work to workers.
    pub fn workers_enabled(&mut self) -> Result<bool, StoreError> {
        Ok(self.setting("workers")?.is_some_and(|value| value == "on"))
    }

    /// `drydock fleet workers on|off`.
    pub fn set_workers(&mut self, on: bool) -> Result<(), StoreError> {
        if on {
            self.require_postgres()?;
        }
        self.set_setting("workers", if on { "on" } else { "off" })
    }

    pub fn setting(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn()
            .query_one("SELECT value FROM settings WHERE key = $1", &params![key])?
            .map(|row| row.text(0)))
    }

    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO settings (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = $2",
            &params![key, value],
        )?;
        Ok(())
    }

    /// Queues a job; `dedupe` makes a second enqueue of the same work a
    /// no-op while the first is not done. Returns whether it was queued.
    pub fn enqueue(
        &mut self,
        kind: &str,
        payload: &serde_json::Value,
        dedupe: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        self.require_postgres()?;
        let changed = self.conn().execute(
            "INSERT INTO jobs (kind, payload, state, attempts, created_at, dedupe) \
             VALUES ($1, $2, 'queued', 0, $3, $4) ON CONFLICT (dedupe) DO NOTHING",
            &params![kind, payload.to_string(), now, dedupe],
        )?;
        Ok(changed > 0)
    }

    /// Claims the oldest queued job, or a running one whose heartbeat is
    /// older than `stale_before`.
    pub fn claim(
        &mut self,
        worker: &str,
        now: i64,
        stale_before: i64,
    ) -> Result<Option<Job>, StoreError> {
        self.require_postgres()?;
        let row = self.conn().query_one(
            "UPDATE jobs SET state = 'running', worker = $1, locked_at = $2, heartbeat = $2, \
             attempts = attempts + 1 \
             WHERE id = (SELECT id FROM jobs WHERE state = 'queued' \
               OR (state = 'running' AND heartbeat < $3) \
               ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1) \
             RETURNING id, kind, payload, attempts",
            &params![worker, now, stale_before],
        )?;
        Ok(row.map(|row| Job {
            id: row.int(0),
            kind: row.text(1),
            payload: serde_json::from_str(&row.text(2)).unwrap_or(serde_json::Value::Null),
            attempts: row.int(3),
        }))
    }

    /// Keeps a claimed job alive.
    pub fn heartbeat(&mut self, job: i64, worker: &str, now: i64) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE jobs SET heartbeat = $1 WHERE id = $2 AND worker = $3 AND state = 'running'",
            &params![now, job, worker],
        )?;
        Ok(())
    }

    /// Marks a job done (only if this worker still holds it).
    pub fn finish(&mut self, job: i64, worker: &str, now: i64) -> Result<bool, StoreError> {
        let changed = self.conn().execute(
            "UPDATE jobs SET state = 'done', done_at = $1, dedupe = NULL, error = NULL \
             WHERE id = $2 AND worker = $3 AND state = 'running'",
            &params![now, job, worker],
        )?;
        Ok(changed > 0)
    }

    /// A failed attempt: queued again, or `failed` after `max_attempts`.
    pub fn fail(
        &mut self,
        job: i64,
        worker: &str,
        error: &str,
        max_attempts: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE jobs SET state = CASE WHEN attempts >= $1 THEN 'failed' ELSE 'queued' END, \
             error = $2, done_at = CASE WHEN attempts >= $1 THEN $3 ELSE NULL END, \
             dedupe = CASE WHEN attempts >= $1 THEN NULL ELSE dedupe END \
             WHERE id = $4 AND worker = $5 AND state = 'running'",
            &params![max_attempts, error, now, job, worker],
        )?;
        Ok(())
    }

    pub fn queue_status(&mut self) -> Result<QueueStatus, StoreError> {
        let mut status = QueueStatus::default();
        for row in self
            .conn()
            .query("SELECT state, COUNT(*) FROM jobs GROUP BY state", &[])?
        {
            let count = row.int(1);
            match row.text(0).as_str() {
                "queued" => status.queued = count,
                "running" => status.running = count,
                "done" => status.done = count,
                "failed" => status.failed = count,
                _ => {}
            }
        }
        Ok(status)
    }

    /// Every job: (id, kind, state, attempts, worker), for tests and status.
    pub fn jobs(&mut self) -> Result<Vec<JobRow>, StoreError> {
        Ok(self
            .conn()
            .query(
                "SELECT id, kind, state, attempts, worker FROM jobs ORDER BY id",
                &[],
            )?
            .into_iter()
            .map(|row| {
                (
                    row.int(0),
                    row.text(1),
                    row.text(2),
                    row.int(3),
                    row.opt_text(4),
                )
            })
            .collect())
    }

    /// Analysed image ids still seen somewhere, for splitting a re-match.
    pub fn active_image_ids(&mut self) -> Result<Vec<i64>, StoreError> {
        Ok(self
            .conn()
            .query(
                "SELECT id FROM images WHERE status = 'analysed' AND gone_at IS NULL ORDER BY id",
                &[],
            )?
            .into_iter()
            .map(|row| row.int(0))
            .collect())
    }
}

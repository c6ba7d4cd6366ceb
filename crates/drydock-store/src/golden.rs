//! The golden-image catalog: lines, versions by digest, their lifecycle
//! (`candidate → approved → current → deprecated → retired`), timeline
//! settings, and a hash-chained, append-only audit log.
use serde::Serialize;

use crate::{Store, StoreError};

/// A version's lifecycle state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GoldenState {
    Candidate,
    Approved,
    Current,
    Deprecated,
    Retired,
}

impl GoldenState {
    pub fn as_str(self) -> &'static str {
        match self {
            GoldenState::Candidate => "candidate",
            GoldenState::Approved => "approved",
            GoldenState::Current => "current",
            GoldenState::Deprecated => "deprecated",
            GoldenState::Retired => "retired",
        }
    }

    pub fn parse(text: &str) -> Option<GoldenState> {
        Some(match text {
            "candidate" => GoldenState::Candidate,
            "approved" => GoldenState::Approved,
            "current" => GoldenState::Current,
            "deprecated" => GoldenState::Deprecated,
            "retired" => GoldenState::Retired,
            _ => return None,
        })
    }

    /// The one state a version may move to from this one.
    pub fn next(self) -> Option<GoldenState> {
        match self {
            GoldenState::Candidate => Some(GoldenState::Approved),
            GoldenState::Approved => Some(GoldenState::Current),
            GoldenState::Current => Some(GoldenState::Deprecated),
            GoldenState::Deprecated => Some(GoldenState::Retired),
            GoldenState::Retired => None,
        }
    }
}

/// One version of a line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GoldenVersion {
    pub line: String,
    pub digest: String,
    pub repository: String,
    pub version: Option<String>,
    pub state: GoldenState,
    pub submitted_at: i64,
    pub state_since: i64,
    /// The image's `created` time, when it has one.
    pub created: Option<i64>,
    pub policy_passed: bool,
    /// Evidence recorded at submission (JSON).
    pub evidence: serde_json::Value,
    /// Layer digests, bottom first.
    pub layers: Vec<String>,
}

/// What to record when submitting a candidate.
#[derive(Clone, Debug)]
pub struct Submission {
    pub line: String,
    pub repository: String,
    pub digest: String,
    pub version: Option<String>,
    pub created: Option<i64>,
    pub policy_passed: bool,
    pub evidence: serde_json::Value,
    pub layers: Vec<String>,
}

/// A line's timeline (days; `None` = never).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Timeline {
    pub deprecate_after_days: Option<i64>,
    pub retire_after_days: Option<i64>,
    pub max_age_days: Option<i64>,
}

/// One audit entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub time: i64,
    pub actor: String,
    /// `submit`, `approve`, `promote`, `deprecate`, `retire`, `override`, `enforce`.
    pub action: String,
    pub line: String,
    pub digest: String,
    pub from_state: Option<String>,
    pub to_state: Option<String>,
    pub reason: String,
    /// Evidence digests and details (JSON).
    pub evidence: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// Where the chain breaks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChainBreak {
    pub seq: i64,
    pub reason: String,
}

const GENESIS: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

fn entry_hash(entry: &AuditEntry) -> String {
    let canonical = serde_json::json!([
        entry.seq,
        entry.time,
        entry.actor,
        entry.action,
        entry.line,
        entry.digest,
        entry.from_state,
        entry.to_state,
        entry.reason,
        entry.evidence,
        entry.prev_hash,
    ]);
    drydock_core::Digest::sha256_of(canonical.to_string().as_bytes()).to_string()
}

const VERSION_COLUMNS: &str = "line, digest, repository, version, state, submitted_at, state_since, created, policy_passed, evidence, layers";

fn version_from_row(row: &crate::Row) -> Result<GoldenVersion, StoreError> {
    let state_text = row.text(4);
    let state = GoldenState::parse(&state_text).ok_or_else(|| {
        StoreError::Invalid(format!(
            "golden version has an unknown state `{state_text}`"
        ))
    })?;
    let json = |index: usize, what: &str| {
        serde_json::from_str::<serde_json::Value>(&row.text(index)).map_err(|source| {
            StoreError::Json {
                what: what.to_owned(),
                source,
            }
        })
    };
    let layers = json(10, "golden layers")?;
    Ok(GoldenVersion {
        line: row.text(0),
        digest: row.text(1),
        repository: row.text(2),
        version: row.opt_text(3),
        state,
        submitted_at: row.int(5),
        state_since: row.int(6),
        created: row.opt_int(7),
        policy_passed: row.int(8) != 0,
        evidence: json(9, "golden evidence")?,
        layers: layers
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

impl Store {
    /// Every version of `line` (or of every line), oldest first.
    pub fn golden_versions(
        &mut self,
        line: Option<&str>,
    ) -> Result<Vec<GoldenVersion>, StoreError> {
        let rows = match line {
            Some(line) => self.conn().query(
                &format!("SELECT {VERSION_COLUMNS} FROM golden_versions WHERE line = $1 ORDER BY submitted_at, digest"),
                &[line.into()],
            )?,
            None => self.conn().query(
                &format!("SELECT {VERSION_COLUMNS} FROM golden_versions ORDER BY line, submitted_at, digest"),
                &[],
            )?,
        };
        rows.iter().map(version_from_row).collect()
    }

    pub fn golden_version(
        &mut self,
        line: &str,
        digest: &str,
    ) -> Result<Option<GoldenVersion>, StoreError> {
        let row = self.conn().query_one(
            &format!(
                "SELECT {VERSION_COLUMNS} FROM golden_versions WHERE line = $1 AND digest = $2"
            ),
            &[line.into(), digest.into()],
        )?;
        row.as_ref().map(version_from_row).transpose()
    }

    /// Record a candidate (and the line, the first time).
    pub fn golden_submit(
        &mut self,
        submission: &Submission,
        actor: &str,
        now: i64,
    ) -> Result<GoldenVersion, StoreError> {
        self.transaction(|store| {
            if store
                .golden_version(&submission.line, &submission.digest)?
                .is_some()
            {
                return Err(StoreError::Invalid(format!(
                    "`{}@{}` is already in the catalog",
                    submission.line, submission.digest
                )));
            }
            store.conn().execute(
                "INSERT INTO golden_lines (name, repository, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
                &[(&submission.line).into(), (&submission.repository).into(), now.into()],
            )?;
            let layers = serde_json::to_string(&submission.layers).map_err(|source| {
                StoreError::Json {
                    what: "golden layers".into(),
                    source,
                }
            })?;
            store.conn().execute(
                &format!("INSERT INTO golden_versions ({VERSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"),
                &[
                    (&submission.line).into(),
                    (&submission.digest).into(),
                    (&submission.repository).into(),
                    submission.version.clone().into(),
                    GoldenState::Candidate.as_str().into(),
                    now.into(),
                    now.into(),
                    submission.created.into(),
                    submission.policy_passed.into(),
                    submission.evidence.to_string().into(),
                    layers.into(),
                ],
            )?;
            store.append_audit(
                now,
                actor,
                "submit",
                &submission.line,
                &submission.digest,
                None,
                Some(GoldenState::Candidate),
                "submitted",
                &submission.evidence,
            )?;
            store
                .golden_version(&submission.line, &submission.digest)?
                .ok_or_else(|| StoreError::Invalid("the submitted version vanished".into()))
        })
    }

    /// Move a version to `to`, enforcing the lifecycle: one step at a time,
    /// approval of a failing candidate only with `override_reason`, and one
    /// `current` per line (promoting deprecates the previous current).
    /// Returns the versions changed, the target first.
    #[expect(clippy::too_many_arguments, reason = "one transition's audit fields")]
    pub fn golden_transition(
        &mut self,
        line: &str,
        digest: &str,
        to: GoldenState,
        actor: &str,
        reason: &str,
        override_policy: bool,
        evidence: &serde_json::Value,
        now: i64,
    ) -> Result<Vec<(GoldenVersion, GoldenState)>, StoreError> {
        self.transaction(|store| {
            let Some(version) = store.golden_version(line, digest)? else {
                return Err(StoreError::Invalid(format!(
                    "`{line}@{digest}` is not in the golden catalog"
                )));
            };
            if version.state.next() != Some(to) {
                return Err(StoreError::Invalid(format!(
                    "`{line}@{digest}` is {}: it cannot become {} (the lifecycle is candidate → approved → current → deprecated → retired)",
                    version.state.as_str(),
                    to.as_str()
                )));
            }
            let mut changed = Vec::new();
            let action = match to {
                GoldenState::Approved => "approve",
                GoldenState::Current => "promote",
                GoldenState::Deprecated => "deprecate",
                GoldenState::Retired => "retire",
                GoldenState::Candidate => "submit",
            };
            if to == GoldenState::Approved && !version.policy_passed {
                if !override_policy {
                    return Err(StoreError::Invalid(format!(
                        "`{line}@{digest}` failed the policy at submission: approving it needs `--override` (recorded with the reason)"
                    )));
                }
                store.append_audit(
                    now,
                    actor,
                    "override",
                    line,
                    digest,
                    Some(version.state),
                    Some(to),
                    reason,
                    &serde_json::json!({"policy": version.evidence.get("policy").cloned()}),
                )?;
            }
            if to == GoldenState::Current {
                let previous: Vec<GoldenVersion> = store
                    .golden_versions(Some(line))?
                    .into_iter()
                    .filter(|v| v.state == GoldenState::Current)
                    .collect();
                for old in previous {
                    store.set_state(&old, GoldenState::Deprecated, now)?;
                    store.append_audit(
                        now,
                        actor,
                        "deprecate",
                        line,
                        &old.digest,
                        Some(GoldenState::Current),
                        Some(GoldenState::Deprecated),
                        &format!("superseded by {digest}: {reason}"),
                        &serde_json::json!({"superseded_by": digest}),
                    )?;
                    changed.push((old, GoldenState::Deprecated));
                }
            }
            store.set_state(&version, to, now)?;
            store.append_audit(
                now,
                actor,
                action,
                line,
                digest,
                Some(version.state),
                Some(to),
                reason,
                evidence,
            )?;
            changed.insert(0, (version, to));
            Ok(changed)
        })
    }

    fn set_state(
        &mut self,
        version: &GoldenVersion,
        to: GoldenState,
        now: i64,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "UPDATE golden_versions SET state = $1, state_since = $2 WHERE line = $3 AND digest = $4",
            &[
                to.as_str().into(),
                now.into(),
                (&version.line).into(),
                (&version.digest).into(),
            ],
        )?;
        Ok(())
    }

    /// The timeline of `line`, falling back to the catalog-wide one (`*`).
    pub fn golden_timeline(&mut self, line: &str) -> Result<Timeline, StoreError> {
        let rows = self.conn().query(
            "SELECT line, deprecate_after_days, retire_after_days, max_age_days FROM golden_settings WHERE line = $1 OR line = '*' ORDER BY line DESC",
            &[line.into()],
        )?;
        let mut timeline = Timeline::default();
        // '*' sorts before names: the line's own row (first) wins field by field.
        for row in rows.iter().rev() {
            timeline.deprecate_after_days = row.opt_int(1).or(timeline.deprecate_after_days);
            timeline.retire_after_days = row.opt_int(2).or(timeline.retire_after_days);
            timeline.max_age_days = row.opt_int(3).or(timeline.max_age_days);
        }
        Ok(timeline)
    }

    /// Set the timeline of `line` (`*`: every line without its own).
    pub fn golden_set_timeline(
        &mut self,
        line: &str,
        timeline: Timeline,
    ) -> Result<(), StoreError> {
        self.conn().execute(
            "INSERT INTO golden_settings (line, deprecate_after_days, retire_after_days, max_age_days) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (line) DO UPDATE SET deprecate_after_days = excluded.deprecate_after_days, retire_after_days = excluded.retire_after_days, max_age_days = excluded.max_age_days",
            &[
                line.into(),
                timeline.deprecate_after_days.into(),
                timeline.retire_after_days.into(),
                timeline.max_age_days.into(),
            ],
        )?;
        Ok(())
    }

    /// Apply every line's timeline at `now`:
    /// - a `current` image older than `max_age_days` (by its `created` time,
    ///   else its submission) becomes `deprecated`;
    /// - a `deprecated` version becomes `retired` `retire_after_days` after
    ///   it was deprecated;
    /// - an `approved` version that a newer `current` has passed over for
    ///   `deprecate_after_days` is `retired` (it can never become current).
    ///
    /// Returns the transitions made.
    pub fn golden_enforce(
        &mut self,
        now: i64,
    ) -> Result<Vec<(GoldenVersion, GoldenState)>, StoreError> {
        const DAY: i64 = 86_400;
        let versions = self.golden_versions(None)?;
        let mut changes = Vec::new();
        for version in versions {
            let timeline = self.golden_timeline(&version.line)?;
            let (to, reason) = match version.state {
                GoldenState::Current => {
                    let born = version.created.unwrap_or(version.submitted_at);
                    match timeline.max_age_days {
                        Some(days) if now - born > days * DAY => (
                            GoldenState::Deprecated,
                            format!("older than max_age_days ({days})"),
                        ),
                        _ => continue,
                    }
                }
                GoldenState::Deprecated => match timeline.retire_after_days {
                    Some(days) if now - version.state_since >= days * DAY => (
                        GoldenState::Retired,
                        format!("deprecated for retire_after_days ({days})"),
                    ),
                    _ => continue,
                },
                GoldenState::Approved => {
                    // An approved version a newer current passed over.
                    let Some(days) = timeline.deprecate_after_days else {
                        continue;
                    };
                    let newer_current = self
                        .golden_versions(Some(&version.line))?
                        .into_iter()
                        .find(|v| {
                            v.state == GoldenState::Current && v.submitted_at > version.submitted_at
                        });
                    match newer_current {
                        Some(current) if now - current.state_since >= days * DAY => (
                            GoldenState::Retired,
                            format!(
                                "superseded by current {} for deprecate_after_days ({days})",
                                current.digest
                            ),
                        ),
                        _ => continue,
                    }
                }
                GoldenState::Candidate | GoldenState::Retired => continue,
            };
            let from = version.state;
            self.transaction(|store| {
                store.set_state(&version, to, now)?;
                store.append_audit(
                    now,
                    "drydock golden enforce",
                    "enforce",
                    &version.line,
                    &version.digest,
                    Some(from),
                    Some(to),
                    &reason,
                    &serde_json::json!({"timeline": timeline}),
                )
            })?;
            changes.push((version, to));
        }
        Ok(changes)
    }

    /// Versions whose layers count as an approved golden base.
    pub fn golden_approved(&mut self) -> Result<Vec<GoldenVersion>, StoreError> {
        Ok(self
            .golden_versions(None)?
            .into_iter()
            .filter(|v| {
                matches!(
                    v.state,
                    GoldenState::Approved | GoldenState::Current | GoldenState::Deprecated
                )
            })
            .collect())
    }

    #[expect(clippy::too_many_arguments, reason = "one audit row's columns")]
    fn append_audit(
        &mut self,
        time: i64,
        actor: &str,
        action: &str,
        line: &str,
        digest: &str,
        from: Option<GoldenState>,
        to: Option<GoldenState>,
        reason: &str,
        evidence: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let last = self.conn().query_one(
            "SELECT seq, hash FROM golden_audit ORDER BY seq DESC LIMIT 1",
            &[],
        )?;
        let (seq, prev_hash) = match last {
            Some(row) => (row.int(0) + 1, row.text(1)),
            None => (1, GENESIS.to_owned()),
        };
        let mut entry = AuditEntry {
            seq,
            time,
            actor: actor.to_owned(),
            action: action.to_owned(),
            line: line.to_owned(),
            digest: digest.to_owned(),
            from_state: from.map(|s| s.as_str().to_owned()),
            to_state: to.map(|s| s.as_str().to_owned()),
            reason: reason.to_owned(),
            evidence: evidence.clone(),
            prev_hash,
            hash: String::new(),
        };
        entry.hash = entry_hash(&entry);
        self.conn().execute(
            "INSERT INTO golden_audit (seq, time, actor, action, line, digest, from_state, to_state, reason, evidence, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            &[
                entry.seq.into(),
                entry.time.into(),
                entry.actor.into(),
                entry.action.into(),
                entry.line.into(),
                entry.digest.into(),
                entry.from_state.into(),
                entry.to_state.into(),
                entry.reason.into(),
                entry.evidence.to_string().into(),
                entry.prev_hash.into(),
                entry.hash.into(),
            ],
        )?;
        Ok(())
    }

    /// The audit log, oldest first.
    pub fn golden_audit(&mut self) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = self.conn().query(
            "SELECT seq, time, actor, action, line, digest, from_state, to_state, reason, evidence, prev_hash, hash FROM golden_audit ORDER BY seq",
            &[],
        )?;
        rows.iter()
            .map(|row| {
                Ok(AuditEntry {
                    seq: row.int(0),
                    time: row.int(1),
                    actor: row.text(2),
                    action: row.text(3),
                    line: row.text(4),
                    digest: row.text(5),
                    from_state: row.opt_text(6),
                    to_state: row.opt_text(7),
                    reason: row.text(8),
                    // A row edited into invalid JSON still verifies as text.
                    evidence: serde_json::from_str(&row.text(9))
                        .unwrap_or_else(|_| serde_json::Value::String(row.text(9))),
                    prev_hash: row.text(10),
                    hash: row.text(11),
                })
            })
            .collect()
    }

    /// Recompute the chain; the first entry that does not verify.
    pub fn golden_verify(&mut self) -> Result<Result<usize, ChainBreak>, StoreError> {
        let entries = self.golden_audit()?;
        let mut previous = GENESIS.to_owned();
        for (expected_seq, entry) in (1..).zip(entries.iter()) {
            if entry.seq != expected_seq {
                return Ok(Err(ChainBreak {
                    seq: entry.seq,
                    reason: format!("sequence gap: expected entry {expected_seq}"),
                }));
            }
            if entry.prev_hash != previous {
                return Ok(Err(ChainBreak {
                    seq: entry.seq,
                    reason: "its previous hash does not match the entry before it (an entry was removed or rewritten)".into(),
                }));
            }
            if entry_hash(entry) != entry.hash {
                return Ok(Err(ChainBreak {
                    seq: entry.seq,
                    reason: "its content does not match its hash (the entry was edited)".into(),
                }));
            }
            previous.clone_from(&entry.hash);
        }
        Ok(Ok(entries.len()))
    }
}

/// The schema of the catalog (migration 2).
pub(crate) const MIGRATION: &str = "
CREATE TABLE golden_lines (name TEXT PRIMARY KEY, repository TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE TABLE golden_versions (
  line TEXT NOT NULL, digest TEXT NOT NULL, repository TEXT NOT NULL, version TEXT,
  state TEXT NOT NULL, submitted_at BIGINT NOT NULL, state_since BIGINT NOT NULL, created BIGINT,
  policy_passed BIGINT NOT NULL, evidence TEXT NOT NULL, layers TEXT NOT NULL,
  PRIMARY KEY (line, digest));
CREATE TABLE golden_settings (
  line TEXT PRIMARY KEY, deprecate_after_days BIGINT, retire_after_days BIGINT, max_age_days BIGINT);
CREATE TABLE golden_audit (
  seq BIGINT PRIMARY KEY, time BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
  line TEXT NOT NULL, digest TEXT NOT NULL, from_state TEXT, to_state TEXT, reason TEXT NOT NULL,
  evidence TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoreUrl;

    fn store(dir: &std::path::Path) -> Store {
        Store::open(&StoreUrl::Sqlite(dir.join("s.db"))).unwrap()
    }

    fn submit(store: &mut Store, digest: &str, passed: bool, now: i64) {
        store
            .golden_submit(
                &Submission {
                    line: "python3".into(),
                    repository: "r.example/golden/python3".into(),
                    digest: digest.into(),
                    version: Some("3.11".into()),
                    created: Some(now),
                    policy_passed: passed,
                    evidence: serde_json::json!({"policy": {"verdict": if passed {"pass"} else {"fail"}}}),
                    layers: vec!["sha256:aa".into()],
                },
                "ci",
                now,
            )
            .unwrap();
    }

    fn state(store: &mut Store, digest: &str) -> GoldenState {
        store
            .golden_version("python3", digest)
            .unwrap()
            .unwrap()
            .state
    }

    #[test]
    fn lifecycle_is_enforced_and_one_current_per_line() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = store(dir.path());
        submit(&mut store, "sha256:01", true, 100);
        let error = store
            .golden_transition(
                "python3",
                "sha256:01",
                GoldenState::Current,
                "a",
                "r",
                false,
                &serde_json::json!({}),
                101,
            )
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("is candidate: it cannot become current"),
            "{error}"
        );
        for to in [GoldenState::Approved, GoldenState::Current] {
            store
                .golden_transition(
                    "python3",
                    "sha256:01",
                    to,
                    "alice",
                    "ok",
                    false,
                    &serde_json::json!({}),
                    102,
                )
                .unwrap();
        }
        submit(&mut store, "sha256:02", false, 200);
        let error = store
            .golden_transition(
                "python3",
                "sha256:02",
                GoldenState::Approved,
                "a",
                "r",
                false,
                &serde_json::json!({}),
                201,
            )
            .unwrap_err()
            .to_string();
        assert!(error.contains("needs `--override`"), "{error}");
        store
            .golden_transition(
                "python3",
                "sha256:02",
                GoldenState::Approved,
                "bob",
                "accepted risk",
                true,
                &serde_json::json!({}),
                202,
            )
            .unwrap();
        let changed = store
            .golden_transition(
                "python3",
                "sha256:02",
                GoldenState::Current,
                "bob",
                "go",
                false,
                &serde_json::json!({}),
                203,
            )
            .unwrap();
        assert_eq!(changed.len(), 2);
        assert_eq!(state(&mut store, "sha256:01"), GoldenState::Deprecated);
        assert_eq!(state(&mut store, "sha256:02"), GoldenState::Current);
        let currents = store
            .golden_versions(Some("python3"))
            .unwrap()
            .iter()
            .filter(|v| v.state == GoldenState::Current)
            .count();
        assert_eq!(currents, 1);
        let actions: Vec<String> = store
            .golden_audit()
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(
            actions,
            [
                "submit",
                "approve",
                "promote",
                "submit",
                "override",
                "approve",
                "deprecate",
                "promote"
            ]
        );
        assert_eq!(store.golden_verify().unwrap(), Ok(8));
    }

    #[test]
    fn enforce_with_a_fixed_clock() {
        const DAY: i64 = 86_400;
        let dir = tempfile::tempdir().unwrap();
        let mut store = store(dir.path());
        store
            .golden_set_timeline(
                "*",
                Timeline {
                    deprecate_after_days: Some(7),
                    retire_after_days: Some(30),
                    max_age_days: Some(90),
                },
            )
            .unwrap();
        // v1 current at day 0, v2 approved at day 1 (never promoted), v3 current at day 10.
        submit(&mut store, "sha256:01", true, 0);
        for to in [GoldenState::Approved, GoldenState::Current] {
            store
                .golden_transition(
                    "python3",
                    "sha256:01",
                    to,
                    "a",
                    "r",
                    false,
                    &serde_json::json!({}),
                    0,
                )
                .unwrap();
        }
        submit(&mut store, "sha256:02", true, DAY);
        store
            .golden_transition(
                "python3",
                "sha256:02",
                GoldenState::Approved,
                "a",
                "r",
                false,
                &serde_json::json!({}),
                DAY,
            )
            .unwrap();
        submit(&mut store, "sha256:03", true, 10 * DAY);
        for to in [GoldenState::Approved, GoldenState::Current] {
            store
                .golden_transition(
                    "python3",
                    "sha256:03",
                    to,
                    "a",
                    "r",
                    false,
                    &serde_json::json!({}),
                    10 * DAY,
                )
                .unwrap();
        }
        // Day 16: nothing due yet (v1 deprecated 6 days, v2 passed over 6 days).
        assert!(store.golden_enforce(16 * DAY).unwrap().is_empty());
        // Day 17: v2 passed over for 7 days → retired.
        let changes = store.golden_enforce(17 * DAY).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(state(&mut store, "sha256:02"), GoldenState::Retired);
        // Day 40: v1 deprecated for 30 days → retired.
        store.golden_enforce(40 * DAY).unwrap();
        assert_eq!(state(&mut store, "sha256:01"), GoldenState::Retired);
        assert_eq!(state(&mut store, "sha256:03"), GoldenState::Current);
        // Day 101: v3 older than 90 days → deprecated.
        store.golden_enforce(101 * DAY).unwrap();
        assert_eq!(state(&mut store, "sha256:03"), GoldenState::Deprecated);
        assert!(store.golden_verify().unwrap().is_ok());
    }

    #[test]
    fn tampered_audit_row_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = store(dir.path());
        submit(&mut store, "sha256:01", true, 100);
        store
            .golden_transition(
                "python3",
                "sha256:01",
                GoldenState::Approved,
                "alice",
                "ok",
                false,
                &serde_json::json!({}),
                101,
            )
            .unwrap();
        store
            .golden_transition(
                "python3",
                "sha256:01",
                GoldenState::Current,
                "alice",
                "ok",
                false,
                &serde_json::json!({}),
                102,
            )
            .unwrap();
        assert_eq!(store.golden_verify().unwrap(), Ok(3));
        drop(store);
        let conn = rusqlite::Connection::open(dir.path().join("s.db")).unwrap();
        conn.execute(
            "UPDATE golden_audit SET actor = 'mallory' WHERE seq = 2",
            [],
        )
        .unwrap();
        drop(conn);
        let mut store = Store::open(&StoreUrl::Sqlite(dir.path().join("s.db"))).unwrap();
        let broken = store.golden_verify().unwrap().unwrap_err();
        assert_eq!(broken.seq, 2);
        assert!(broken.reason.contains("edited"), "{}", broken.reason);
        // Deleting a row breaks the link of the next one.
        drop(store);
        let conn = rusqlite::Connection::open(dir.path().join("s.db")).unwrap();
        conn.execute("DELETE FROM golden_audit WHERE seq = 2", [])
            .unwrap();
        drop(conn);
        let mut store = Store::open(&StoreUrl::Sqlite(dir.path().join("s.db"))).unwrap();
        let broken = store.golden_verify().unwrap().unwrap_err();
        assert_eq!(broken.seq, 3);
    }
}

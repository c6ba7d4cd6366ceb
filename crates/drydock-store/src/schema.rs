//! Versioned migrations, applied in order on open, each in one transaction.
use crate::StoreError;
use crate::sql::Conn;

/// One schema version: the same statements on both backends, or each its own.
struct Migration {
    sqlite: &'static str,
    postgres: &'static str,
}

const fn both(sql: &'static str) -> Migration {
    Migration {
        sqlite: sql,
        postgres: sql,
    }
}

/// Each entry is one schema version; never edit a released one, add a new one.
const MIGRATIONS: &[Migration] = &[
    // 1: the fleet store.
    both(
        "
CREATE TABLE sources (
  name TEXT PRIMARY KEY, kind TEXT NOT NULL, target TEXT NOT NULL, config TEXT NOT NULL,
  created_at BIGINT NOT NULL, last_sync BIGINT, last_error TEXT);
CREATE TABLE images (
  id {id}, digest TEXT NOT NULL UNIQUE, status TEXT NOT NULL, reason TEXT,
  analysed_at BIGINT, first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL, gone_at BIGINT,
  distro_id TEXT, distro_version TEXT, distro_codename TEXT, group_key TEXT NOT NULL,
  platform TEXT, manifest_digest TEXT, layer_count BIGINT NOT NULL, package_count BIGINT NOT NULL,
  sbom {blob}, sbom_sha256 TEXT);
CREATE TABLE packages (
  id {id}, identity TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, name TEXT NOT NULL,
  version TEXT NOT NULL, purl TEXT NOT NULL, source_name TEXT, source_version TEXT);
CREATE INDEX packages_name ON packages (name);
CREATE TABLE image_packages (
  image_id BIGINT NOT NULL, package_id BIGINT NOT NULL, location TEXT NOT NULL,
  layer BIGINT, matchable BIGINT NOT NULL,
  PRIMARY KEY (image_id, package_id, location));
CREATE INDEX image_packages_package ON image_packages (package_id);
CREATE TABLE matches (
  id {id}, group_key TEXT NOT NULL, package_id BIGINT NOT NULL, vuln_id TEXT NOT NULL,
  active BIGINT NOT NULL, severity TEXT NOT NULL, severity_rank BIGINT NOT NULL,
  kev BIGINT NOT NULL, epss {real}, fixable BIGINT NOT NULL, fixed TEXT NOT NULL, published BIGINT,
  detail TEXT NOT NULL, detail_hash TEXT NOT NULL, updated_at BIGINT NOT NULL,
  UNIQUE (group_key, package_id, vuln_id));
CREATE TABLE match_ids (vid TEXT NOT NULL, match_id BIGINT NOT NULL, PRIMARY KEY (vid, match_id));
CREATE INDEX match_ids_match ON match_ids (match_id);
CREATE TABLE findings (
  id {id}, image_id BIGINT NOT NULL, match_id BIGINT NOT NULL, state TEXT NOT NULL,
  first_seen BIGINT NOT NULL, resolved_at BIGINT, cause TEXT, suppressed TEXT,
  UNIQUE (image_id, match_id));
CREATE INDEX findings_match ON findings (match_id);
CREATE INDEX findings_state ON findings (state, image_id);
CREATE TABLE sightings (
  id {id}, source TEXT NOT NULL, key TEXT NOT NULL, image_id BIGINT NOT NULL, kind TEXT NOT NULL,
  reference TEXT NOT NULL, registry TEXT, repository TEXT, tag TEXT,
  cluster TEXT, namespace TEXT, workload_kind TEXT, workload TEXT, pod TEXT, container TEXT,
  container_kind TEXT, first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL, gone_at BIGINT,
  UNIQUE (source, key));
CREATE INDEX sightings_image ON sightings (image_id);
CREATE TABLE events (
  seq {id}, time BIGINT NOT NULL, kind TEXT NOT NULL, digest TEXT NOT NULL, vuln_id TEXT,
  package TEXT, severity TEXT, kev BIGINT, cause TEXT NOT NULL, detail TEXT);
CREATE INDEX events_time ON events (time);
CREATE TABLE vex_documents (id TEXT PRIMARY KEY, body {blob} NOT NULL, added_at BIGINT NOT NULL);
CREATE TABLE notify_targets (
  name TEXT PRIMARY KEY, url TEXT NOT NULL, secret TEXT, format TEXT NOT NULL,
  min_severity TEXT NOT NULL, kev_only BIGINT NOT NULL, created_at BIGINT NOT NULL,
  cursor BIGINT NOT NULL);
CREATE TABLE deliveries (
  id {id}, target TEXT NOT NULL, key TEXT NOT NULL, event_seq BIGINT NOT NULL,
  state TEXT NOT NULL, attempts BIGINT NOT NULL, next_attempt BIGINT NOT NULL,
  last_error TEXT, delivered_at BIGINT, UNIQUE (target, key));
CREATE TABLE tickets (
  target TEXT NOT NULL, vuln_id TEXT NOT NULL, digest TEXT NOT NULL, external_id TEXT,
  state TEXT NOT NULL, locations BIGINT NOT NULL, PRIMARY KEY (target, vuln_id, digest));
CREATE TABLE jobs (
  id {id}, kind TEXT NOT NULL, payload TEXT NOT NULL, state TEXT NOT NULL,
  attempts BIGINT NOT NULL, worker TEXT, locked_at BIGINT, heartbeat BIGINT, done_at BIGINT,
  error TEXT, created_at BIGINT NOT NULL, dedupe TEXT UNIQUE);
CREATE INDEX jobs_state ON jobs (state, id);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
",
    ),
    // 2: notification targets: API token, format options; what a ticket last said.
    both(
        "
ALTER TABLE notify_targets ADD COLUMN token TEXT;
ALTER TABLE notify_targets ADD COLUMN options TEXT;
ALTER TABLE tickets ADD COLUMN body_sha TEXT;
ALTER TABLE tickets ADD COLUMN updated_at BIGINT;
CREATE INDEX deliveries_due ON deliveries (target, state, next_attempt);
",
    ),
    // 3: the golden-image catalog and its audit log.
    both(crate::golden::MIGRATION),
    // 4: remediations (`drydock fleet remediate`): which digest patches which.
    both(
        "
CREATE TABLE remediations (
  id {id}, original_digest TEXT NOT NULL, patched_digest TEXT NOT NULL, target TEXT NOT NULL,
  created_at BIGINT NOT NULL, packages TEXT NOT NULL, vulns TEXT NOT NULL,
  UNIQUE (original_digest, patched_digest));
CREATE INDEX remediations_patched ON remediations (patched_digest);
",
    ),
    // 5: `drydock serve`: where images run, vulnerabilities by id, the trend.
    both(
        "
CREATE INDEX sightings_place ON sightings (kind, cluster, namespace);
CREATE INDEX matches_vuln ON matches (vuln_id);
CREATE INDEX matches_package ON matches (package_id);
CREATE INDEX events_kind_time ON events (kind, time);
",
    ),
    // 6: findings pages read through an index: a match's open findings in id
    // order (the last key of priority order), counted from the index alone.
    // It leads with `match_id`, so it replaces `findings_match`.
    both(
        "
CREATE INDEX findings_match_state ON findings (match_id, state, id);
DROP INDEX findings_match;
",
    ),
    // 7: free text without scanning every sighting, and totals without
    // counting every finding. SQLite: a trigram index (FTS5) of each
    // sighting's reference, pod and workload, kept by triggers (the query
    // re-checks every candidate with `LIKE`); each match's open findings
    // counted in `matches.open_findings`, kept by triggers on `findings`.
    // PostgreSQL: trigram indexes (`pg_trgm`) on the same texts as the
    // query lowers them, when the extension can be created (else the query
    // scans, as before); totals stay counted from the index (a count kept
    // in the match's row would serialise concurrent workers on it).
    Migration {
        sqlite: "
ALTER TABLE matches ADD COLUMN open_findings BIGINT NOT NULL DEFAULT 0;
UPDATE matches SET open_findings =
  (SELECT COUNT(*) FROM findings f WHERE f.match_id = matches.id AND f.state = 'open');
CREATE TRIGGER findings_open_insert AFTER INSERT ON findings WHEN NEW.state = 'open' BEGIN
  UPDATE matches SET open_findings = open_findings + 1 WHERE id = NEW.match_id;
END;
CREATE TRIGGER findings_open_delete AFTER DELETE ON findings WHEN OLD.state = 'open' BEGIN
  UPDATE matches SET open_findings = open_findings - 1 WHERE id = OLD.match_id;
END;
CREATE TRIGGER findings_open_update AFTER UPDATE OF state, match_id ON findings
  WHEN (OLD.state = 'open') <> (NEW.state = 'open') OR OLD.match_id <> NEW.match_id BEGIN
  UPDATE matches SET open_findings = open_findings - 1 WHERE id = OLD.match_id AND OLD.state = 'open';
  UPDATE matches SET open_findings = open_findings + 1 WHERE id = NEW.match_id AND NEW.state = 'open';
END;
CREATE VIRTUAL TABLE sightings_text USING fts5(
  reference, pod, workload, content = 'sightings', content_rowid = 'id', tokenize = 'trigram');
INSERT INTO sightings_text (sightings_text) VALUES ('rebuild');
CREATE TRIGGER sightings_text_insert AFTER INSERT ON sightings BEGIN
  INSERT INTO sightings_text (rowid, reference, pod, workload)
    VALUES (NEW.id, NEW.reference, NEW.pod, NEW.workload);
END;
CREATE TRIGGER sightings_text_delete AFTER DELETE ON sightings BEGIN
  INSERT INTO sightings_text (sightings_text, rowid, reference, pod, workload)
    VALUES ('delete', OLD.id, OLD.reference, OLD.pod, OLD.workload);
END;
CREATE TRIGGER sightings_text_update AFTER UPDATE OF id, reference, pod, workload ON sightings BEGIN
  INSERT INTO sightings_text (sightings_text, rowid, reference, pod, workload)
    VALUES ('delete', OLD.id, OLD.reference, OLD.pod, OLD.workload);
  INSERT INTO sightings_text (rowid, reference, pod, workload)
    VALUES (NEW.id, NEW.reference, NEW.pod, NEW.workload);
END;
",
        postgres: "
DO $$
BEGIN
  CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'pg_trgm unavailable (%): free text scans sightings', SQLERRM;
END
$$;
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
    CREATE INDEX sightings_reference_trgm ON sightings
      USING gin (LOWER(reference) gin_trgm_ops) WHERE gone_at IS NULL;
    CREATE INDEX sightings_pod_trgm ON sightings
      USING gin (LOWER(COALESCE(pod, '')) gin_trgm_ops) WHERE gone_at IS NULL;
    CREATE INDEX sightings_workload_trgm ON sightings
      USING gin (LOWER(COALESCE(workload, '')) gin_trgm_ops) WHERE gone_at IS NULL;
  END IF;
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'no trigram indexes (%): free text scans sightings', SQLERRM;
END
$$;
",
    },
    // 8: a vulnerability's findings listed from indexes alone. A match's
    // findings with the columns a listing shows (replacing the narrower
    // index of 6), and image digests apart from the rows that hold SBOMs.
    // SQLite: `image_packages` rebuilt keyed by its primary key (`WITHOUT
    // ROWID`), so its index on the package holds each image and file
    // location, and the table's rows are stored once instead of twice
    // (the rowid table and its key's index). PostgreSQL reads those from
    // the primary key's index already.
    Migration {
        sqlite: "
CREATE INDEX findings_match_cover ON findings
  (match_id, state, id, image_id, first_seen, resolved_at, cause);
DROP INDEX findings_match_state;
CREATE INDEX images_id_digest ON images (id, digest);
CREATE TABLE image_packages_keyed (
  image_id BIGINT NOT NULL, package_id BIGINT NOT NULL, location TEXT NOT NULL,
  layer BIGINT, matchable BIGINT NOT NULL,
  PRIMARY KEY (image_id, package_id, location)) WITHOUT ROWID;
INSERT INTO image_packages_keyed (image_id, package_id, location, layer, matchable)
  SELECT image_id, package_id, location, layer, matchable FROM image_packages
  ORDER BY image_id, package_id, location;
DROP TABLE image_packages;
ALTER TABLE image_packages_keyed RENAME TO image_packages;
CREATE INDEX image_packages_package ON image_packages (package_id);
",
        postgres: "
CREATE INDEX findings_match_cover ON findings
  (match_id, state, id, image_id, first_seen, resolved_at, cause);
DROP INDEX findings_match_state;
CREATE INDEX images_id_digest ON images (id, digest);
",
    },
];

/// The newest schema version this build knows.
pub(crate) const LATEST: i64 = MIGRATIONS.len() as i64;

pub(crate) fn current_version(conn: &mut Conn) -> Result<i64, StoreError> {
    conn.batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )?;
    let row = conn.query_one(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        &[],
    )?;
    Ok(row.map_or(0, |row| row.int(0)))
}

pub(crate) fn migrate(conn: &mut Conn) -> Result<(), StoreError> {
    if conn.backend() == crate::Backend::Postgres {
        // Two processes opening a fresh store at once: one migrates.
        conn.batch("SELECT pg_advisory_lock(7264031)")?;
    }
    let result = migrate_locked(conn, LATEST);
    if conn.backend() == crate::Backend::Postgres {
        conn.batch("SELECT pg_advisory_unlock(7264031)")?;
    }
    result
}

/// Applies the migrations after the store's version up to `target`.
fn migrate_locked(conn: &mut Conn, target: i64) -> Result<(), StoreError> {
    let current = current_version(conn)?;
    if current > LATEST {
        return Err(StoreError::TooNew {
            found: current,
            supported: LATEST,
        });
    }
    for (index, migration) in MIGRATIONS.iter().enumerate() {
        let version = index as i64 + 1;
        if version <= current || version > target {
            continue;
        }
        conn.transaction(|conn| {
            conn.batch(match conn.backend() {
                crate::Backend::Sqlite => migration.sqlite,
                crate::Backend::Postgres => migration.postgres,
            })?;
            conn.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                &[version.into(), drydock_vuln::time::now_seconds().into()],
            )?;
            Ok(())
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params;

    /// The rows of `image_packages`, in key order.
    fn image_packages(conn: &mut Conn) -> Vec<(i64, i64, String, Option<i64>, i64)> {
        conn.query(
            "SELECT image_id, package_id, location, layer, matchable FROM image_packages \
             ORDER BY image_id, package_id, location",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| {
            (
                row.int(0),
                row.int(1),
                row.text(2),
                row.opt_int(3),
                row.int(4),
            )
        })
        .collect()
    }

    /// A store of schema 7 with packages in images, upgraded: every row is
    /// kept, and a package's images and files are read from one index.
    fn upgrade_keeps_rows(conn: &mut Conn) {
        migrate_locked(conn, 7).unwrap();
        assert_eq!(current_version(conn).unwrap(), 7);
        for image in 1..=30_i64 {
            for package in 1..=20_i64 {
                if (image + package) % 3 == 0 {
                    continue;
                }
                let mut locations = vec![format!("/usr/lib/p{package}/i{image}")];
                if package % 5 == 0 {
                    locations.push(format!("/opt/p{package}"));
                    locations.push(String::new());
                }
                for location in locations {
                    conn.execute(
                        "INSERT INTO image_packages (image_id, package_id, location, layer, matchable) \
                         VALUES ($1, $2, $3, $4, $5)",
                        &params![
                            image,
                            package,
                            location.as_str(),
                            (image % 4 != 0).then_some(image % 4),
                            package % 2
                        ],
                    )
                    .unwrap();
                }
            }
        }
        let before = image_packages(conn);
        assert!(before.len() > 400);
        migrate_locked(conn, LATEST).unwrap();
        assert_eq!(current_version(conn).unwrap(), LATEST);
        assert_eq!(image_packages(conn), before);
        if conn.backend() == crate::Backend::Sqlite {
            // Keyed by its primary key: no rowid, and the package index
            // holds the image and the location.
            assert!(conn.query("SELECT rowid FROM image_packages", &[]).is_err());
            let plan = conn
                .query(
                    "EXPLAIN QUERY PLAN SELECT image_id, MIN(location) FROM image_packages \
                     WHERE package_id = 5 AND image_id IN (1, 2, 3) GROUP BY image_id",
                    &[],
                )
                .unwrap();
            let plan: Vec<String> = plan.iter().map(|row| row.text(3)).collect();
            assert!(
                plan.iter()
                    .any(|step| step.contains("COVERING INDEX image_packages_package")),
                "{plan:?}"
            );
        }
        // The key still refuses a duplicate, and the ingest's conflict
        // clause still applies.
        assert!(
            conn.execute(
                "INSERT INTO image_packages (image_id, package_id, location, matchable) \
                 VALUES (1, 1, '/usr/lib/p1/i1', 1)",
                &[],
            )
            .is_err()
        );
        assert_eq!(
            conn.execute(
                "INSERT INTO image_packages (image_id, package_id, location, matchable) \
                 VALUES (1, 1, '/usr/lib/p1/i1', 1) ON CONFLICT DO NOTHING",
                &[],
            )
            .unwrap(),
            0
        );
    }

    #[test]
    fn upgrade_to_8_keeps_image_packages_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = Conn::Sqlite(Box::new(
            crate::open_sqlite(&dir.path().join("s.db")).unwrap(),
        ));
        upgrade_keeps_rows(&mut conn);
    }

    #[test]
    fn upgrade_to_8_keeps_image_packages_postgres() {
        // A loud skip locally, a failure under CI, when PostgreSQL is missing.
        let Some(postgres) = drydock_test::Postgres::start() else {
            return;
        };
        let url = postgres.database("upgrade");
        let client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        let mut conn = Conn::Postgres(Box::new(client));
        upgrade_keeps_rows(&mut conn);
    }
}

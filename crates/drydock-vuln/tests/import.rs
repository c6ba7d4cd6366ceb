//! Imports the real data in ../shared/data and checks counts computed here
//! independently (by walking the files as plain JSON), idempotence, the
//! newer-`modified`-wins rule, atomicity and the zip = directory rule.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use drydock_vuln::{Database, DbError, Event, normalize_name};
use serde_json::Value;

fn data() -> Option<PathBuf> {
    let path = drydock_test::workspace_root().join("../shared/data");
    if path.is_dir() {
        return Some(path);
    }
    drydock_test::missing("../shared/data (the shared test data)");
    None
}

#[derive(Default, Debug, PartialEq)]
struct Counts {
    records: usize,
    affected: usize,
    packages: BTreeSet<String>,
}

/// Per ecosystem: records touching it, affected entries, packages.
fn count_dir(dir: &Path, counts: &mut BTreeMap<String, Counts>) -> usize {
    let mut files = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let value: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        files += 1;
        let mut seen = BTreeSet::new();
        for affected in value["affected"].as_array().into_iter().flatten() {
            let ecosystem = affected["package"]["ecosystem"]
                .as_str()
                .unwrap()
                .to_owned();
            let name = affected["package"]["name"].as_str().unwrap();
            let slot = counts.entry(ecosystem.clone()).or_default();
            slot.affected += 1;
            slot.packages.insert(normalize_name(&ecosystem, name));
            if seen.insert(ecosystem) {
                slot.records += 1;
            }
        }
    }
    files
}

fn status_counts(db: &Database) -> BTreeMap<String, (usize, usize, usize)> {
    db.status()
        .ecosystems
        .iter()
        .map(|e| (e.ecosystem.clone(), (e.records, e.affected, e.packages)))
        .collect()
}

#[test]
fn real_osv_directories_counts_match_an_independent_walk() {
    let Some(data) = data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let db_dir = tmp.path().join("db");
    let mut expected = BTreeMap::new();
    let mut files = 0;
    let mut paths = Vec::new();
    for ecosystem in ["PyPI", "crates.io", "Go", "npm"] {
        files += count_dir(&data.join("osv").join(ecosystem), &mut expected);
        paths.push(data.join("osv").join(ecosystem));
    }
    assert_eq!(
        files,
        2661 + 1205 + 4291 + 467,
        "the README's record counts"
    );
    let start = std::time::Instant::now();
    let report = Database::import_at(&db_dir, &paths, 1_700_000_000).unwrap();
    eprintln!("import of {files} records: {:?}", start.elapsed());
    assert_eq!(report.records_read, files);
    assert_eq!(report.added, files);
    assert_eq!(report.total_records, files);

    let start = std::time::Instant::now();
    let db = Database::open(&db_dir).unwrap();
    let opened = start.elapsed();
    let found = db.advisories("PyPI", "Django").unwrap().len();
    let pypi = start.elapsed();
    let gin = db
        .advisories("Go", "github.com/gin-gonic/gin")
        .unwrap()
        .len();
    let go = start.elapsed();
    let _ = db.advisories("PyPI", "requests").unwrap();
    eprintln!(
        "open {opened:?}; + first PyPI query {pypi:?} ({found} Django records); + first Go query {go:?} ({gin} gin records); a warm query {:?}",
        start.elapsed().saturating_sub(go)
    );
    let wanted: BTreeMap<String, (usize, usize, usize)> = expected
        .iter()
        .map(|(k, v)| (k.clone(), (v.records, v.affected, v.packages.len())))
        .collect();
    assert_eq!(status_counts(&db), wanted);
    assert_eq!(
        db.status().last_update.as_deref(),
        Some("2023-11-14T22:13:20Z")
    );
    let sources: BTreeMap<_, _> = db
        .status()
        .sources
        .iter()
        .map(|s| (s.name.as_str(), s.records))
        .collect();
    assert_eq!(sources.get("osv:PyPI"), Some(&2661));
    assert_eq!(sources.get("osv:Go"), Some(&4291));

    // Every package of every record is found by a query, under any PEP 503 spelling.
    let django_independent = std::fs::read_dir(data.join("osv/PyPI"))
        .unwrap()
        .filter(|entry| {
            let value: Value =
                serde_json::from_slice(&std::fs::read(entry.as_ref().unwrap().path()).unwrap())
                    .unwrap();
            value["affected"].as_array().unwrap().iter().any(|a| {
                a["package"]["name"]
                    .as_str()
                    .unwrap()
                    .eq_ignore_ascii_case("django")
            })
        })
        .count();
    assert_eq!(found, django_independent);
    assert_eq!(
        db.advisories("PyPI", "DJANGO").unwrap().len(),
        django_independent
    );
    assert!(db.advisories("npm", "Django").unwrap().is_empty());

    // Known answers from the data README.
    let mdbook = db.advisories("crates.io", "mdbook").unwrap();
    assert!(mdbook.iter().any(|a| a.id == "RUSTSEC-2021-0001"));
    let gin = db.by_id("GO-2020-0001").unwrap().unwrap();
    assert_eq!(gin.affected[0].package.name, "github.com/gin-gonic/gin");
    assert!(
        gin.affected[0].ranges[0]
            .events
            .contains(&Event::Fixed("1.6.0".into()))
    );

    // Withdrawn records are kept and flagged: as many as the files say.
    let withdrawn_files = ["PyPI", "Go"]
        .iter()
        .flat_map(|eco| std::fs::read_dir(data.join("osv").join(eco)).unwrap())
        .filter(|entry| {
            let value: Value =
                serde_json::from_slice(&std::fs::read(entry.as_ref().unwrap().path()).unwrap())
                    .unwrap();
            value.get("withdrawn").is_some()
        })
        .count();
    let all = db.all_advisories().unwrap();
    let withdrawn = all
        .iter()
        .filter(|a| a.is_withdrawn() && (a.data_source == "osv:PyPI" || a.data_source == "osv:Go"))
        .count();
    assert_eq!(withdrawn, withdrawn_files);
    assert_eq!(withdrawn, 10 + 17, "the README's withdrawn counts");

    // The 7 PyPI records with malformed GIT commits are kept.
    assert!(db.by_id("PYSEC-2019-155").unwrap().is_some());

    // Idempotence: importing the same data again changes no count.
    let before = status_counts(&db);
    drop(db);
    let report = Database::import_at(&db_dir, &paths, 1_700_000_100).unwrap();
    assert_eq!(
        (report.added, report.replaced, report.kept_newer),
        (0, files, 0)
    );
    let db = Database::open(&db_dir).unwrap();
    assert_eq!(status_counts(&db), before);
}

#[test]
fn all_zip_equals_directory_import() {
    let Some(data) = data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    for (zip, dir) in [("PyPI-all.zip", "PyPI"), ("crates.io-all.zip", "crates.io")] {
        let from_zip = tmp.path().join(format!("zip-{dir}"));
        let from_dir = tmp.path().join(format!("dir-{dir}"));
        let report = Database::import_at(&from_zip, &[data.join("osv-zips").join(zip)], 1).unwrap();
        Database::import_at(&from_dir, &[data.join("osv").join(dir)], 1).unwrap();
        let a = Database::open(&from_zip).unwrap();
        let b = Database::open(&from_dir).unwrap();
        assert_eq!(
            report.inputs,
            std::fs::read_dir(data.join("osv").join(dir))
                .unwrap()
                .count()
        );
        assert_eq!(a.status(), b.status());
        let mut left: Vec<_> = a.all_advisories().unwrap().into_iter().cloned().collect();
        let mut right: Vec<_> = b.all_advisories().unwrap().into_iter().cloned().collect();
        left.sort_by(|x, y| x.id.cmp(&y.id));
        right.sort_by(|x, y| x.id.cmp(&y.id));
        assert_eq!(left.len(), right.len());
        assert!(
            left == right,
            "{zip}: records differ from the directory import"
        );
    }
}

fn record(id: &str, modified: &str, summary: &str) -> String {
    serde_json::json!({
        "id": id, "modified": modified, "summary": summary,
        "affected": [{"package": {"ecosystem": "PyPI", "name": "Demo_Pkg"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.0"}]}]}]
    })
    .to_string()
}

#[test]
fn newer_modified_wins_and_older_is_ignored() {
    let tmp = tempfile::tempdir().unwrap();
    let db_dir = tmp.path().join("db");
    let file = tmp.path().join("r.json");
    std::fs::write(&file, record("PYSEC-X-1", "2024-05-01T10:00:00Z", "middle")).unwrap();
    Database::import_at(&db_dir, std::slice::from_ref(&file), 1).unwrap();

    // Older (same instant written with an offset, minus one second): ignored.
    std::fs::write(
        &file,
        record("PYSEC-X-1", "2024-05-01T11:59:59+02:00", "older"),
    )
    .unwrap();
    let report = Database::import_at(&db_dir, std::slice::from_ref(&file), 2).unwrap();
    assert_eq!(report.kept_newer, 1);
    let db = Database::open(&db_dir).unwrap();
    assert_eq!(
        db.by_id("PYSEC-X-1").unwrap().unwrap().summary.as_deref(),
        Some("middle")
    );

    // Newer by a fraction of a second: replaces.
    std::fs::write(
        &file,
        record("PYSEC-X-1", "2024-05-01T10:00:00.5Z", "newer"),
    )
    .unwrap();
    let report = Database::import_at(&db_dir, std::slice::from_ref(&file), 3).unwrap();
    assert_eq!(report.replaced, 1);
    let db = Database::open(&db_dir).unwrap();
    let found = db.advisories("PyPI", "demo.pkg").unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].summary.as_deref(), Some("newer"));
}

#[test]
fn a_corrupt_file_fails_the_whole_import_and_keeps_the_database() {
    let Some(data) = data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let db_dir = tmp.path().join("db");
    Database::import_at(&db_dir, &[data.join("osv/npm")], 1).unwrap();
    let before = Database::open(&db_dir).unwrap().status().clone();

    // A copy of crates.io with one truncated record in the middle.
    let input = tmp.path().join("crates");
    std::fs::create_dir(&input).unwrap();
    for entry in std::fs::read_dir(data.join("osv/crates.io")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, input.join(path.file_name().unwrap())).unwrap();
    }
    let bad = input.join("RUSTSEC-2021-0001.json");
    let text = std::fs::read_to_string(&bad).unwrap();
    std::fs::write(&bad, &text[..text.len() / 2]).unwrap();

    let error = Database::import_at(&db_dir, std::slice::from_ref(&input), 2).unwrap_err();
    let message = error.to_string();
    assert!(message.contains("RUSTSEC-2021-0001.json"), "{message}");
    assert!(matches!(error, DbError::Import(_)));

    let db = Database::open(&db_dir).unwrap();
    assert_eq!(db.status(), &before);
    assert!(db.advisories("crates.io", "mdbook").unwrap().is_empty());
    assert!(!db.advisories("npm", "bassmaster").unwrap().is_empty());

    // An OSV record that is valid JSON but not OSV (a bad range type) names the file too.
    std::fs::write(&bad, text.replace("\"SEMVER\"", "\"SOMETHING\"")).unwrap();
    let error = Database::import_at(&db_dir, &[input], 2).unwrap_err();
    assert!(
        error.to_string().contains("RUSTSEC-2021-0001.json"),
        "{error}"
    );
    assert_eq!(Database::open(&db_dir).unwrap().status(), &before);
}

#[test]
fn a_leftover_generation_of_a_killed_import_is_ignored_and_cleaned() {
    let tmp = tempfile::tempdir().unwrap();
    let db_dir = tmp.path().join("db");
    let file = tmp.path().join("r.json");
    std::fs::write(&file, record("PYSEC-X-2", "2024-05-01T10:00:00Z", "one")).unwrap();
    Database::import_at(&db_dir, std::slice::from_ref(&file), 1).unwrap();
    // What a killed import leaves: a half-written generation that CURRENT does not name.
    std::fs::create_dir_all(db_dir.join("gen-7/osv")).unwrap();
    std::fs::write(db_dir.join("gen-7/osv/PyPI.jsonl"), "{\"trunc").unwrap();
    let db = Database::open(&db_dir).unwrap();
    assert_eq!(db.advisories("PyPI", "demo-pkg").unwrap().len(), 1);
    Database::import_at(&db_dir, std::slice::from_ref(&file), 2).unwrap();
    assert!(!db_dir.join("gen-7").exists());
    assert_eq!(
        Database::open(&db_dir)
            .unwrap()
            .advisories("PyPI", "demo-pkg")
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn kev_lookups_for_known_cves() {
    let Some(data) = data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let db_dir = tmp.path().join("db");
    let kev_file = data.join("kev/known_exploited_vulnerabilities.json");
    let catalog: Value = serde_json::from_slice(&std::fs::read(&kev_file).unwrap()).unwrap();
    let report = Database::import_at(&db_dir, &[kev_file], 1).unwrap();
    let entries = catalog["vulnerabilities"].as_array().unwrap();
    assert_eq!(report.kev_entries, entries.len());
    let db = Database::open(&db_dir).unwrap();
    let status = db.status().kev.clone().unwrap();
    assert_eq!(status.catalog_version, "2025.08.25");
    assert_eq!(status.count, 1404);
    // Every entry of the catalog answers with its own fields.
    for entry in entries {
        let cve = entry["cveID"].as_str().unwrap();
        let found = db.kev(cve).unwrap();
        assert_eq!(found.date_added, entry["dateAdded"].as_str().unwrap());
        assert_eq!(found.due_date, entry["dueDate"].as_str().unwrap());
        assert_eq!(
            found.known_ransomware_campaign_use,
            entry["knownRansomwareCampaignUse"].as_str().unwrap()
        );
    }
    // The CSV edition of the same catalog gives the same entries.
    let csv_db = tmp.path().join("csv");
    let report = Database::import_at(
        &csv_db,
        &[data.join("kev/known_exploited_vulnerabilities.csv")],
        1,
    )
    .unwrap();
    assert_eq!(report.kev_entries, entries.len());
    let from_csv = Database::open(&csv_db).unwrap();
    for entry in entries {
        let cve = entry["cveID"].as_str().unwrap();
        let (a, b) = (db.kev(cve).unwrap(), from_csv.kev(cve).unwrap());
        // `notes` differ: the shared data rewrote Debian links in the JSON only.
        let without_notes = |entry: &drydock_vuln::KevEntry| drydock_vuln::KevEntry {
            notes: String::new(),
            ..entry.clone()
        };
        assert_eq!(without_notes(a), without_notes(b), "{cve}");
    }
    // The README's joins: salt CVE-2020-11651, libwebp CVE-2023-4863.
    assert!(db.kev("CVE-2020-11651").is_some());
    assert!(db.kev("CVE-2023-4863").is_some());
    assert!(db.kev("CVE-1999-0000").is_none());
}

#[test]
fn alpine_secdb_real_files() {
    let Some(data) = data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let db_dir = tmp.path().join("db");
    let dir = data.join("alpine-secdb");
    // Independent count: (release, package, first id of each line), key "0" skipped.
    let mut expected: BTreeMap<String, BTreeSet<(String, String)>> = BTreeMap::new();
    let mut files = Vec::new();
    for release in std::fs::read_dir(&dir).unwrap() {
        for file in std::fs::read_dir(release.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                let value: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
                let ecosystem = format!("Alpine:{}", value["distroversion"].as_str().unwrap());
                for package in value["packages"].as_array().into_iter().flatten() {
                    let name = package["pkg"]["name"].as_str().unwrap();
                    for (version, ids) in
                        package["pkg"]["secfixes"].as_object().into_iter().flatten()
                    {
                        if version == "0" {
                            continue;
                        }
                        for line in ids.as_array().into_iter().flatten() {
                            // The documented rule: ids before a `(comment)`, the
                            // first one names the record; `CVE_` is a typo of `CVE-`.
                            let id = line
                                .as_str()
                                .unwrap()
                                .split_whitespace()
                                .take_while(|t| !t.starts_with('('))
                                .map(|t| t.replace("CVE_", "CVE-"))
                                .find(|t| {
                                    let (prefix, rest) = t.split_once('-').unwrap_or(("", ""));
                                    prefix
                                        .chars()
                                        .next()
                                        .is_some_and(|c| c.is_ascii_uppercase())
                                        && prefix
                                            .chars()
                                            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
                                        && !rest.is_empty()
                                        && rest.chars().all(|c| {
                                            c.is_ascii_alphanumeric() || "-._:".contains(c)
                                        })
                                });
                            if let Some(id) = id {
                                expected
                                    .entry(ecosystem.clone())
                                    .or_default()
                                    .insert((name.to_owned(), id));
                            }
                        }
                    }
                }
                files.push(path);
            }
        }
    }
    assert_eq!(files.len(), 18);
    Database::import_at(&db_dir, &[dir], 1).unwrap();
    let db = Database::open(&db_dir).unwrap();
    let got: BTreeMap<String, usize> = db
        .status()
        .ecosystems
        .iter()
        .map(|e| (e.ecosystem.clone(), e.records))
        .collect();
    let want: BTreeMap<String, usize> =
        expected.iter().map(|(k, v)| (k.clone(), v.len())).collect();
    assert_eq!(got, want);
    // Source package lookup, fixed version from the secfixes key.
    let file: Value =
        serde_json::from_slice(&std::fs::read(data.join("alpine-secdb/v3.10/main.json")).unwrap())
            .unwrap();
    let (name, version, cve) = file["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|p| {
            let secfixes = p["pkg"]["secfixes"].as_object()?;
            let (version, ids) = secfixes
                .iter()
                .find(|(v, ids)| *v != "0" && ids.is_array())?;
            let cve = ids[0].as_str()?.split_whitespace().next()?.to_owned();
            Some((p["pkg"]["name"].as_str()?.to_owned(), version.clone(), cve))
        })
        .unwrap();
    let found = db.advisories("Alpine:v3.10", &name).unwrap();
    let advisory = found
        .iter()
        .find(|a| a.id.ends_with(&format!("/{cve}")))
        .unwrap();
    assert!(
        advisory.affected[0].fixed_versions().any(|v| v == version) || {
            // listed under several versions: the first fix wins
            advisory.affected[0].fixed_versions().count() == 1
        }
    );
    assert_eq!(advisory.data_source, "alpine-secdb");
}

#[test]
fn another_schema_version_is_refused_with_both_versions() {
    let tmp = tempfile::tempdir().unwrap();
    let db_dir = tmp.path().join("db");
    let file = tmp.path().join("r.json");
    std::fs::write(&file, record("PYSEC-X-3", "2024-05-01T10:00:00Z", "one")).unwrap();
    Database::import_at(&db_dir, std::slice::from_ref(&file), 1).unwrap();
    let current = std::fs::read_to_string(db_dir.join("CURRENT")).unwrap();
    let metadata = db_dir.join(current.trim()).join("metadata.json");
    let text = std::fs::read_to_string(&metadata).unwrap();
    std::fs::write(
        &metadata,
        text.replace("\"schema_version\": 1", "\"schema_version\": 99"),
    )
    .unwrap();
    let error = Database::open(&db_dir).unwrap_err();
    assert!(
        matches!(
            error,
            DbError::SchemaVersion {
                found: 99,
                expected: 1,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn an_empty_directory_opens_as_an_empty_database() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Database::open(tmp.path()).unwrap();
    assert!(db.status().ecosystems.is_empty());
    assert_eq!(db.status().last_update, None);
    assert!(db.advisories("PyPI", "django").unwrap().is_empty());
}

#[test]
fn in_memory_database_answers_like_a_stored_one() {
    let Some(data) = data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let db_dir = tmp.path().join("db");
    Database::import_at(&db_dir, &[data.join("osv/crates.io")], 1).unwrap();
    let stored = Database::open(&db_dir).unwrap();
    let records: Vec<_> = stored
        .all_advisories()
        .unwrap()
        .into_iter()
        .cloned()
        .collect();
    let memory = Database::from_records(records, [], []);
    for name in ["mdbook", "tokio", "openssl", "Openssl"] {
        let a: Vec<_> = stored
            .advisories("crates.io", name)
            .unwrap()
            .iter()
            .map(|a| a.id.clone())
            .collect();
        let b: Vec<_> = memory
            .advisories("crates.io", name)
            .unwrap()
            .iter()
            .map(|a| a.id.clone())
            .collect();
        assert_eq!(a, b, "{name}");
    }
    assert!(
        stored
            .advisories("crates.io", "Openssl")
            .unwrap()
            .is_empty(),
        "crates.io names are case-sensitive"
    );
    assert_eq!(stored.status().ecosystems, memory.status().ecosystems);
}

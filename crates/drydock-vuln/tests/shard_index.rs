//! The per-shard index (`osv/<ecosystem>.jsonl.idx`): a name lookup reads
//! and parses only its own records. Checked against the real OSV data in
//! ../shared/data: every package name's records equal the ids an
//! independent walk of the JSON files finds, through the index and, with
//! the index files removed, through the whole-shard fallback (databases
//! written before the index existed). A corrupt index is an error, not a
//! panic or a wrong answer.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use drydock_vuln::{Database, normalize_name};
use serde_json::Value;

const ECOSYSTEMS: &[&str] = &["PyPI", "crates.io", "npm"];

fn data() -> Option<PathBuf> {
    let path = drydock_test::workspace_root().join("../shared/data/osv");
    if path.is_dir() {
        return Some(path);
    }
    drydock_test::missing("../shared/data/osv (the shared test data)");
    None
}

/// (ecosystem, normalised name) → ids of the records affecting it.
fn expected(data: &Path) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut out: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for ecosystem in ECOSYSTEMS {
        for entry in std::fs::read_dir(data.join(ecosystem)).unwrap() {
            let value: Value =
                serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
            for affected in value["affected"].as_array().into_iter().flatten() {
                let ecosystem = affected["package"]["ecosystem"].as_str().unwrap();
                let name = affected["package"]["name"].as_str().unwrap();
                out.entry((ecosystem.to_owned(), normalize_name(ecosystem, name)))
                    .or_default()
                    .insert(value["id"].as_str().unwrap().to_owned());
            }
        }
    }
    out
}

fn lookups(db: &Database, keys: &[(String, String)]) -> Vec<BTreeSet<String>> {
    keys.iter()
        .map(|(ecosystem, name)| {
            db.advisories(ecosystem, name)
                .unwrap()
                .into_iter()
                .map(|advisory| advisory.id.clone())
                .collect()
        })
        .collect()
}

fn index_files(db_dir: &Path) -> Vec<PathBuf> {
    let current = std::fs::read_to_string(db_dir.join("CURRENT")).unwrap();
    std::fs::read_dir(db_dir.join(current.trim()).join("osv"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(".jsonl.idx"))
        .collect()
}

#[test]
fn name_lookups_through_the_index_and_without_it_equal_an_independent_walk() {
    let Some(data) = data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let db_dir = tmp.path().join("db");
    let inputs: Vec<PathBuf> = ECOSYSTEMS.iter().map(|e| data.join(e)).collect();
    Database::import_at(&db_dir, &inputs, 1).unwrap();
    let expected = expected(&data);
    assert!(expected.len() > 1000, "{}", expected.len());
    let keys: Vec<(String, String)> = expected.keys().cloned().collect();
    let want: Vec<BTreeSet<String>> = expected.values().cloned().collect();

    let indexes = index_files(&db_dir);
    assert_eq!(indexes.len(), ECOSYSTEMS.len(), "{indexes:?}");
    // Through the index; twice (the second lookup hits parsed records).
    let db = Database::open(&db_dir).unwrap();
    assert_eq!(lookups(&db, &keys), want);
    assert_eq!(lookups(&db, &keys), want);
    assert!(
        db.advisories("PyPI", "no-such-package-here")
            .unwrap()
            .is_empty()
    );
    // A whole-shard API after index lookups, then lookups again.
    assert!(db.by_id("RUSTSEC-2021-0001").unwrap().is_some());
    assert_eq!(lookups(&db, &keys), want);

    // Without index files: the whole-shard path, same answers.
    for path in &indexes {
        std::fs::remove_file(path).unwrap();
    }
    let db = Database::open(&db_dir).unwrap();
    assert_eq!(lookups(&db, &keys), want);
}

/// The index file: the offsets line, then `"name"\trecords` lines.
fn split_index(bytes: &[u8]) -> (Vec<u64>, Vec<String>) {
    let text = std::str::from_utf8(bytes).unwrap();
    let (first, rest) = text.split_once('\n').unwrap();
    (
        serde_json::from_str(first).unwrap(),
        rest.lines().map(str::to_owned).collect(),
    )
}

fn join_index(offsets: &[u64], lines: &[String]) -> Vec<u8> {
    let mut out = serde_json::to_string(offsets).unwrap();
    for line in lines {
        out.push('\n');
        out.push_str(line);
    }
    out.push('\n');
    out.into_bytes()
}

#[test]
fn a_corrupt_index_is_an_error() {
    let Some(data) = data() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let db_dir = tmp.path().join("db");
    Database::import_at(&db_dir, &[data.join("npm")], 1).unwrap();
    let index = index_files(&db_dir).pop().unwrap();
    let original = std::fs::read(&index).unwrap();
    let (offsets, lines) = split_index(&original);
    assert!(lines.len() > 10);
    // Look up every name: whichever line a corruption hits is looked up.
    let names: Vec<String> = lines
        .iter()
        .map(|line| serde_json::from_str(line.split_once('\t').unwrap().0).unwrap())
        .collect();
    let mut corruptions: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", original[..original.len() / 2].to_vec()),
        ("no offsets line", b"[1,2,3]".to_vec()),
    ];
    let mut past_end = offsets.clone();
    *past_end.last_mut().unwrap() = u64::MAX / 2;
    corruptions.push(("offset past the end", join_index(&past_end, &lines)));
    let mut reversed = offsets.clone();
    reversed.reverse();
    corruptions.push(("offsets reversed", join_index(&reversed, &lines)));
    let shifted: Vec<u64> = offsets.iter().map(|o| o.saturating_sub(3)).collect();
    corruptions.push(("offsets shifted", join_index(&shifted, &lines)));
    let mut bad_number = lines.clone();
    let name = bad_number[3].split_once('\t').unwrap().0.to_owned();
    bad_number[3] = format!("{name}\t{}", offsets.len() + 5);
    corruptions.push(("record number", join_index(&offsets, &bad_number)));
    let mut not_a_number = lines.clone();
    not_a_number[3] = format!("{name}\tx");
    corruptions.push(("record list", join_index(&offsets, &not_a_number)));
    let mut unsorted = lines.clone();
    unsorted.swap(1, 2);
    corruptions.push(("names out of order", join_index(&offsets, &unsorted)));
    let mut no_tab = lines.clone();
    no_tab[5] = name.clone();
    corruptions.push(("a line without records", join_index(&offsets, &no_tab)));
    for (what, bytes) in corruptions {
        std::fs::write(&index, bytes).unwrap();
        let db = Database::open(&db_dir).unwrap();
        assert!(
            names.iter().any(|name| db.advisories("npm", name).is_err()),
            "{what}: not an error"
        );
    }
    // Restored: every name looks up again.
    std::fs::write(&index, &original).unwrap();
    let db = Database::open(&db_dir).unwrap();
    for name in &names {
        assert!(!db.advisories("npm", name).unwrap().is_empty(), "{name}");
    }
}

//! CVE records (NVD CVE API 2.0 JSON, CVE JSON 5) from ../shared/data:
//! import in every shape (bare `cve` objects, paged API responses, CVE JSON
//! 5 files, directory trees, zip archives, a zip inside a zip), scores
//! recomputed by drydock against the scores the files state, and the
//! severity precedence per source. Expectations are read from the files
//! here with serde_json (the `baseSeverity` NVD and the CNAs state), not
//! from the code under test.
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use drydock_core::{Package, PackageKind, Purl};
use drydock_vuln::{Database, SeverityLevel, match_packages};
use serde_json::{Value, json};

const ADP_CISA: &str = "134c704f-9b21-4f2e-91b3-4a467353bcc0";

fn shared_data() -> Option<PathBuf> {
    let dir = drydock_test::workspace_root().join("../shared/data");
    if dir.join("nvd").is_dir() && dir.join("cve").is_dir() {
        Some(dir)
    } else {
        drydock_test::missing(&format!("the shared NVD/CVE data in {}", dir.display()));
        None
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    files
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// (tier, version, vector, stated score, stated severity) of one CVE, read
/// from the two files as the formats define them.
#[derive(Debug, Clone, PartialEq)]
struct Stated {
    tier: &'static str,
    version: String,
    vector: String,
    score: f64,
    severity: String,
}

fn stated(data: &Path, cve: &str) -> Vec<Stated> {
    let mut out = Vec::new();
    let nvd = read_json(&data.join("nvd").join(format!("{cve}.json")));
    for (key, metrics) in nvd["metrics"].as_object().unwrap() {
        for metric in metrics.as_array().unwrap() {
            let data = &metric["cvssData"];
            let tier = if metric["type"] == "Primary" {
                "nvd"
            } else if metric["source"] == ADP_CISA {
                "adp"
            } else {
                "cna"
            };
            // v2 states its severity beside `cvssData`, v3/v4 inside.
            let severity = data["baseSeverity"]
                .as_str()
                .or_else(|| metric["baseSeverity"].as_str())
                .unwrap_or_else(|| panic!("{cve} {key}: no baseSeverity"));
            out.push(Stated {
                tier,
                version: data["version"].as_str().unwrap().to_owned(),
                vector: data["vectorString"].as_str().unwrap().to_owned(),
                score: data["baseScore"].as_f64().unwrap(),
                severity: severity.to_ascii_lowercase(),
            });
        }
    }
    let record = read_json(&data.join("cve").join(format!("{cve}.json")));
    let containers = &record["containers"];
    let mut sections = vec![("cna", &containers["cna"])];
    for adp in containers["adp"].as_array().into_iter().flatten() {
        sections.push(("adp", adp));
    }
    for (tier, container) in sections {
        for metric in container["metrics"].as_array().into_iter().flatten() {
            for (key, version) in [
                ("cvssV2_0", "2.0"),
                ("cvssV3_0", "3.0"),
                ("cvssV3_1", "3.1"),
                ("cvssV4_0", "4.0"),
            ] {
                let data = &metric[key];
                if data.is_null() {
                    continue;
                }
                let score = data["baseScore"].as_f64().unwrap();
                // CVE JSON 5 v2 entries may omit baseSeverity: v2's bands.
                let severity = data["baseSeverity"].as_str().map_or_else(
                    || {
                        if score >= 7.0 {
                            "high"
                        } else if score >= 4.0 {
                            "medium"
                        } else {
                            "low"
                        }
                        .to_owned()
                    },
                    str::to_ascii_lowercase,
                );
                out.push(Stated {
                    tier,
                    version: version.to_owned(),
                    vector: data["vectorString"].as_str().unwrap().to_owned(),
                    score,
                    severity,
                });
            }
        }
    }
    out
}

fn rank(version: &str) -> u8 {
    match version {
        "4.0" => 4,
        "3.1" => 3,
        "3.0" => 2,
        _ => 1,
    }
}

/// The expected (tier, severity, vector) by the documented precedence: NVD
/// Primary, then CNA, then ADP; newest CVSS version, highest score.
fn expected(stated: &[Stated]) -> Option<(&'static str, String, String)> {
    ["nvd", "cna", "adp"].into_iter().find_map(|tier| {
        stated
            .iter()
            .filter(|s| s.tier == tier)
            .max_by(|a, b| {
                rank(&a.version)
                    .cmp(&rank(&b.version))
                    .then(a.score.total_cmp(&b.score))
            })
            .map(|s| (tier, s.severity.clone(), s.vector.clone()))
    })
}

fn import(paths: &[PathBuf]) -> (tempfile::TempDir, PathBuf, drydock_vuln::ImportReport) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    let report = Database::import_at(&dir, paths, 1_700_000_000).unwrap();
    (tmp, dir, report)
}

fn pypi(name: &str, version: &str) -> Package {
    Package {
        name: name.to_owned(),
        version: version.to_owned(),
        kind: PackageKind::Pypi,
        purl: Purl::new("pypi", name).with_version(version),
        arch: None,
        source: None,
        licenses: Vec::new(),
        maintainer: None,
        installed_size: None,
        checksum: None,
        installed: true,
        locations: Vec::new(),
        layer: None,
        files: Vec::new(),
    }
}

/// An OSV record for `name` (every version affected) naming `cve` as an
/// alias, with optional `severity[]` and `database_specific`.
fn advisory(id: &str, name: &str, cve: &str, severity: &Value, specific: &Value) -> Value {
    json!({
        "id": id, "modified": "2024-01-01T00:00:00Z", "aliases": [cve],
        "severity": severity.clone(), "database_specific": specific.clone(),
        "affected": [{ "package": { "ecosystem": "PyPI", "name": name },
                       "ranges": [{ "type": "ECOSYSTEM", "events": [{ "introduced": "0" }] }] }],
    })
}

#[test]
fn real_records_import_and_every_stated_score_is_recomputed_exactly() {
    let Some(data) = shared_data() else {
        return;
    };
    let (_tmp, dir, report) = import(&[data.join("nvd"), data.join("cve")]);
    let nvd_files = files(&data.join("nvd"));
    let cve_files = files(&data.join("cve"));
    assert_eq!(report.cve_records, nvd_files.len() + cve_files.len());
    assert_eq!(report.total_cve_records, nvd_files.len());
    assert!(
        report.cvss_rejected.is_empty(),
        "{:?}",
        report.cvss_rejected
    );
    assert!(
        report.cvss_score_mismatches.is_empty(),
        "{:?}",
        report.cvss_score_mismatches
    );
    let db = Database::open(&dir).unwrap();
    assert_eq!(db.status().cve.as_ref().unwrap().count, nvd_files.len());
    let mut vectors = 0;
    for file in &nvd_files {
        let cve = file.file_stem().unwrap().to_str().unwrap();
        let record = db.cve(cve).unwrap().unwrap_or_else(|| panic!("{cve}"));
        let nvd = read_json(file);
        assert_eq!(
            record.description.as_deref(),
            nvd["descriptions"][0]["value"].as_str()
        );
        for stated in stated(&data, cve) {
            vectors += 1;
            let score = drydock_vuln::cvss::score(&stated.vector).unwrap();
            assert!(
                (score.base_score - stated.score).abs() < 1e-9,
                "{cve} {}: stated {}, drydock {}",
                stated.vector,
                stated.score,
                score.base_score
            );
            assert!(
                record
                    .metrics
                    .iter()
                    .any(|m| m.vector == stated.vector && m.tier.as_str() == stated.tier),
                "{cve}: {stated:?} not stored: {:?}",
                record.metrics
            );
        }
        // CWE ids as NVD lists them (placeholders dropped).
        for weakness in nvd["weaknesses"].as_array().into_iter().flatten() {
            for description in weakness["description"].as_array().unwrap() {
                let value = description["value"].as_str().unwrap();
                if value.starts_with("CWE-") {
                    assert!(record.cwes.iter().any(|c| c == value), "{cve} {value}");
                }
            }
        }
    }
    assert_eq!(vectors, report.cvss_vectors);
    assert!(db.cve("CVE-1999-0001").unwrap().is_none());
}

#[test]
fn severity_follows_nvd_then_cna_then_adp_for_every_real_cve() {
    let Some(data) = shared_data() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let records = tmp.path().join("records.json");
    let cves: Vec<String> = files(&data.join("nvd"))
        .iter()
        .map(|f| f.file_stem().unwrap().to_str().unwrap().to_owned())
        .collect();
    let advisories: Vec<Value> = cves
        .iter()
        .enumerate()
        .map(|(i, cve)| {
            advisory(
                &format!("PYSEC-TEST-{i}"),
                &format!("pkg-{i}"),
                cve,
                &Value::Null,
                &Value::Null,
            )
        })
        .collect();
    std::fs::write(&records, Value::Array(advisories).to_string()).unwrap();
    let (_tmp, dir, _) = import(&[records, data.join("nvd"), data.join("cve")]);
    let db = Database::open(&dir).unwrap();
    let packages: Vec<Package> = (0..cves.len())
        .map(|i| pypi(&format!("pkg-{i}"), "1.0"))
        .collect();
    let outcome = match_packages(&db, &packages, None).unwrap();
    assert_eq!(outcome.findings.len(), cves.len());
    let mut per_tier: BTreeMap<&str, usize> = BTreeMap::new();
    for finding in &outcome.findings {
        let cve = &finding.aliases[0];
        let stated = stated(&data, cve);
        if let Some((tier, severity, vector)) = expected(&stated) {
            {
                *per_tier.entry(tier).or_default() += 1;
                assert_eq!(finding.severity.as_str(), severity, "{cve}: {finding:?}");
                let source = finding.severity_source.as_deref().unwrap();
                assert!(
                    source.starts_with(&format!("{tier}-cvss-v")),
                    "{cve}: {source}"
                );
                assert_eq!(finding.cvss.as_ref().unwrap().vector, vector, "{cve}");
                assert!(finding.severity_provider.is_some());
            }
        } else {
            *per_tier.entry("none").or_default() += 1;
            assert_eq!(finding.severity, SeverityLevel::Unknown, "{cve}");
            assert_eq!(finding.severity_source, None);
        }
        // Every vector is kept, each with the score drydock computed.
        assert_eq!(finding.cvss_vectors.len(), stated.len(), "{cve}");
        for vector in &finding.cvss_vectors {
            assert_eq!(vector.cve.as_deref(), Some(cve.as_str()));
            assert_eq!(vector.base_score, vector.stated_score, "{cve}");
        }
    }
    // The real data exercises every tier.
    for tier in ["nvd", "cna", "adp"] {
        assert!(per_tier.get(tier).copied().unwrap_or(0) > 0, "{per_tier:?}");
    }
    eprintln!("severity tiers over the real CVEs: {per_tier:?}");
}

#[test]
fn the_advisory_and_the_distribution_come_before_nvd() {
    let Some(data) = shared_data() else {
        return;
    };
    // CVE-2021-44228: NVD rates it critical (CVSS 3.1 10.0).
    let cve = "CVE-2021-44228";
    let nvd = expected(&stated(&data, cve)).unwrap();
    assert_eq!((nvd.0, nvd.1.as_str()), ("nvd", "critical"));
    let tmp = tempfile::tempdir().unwrap();
    let own_vector = "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N"; // 1.8, low
    let records = json!([
        advisory(
            "A-OWN",
            "own",
            cve,
            &json!([{ "type": "CVSS_V3", "score": own_vector }]),
            &Value::Null
        ),
        advisory(
            "A-LABEL",
            "label",
            cve,
            &Value::Null,
            &json!({ "severity": "MODERATE" })
        ),
        advisory("A-NONE", "none", cve, &Value::Null, &Value::Null),
    ]);
    let path = tmp.path().join("records.json");
    std::fs::write(&path, records.to_string()).unwrap();
    let debian = tmp.path().join("tracker.json");
    std::fs::write(
        &debian,
        json!({ "apache-log4j2": { cve: { "releases": { "bookworm": {
            "status": "open", "urgency": "low", "repositories": {} } } } } })
        .to_string(),
    )
    .unwrap();
    let (_tmp, dir, _) = import(&[path, debian, data.join("nvd"), data.join("cve")]);
    let db = Database::open(&dir).unwrap();
    let packages = vec![pypi("own", "1"), pypi("label", "1"), pypi("none", "1")];
    let outcome = match_packages(&db, &packages, None).unwrap();
    let by_name = |name: &str| {
        outcome
            .findings
            .iter()
            .find(|f| f.package.name == name)
            .unwrap()
    };
    assert_eq!(by_name("own").severity, SeverityLevel::Low);
    assert_eq!(by_name("own").severity_source.as_deref(), Some("cvss-v3.1"));
    // Own vector plus every NVD / CVE record vector.
    assert!(by_name("own").cvss_vectors.len() > 1);
    assert_eq!(by_name("label").severity, SeverityLevel::Medium);
    assert_eq!(
        by_name("label").severity_source.as_deref(),
        Some("database-specific-severity")
    );
    assert_eq!(by_name("none").severity, SeverityLevel::Critical);
    assert_eq!(
        by_name("none").severity_source.as_deref(),
        Some("nvd-cvss-v3.1")
    );
    assert_eq!(
        by_name("none").severity_provider.as_deref(),
        Some("nvd@nist.gov")
    );
    assert!(!by_name("none").cwes.is_empty());
    // Debian's own urgency beats NVD for the Debian package.
    let mut deb = pypi("liblog4j2-java", "2.17.0-1");
    deb.kind = PackageKind::Deb;
    deb.purl = Purl::new("deb", "liblog4j2-java").with_version("2.17.0-1");
    deb.source = Some(drydock_core::SourcePackage {
        name: "apache-log4j2".into(),
        version: "2.17.0-1".into(),
    });
    let distro = drydock_core::Distro {
        id: "debian".into(),
        version_id: "12".into(),
        ..Default::default()
    };
    let outcome = match_packages(&db, &[deb], Some(&distro)).unwrap();
    assert_eq!(outcome.findings.len(), 1);
    assert_eq!(outcome.findings[0].severity, SeverityLevel::Low);
    assert_eq!(
        outcome.findings[0].severity_source.as_deref(),
        Some("debian-urgency")
    );
}

/// Every shape of input gives the same CVE records as the bare files.
#[test]
fn api_pages_zip_archives_and_nested_zips_import_the_same_records() {
    let Some(data) = shared_data() else {
        return;
    };
    let (_a, plain_dir, _) = import(&[data.join("nvd"), data.join("cve")]);
    let plain = Database::open(&plain_dir).unwrap();

    let tmp = tempfile::tempdir().unwrap();
    // NVD API responses, 25 per page.
    let nvd_files = files(&data.join("nvd"));
    let mut inputs = Vec::new();
    for (page, chunk) in nvd_files.chunks(25).enumerate() {
        let vulnerabilities: Vec<Value> = chunk
            .iter()
            .map(|path| json!({ "cve": read_json(path) }))
            .collect();
        let response = json!({
            "resultsPerPage": chunk.len(), "startIndex": page * 25,
            "totalResults": nvd_files.len(), "format": "NVD_CVE", "version": "2.0",
            "timestamp": "2024-08-01T00:00:00.000", "vulnerabilities": vulnerabilities,
        });
        let path = tmp.path().join(format!("page-{page}.json"));
        std::fs::write(&path, response.to_string()).unwrap();
        inputs.push(path);
    }
    // CVE JSON 5 in a cvelistV5-shaped tree inside cves.zip inside a zip.
    let mut inner = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for path in files(&data.join("cve")) {
        let name = path.file_name().unwrap().to_str().unwrap();
        let year = &name[4..8];
        inner
            .start_file(format!("cves/{year}/xxx/{name}"), options)
            .unwrap();
        inner.write_all(&std::fs::read(&path).unwrap()).unwrap();
    }
    inner.start_file("cves/delta.json", options).unwrap();
    inner
        .write_all(
            br#"{"fetchTime":"2024-08-01T00:00:00Z","numberOfChanges":0,"new":[],"updated":[]}"#,
        )
        .unwrap();
    let inner = inner.finish().unwrap().into_inner();
    let mut outer = zip::ZipWriter::new(std::fs::File::create(tmp.path().join("all.zip")).unwrap());
    outer.start_file("cves.zip", options).unwrap();
    outer.write_all(&inner).unwrap();
    outer.finish().unwrap();
    inputs.push(tmp.path().join("all.zip"));
    let (_b, shaped_dir, report) = import(&inputs);
    assert_eq!(report.cve_records, 2 * nvd_files.len());
    let shaped = Database::open(&shaped_dir).unwrap();
    for path in &nvd_files {
        let cve = path.file_stem().unwrap().to_str().unwrap();
        assert_eq!(plain.cve(cve).unwrap(), shaped.cve(cve).unwrap(), "{cve}");
    }
}

#[test]
fn malformed_files_name_the_file_and_keep_the_database() {
    let Some(data) = shared_data() else {
        return;
    };
    let (tmp, dir, _) = import(&[data.join("nvd")]);
    let before = Database::open(&dir).unwrap().status().clone();
    let nvd = read_json(&data.join("nvd/CVE-2023-4911.json"));
    let cve5 = read_json(&data.join("cve/CVE-2023-4911.json"));
    let mut cases: Vec<(&str, Value, &str)> = Vec::new();
    let mut bad = nvd.clone();
    bad["metrics"]["cvssMetricV31"] = json!({ "not": "a list" });
    cases.push((
        "nvd-metrics.json",
        bad,
        "`metrics.cvssMetricV31` is not a list",
    ));
    let mut bad = nvd.clone();
    bad["metrics"]["cvssMetricV31"][0]["cvssData"]
        .as_object_mut()
        .unwrap()
        .remove("vectorString");
    cases.push(("nvd-vector.json", bad, "no `vectorString`"));
    let mut bad = nvd.clone();
    bad["id"] = json!("CVE-2023-XYZ");
    cases.push(("nvd-id.json", bad, "not a CVE id"));
    let mut bad = cve5.clone();
    bad["cveMetadata"].as_object_mut().unwrap().remove("cveId");
    cases.push(("cve-id.json", bad, "no `cveMetadata.cveId`"));
    let mut bad = cve5.clone();
    bad["containers"]["adp"] = json!("nope");
    cases.push(("cve-adp.json", bad, "`containers.adp` is not a list"));
    let response =
        json!({ "resultsPerPage": 1, "totalResults": 1, "vulnerabilities": [{ "nope": 1 }] });
    cases.push(("nvd-page.json", response, "has no `cve` object"));
    for (name, value, what) in cases {
        let path = tmp.path().join(name);
        std::fs::write(&path, value.to_string()).unwrap();
        let error = Database::import_at(&dir, &[data.join("cve"), path.clone()], 1_800_000_000)
            .unwrap_err();
        let message = error.to_string();
        assert!(message.contains(name), "{name}: {message}");
        assert!(message.contains(what), "{name}: {message}");
        assert_eq!(Database::open(&dir).unwrap().status(), &before, "{name}");
    }
    // Truncated JSON: the file's name too.
    let path = tmp.path().join("truncated.json");
    let text = std::fs::read_to_string(data.join("nvd/CVE-2023-4911.json")).unwrap();
    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    let error = Database::import_at(&dir, &[path], 1_800_000_000).unwrap_err();
    assert!(error.to_string().contains("truncated.json"), "{error}");
    assert_eq!(Database::open(&dir).unwrap().status(), &before);
}

#[test]
fn later_imports_keep_cve_records_and_newer_ones_win() {
    let Some(data) = shared_data() else {
        return;
    };
    let (tmp, dir, _) = import(&[data.join("nvd"), data.join("cve")]);
    let cve = "CVE-2023-4911";
    let stored = Database::open(&dir)
        .unwrap()
        .cve(cve)
        .unwrap()
        .unwrap()
        .clone();
    // An OSV-only import keeps them.
    let osv = tmp.path().join("osv.json");
    std::fs::write(
        &osv,
        advisory("X-1", "x", cve, &Value::Null, &Value::Null).to_string(),
    )
    .unwrap();
    Database::import_at(&dir, &[osv], 1_700_000_100).unwrap();
    let db = Database::open(&dir).unwrap();
    assert_eq!(db.cve(cve).unwrap().unwrap(), &stored);
    // An older NVD record does not replace the stored one; a newer one does.
    let mut nvd = read_json(&data.join("nvd/CVE-2023-4911.json"));
    nvd["lastModified"] = json!("2001-01-01T00:00:00.000");
    nvd["metrics"]["cvssMetricV31"][0]["cvssData"]["vectorString"] =
        json!("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
    let path = tmp.path().join("older.json");
    std::fs::write(&path, nvd.to_string()).unwrap();
    Database::import_at(&dir, std::slice::from_ref(&path), 1_700_000_200).unwrap();
    assert_eq!(
        Database::open(&dir).unwrap().cve(cve).unwrap().unwrap(),
        &stored
    );
    nvd["lastModified"] = json!("2030-01-01T00:00:00.000");
    std::fs::write(&path, nvd.to_string()).unwrap();
    Database::import_at(&dir, &[path], 1_700_000_300).unwrap();
    let db = Database::open(&dir).unwrap();
    let updated = db.cve(cve).unwrap().unwrap();
    assert!(
        updated
            .metrics
            .iter()
            .any(|m| m.vector == "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
    );
    // The CVE record's (cna/adp) metrics are kept beside NVD's.
    let cve_metrics = |record: &drydock_vuln::CveRecord| {
        record
            .metrics
            .iter()
            .filter(|m| m.origin == drydock_vuln::MetricOrigin::Cve)
            .count()
    };
    assert_eq!(cve_metrics(updated), cve_metrics(&stored));
}

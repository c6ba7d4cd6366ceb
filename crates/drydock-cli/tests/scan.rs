//! `drydock scan` end to end, on real packages and real advisories:
//! - the pip-installed Python fixture (old real wheels) against
//!   ../shared/data/osv/PyPI + the CISA KEV catalog: the findings equal the
//!   records whose `affected[].versions` list the installed version, KEV
//!   flags equal the KEV catalog's CVE list (both computed here from the
//!   JSON files);
//! - the real Debian image fixture against a crafted tracker JSON: the
//!   findings equal the tracker's states evaluated with `dpkg
//!   --compare-versions` over `dpkg-query`'s source packages;
//! - every output format (CycloneDX validated against the 1.6 schema, SARIF
//!   checked field by field), `--fail-on`, `--only-fixed`, `--vex`,
//!   `--show-suppressed`, `sbom:` inputs, and exit status 2 on errors.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::{Value, json};

fn data_dir() -> PathBuf {
    drydock_test::workspace_root().join("../shared/data")
}

fn tracker() -> PathBuf {
    drydock_test::workspace_root()
        .join("crates/drydock-vuln/tests/fixtures/tracker-debian-image.json")
}

fn drydock(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_drydock"))
        .args(args)
        .output()
        .expect("spawn drydock")
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The tiers (`nvd`, `cna`, `adp`) of the CVSS metrics that the NVD and
/// CVE JSON 5 files of ../shared/data give for `cve`.
fn stated_tiers(cve: &str) -> Vec<String> {
    let read = |path: PathBuf| -> Option<Value> {
        serde_json::from_slice(&std::fs::read(path).ok()?).ok()
    };
    let mut tiers = Vec::new();
    if let Some(nvd) = read(data_dir().join("nvd").join(format!("{cve}.json"))) {
        for metrics in nvd["metrics"]
            .as_object()
            .into_iter()
            .flat_map(|m| m.values())
        {
            for metric in metrics.as_array().into_iter().flatten() {
                tiers.push(if metric["type"] == "Primary" {
                    "nvd"
                } else if metric["source"] == "134c704f-9b21-4f2e-91b3-4a467353bcc0" {
                    "adp"
                } else {
                    "cna"
                });
            }
        }
    }
    if let Some(record) = read(data_dir().join("cve").join(format!("{cve}.json"))) {
        let containers = &record["containers"];
        let adp = containers["adp"].as_array().cloned().unwrap_or_default();
        for (tier, container) in std::iter::once(("cna", &containers["cna"]))
            .chain(adp.iter().map(|container| ("adp", container)))
        {
            for metric in container["metrics"].as_array().into_iter().flatten() {
                if ["cvssV2_0", "cvssV3_0", "cvssV3_1", "cvssV4_0"]
                    .iter()
                    .any(|key| !metric[*key].is_null())
                {
                    tiers.push(tier);
                }
            }
        }
    }
    tiers.into_iter().map(str::to_owned).collect()
}

/// One database for every test: PyPI OSV, KEV and the tracker fixture.
fn database() -> Option<&'static Path> {
    static DB: OnceLock<Option<(tempfile::TempDir, PathBuf)>> = OnceLock::new();
    DB.get_or_init(|| {
        if !data_dir().join("osv/PyPI").is_dir() {
            drydock_test::missing(&format!("the shared data in {}", data_dir().display()));
            return None;
        }
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("db");
        drydock_vuln::Database::import(
            &dir,
            &[
                data_dir().join("osv/PyPI"),
                data_dir().join("kev/known_exploited_vulnerabilities.json"),
                tracker(),
                data_dir().join("nvd"),
                data_dir().join("cve"),
            ],
        )
        .unwrap();
        Some((tmp, dir))
    })
    .as_ref()
    .map(|(_, dir)| dir.as_path())
}

/// The Python fixture's root (drydock-catalog's pip-built fixture).
fn python_root() -> Option<PathBuf> {
    let script = drydock_test::workspace_root()
        .join("crates/drydock-catalog/tests/fixtures/python/build-site-packages.sh");
    let key = &drydock_test::sha256_hex(&std::fs::read(&script).unwrap())[..16];
    let dir = drydock_test::fixture_cache().join(format!("python-{key}"));
    if dir.join(".complete").exists() {
        return Some(dir);
    }
    if !drydock_test::require_tools(&["python3", "bash"]) {
        return None;
    }
    let staging = drydock_test::fixture_cache().join(format!("python-{key}.scan-partial"));
    let _ = std::fs::remove_dir_all(&staging);
    let status = Command::new("bash")
        .arg(&script)
        .arg(&staging)
        .status()
        .unwrap();
    assert!(status.success(), "build-site-packages.sh failed");
    std::fs::File::create(staging.join(".complete")).unwrap();
    if !dir.join(".complete").exists() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::rename(&staging, &dir).unwrap();
    }
    Some(dir)
}

fn pep503(name: &str) -> String {
    let mut out = String::new();
    for c in name.to_ascii_lowercase().chars() {
        let c = if matches!(c, '_' | '.') { '-' } else { c };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    out
}

fn scan_json(source: &str, extra: &[&str]) -> Value {
    let db = database().unwrap().to_str().unwrap();
    let mut args = vec!["scan", source, "--db-dir", db, "-f", "json"];
    args.extend_from_slice(extra);
    let output = drydock(&args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    json_of(&output)
}

/// `(id, package name, version)` of every finding.
fn finding_keys(scan: &Value, list: &str) -> BTreeSet<(String, String, String)> {
    scan[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_owned(),
                f["package"]["name"].as_str().unwrap().to_owned(),
                f["package"]["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn python_packages_against_real_pypi_advisories_and_kev() {
    let (Some(_), Some(root)) = (database(), python_root()) else {
        return;
    };
    let source = format!("dir:{}", root.join("root").display());
    let scan = scan_json(&source, &[]);
    // What pip says is installed.
    let inspect: Value =
        serde_json::from_slice(&std::fs::read(root.join("pip-inspect.json")).unwrap()).unwrap();
    let installed: BTreeMap<String, String> = inspect["installed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                pep503(e["metadata"]["name"].as_str().unwrap()),
                e["metadata"]["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    // Expected from the OSV files' `versions` lists; and the CVEs of each.
    let mut expected = BTreeSet::new();
    let mut cves_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut own_severity: BTreeMap<String, bool> = BTreeMap::new();
    for entry in std::fs::read_dir(data_dir().join("osv/PyPI")).unwrap() {
        let record: Value =
            serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap();
        if !record["withdrawn"].is_null() {
            continue;
        }
        let id = record["id"].as_str().unwrap().to_owned();
        own_severity.insert(
            id.clone(),
            record["severity"].as_array().is_some_and(|s| !s.is_empty()),
        );
        for affected in record["affected"].as_array().into_iter().flatten() {
            let name = pep503(affected["package"]["name"].as_str().unwrap());
            let Some(version) = installed.get(&name) else {
                continue;
            };
            if affected["versions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|v| v.as_str() == Some(version))
            {
                expected.insert((id.clone(), name.clone(), version.clone()));
            }
        }
        let cves = record["aliases"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str);
        cves_of.insert(
            id,
            cves.filter(|a| a.starts_with("CVE-"))
                .map(str::to_owned)
                .collect(),
        );
    }
    let actual: BTreeSet<(String, String, String)> = scan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| {
            let name = pep503(f["package"]["name"].as_str().unwrap());
            let version = f["package"]["version"].as_str().unwrap().to_owned();
            f["records"].as_array().unwrap().iter().map(move |r| {
                (
                    r.as_str().unwrap().to_owned(),
                    name.clone(),
                    version.clone(),
                )
            })
        })
        .collect();
    assert_eq!(actual, expected);
    assert!(actual.len() >= 50, "{}", actual.len());
    // KEV: a finding is flagged iff one of its records' CVEs is in the catalog.
    let kev: Value = serde_json::from_slice(
        &std::fs::read(data_dir().join("kev/known_exploited_vulnerabilities.json")).unwrap(),
    )
    .unwrap();
    let kev: BTreeSet<&str> = kev["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["cveID"].as_str().unwrap())
        .collect();
    for finding in scan["findings"].as_array().unwrap() {
        let in_kev = finding["records"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| cves_of[r.as_str().unwrap()].iter())
            .any(|cve| kev.contains(cve.as_str()));
        assert_eq!(!finding["kev"].is_null(), in_kev, "{finding}");
    }
    // Severity: a real one for every finding whose CVEs NVD or the CNA
    // scored in ../shared/data (read here from the files), `unknown` for
    // the others (PyPA records carry no severity of their own).
    let mut rated = 0;
    for finding in scan["findings"].as_array().unwrap() {
        let tiers: Vec<String> = finding["records"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| cves_of[r.as_str().unwrap()].iter())
            .flat_map(|cve| stated_tiers(cve))
            .collect();
        let own = finding["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| own_severity[r.as_str().unwrap()]);
        if own {
            assert!(
                !finding["severity_source"]
                    .as_str()
                    .unwrap()
                    .contains("-cvss-"),
                "the record's own CVSS comes first: {finding}"
            );
        } else if tiers.iter().any(|tier| tier == "nvd" || tier == "cna") {
            rated += 1;
            assert_ne!(finding["severity"], "unknown", "{finding}");
            assert!(!finding["cvss_vectors"].as_array().unwrap().is_empty());
        } else if tiers.is_empty() {
            assert_eq!(finding["severity"], "unknown", "{finding}");
        }
    }
    assert!(rated >= 20, "{rated}");
    // Priority order: KEV, then severity, then EPSS, then fix availability.
    let rank = |f: &Value| {
        let severity = ["unknown", "negligible", "low", "medium", "high", "critical"]
            .iter()
            .position(|s| f["severity"] == *s)
            .unwrap();
        (!f["kev"].is_null(), severity)
    };
    let ranks: Vec<_> = scan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(rank)
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] >= w[1]), "{ranks:?}");
    // Every package pip installed was looked up as PyPI.
    let looked_up: BTreeSet<String> = scan["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["ecosystem"] == "PyPI")
        .map(|p| pep503(p["name"].as_str().unwrap()))
        .collect();
    assert!(
        installed.keys().all(|name| looked_up.contains(name)),
        "{looked_up:?}"
    );
}

fn dpkg_lt(a: &str, b: &str) -> bool {
    Command::new("dpkg")
        .args(["--compare-versions", a, "lt", b])
        .status()
        .unwrap()
        .success()
}

fn debian_layout() -> Option<(drydock_test::DebianFixture, String)> {
    database()?;
    if !drydock_test::require_tool("dpkg") {
        return None;
    }
    let fixture = drydock_test::debian_fixture()?;
    let source = format!("oci-dir:{}", fixture.dir.join("oci-gzip").display());
    Some((fixture, source))
}

#[test]
fn debian_image_findings_follow_the_tracker_and_dpkg() {
    let Some((fixture, source)) = debian_layout() else {
        return;
    };
    let scan = scan_json(&source, &[]);
    assert_eq!(
        scan["distro"],
        json!({ "id": "debian", "version_id": "12" })
    );
    let tracker: Value = serde_json::from_slice(&std::fs::read(tracker()).unwrap()).unwrap();
    let mut expected = BTreeSet::new();
    for (source_name, issues) in tracker.as_object().unwrap() {
        for (issue, info) in issues.as_object().unwrap() {
            let Some(release) = info["releases"].get("bookworm") else {
                continue;
            };
            for entry in fixture
                .expected_final
                .iter()
                .filter(|e| &e.source_name == source_name)
            {
                let affected = match (
                    release["status"].as_str(),
                    release["fixed_version"].as_str(),
                ) {
                    (Some("resolved"), Some("0")) => false,
                    (Some("resolved"), Some(fixed)) => dpkg_lt(&entry.source_version, fixed),
                    _ => true,
                };
                if affected {
                    expected.insert((issue.clone(), entry.name.clone(), entry.version.clone()));
                }
            }
        }
    }
    assert_eq!(finding_keys(&scan, "findings"), expected);
    let dc = scan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["package"]["name"] == "dc")
        .unwrap();
    assert_eq!(
        dc["matched_via"],
        json!({ "name": "bc", "version": "1.07.1-3" })
    );
    assert_eq!(dc["fixed_versions"], json!(["1.07.1-4"]));
    assert_eq!(dc["package"]["ecosystem"], "Debian:12");
    assert_eq!(dc["data_source"], "debian-security-tracker");

    // --only-fixed keeps exactly the findings with a fix.
    let only_fixed = scan_json(&source, &["--only-fixed"]);
    let fixed: BTreeSet<_> = scan["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["state"] == "fixed")
        .map(|f| (f["id"].to_string(), f["package"]["name"].to_string()))
        .collect();
    let kept: BTreeSet<_> = only_fixed["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].to_string(), f["package"]["name"].to_string()))
        .collect();
    assert_eq!(kept, fixed);
    assert!(!kept.is_empty() && kept.len() < expected.len());

    // sbom: inputs (drydock's CycloneDX and SPDX) give the same findings.
    let tmp = tempfile::tempdir().unwrap();
    for format in ["cyclonedx-json", "spdx-json"] {
        let path = tmp.path().join(format);
        let out = drydock(&["sbom", &source, "-f", format, "-o", path.to_str().unwrap()]);
        assert!(out.status.success());
        let from_sbom = scan_json(&format!("sbom:{}", path.display()), &[]);
        assert_eq!(finding_keys(&from_sbom, "findings"), expected, "{format}");
        assert_eq!(from_sbom["source"]["kind"], "sbom");
    }
}

#[test]
fn vex_suppresses_not_affected_and_fixed() {
    let Some((_fixture, source)) = debian_layout() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let openvex = json!({
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.invalid/vex/1",
        "author": "test", "timestamp": "2024-01-01T00:00:00Z", "version": 1,
        "statements": [
            { "vulnerability": { "name": "CVE-2024-90004" },
              "products": [{ "@id": "pkg:deb/debian/libmount1" }, { "@id": "pkg:deb/debian/mount" }],
              "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path" },
            { "vulnerability": { "name": "CVE-2024-90004" },
              "products": [{ "@id": "pkg:deb/debian/mount" }],
              "status": "affected", "action_statement": "upgrade",
              "timestamp": "2024-02-01T00:00:00Z" },
            { "vulnerability": { "name": "CVE-2024-90010" },
              "products": [{ "@id": "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-9" }],
              "status": "not_affected", "justification": "component_not_present" },
        ],
    });
    let cyclonedx = json!({
        "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
        "components": [{ "type": "library", "bom-ref": "dc-ref", "name": "dc", "purl": "pkg:deb/debian/dc@1.07.1-3%2Bb1?arch=amd64" }],
        "vulnerabilities": [{ "id": "CVE-2024-90002", "analysis": { "state": "resolved", "detail": "patched locally" },
                              "affects": [{ "ref": "dc-ref" }] }],
    });
    let openvex_path = tmp.path().join("a.openvex.json");
    let cyclonedx_path = tmp.path().join("b.cdx.json");
    std::fs::write(&openvex_path, openvex.to_string()).unwrap();
    std::fs::write(&cyclonedx_path, cyclonedx.to_string()).unwrap();
    let vex_args = [
        "--vex",
        openvex_path.to_str().unwrap(),
        "--vex",
        cyclonedx_path.to_str().unwrap(),
    ];
    let full = scan_json(&source, &[]);
    let mut with_flag = vex_args.to_vec();
    with_flag.push("--show-suppressed");
    let shown = scan_json(&source, &with_flag);
    let suppressed: BTreeSet<(String, String)> = finding_keys(&shown, "suppressed")
        .into_iter()
        .map(|(id, name, _)| (id, name))
        .collect();
    let want: BTreeSet<(String, String)> =
        [("CVE-2024-90004", "libmount1"), ("CVE-2024-90002", "dc")]
            .into_iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect();
    assert_eq!(
        suppressed, want,
        "mount: the newer `affected` wins; zlib1g: another version"
    );
    let remaining = finding_keys(&shown, "findings");
    assert_eq!(
        remaining.len() + 2,
        full["findings"].as_array().unwrap().len()
    );
    let dc = shown["suppressed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["package"]["name"] == "dc")
        .unwrap();
    assert_eq!(dc["suppressed"]["status"], "fixed");
    // Without --show-suppressed: counted, not listed.
    let hidden = scan_json(&source, &vex_args);
    assert_eq!(hidden["suppressed_count"], 2);
    assert_eq!(hidden["suppressed"], json!([]));
    // The real OpenVEX example parses (and suppresses nothing here).
    let example = data_dir().join("examples/openvex/node.openvex.json");
    let with_example = scan_json(&source, &["--vex", example.to_str().unwrap()]);
    assert_eq!(with_example["suppressed_count"], 0);
}

#[test]
fn formats_fail_on_and_errors() {
    let Some((_fixture, source)) = debian_layout() else {
        return;
    };
    let db = database().unwrap().to_str().unwrap();
    let scan = scan_json(&source, &[]);
    let findings = scan["findings"].as_array().unwrap();

    // Table: a header, one row per finding in JSON order, a summary.
    let table = drydock(&["scan", &source, "--db-dir", db]);
    assert_eq!(table.status.code(), Some(0));
    let text = String::from_utf8(table.stdout).unwrap();
    let rows: Vec<&str> = text.lines().skip(1).take(findings.len()).collect();
    for (row, finding) in rows.iter().zip(findings) {
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[0], finding["package"]["name"]);
        assert_eq!(cells[2], finding["id"]);
        assert_eq!(cells[3], finding["severity"]);
    }
    assert!(
        text.contains(&format!("{} findings", findings.len())),
        "{text}"
    );

    // CycloneDX 1.6 with vulnerabilities: valid against the schema.
    let cdx = drydock(&["scan", &source, "--db-dir", db, "-f", "cyclonedx-json"]);
    assert_eq!(cdx.status.code(), Some(0));
    let bom = json_of(&cdx);
    assert_eq!(
        bom["vulnerabilities"].as_array().unwrap().len(),
        findings.len()
    );
    let refs: BTreeSet<&str> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    for vulnerability in bom["vulnerabilities"].as_array().unwrap() {
        assert!(refs.contains(vulnerability["affects"][0]["ref"].as_str().unwrap()));
    }
    if drydock_test::require_python_modules(&["jsonschema", "referencing"]) {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("vdr.json");
        std::fs::write(&path, &cdx.stdout).unwrap();
        let validator =
            drydock_test::workspace_root().join("crates/drydock-sbom/tests/validate_sbom.py");
        let out = Command::new("python3")
            .arg(validator)
            .arg(data_dir().join("schemas"))
            .arg("cyclonedx")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // SARIF 2.1.0: the fields code-scanning consumers require.
    let sarif = json_of(&drydock(&["scan", &source, "--db-dir", db, "-f", "sarif"]));
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "drydock");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let rule_ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    for rule in rules {
        assert!(rule["shortDescription"]["text"].is_string());
        let score: f64 = rule["properties"]["security-severity"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.0..=10.0).contains(&score));
    }
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), findings.len());
    for (result, finding) in results.iter().zip(findings) {
        let index = usize::try_from(result["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(result["ruleId"], rule_ids[index]);
        assert_eq!(result["ruleId"], finding["id"]);
        assert!(["error", "warning", "note"].contains(&result["level"].as_str().unwrap()));
        assert!(
            result["message"]["text"]
                .as_str()
                .unwrap()
                .contains(finding["package"]["name"].as_str().unwrap())
        );
        let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert_eq!(
            format!("/{uri}"),
            finding["package"]["location"].as_str().unwrap()
        );
        assert_eq!(
            result["locations"][0]["logicalLocations"][0]["name"],
            finding["package"]["purl"]
        );
    }

    // --fail-on: 1 when a finding at or above the threshold remains.
    let worst = findings
        .iter()
        .map(|f| f["severity"].as_str().unwrap())
        .collect::<BTreeSet<_>>();
    assert!(
        worst.contains("high") && !worst.contains("critical"),
        "{worst:?}"
    );
    assert_eq!(
        drydock(&["scan", &source, "--db-dir", db, "--fail-on", "high"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        drydock(&["scan", &source, "--db-dir", db, "--fail-on", "critical"])
            .status
            .code(),
        Some(0)
    );

    // Errors: status 2 and one `drydock:` line.
    let empty = tempfile::tempdir().unwrap();
    for args in [
        vec!["scan", &source, "--db-dir", empty.path().to_str().unwrap()],
        vec!["scan", "oci-dir:/nonexistent/layout", "--db-dir", db],
        vec![
            "scan",
            &source,
            "--db-dir",
            db,
            "--vex",
            "/nonexistent/vex.json",
        ],
        vec!["scan", "sbom:/nonexistent/sbom.json", "--db-dir", db],
    ] {
        let out = drydock(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).starts_with("drydock: "),
            "{args:?}"
        );
    }
    let out = drydock(&["scan", &source, "--db-dir", empty.path().to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("db import"));
}

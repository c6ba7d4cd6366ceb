//! Differential test: every CVSS vector in ../shared/data scored by drydock
//! and by the `cvss` package from PyPI (`pip install cvss`), the reference.
use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

use drydock_vuln::cvss;
use serde_json::Value;

const REFERENCE: &str = r#"
import sys
from cvss import CVSS2, CVSS3, CVSS4
for line in sys.stdin.read().splitlines():
    try:
        if line.startswith("CVSS:4.0/"):
            score = CVSS4(line).base_score
        elif line.startswith("CVSS:3"):
            score = CVSS3(line).scores()[0]
        else:
            score = CVSS2(line).scores()[0]
        print(f"{line}\t{float(score):.1f}")
    except Exception as error:
        print(f"{line}\tERROR")
"#;

fn vectors() -> Option<BTreeSet<String>> {
    let data = drydock_test::workspace_root().join("../shared/data/osv");
    if !data.is_dir() {
        drydock_test::missing("../shared/data (the shared test data)");
        return None;
    }
    let mut vectors = BTreeSet::new();
    for ecosystem in std::fs::read_dir(&data).unwrap() {
        for file in std::fs::read_dir(ecosystem.unwrap().path()).unwrap() {
            let value: Value =
                serde_json::from_slice(&std::fs::read(file.unwrap().path()).unwrap()).unwrap();
            let mut lists = vec![&value["severity"]];
            for affected in value["affected"].as_array().into_iter().flatten() {
                lists.push(&affected["severity"]);
            }
            for severity in lists.into_iter().filter_map(Value::as_array).flatten() {
                if severity["type"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("CVSS_")
                {
                    vectors.insert(severity["score"].as_str().unwrap().to_owned());
                }
            }
            // npm's one invalid vector is kept only here.
            if let Some(vector) = value["database_specific"]["cvss_vector"].as_str() {
                vectors.insert(vector.to_owned());
            }
        }
    }
    Some(vectors)
}

#[test]
fn every_vector_in_the_shared_data_agrees_with_the_pypi_cvss_package() {
    let Some(vectors) = vectors() else { return };
    if !drydock_test::require_python_modules(&["cvss"]) {
        return;
    }
    let mut child = Command::new("python3")
        .args(["-c", REFERENCE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = vectors
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("\n");
    input.push('\n');
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let (mut v2, mut v3, mut v4, mut invalid) = (0, 0, 0, 0);
    let mut disagreements = Vec::new();
    for line in text.lines() {
        let (vector, reference) = line.rsplit_once('\t').unwrap();
        let ours = cvss::score(vector);
        match (reference, &ours) {
            ("ERROR", Err(_)) => invalid += 1,
            ("ERROR", Ok(score)) => disagreements.push(format!(
                "{vector}: reference refuses, drydock {}",
                score.base_score
            )),
            (expected, Ok(score)) => {
                if format!("{:.1}", score.base_score) == expected {
                    match score.version {
                        cvss::Version::V2 => v2 += 1,
                        cvss::Version::V3_0 | cvss::Version::V3_1 => v3 += 1,
                        cvss::Version::V4 => v4 += 1,
                    }
                } else {
                    disagreements.push(format!(
                        "{vector}: reference {expected}, drydock {}",
                        score.base_score
                    ));
                }
            }
            (expected, Err(error)) => {
                disagreements.push(format!("{vector}: reference {expected}, drydock {error}"));
            }
        }
    }
    eprintln!(
        "CVSS agreement: {v2} v2, {v3} v3.x, {v4} v4.0 vectors, {invalid} refused by both; {} disagreements",
        disagreements.len()
    );
    assert_eq!(text.lines().count(), vectors.len());
    assert!(disagreements.is_empty(), "{disagreements:#?}");
    // Distinct vectors in the data: 233 v3.x, 39 v4.0, and NSWG-ECO-504's invalid one.
    assert!(v3 >= 233 && v4 >= 39 && invalid >= 1, "{v3} {v4} {invalid}");
}

/// Random vectors over the whole metric space (base, threat,
/// environmental), scored by both: covers every macrovector of v4.0.
#[test]
fn generated_vectors_agree_with_the_pypi_cvss_package() {
    if !drydock_test::require_python_modules(&["cvss"]) {
        return;
    }
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut pick = |values: &[&'static str]| values[next(values.len())];
    let mut vectors = BTreeSet::new();
    for _ in 0..4000 {
        let v4 = format!(
            "CVSS:4.0/AV:{}/AC:{}/AT:{}/PR:{}/UI:{}/VC:{}/VI:{}/VA:{}/SC:{}/SI:{}/SA:{}/E:{}/CR:{}/IR:{}/AR:{}/MAV:{}/MPR:{}/MVC:{}/MSI:{}/MSA:{}",
            pick(&["N", "A", "L", "P"]),
            pick(&["L", "H"]),
            pick(&["N", "P"]),
            pick(&["N", "L", "H"]),
            pick(&["N", "P", "A"]),
            pick(&["H", "L", "N"]),
            pick(&["H", "L", "N"]),
            pick(&["H", "L", "N"]),
            pick(&["H", "L", "N"]),
            pick(&["H", "L", "N"]),
            pick(&["H", "L", "N"]),
            pick(&["X", "A", "P", "U"]),
            pick(&["X", "H", "M", "L"]),
            pick(&["X", "H", "M", "L"]),
            pick(&["X", "H", "M", "L"]),
            pick(&["X", "N", "A", "L", "P"]),
            pick(&["X", "N", "L", "H"]),
            pick(&["X", "H", "L", "N"]),
            pick(&["X", "S", "H", "L", "N"]),
            pick(&["X", "S", "H", "L", "N"]),
        );
        vectors.insert(v4);
        let v3 = format!(
            "CVSS:3.{}/AV:{}/AC:{}/PR:{}/UI:{}/S:{}/C:{}/I:{}/A:{}",
            pick(&["0", "1"]),
            pick(&["N", "A", "L", "P"]),
            pick(&["L", "H"]),
            pick(&["N", "L", "H"]),
            pick(&["N", "R"]),
            pick(&["U", "C"]),
            pick(&["H", "L", "N"]),
            pick(&["H", "L", "N"]),
            pick(&["H", "L", "N"]),
        );
        vectors.insert(v3);
        let v2 = format!(
            "AV:{}/AC:{}/Au:{}/C:{}/I:{}/A:{}",
            pick(&["L", "A", "N"]),
            pick(&["H", "M", "L"]),
            pick(&["M", "S", "N"]),
            pick(&["N", "P", "C"]),
            pick(&["N", "P", "C"]),
            pick(&["N", "P", "C"]),
        );
        vectors.insert(v2);
    }
    let mut child = Command::new("python3")
        .args(["-c", REFERENCE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = vectors
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join("\n");
    input.push('\n');
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    let mut disagreements = Vec::new();
    let mut compared = 0;
    for line in text.lines() {
        let (vector, expected) = line.rsplit_once('\t').unwrap();
        let ours =
            cvss::score(vector).map_or_else(|_| "ERROR".into(), |s| format!("{:.1}", s.base_score));
        compared += 1;
        if ours != expected {
            disagreements.push(format!("{vector}: reference {expected}, drydock {ours}"));
        }
    }
    eprintln!(
        "generated: {compared} vectors compared, {} disagreements",
        disagreements.len()
    );
    assert_eq!(compared, vectors.len());
    assert!(
        disagreements.is_empty(),
        "{} of {compared}: {:#?}",
        disagreements.len(),
        &disagreements[..disagreements.len().min(20)]
    );
}

//! Table and SARIF 2.1.0 renderings of a [`PolicyReport`].
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::{Outcome, PolicyReport, Severity};

/// A plain-text table: one line per rule, evidence indented below.
pub fn table(report: &PolicyReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "policy: {}", report.policy);
    let _ = writeln!(out, "source: {}", report.source);
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<15} {:<9} {:<24} DETAIL",
        "STATUS", "SEVERITY", "RULE"
    );
    for result in &report.results {
        let (status, detail) = match &result.outcome {
            Outcome::Pass => ("pass", String::new()),
            Outcome::Fail => ("FAIL", format!("{} item(s)", result.evidence.len())),
            Outcome::NotEvaluated(reason) => ("not-evaluated", reason.clone()),
        };
        let _ = writeln!(
            out,
            "{status:<15} {:<9} {:<24} {detail}",
            result.severity.as_str(),
            result.id
        );
        for evidence in &result.evidence {
            let _ = match &evidence.detail {
                Some(detail) => writeln!(out, "    {} {}: {detail}", evidence.kind, evidence.value),
                None => writeln!(out, "    {} {}", evidence.kind, evidence.value),
            };
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "verdict: {}", report.verdict);
    out
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium | Severity::Low => "warning",
        Severity::Info => "note",
    }
}

/// SARIF 2.1.0: one run, every enabled rule in `tool.driver.rules`, one
/// result per failed rule (locations from path evidence), and one `notApplicable`
/// note per rule that could not be evaluated.
pub fn sarif(report: &PolicyReport, tool_version: &str) -> Value {
    let rules: Vec<Value> = report
        .results
        .iter()
        .map(|result| {
            json!({
                "id": result.id,
                "name": result.id,
                "shortDescription": {"text": result.description},
                "defaultConfiguration": {"level": level(result.severity)},
                "properties": {"severity": result.severity.as_str()},
            })
        })
        .collect();
    let mut results = Vec::new();
    for (index, result) in report.results.iter().enumerate() {
        let (kind, text) = match &result.outcome {
            Outcome::Pass => continue,
            Outcome::Fail => (
                "fail",
                format!(
                    "{}: {}",
                    result.description,
                    result
                        .evidence
                        .iter()
                        .map(|e| match &e.detail {
                            Some(detail) => format!("{} ({detail})", e.value),
                            None => e.value.clone(),
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            ),
            Outcome::NotEvaluated(reason) => ("notApplicable", format!("not evaluated: {reason}")),
        };
        let locations: Vec<Value> = result
            .evidence
            .iter()
            .filter(|e| e.kind == "path")
            .map(|e| {
                json!({"physicalLocation": {"artifactLocation": {
                    "uri": e.value.trim_start_matches('/'),
                    "uriBaseId": "IMAGEROOT",
                }}})
            })
            .collect();
        let mut entry = json!({
            "ruleId": result.id,
            "ruleIndex": index,
            "kind": kind,
            "level": if kind == "fail" { level(result.severity) } else { "none" },
            "message": {"text": text},
            "properties": {"evidence": result.evidence},
        });
        if !locations.is_empty()
            && let Some(object) = entry.as_object_mut()
        {
            object.insert("locations".into(), Value::Array(locations));
        }
        results.push(entry);
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "drydock",
                "version": tool_version,
                "informationUri": "https://github.com/drydock/drydock",
                "rules": rules,
            }},
            "originalUriBaseIds": {"IMAGEROOT": {"description": {"text": format!("the root file system of {}", report.source)}}},
            "properties": {"policy": report.policy, "verdict": report.verdict, "source": report.source, "digest": report.digest},
            "results": results,
        }],
    })
}

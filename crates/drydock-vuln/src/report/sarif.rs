//! SARIF 2.1.0: one rule per vulnerability id, one result per finding, at
//! the package's location (the file that declared it, relative to the
//! image root) with the purl as a logical location. `level`: `error` for
//! critical/high, `warning` for medium, `note` otherwise; each rule's
//! `properties.security-severity` is the CVSS base score (or the middle of
//! the severity's band), as code-scanning UIs expect.
use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Value, json};

use super::{ReportError, ReportFormat, emit_json, nominal_score};
use crate::finding::{Finding, ScanResult, SeverityLevel};

fn level(severity: SeverityLevel) -> &'static str {
    match severity {
        SeverityLevel::Critical | SeverityLevel::High => "error",
        SeverityLevel::Medium => "warning",
        SeverityLevel::Low | SeverityLevel::Negligible | SeverityLevel::Unknown => "note",
    }
}

/// A relative URI reference for an image path: percent-encoded, no
/// leading `/`.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &byte in path.trim_start_matches('/').as_bytes() {
        if byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/' | b'+' | b'@')
        {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

fn message(finding: &Finding) -> String {
    let mut text = format!(
        "{} {} is affected by {} ({})",
        finding.package.name, finding.package.version, finding.id, finding.severity
    );
    if finding.matched_via.name != finding.package.name {
        let _ = write!(
            text,
            " via source package {} {}",
            finding.matched_via.name, finding.matched_via.version
        );
    }
    if finding.fixed_versions.is_empty() {
        let _ = write!(text, "; {}", finding.state.as_str());
    } else {
        let _ = write!(text, "; fixed in {}", finding.fixed_versions.join(", "));
    }
    if finding.kev.is_some() {
        text.push_str("; known exploited (CISA KEV)");
    }
    text
}

pub fn write_sarif(result: &ScanResult, out: &mut dyn std::io::Write) -> Result<(), ReportError> {
    // One rule per vulnerability id, the most severe finding describing it.
    let mut rules: BTreeMap<&str, &Finding> = BTreeMap::new();
    for finding in &result.findings {
        let slot = rules.entry(finding.id.as_str()).or_insert(finding);
        if finding.severity > slot.severity {
            *slot = finding;
        }
    }
    let index_of: BTreeMap<&str, usize> = rules
        .keys()
        .enumerate()
        .map(|(index, id)| (*id, index))
        .collect();
    let rule_values: Vec<Value> = rules
        .values()
        .map(|finding| {
            let score = finding
                .cvss
                .as_ref()
                .map_or_else(|| nominal_score(finding.severity), |cvss| cvss.base_score);
            let short = finding
                .summary
                .clone()
                .unwrap_or_else(|| finding.id.clone());
            let mut rule = json!({
                "id": finding.id,
                "name": finding.id,
                "shortDescription": { "text": short },
                "fullDescription": { "text": short },
                "help": { "text": format!("{}\nAliases: {}", short, finding.aliases.join(", ")) },
                "defaultConfiguration": { "level": level(finding.severity) },
                "properties": {
                    "security-severity": format!("{score:.1}"),
                    "tags": ["security", "vulnerability", finding.severity.as_str()],
                },
            });
            if let (Some(url), Some(object)) = (finding.references.first(), rule.as_object_mut()) {
                object.insert("helpUri".into(), Value::from(url.clone()));
            }
            rule
        })
        .collect();
    let fallback = uri(result
        .source
        .name
        .split_once(':')
        .map_or(&result.source.name, |(_, path)| path));
    let results: Vec<Value> = result
        .findings
        .iter()
        .map(|finding| {
            let location = finding
                .package
                .location
                .as_deref()
                .map_or_else(|| fallback.clone(), uri);
            json!({
                "ruleId": finding.id,
                "ruleIndex": index_of.get(finding.id.as_str()).copied().unwrap_or_default(),
                "level": level(finding.severity),
                "message": { "text": message(finding) },
                "locations": [{
                    "physicalLocation": { "artifactLocation": { "uri": location } },
                    "logicalLocations": [{ "name": finding.package.purl, "kind": "package" }],
                }],
                "partialFingerprints": {
                    "drydockFinding/v1": format!("{}|{}", finding.id, finding.package.purl),
                },
                "properties": {
                    "state": finding.state.as_str(),
                    "fixedVersions": finding.fixed_versions,
                    "ecosystem": finding.package.ecosystem,
                },
            })
        })
        .collect();
    let document = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "drydock",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rule_values,
            } },
            "results": results,
            "properties": { "source": result.source.name },
        }],
    });
    emit_json(ReportFormat::Sarif, &document, out)
}

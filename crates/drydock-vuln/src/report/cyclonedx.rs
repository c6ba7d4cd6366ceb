//! CycloneDX 1.6 JSON with `vulnerabilities`: a vulnerability disclosure
//! report (VDR) of the scanned source. Components are the scanned packages
//! (bom-ref = purl, made unique); one vulnerability entry per finding,
//! `affects` naming its package. Suppressed findings (when listed) carry a
//! VEX `analysis` (`not_affected`, or `resolved` for `fixed`).
use serde_json::{Map, Value, json};

use super::{ReportError, ReportFormat, emit_json, fnv1a};
use crate::finding::{Finding, ScanResult, SeverityLevel};

const SOURCE_REF: &str = "drydock:source";

fn severity(level: SeverityLevel) -> &'static str {
    match level {
        SeverityLevel::Critical => "critical",
        SeverityLevel::High => "high",
        SeverityLevel::Medium => "medium",
        SeverityLevel::Low => "low",
        SeverityLevel::Negligible => "info",
        SeverityLevel::Unknown => "unknown",
    }
}

fn method(version: &str) -> &'static str {
    match version {
        "2.0" => "CVSSv2",
        "3.0" => "CVSSv3",
        "3.1" => "CVSSv31",
        "4.0" => "CVSSv4",
        _ => "other",
    }
}

fn property(name: &str, value: impl Into<String>) -> Value {
    json!({ "name": name, "value": value.into() })
}

fn vulnerability(finding: &Finding, index: usize, component_ref: &str) -> Value {
    let mut entry = Map::new();
    entry.insert(
        "bom-ref".into(),
        Value::from(format!("vulnerability-{index}")),
    );
    entry.insert("id".into(), Value::from(finding.id.clone()));
    let source_name = finding.data_source.split(',').next().unwrap_or_default();
    if !source_name.is_empty() {
        entry.insert("source".into(), json!({ "name": source_name }));
    }
    if !finding.aliases.is_empty() {
        let references: Vec<Value> = finding
            .aliases
            .iter()
            .map(|alias| {
                let source = alias.split('-').next().unwrap_or(alias);
                json!({ "id": alias, "source": { "name": source } })
            })
            .collect();
        entry.insert("references".into(), Value::Array(references));
    }
    let mut rating = Map::new();
    if let Some(cvss) = &finding.cvss {
        rating.insert("score".into(), json!(cvss.base_score));
        rating.insert("severity".into(), Value::from(severity(finding.severity)));
        rating.insert("method".into(), Value::from(method(&cvss.version)));
        rating.insert("vector".into(), Value::from(cvss.vector.clone()));
    } else {
        rating.insert("severity".into(), Value::from(severity(finding.severity)));
        rating.insert("method".into(), Value::from("other"));
    }
    if let Some(source) = &finding.severity_source {
        rating.insert("source".into(), json!({ "name": source }));
    }
    entry.insert("ratings".into(), Value::Array(vec![Value::Object(rating)]));
    if let Some(summary) = &finding.summary {
        entry.insert("description".into(), Value::from(summary.clone()));
    }
    if !finding.fixed_versions.is_empty() {
        entry.insert(
            "recommendation".into(),
            Value::from(format!(
                "Upgrade {} to {}",
                finding.matched_via.name,
                finding.fixed_versions.join(" or ")
            )),
        );
    }
    let advisories: Vec<Value> = finding
        .references
        .iter()
        .map(|url| json!({ "url": url }))
        .collect();
    if !advisories.is_empty() {
        entry.insert("advisories".into(), Value::Array(advisories));
    }
    if let Some(suppression) = &finding.suppressed {
        let state = if suppression.status == "fixed" {
            "resolved"
        } else {
            "not_affected"
        };
        let mut analysis = Map::new();
        analysis.insert("state".into(), Value::from(state));
        let detail = match &suppression.justification {
            Some(justification) => format!(
                "{} ({justification}) per {}",
                suppression.status, suppression.document
            ),
            None => format!("{} per {}", suppression.status, suppression.document),
        };
        analysis.insert("detail".into(), Value::from(detail));
        entry.insert("analysis".into(), Value::Object(analysis));
    }
    entry.insert(
        "affects".into(),
        json!([{ "ref": component_ref, "versions": [{ "version": finding.package.version, "status": "affected" }] }]),
    );
    let mut properties = vec![
        property("drydock:finding:state", finding.state.as_str()),
        property(
            "drydock:finding:matched-via",
            format!(
                "{} {}",
                finding.matched_via.name, finding.matched_via.version
            ),
        ),
        property(
            "drydock:finding:ecosystem",
            finding.package.ecosystem.clone(),
        ),
    ];
    for fixed in &finding.fixed_versions {
        properties.push(property("drydock:finding:fixed-version", fixed.clone()));
    }
    if let Some(kev) = &finding.kev {
        properties.push(property("drydock:kev:cve", kev.cve.clone()));
        properties.push(property("drydock:kev:date-added", kev.date_added.clone()));
    }
    if let Some(epss) = &finding.epss {
        properties.push(property("drydock:epss:score", format!("{}", epss.score)));
        properties.push(property(
            "drydock:epss:percentile",
            format!("{}", epss.percentile),
        ));
    }
    entry.insert("properties".into(), Value::Array(properties));
    Value::Object(entry)
}

pub fn write_cyclonedx_json(
    result: &ScanResult,
    out: &mut dyn std::io::Write,
) -> Result<(), ReportError> {
    // Components: one per scanned package; bom-refs are purls, suffixed
    // when two packages share a purl.
    let mut components = Vec::with_capacity(result.packages.len());
    let mut refs: Vec<(String, Option<String>, String)> = Vec::new(); // (purl, location, bom-ref)
    let mut used = std::collections::HashSet::new();
    for package in &result.packages {
        let mut bom_ref = package.purl.clone();
        let mut counter = 1usize;
        while !used.insert(bom_ref.clone()) {
            counter += 1;
            bom_ref = format!("{}#{counter}", package.purl);
        }
        refs.push((
            package.purl.clone(),
            package.location.clone(),
            bom_ref.clone(),
        ));
        let mut component = Map::new();
        component.insert("type".into(), Value::from("library"));
        component.insert("bom-ref".into(), Value::from(bom_ref));
        component.insert("name".into(), Value::from(package.name.clone()));
        component.insert("version".into(), Value::from(package.version.clone()));
        component.insert("purl".into(), Value::from(package.purl.clone()));
        if let Some(location) = &package.location {
            component.insert(
                "properties".into(),
                json!([property("drydock:location:0:path", location.clone())]),
            );
        }
        components.push(Value::Object(component));
    }
    let component_ref = |finding: &Finding| -> String {
        refs.iter()
            .find(|(purl, location, _)| {
                *purl == finding.package.purl && *location == finding.package.location
            })
            .or_else(|| {
                refs.iter()
                    .find(|(purl, _, _)| *purl == finding.package.purl)
            })
            .map_or_else(
                || finding.package.purl.clone(),
                |(_, _, bom_ref)| bom_ref.clone(),
            )
    };
    let vulnerabilities: Vec<Value> = result
        .findings
        .iter()
        .chain(&result.suppressed)
        .enumerate()
        .map(|(index, finding)| vulnerability(finding, index, &component_ref(finding)))
        .collect();
    // A finding whose package is not among the components (cannot happen
    // for drydock's own results) would break the ref: add it.
    for finding in result.findings.iter().chain(&result.suppressed) {
        let reference = component_ref(finding);
        if used.insert(reference.clone()) {
            components.push(json!({
                "type": "library", "bom-ref": reference, "name": finding.package.name,
                "version": finding.package.version, "purl": finding.package.purl,
            }));
        }
    }
    let mut metadata_component = Map::new();
    metadata_component.insert(
        "type".into(),
        Value::from(if result.source.kind == "dir" {
            "file"
        } else {
            "container"
        }),
    );
    metadata_component.insert("bom-ref".into(), Value::from(SOURCE_REF));
    metadata_component.insert("name".into(), Value::from(result.source.name.clone()));
    if let Some(digest) = &result.source.digest {
        metadata_component.insert("version".into(), Value::from(digest.clone()));
    }
    let body = json!({ "components": components, "vulnerabilities": vulnerabilities });
    let hash_input =
        serde_json::to_vec(&(&result.created, &result.source.name, &body)).unwrap_or_default();
    let high = fnv1a(0xcbf2_9ce4_8422_2325, &hash_input);
    let low = fnv1a(high ^ 0x9e37_79b9_7f4a_7c15, &hash_input);
    // A version-4-shaped UUID derived from the content.
    let serial = format!(
        "urn:uuid:{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0x0fff,
        ((low >> 48) & 0x3fff) | 0x8000,
        low & 0xffff_ffff_ffff,
    );
    let mut document = Map::new();
    document.insert(
        "$schema".into(),
        Value::from("http://cyclonedx.org/schema/bom-1.6.schema.json"),
    );
    document.insert("bomFormat".into(), Value::from("CycloneDX"));
    document.insert("specVersion".into(), Value::from("1.6"));
    document.insert("serialNumber".into(), Value::from(serial));
    document.insert("version".into(), Value::from(1));
    let mut metadata = Map::new();
    if !result.created.is_empty() {
        metadata.insert("timestamp".into(), Value::from(result.created.clone()));
    }
    metadata.insert(
        "tools".into(),
        json!({ "components": [{ "type": "application", "name": "drydock", "version": env!("CARGO_PKG_VERSION") }] }),
    );
    metadata.insert("component".into(), Value::Object(metadata_component));
    let mut properties = Vec::new();
    if let Some(distro) = &result.distro {
        properties.push(property("drydock:distro:id", distro.id.clone()));
        properties.push(property(
            "drydock:distro:version-id",
            distro.version_id.clone(),
        ));
    }
    if let Some(last_update) = &result.database.last_update {
        properties.push(property(
            "drydock:database:last-update",
            last_update.clone(),
        ));
    }
    if !properties.is_empty() {
        metadata.insert("properties".into(), Value::Array(properties));
    }
    document.insert("metadata".into(), Value::Object(metadata));
    if let Value::Object(body) = body {
        document.extend(body);
    }
    emit_json(ReportFormat::CycloneDxJson, &Value::Object(document), out)
}

//! CVE data for severity enrichment:
//! - NVD CVE API 2.0 JSON: an API response (`{"resultsPerPage", …,
//!   "vulnerabilities": [{"cve": {…}}]}`, one page per file) or a bare `cve`
//!   object (`{"id": "CVE-…", "metrics": {…}, …}`, one file per CVE as the
//!   community mirrors of NVD's retired feeds store it);
//! - CVE JSON 5 records (`{"dataType": "CVE_RECORD", "cveMetadata",
//!   "containers": {"cna", "adp"}}`).
//!
//! A record that is not of the expected shape (no id, metrics that are not
//! lists of objects, a vector that is not a string) fails the import with
//! the file's name; a vector drydock's CVSS code rejects is kept out and
//! counted.
use serde_json::{Map, Value};

use crate::cve::{
    CISA_ADP_ORG_ID, CveMetric, CveRecord, MetricOrigin, MetricTier, is_cve_id, is_cwe,
    normalize_time,
};
use crate::error::ImportError;

/// One parsed record and the origin its metrics came from.
pub(crate) type Parsed = (CveRecord, MetricOrigin);

/// An NVD API response: `vulnerabilities[].cve`.
pub(crate) fn looks_like_nvd_response(object: &Map<String, Value>) -> bool {
    object.contains_key("vulnerabilities")
        && (object.contains_key("resultsPerPage")
            || object.contains_key("totalResults")
            || object.get("format").and_then(Value::as_str) == Some("NVD_CVE"))
}

/// A bare NVD `cve` object.
pub(crate) fn looks_like_nvd_cve(object: &Map<String, Value>) -> bool {
    object
        .get("id")
        .and_then(Value::as_str)
        .is_some_and(|id| id.starts_with("CVE-"))
        && (object.contains_key("metrics")
            || object.contains_key("vulnStatus")
            || object.contains_key("sourceIdentifier"))
}

/// A CVE JSON 5 record.
pub(crate) fn looks_like_cve5(object: &Map<String, Value>) -> bool {
    object.get("dataType").and_then(Value::as_str) == Some("CVE_RECORD")
        || (object.contains_key("cveMetadata") && object.contains_key("containers"))
}

/// The bookkeeping files of the cvelistV5 repository (`cves/delta.json`,
/// `cves/deltaLog.json`): read and ignored, so the whole tree imports.
pub(crate) fn is_cvelist_delta(value: &Value) -> bool {
    let delta = |value: &Value| {
        value
            .as_object()
            .is_some_and(|object| object.contains_key("numberOfChanges"))
    };
    match value {
        Value::Array(items) => items.first().is_some_and(delta),
        other => delta(other),
    }
}

fn invalid(path: &str, what: String) -> ImportError {
    ImportError::Invalid {
        path: path.to_owned(),
        what,
    }
}

pub(crate) fn parse_nvd_response(path: &str, value: &Value) -> Result<Vec<Parsed>, ImportError> {
    let Some(items) = value.get("vulnerabilities").and_then(Value::as_array) else {
        return Err(invalid(
            path,
            "NVD response: `vulnerabilities` is not a list".to_owned(),
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let Some(cve) = item.get("cve") else {
                return Err(invalid(
                    path,
                    format!("NVD response: `vulnerabilities[{index}]` has no `cve` object"),
                ));
            };
            parse_nvd_cve(&format!("{path}: vulnerabilities[{index}]"), cve)
        })
        .collect()
}

pub(crate) fn parse_nvd_cve(path: &str, cve: &Value) -> Result<Parsed, ImportError> {
    let Some(object) = cve.as_object() else {
        return Err(invalid(path, "NVD `cve` is not an object".to_owned()));
    };
    let id = cve_id(path, object.get("id"), "id")?;
    let mut record = CveRecord::empty(&id);
    record.published = text(object, "published").and_then(normalize_time);
    record.nvd_modified = text(object, "lastModified").and_then(normalize_time);
    record.description = english(object.get("descriptions"));
    if let Some(weaknesses) = object.get("weaknesses") {
        let Some(weaknesses) = weaknesses.as_array() else {
            return Err(invalid(path, format!("{id}: `weaknesses` is not a list")));
        };
        for weakness in weaknesses {
            for description in list(weakness.get("description")) {
                if let Some(value) = description.get("value").and_then(Value::as_str)
                    && is_cwe(value)
                {
                    record.cwes.push(value.to_owned());
                }
            }
        }
    }
    if let Some(metrics) = object.get("metrics") {
        let Some(metrics) = metrics.as_object() else {
            return Err(invalid(path, format!("{id}: `metrics` is not an object")));
        };
        for (key, version) in [
            ("cvssMetricV2", "2.0"),
            ("cvssMetricV30", "3.0"),
            ("cvssMetricV31", "3.1"),
            ("cvssMetricV40", "4.0"),
        ] {
            let Some(entries) = metrics.get(key) else {
                continue;
            };
            let Some(entries) = entries.as_array() else {
                return Err(invalid(path, format!("{id}: `metrics.{key}` is not a list")));
            };
            for (index, entry) in entries.iter().enumerate() {
                let at = format!("{id}: `metrics.{key}[{index}]`");
                let Some(data) = entry.get("cvssData").and_then(Value::as_object) else {
                    return Err(invalid(path, format!("{at} has no `cvssData` object")));
                };
                let Some(vector) = data.get("vectorString").and_then(Value::as_str) else {
                    return Err(invalid(path, format!("{at}: no `vectorString`")));
                };
                let source = entry
                    .get("source")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let kind = entry
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("Secondary")
                    .to_owned();
                let tier = if kind == "Primary" {
                    MetricTier::Nvd
                } else if source == CISA_ADP_ORG_ID {
                    MetricTier::Adp
                } else {
                    MetricTier::Cna
                };
                record.metrics.push(CveMetric {
                    origin: MetricOrigin::Nvd,
                    tier,
                    source,
                    kind,
                    version: data
                        .get("version")
                        .and_then(Value::as_str)
                        .unwrap_or(version)
                        .to_owned(),
                    vector: vector.to_owned(),
                    base_score: data.get("baseScore").and_then(Value::as_f64),
                });
            }
        }
    }
    record.cwes.sort();
    record.cwes.dedup();
    Ok((record, MetricOrigin::Nvd))
}

pub(crate) fn parse_cve5(path: &str, value: &Value) -> Result<Parsed, ImportError> {
    let Some(metadata) = value.get("cveMetadata").and_then(Value::as_object) else {
        return Err(invalid(
            path,
            "CVE record: no `cveMetadata` object".to_owned(),
        ));
    };
    let id = cve_id(path, metadata.get("cveId"), "cveMetadata.cveId")?;
    let mut record = CveRecord::empty(&id);
    record.published = text(metadata, "datePublished").and_then(normalize_time);
    record.cve_modified = text(metadata, "dateUpdated").and_then(normalize_time);
    let Some(containers) = value.get("containers").and_then(Value::as_object) else {
        return Err(invalid(path, format!("{id}: no `containers` object")));
    };
    let Some(cna) = containers.get("cna").and_then(Value::as_object) else {
        return Err(invalid(path, format!("{id}: no `containers.cna` object")));
    };
    record.description = english(cna.get("descriptions"));
    let mut sections: Vec<(&Map<String, Value>, MetricTier, String)> = vec![(
        cna,
        MetricTier::Cna,
        "containers.cna".to_owned(),
    )];
    if let Some(adp) = containers.get("adp") {
        let Some(adp) = adp.as_array() else {
            return Err(invalid(path, format!("{id}: `containers.adp` is not a list")));
        };
        for (index, container) in adp.iter().enumerate() {
            let Some(container) = container.as_object() else {
                return Err(invalid(
                    path,
                    format!("{id}: `containers.adp[{index}]` is not an object"),
                ));
            };
            sections.push((
                container,
                MetricTier::Adp,
                format!("containers.adp[{index}]"),
            ));
        }
    }
    for (container, tier, at) in sections {
        let provider = container.get("providerMetadata");
        let source = provider
            .and_then(|provider| provider.get("shortName"))
            .or_else(|| provider.and_then(|provider| provider.get("orgId")))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        for problem in list(container.get("problemTypes")) {
            for description in list(problem.get("descriptions")) {
                if let Some(cwe) = description.get("cweId").and_then(Value::as_str)
                    && is_cwe(cwe)
                {
                    record.cwes.push(cwe.to_owned());
                }
            }
        }
        let Some(metrics) = container.get("metrics") else {
            continue;
        };
        let Some(metrics) = metrics.as_array() else {
            return Err(invalid(path, format!("{id}: `{at}.metrics` is not a list")));
        };
        for (index, metric) in metrics.iter().enumerate() {
            for (key, version) in [
                ("cvssV2_0", "2.0"),
                ("cvssV3_0", "3.0"),
                ("cvssV3_1", "3.1"),
                ("cvssV4_0", "4.0"),
            ] {
                let Some(data) = metric.get(key) else {
                    continue;
                };
                let Some(vector) = data.get("vectorString").and_then(Value::as_str) else {
                    return Err(invalid(
                        path,
                        format!("{id}: `{at}.metrics[{index}].{key}` has no `vectorString`"),
                    ));
                };
                record.metrics.push(CveMetric {
                    origin: MetricOrigin::Cve,
                    tier,
                    source: source.clone(),
                    kind: if tier == MetricTier::Cna { "cna" } else { "adp" }.to_owned(),
                    version: version.to_owned(),
                    vector: vector.to_owned(),
                    base_score: data.get("baseScore").and_then(Value::as_f64),
                });
            }
        }
    }
    record.cwes.sort();
    record.cwes.dedup();
    Ok((record, MetricOrigin::Cve))
}

fn cve_id(path: &str, value: Option<&Value>, field: &str) -> Result<String, ImportError> {
    match value.and_then(Value::as_str) {
        Some(id) if is_cve_id(id.trim()) => Ok(id.trim().to_owned()),
        Some(id) => Err(invalid(path, format!("`{field}` is not a CVE id: `{id}`"))),
        None => Err(invalid(path, format!("no `{field}`"))),
    }
}

fn text<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Value::as_str)
}

fn list(value: Option<&Value>) -> &[Value] {
    value.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// The first English (`en`, `en-US`, …) description, else the first one.
fn english(descriptions: Option<&Value>) -> Option<String> {
    let descriptions = list(descriptions);
    let value = |item: &Value| item.get("value").and_then(Value::as_str).map(str::to_owned);
    descriptions
        .iter()
        .find(|item| {
            item.get("lang")
                .and_then(Value::as_str)
                .is_some_and(|lang| lang.to_ascii_lowercase().starts_with("en"))
        })
        .and_then(value)
        .or_else(|| descriptions.first().and_then(value))
}

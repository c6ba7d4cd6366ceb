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
                return Err(invalid(
                    path,
                    format!("{id}: `metrics.{key}` is not a list"),
                ));
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
    let mut sections: Vec<(&Map<String, Value>, MetricTier, String)> =
        vec![(cna, MetricTier::Cna, "containers.cna".to_owned())];
    if let Some(adp) = containers.get("adp") {
        let Some(adp) = adp.as_array() else {
            return Err(invalid(
                path,
                format!("{id}: `containers.adp` is not a list"),
            ));
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
                    kind: if tier == MetricTier::Cna {
                        "cna"
                    } else {
                        "adp"
                    }
                    .to_owned(),
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

/// Typed reading of well-formed input: serde skips what drydock does not
/// keep (references, configurations, affected lists) without building
/// JSON values. Input it does not fit goes through the functions above,
/// which name the problem.
pub(crate) mod typed {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::{Parsed, is_cwe, normalize_time};
    use crate::cve::{CISA_ADP_ORG_ID, CveMetric, CveRecord, MetricOrigin, MetricTier, is_cve_id};

    #[derive(Deserialize)]
    struct Text {
        #[serde(default)]
        lang: Option<String>,
        #[serde(default)]
        value: Option<String>,
    }

    fn english(texts: &[Text]) -> Option<String> {
        texts
            .iter()
            .find(|text| {
                text.lang
                    .as_deref()
                    .is_some_and(|lang| lang.to_ascii_lowercase().starts_with("en"))
            })
            .and_then(|text| text.value.clone())
            .or_else(|| texts.first().and_then(|text| text.value.clone()))
    }

    #[derive(Deserialize)]
    pub(crate) struct NvdPage {
        vulnerabilities: Vec<NvdItem>,
    }

    #[derive(Deserialize)]
    struct NvdItem {
        cve: NvdCve,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(crate) struct NvdCve {
        id: String,
        #[serde(default)]
        published: Option<String>,
        #[serde(default)]
        last_modified: Option<String>,
        #[serde(default)]
        descriptions: Vec<Text>,
        #[serde(default)]
        weaknesses: Vec<NvdWeakness>,
        #[serde(default)]
        metrics: BTreeMap<String, Vec<NvdMetric>>,
    }

    #[derive(Deserialize)]
    struct NvdWeakness {
        #[serde(default)]
        description: Vec<Text>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct NvdMetric {
        #[serde(default)]
        source: Option<String>,
        #[serde(default, rename = "type")]
        kind: Option<String>,
        cvss_data: CvssData,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct CvssData {
        #[serde(default)]
        version: Option<String>,
        vector_string: String,
        #[serde(default)]
        base_score: Option<f64>,
    }

    const NVD_KEYS: [(&str, &str); 4] = [
        ("cvssMetricV2", "2.0"),
        ("cvssMetricV30", "3.0"),
        ("cvssMetricV31", "3.1"),
        ("cvssMetricV40", "4.0"),
    ];

    impl NvdCve {
        fn convert(self) -> Option<Parsed> {
            if !is_cve_id(self.id.trim()) {
                return None;
            }
            let mut record = CveRecord::empty(self.id.trim());
            record.published = self.published.as_deref().and_then(normalize_time);
            record.nvd_modified = self.last_modified.as_deref().and_then(normalize_time);
            record.description = english(&self.descriptions);
            for weakness in &self.weaknesses {
                for text in &weakness.description {
                    if let Some(value) = &text.value
                        && is_cwe(value)
                    {
                        record.cwes.push(value.clone());
                    }
                }
            }
            let mut metrics = self.metrics;
            for (key, version) in NVD_KEYS {
                for metric in metrics.remove(key).unwrap_or_default() {
                    let source = metric.source.unwrap_or_default();
                    let kind = metric.kind.unwrap_or_else(|| "Secondary".to_owned());
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
                        version: metric
                            .cvss_data
                            .version
                            .unwrap_or_else(|| version.to_owned()),
                        vector: metric.cvss_data.vector_string,
                        base_score: metric.cvss_data.base_score,
                    });
                }
            }
            record.cwes.sort();
            record.cwes.dedup();
            Some((record, MetricOrigin::Nvd))
        }
    }

    /// An NVD API page; `None` when it does not fit (the caller re-reads it
    /// for the error).
    pub(crate) fn nvd_page(bytes: &[u8]) -> Option<Vec<Parsed>> {
        let page: NvdPage = serde_json::from_slice(bytes).ok()?;
        page.vulnerabilities
            .into_iter()
            .map(|item| item.cve.convert())
            .collect()
    }

    pub(crate) fn nvd_cve(bytes: &[u8]) -> Option<Parsed> {
        serde_json::from_slice::<NvdCve>(bytes).ok()?.convert()
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Cve5 {
        cve_metadata: Cve5Metadata,
        containers: Cve5Containers,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Cve5Metadata {
        cve_id: String,
        #[serde(default)]
        date_published: Option<String>,
        #[serde(default)]
        date_updated: Option<String>,
    }

    #[derive(Deserialize)]
    struct Cve5Containers {
        cna: Cve5Container,
        #[serde(default)]
        adp: Vec<Cve5Container>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Cve5Container {
        #[serde(default)]
        provider_metadata: Option<Provider>,
        #[serde(default)]
        descriptions: Vec<Text>,
        #[serde(default)]
        problem_types: Vec<ProblemType>,
        #[serde(default)]
        metrics: Vec<Cve5Metric>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Provider {
        #[serde(default)]
        short_name: Option<String>,
        #[serde(default)]
        org_id: Option<String>,
    }

    #[derive(Deserialize)]
    struct ProblemType {
        #[serde(default)]
        descriptions: Vec<ProblemDescription>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ProblemDescription {
        #[serde(default)]
        cwe_id: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Cve5Metric {
        #[serde(default, rename = "cvssV2_0")]
        v2: Option<Cve5Cvss>,
        #[serde(default, rename = "cvssV3_0")]
        v30: Option<Cve5Cvss>,
        #[serde(default, rename = "cvssV3_1")]
        v31: Option<Cve5Cvss>,
        #[serde(default, rename = "cvssV4_0")]
        v40: Option<Cve5Cvss>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Cve5Cvss {
        vector_string: String,
        #[serde(default)]
        base_score: Option<f64>,
    }

    pub(crate) fn cve5(bytes: &[u8]) -> Option<Parsed> {
        let record: Cve5 = serde_json::from_slice(bytes).ok()?;
        let id = record.cve_metadata.cve_id.trim();
        if !is_cve_id(id) {
            return None;
        }
        let mut out = CveRecord::empty(id);
        out.published = record
            .cve_metadata
            .date_published
            .as_deref()
            .and_then(normalize_time);
        out.cve_modified = record
            .cve_metadata
            .date_updated
            .as_deref()
            .and_then(normalize_time);
        out.description = english(&record.containers.cna.descriptions);
        let containers = std::iter::once((MetricTier::Cna, record.containers.cna)).chain(
            record
                .containers
                .adp
                .into_iter()
                .map(|c| (MetricTier::Adp, c)),
        );
        for (tier, container) in containers {
            let source = container
                .provider_metadata
                .and_then(|provider| provider.short_name.or(provider.org_id))
                .unwrap_or_default();
            for problem in &container.problem_types {
                for description in &problem.descriptions {
                    if let Some(cwe) = &description.cwe_id
                        && is_cwe(cwe)
                    {
                        out.cwes.push(cwe.clone());
                    }
                }
            }
            for metric in container.metrics {
                for (version, cvss) in [
                    ("2.0", metric.v2),
                    ("3.0", metric.v30),
                    ("3.1", metric.v31),
                    ("4.0", metric.v40),
                ] {
                    let Some(cvss) = cvss else {
                        continue;
                    };
                    out.metrics.push(CveMetric {
                        origin: MetricOrigin::Cve,
                        tier,
                        source: source.clone(),
                        kind: if tier == MetricTier::Cna {
                            "cna"
                        } else {
                            "adp"
                        }
                        .to_owned(),
                        version: version.to_owned(),
                        vector: cvss.vector_string,
                        base_score: cvss.base_score,
                    });
                }
            }
        }
        out.cwes.sort();
        out.cwes.dedup();
        Some((out, MetricOrigin::Cve))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The typed fast path and the checked path read every real file of
    /// ../shared/data alike.
    #[test]
    fn typed_and_checked_readings_agree_on_the_real_files() {
        let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
        let mut seen = 0;
        for (folder, typed_read) in [
            ("nvd", typed::nvd_cve as fn(&[u8]) -> Option<Parsed>),
            ("cve", typed::cve5),
        ] {
            let Ok(entries) = std::fs::read_dir(data.join(folder)) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                let value: Value = serde_json::from_slice(&bytes).unwrap();
                let checked = if folder == "nvd" {
                    parse_nvd_cve("x", &value).unwrap()
                } else {
                    parse_cve5("x", &value).unwrap()
                };
                assert_eq!(typed_read(&bytes), Some(checked), "{}", path.display());
                seen += 1;
            }
        }
        // The page shape too.
        let page = serde_json::json!({ "resultsPerPage": 1, "vulnerabilities": [{ "cve": {
            "id": "CVE-2024-0001", "lastModified": "2024-01-02T00:00:00.000",
            "metrics": { "cvssMetricV31": [{ "source": "nvd@nist.gov", "type": "Primary",
                "cvssData": { "version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "baseScore": 9.8 } }] } } }] });
        let typed_page = typed::nvd_page(page.to_string().as_bytes()).unwrap();
        assert_eq!(typed_page, parse_nvd_response("x", &page).unwrap());
        assert_eq!(
            typed_page[0].0.nvd_modified.as_deref(),
            Some("2024-01-02T00:00:00.000Z")
        );
        if seen == 0 {
            eprintln!("SKIPPED: no ../shared/data NVD/CVE files");
        }
    }
}

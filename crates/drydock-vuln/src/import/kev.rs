//! CISA Known Exploited Vulnerabilities catalog JSON.
use serde::Deserialize;
use serde_json::Value;

use super::Parsed;
use crate::error::ImportError;
use crate::model::KevEntry;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[expect(
    clippy::struct_field_names,
    reason = "the names of the KEV catalog fields"
)]
struct Catalog {
    #[serde(default)]
    catalog_version: String,
    #[serde(default)]
    date_released: String,
    vulnerabilities: Vec<KevEntry>,
}

pub(crate) fn parse(path: &str, value: Value) -> Result<Parsed, ImportError> {
    let catalog: Catalog = serde_json::from_value(value).map_err(|source| ImportError::Json {
        path: path.to_owned(),
        source,
    })?;
    for entry in &catalog.vulnerabilities {
        if !entry.cve_id.starts_with("CVE-") {
            return Err(ImportError::Invalid {
                path: path.to_owned(),
                what: format!("KEV entry with a bad `cveID`: `{}`", entry.cve_id),
            });
        }
    }
    Ok(Parsed::Kev {
        catalog_version: catalog.catalog_version,
        date_released: catalog.date_released,
        entries: catalog.vulnerabilities,
    })
}

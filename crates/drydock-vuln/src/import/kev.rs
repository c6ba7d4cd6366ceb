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

/// The CSV edition of the catalog (same fields; `cwes` comma-separated).
pub(crate) fn parse_csv(path: &str, bytes: &[u8]) -> Result<Parsed, ImportError> {
    let invalid = |what: String| ImportError::Invalid {
        path: path.to_owned(),
        what,
    };
    let text =
        std::str::from_utf8(bytes).map_err(|_| invalid("KEV CSV is not UTF-8".to_owned()))?;
    let rows = csv_rows(text).map_err(invalid)?;
    let mut rows = rows.into_iter();
    let header = rows.next().unwrap_or_default();
    let column = |name: &str| header.iter().position(|field| field == name);
    let Some(cve_column) = column("cveID") else {
        return Err(invalid("no `cveID` column".to_owned()));
    };
    let mut entries = Vec::new();
    for (index, row) in rows.enumerate() {
        if row.iter().all(String::is_empty) {
            continue;
        }
        let field = |name: &str| {
            column(name)
                .and_then(|i| row.get(i))
                .cloned()
                .unwrap_or_default()
        };
        let cve_id = row.get(cve_column).cloned().unwrap_or_default();
        if !cve_id.starts_with("CVE-") {
            return Err(invalid(format!(
                "row {}: bad `cveID` `{cve_id}`",
                index + 2
            )));
        }
        entries.push(KevEntry {
            cve_id,
            vendor_project: field("vendorProject"),
            product: field("product"),
            vulnerability_name: field("vulnerabilityName"),
            date_added: field("dateAdded"),
            short_description: field("shortDescription"),
            required_action: field("requiredAction"),
            due_date: field("dueDate"),
            known_ransomware_campaign_use: field("knownRansomwareCampaignUse"),
            notes: field("notes"),
            cwes: field("cwes")
                .split(',')
                .map(str::trim)
                .filter(|cwe| !cwe.is_empty())
                .map(str::to_owned)
                .collect(),
        });
    }
    Ok(Parsed::Kev {
        catalog_version: String::new(),
        date_released: String::new(),
        entries,
    })
}

/// RFC 4180 records: `"` quoting with `""` escapes, quoted newlines.
fn csv_rows(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut in_quotes = false;
    let mut line = 1;
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                _ => {
                    if c == '\n' {
                        line += 1;
                    }
                    field.push(c);
                }
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => in_quotes = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                line += 1;
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            _ => field.push(c),
        }
    }
    if in_quotes {
        return Err(format!("line {line}: unterminated quoted field"));
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

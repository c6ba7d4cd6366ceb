//! VEX: statements that a product is or is not affected by a
//! vulnerability. Read from OpenVEX 0.2.0 and CycloneDX VEX (the
//! `vulnerabilities[].analysis` of a CycloneDX BOM), applied to findings:
//! `not_affected` and `fixed` suppress.
//!
//! A statement applies to a finding when one of its vulnerability ids
//! (`name`, `@id`, `aliases`; CycloneDX `id` and `references[].id`) is the
//! finding's id or one of its aliases, and one of its products names the
//! finding's package (a purl with the same type, namespace and name, and
//! the same version when the statement's purl has one; qualifiers are not
//! compared) — or names the scanned source itself (its name or digest) and
//! has no subcomponents, or has a subcomponent naming the package. Among
//! the statements that apply, the newest (`timestamp`, else the document's)
//! wins; on equal times the later one read.
use serde_json::Value;

use crate::finding::{Finding, Suppression};

/// What a VEX statement says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VexStatus {
    NotAffected,
    Affected,
    Fixed,
    UnderInvestigation,
}

impl VexStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VexStatus::NotAffected => "not_affected",
            VexStatus::Affected => "affected",
            VexStatus::Fixed => "fixed",
            VexStatus::UnderInvestigation => "under_investigation",
        }
    }

    /// True for the statuses that suppress a finding.
    pub fn suppresses(self) -> bool {
        matches!(self, VexStatus::NotAffected | VexStatus::Fixed)
    }
}

/// One statement, normalised from either format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexStatement {
    pub vulnerabilities: Vec<String>,
    /// Product identifiers: purls, image references, bom-refs resolved to
    /// purls where the document allows.
    pub products: Vec<String>,
    pub subcomponents: Vec<String>,
    pub status: VexStatus,
    pub justification: Option<String>,
    /// RFC 3339; empty when neither statement nor document has one.
    pub timestamp: String,
}

/// A parsed VEX document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexDocument {
    /// `@id` of an OpenVEX document, `serialNumber` of a CycloneDX one, or
    /// the name it was read under.
    pub name: String,
    pub statements: Vec<VexStatement>,
}

#[derive(Debug, thiserror::Error)]
pub enum VexError {
    #[error("VEX `{name}` is not JSON")]
    Json {
        name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("VEX `{name}` is neither OpenVEX (`@context` openvex.dev) nor CycloneDX (`bomFormat`)")]
    UnknownFormat { name: String },
    #[error("VEX `{name}`: {what}")]
    Invalid { name: String, what: String },
}

/// Parses an OpenVEX or CycloneDX VEX document; `name` names it in errors
/// and in suppressions when the document has no id.
pub fn parse_vex(name: &str, bytes: &[u8]) -> Result<VexDocument, VexError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|source| VexError::Json {
        name: name.to_owned(),
        source,
    })?;
    let context = value
        .get("@context")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if context.contains("openvex") {
        return parse_openvex(name, &value);
    }
    if value.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        return parse_cyclonedx(name, &value);
    }
    Err(VexError::UnknownFormat {
        name: name.to_owned(),
    })
}

fn text(value: &Value, key: &str) -> Option<String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn parse_openvex(name: &str, value: &Value) -> Result<VexDocument, VexError> {
    let invalid = |what: String| VexError::Invalid {
        name: name.to_owned(),
        what,
    };
    let document_time = text(value, "timestamp").unwrap_or_default();
    let Some(statements) = value.get("statements").and_then(Value::as_array) else {
        return Err(invalid("no `statements` array".to_owned()));
    };
    let product_ids = |product: &Value| -> Vec<String> {
        let mut ids: Vec<String> = text(product, "@id").into_iter().collect();
        if let Some(identifiers) = product.get("identifiers").and_then(Value::as_object) {
            ids.extend(
                identifiers
                    .values()
                    .filter_map(Value::as_str)
                    .map(str::to_owned),
            );
        }
        ids
    };
    let mut out = Vec::with_capacity(statements.len());
    for (index, statement) in statements.iter().enumerate() {
        let Some(vulnerability) = statement.get("vulnerability") else {
            return Err(invalid(format!("statements[{index}]: no `vulnerability`")));
        };
        let mut vulnerabilities: Vec<String> = Vec::new();
        vulnerabilities.extend(text(vulnerability, "name"));
        vulnerabilities.extend(text(vulnerability, "@id"));
        if let Some(aliases) = vulnerability.get("aliases").and_then(Value::as_array) {
            vulnerabilities.extend(aliases.iter().filter_map(Value::as_str).map(str::to_owned));
        }
        let status = match statement.get("status").and_then(Value::as_str) {
            Some("not_affected") => VexStatus::NotAffected,
            Some("affected") => VexStatus::Affected,
            Some("fixed") => VexStatus::Fixed,
            Some("under_investigation") => VexStatus::UnderInvestigation,
            other => {
                return Err(invalid(format!(
                    "statements[{index}]: unknown status {other:?}"
                )));
            }
        };
        let mut products = Vec::new();
        let mut subcomponents = Vec::new();
        for product in statement
            .get("products")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            products.extend(product_ids(product));
            for sub in product
                .get("subcomponents")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                subcomponents.extend(product_ids(sub));
            }
        }
        let justification =
            text(statement, "justification").or_else(|| text(statement, "impact_statement"));
        out.push(VexStatement {
            vulnerabilities,
            products,
            subcomponents,
            status,
            justification,
            timestamp: text(statement, "timestamp").unwrap_or_else(|| document_time.clone()),
        });
    }
    Ok(VexDocument {
        name: text(value, "@id").unwrap_or_else(|| name.to_owned()),
        statements: out,
    })
}

fn parse_cyclonedx(name: &str, value: &Value) -> Result<VexDocument, VexError> {
    // bom-ref → purl of every component (nested too) and of the metadata
    // component.
    let mut refs: Vec<(String, String)> = Vec::new();
    let mut stack: Vec<&Value> = Vec::new();
    if let Some(component) = value.get("metadata").and_then(|m| m.get("component")) {
        stack.push(component);
    }
    stack.extend(
        value
            .get("components")
            .and_then(Value::as_array)
            .into_iter()
            .flatten(),
    );
    while let Some(component) = stack.pop() {
        if let Some(bom_ref) = text(component, "bom-ref") {
            let identity = text(component, "purl").unwrap_or_else(|| bom_ref.clone());
            refs.push((bom_ref, identity));
        }
        stack.extend(
            component
                .get("components")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        );
    }
    let resolve = |reference: &str| -> String {
        let local = reference
            .rsplit_once('#')
            .map_or(reference, |(_, fragment)| fragment);
        refs.iter()
            .find(|(bom_ref, _)| bom_ref == reference || bom_ref == local)
            .map_or_else(|| local.to_owned(), |(_, identity)| identity.clone())
    };
    let document_time = value
        .get("metadata")
        .and_then(|metadata| text(metadata, "timestamp"))
        .unwrap_or_default();
    let mut out = Vec::new();
    for (index, vulnerability) in value
        .get("vulnerabilities")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let Some(analysis) = vulnerability.get("analysis") else {
            continue;
        };
        let status = match analysis.get("state").and_then(Value::as_str) {
            Some("not_affected" | "false_positive") => VexStatus::NotAffected,
            Some("resolved" | "resolved_with_pedigree") => VexStatus::Fixed,
            Some("exploitable") => VexStatus::Affected,
            Some("in_triage") | None => VexStatus::UnderInvestigation,
            Some(other) => {
                return Err(VexError::Invalid {
                    name: name.to_owned(),
                    what: format!("vulnerabilities[{index}]: unknown analysis state `{other}`"),
                });
            }
        };
        let mut vulnerabilities: Vec<String> = text(vulnerability, "id").into_iter().collect();
        for reference in vulnerability
            .get("references")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            vulnerabilities.extend(text(reference, "id"));
        }
        let products: Vec<String> = vulnerability
            .get("affects")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|affects| affects.get("ref").and_then(Value::as_str))
            .map(resolve)
            .collect();
        out.push(VexStatement {
            vulnerabilities,
            products,
            subcomponents: Vec::new(),
            status,
            justification: text(analysis, "justification").or_else(|| text(analysis, "detail")),
            timestamp: text(analysis, "lastUpdated").unwrap_or_else(|| document_time.clone()),
        });
    }
    Ok(VexDocument {
        name: text(value, "serialNumber").unwrap_or_else(|| name.to_owned()),
        statements: out,
    })
}

/// A purl reduced to what identifies a package version: `(type, namespace,
/// name, version)`, decoded, qualifiers and subpath dropped.
fn purl_key(text: &str) -> Option<(String, String, String, Option<String>)> {
    let rest = text.strip_prefix("pkg:")?.trim_start_matches('/');
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let (ty, path) = rest.split_once('/')?;
    let (path, version) = match path.rsplit_once('@') {
        Some((path, version)) => (path, Some(decode(version))),
        None => (path, None),
    };
    let (namespace, name) = match path.rsplit_once('/') {
        Some((namespace, name)) => (decode(namespace), decode(name)),
        None => (String::new(), decode(path)),
    };
    Some((ty.to_ascii_lowercase(), namespace, name, version))
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        if byte == b'%' {
            let hex = bytes
                .get(index + 1..index + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            if let Some(decoded) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(decoded);
                index += 3;
                continue;
            }
        }
        out.push(byte);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// True when the product identifier names the package with this purl.
fn names_package(product: &str, package_purl: &str) -> bool {
    let (Some(product), Some(package)) = (purl_key(product), purl_key(package_purl)) else {
        return false;
    };
    product.0 == package.0
        && product.1 == package.1
        && product.2 == package.2
        && product
            .3
            .as_ref()
            .is_none_or(|version| Some(version) == package.3.as_ref())
}

/// True when the product identifier names the scanned source: equal to one
/// of `source_ids` (source name, manifest digest), or an `oci` purl whose
/// version is the digest.
fn names_source(product: &str, source_ids: &[String]) -> bool {
    source_ids.iter().any(|id| {
        !id.is_empty()
            && (product == id
                || purl_key(product)
                    .is_some_and(|key| key.0 == "oci" && key.3.as_deref() == Some(id.as_str())))
    })
}

fn applies(statement: &VexStatement, finding: &Finding, source_ids: &[String]) -> bool {
    let vulnerability = statement
        .vulnerabilities
        .iter()
        .any(|id| finding.all_ids().any(|own| own == id));
    if !vulnerability {
        return false;
    }
    let purl = finding.package.purl.as_str();
    if statement
        .products
        .iter()
        .any(|product| names_package(product, purl))
    {
        return true;
    }
    let about_source = statement
        .products
        .iter()
        .any(|product| names_source(product, source_ids));
    about_source
        && (statement.subcomponents.is_empty()
            || statement
                .subcomponents
                .iter()
                .any(|sub| names_package(sub, purl)))
}

/// Splits findings into (kept, suppressed): a finding is suppressed when the
/// newest applicable statement says `not_affected` or `fixed`.
/// `source_ids` name the scanned source (its name, its manifest digest).
pub fn apply_vex(
    findings: Vec<Finding>,
    documents: &[VexDocument],
    source_ids: &[String],
) -> (Vec<Finding>, Vec<Finding>) {
    let mut kept = Vec::new();
    let mut suppressed = Vec::new();
    for mut finding in findings {
        let mut winner: Option<(&VexDocument, &VexStatement)> = None;
        for document in documents {
            for statement in &document.statements {
                if !applies(statement, &finding, source_ids) {
                    continue;
                }
                let newer = winner.is_none_or(|(_, known)| {
                    crate::time::compare_times(&statement.timestamp, &known.timestamp)
                        != std::cmp::Ordering::Less
                });
                if newer {
                    winner = Some((document, statement));
                }
            }
        }
        match winner {
            Some((document, statement)) if statement.status.suppresses() => {
                finding.suppressed = Some(Suppression {
                    status: statement.status.as_str().to_owned(),
                    justification: statement.justification.clone(),
                    document: document.name.clone(),
                });
                suppressed.push(finding);
            }
            _ => kept.push(finding),
        }
    }
    (kept, suppressed)
}

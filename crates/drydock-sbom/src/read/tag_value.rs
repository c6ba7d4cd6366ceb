//! SPDX 2.x tag-value documents, turned into the shape of SPDX JSON (the
//! fields the reader uses) so both share one reader. `Tag: value` lines;
//! a value may span lines between `<text>` and `</text>`; lines starting
//! with `#` outside such a value are comments. A package starts at its
//! `PackageName:` and its fields follow until the next package or file.
use serde_json::{Map, Value, json};

use super::ReadError;

/// True when the first line that is neither blank nor a comment is
/// `SPDXVersion:`.
pub(super) fn looks_like_tag_value(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .is_some_and(|line| line.starts_with("SPDXVersion:"))
}

/// `(line number, tag, value)` of every field, multi-line values joined.
fn fields(text: &str) -> Result<Vec<(usize, &str, String)>, ReadError> {
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    while let Some((index, line)) = lines.next() {
        let number = index + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let Some((tag, value)) = trimmed.split_once(':') else {
            return Err(ReadError::TagValue {
                line: number,
                reason: format!("`{}` is not `Tag: value`", shorten(trimmed)),
            });
        };
        let value = value.trim();
        let Some(rest) = value.strip_prefix("<text>") else {
            out.push((number, tag.trim(), value.to_owned()));
            continue;
        };
        if let Some((inner, _)) = rest.split_once("</text>") {
            out.push((number, tag.trim(), inner.to_owned()));
            continue;
        }
        let mut joined = rest.to_owned();
        loop {
            let Some((_, next)) = lines.next() else {
                return Err(ReadError::TagValue {
                    line: number,
                    reason: format!("`{}`: `<text>` is never closed", tag.trim()),
                });
            };
            joined.push('\n');
            if let Some((inner, _)) = next.split_once("</text>") {
                joined.push_str(inner);
                break;
            }
            joined.push_str(next);
        }
        out.push((number, tag.trim(), joined));
    }
    Ok(out)
}

fn shorten(text: &str) -> String {
    text.chars().take(60).collect()
}

/// The document as SPDX JSON: `spdxVersion`, `creationInfo.created`,
/// `packages` (name, SPDXID, versionInfo, primaryPackagePurpose,
/// externalRefs) and `relationships`.
pub(super) fn spdx_to_json(text: &str) -> Result<Value, ReadError> {
    let mut document = Map::new();
    let mut created = None;
    let mut packages: Vec<Map<String, Value>> = Vec::new();
    let mut relationships = Vec::new();
    // Fields after `FileName:` or `SnippetSPDXID:` belong to a file or
    // snippet, not to the package before it.
    let mut in_package = false;
    for (line, tag, value) in fields(text)? {
        match tag {
            "SPDXVersion" => {
                document.insert("spdxVersion".to_owned(), Value::String(value));
            }
            "Created" => created = Some(value),
            "PackageName" => {
                let mut package = Map::new();
                package.insert("name".to_owned(), Value::String(value));
                packages.push(package);
                in_package = true;
            }
            "FileName" | "SnippetSPDXID" | "LicenseID" => in_package = false,
            "Relationship" => {
                let parts: Vec<&str> = value.split_whitespace().collect();
                let [from, kind, to] = parts.as_slice() else {
                    return Err(ReadError::TagValue {
                        line,
                        reason: format!(
                            "`Relationship: {}` is not `ELEMENT TYPE ELEMENT`",
                            shorten(&value)
                        ),
                    });
                };
                relationships.push(json!({
                    "spdxElementId": from,
                    "relationshipType": kind,
                    "relatedSpdxElement": to,
                }));
            }
            _ => {
                let Some(package) = packages.last_mut().filter(|_| in_package) else {
                    continue;
                };
                match tag {
                    "SPDXID" => {
                        package.insert("SPDXID".to_owned(), Value::String(value));
                    }
                    "PackageVersion" => {
                        package.insert("versionInfo".to_owned(), Value::String(value));
                    }
                    "PrimaryPackagePurpose" => {
                        package.insert("primaryPackagePurpose".to_owned(), Value::String(value));
                    }
                    "ExternalRef" => {
                        let mut parts = value.splitn(3, char::is_whitespace);
                        let (Some(category), Some(kind), Some(locator)) =
                            (parts.next(), parts.next(), parts.next())
                        else {
                            return Err(ReadError::TagValue {
                                line,
                                reason: format!(
                                    "`ExternalRef: {}` is not `CATEGORY TYPE LOCATOR`",
                                    shorten(&value)
                                ),
                            });
                        };
                        let reference = json!({
                            "referenceCategory": category,
                            "referenceType": kind,
                            "referenceLocator": locator.trim(),
                        });
                        if let Value::Array(references) = package
                            .entry("externalRefs")
                            .or_insert_with(|| Value::Array(Vec::new()))
                        {
                            references.push(reference);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    if let Some(created) = created {
        document.insert("creationInfo".to_owned(), json!({ "created": created }));
    }
    document.insert(
        "packages".to_owned(),
        Value::Array(packages.into_iter().map(Value::Object).collect()),
    );
    document.insert("relationships".to_owned(), Value::Array(relationships));
    Ok(Value::Object(document))
}

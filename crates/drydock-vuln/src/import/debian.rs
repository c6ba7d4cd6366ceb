//! The Debian security tracker JSON (`tracker/data/json`):
//! `{ "<source package>": { "<CVE-…|TEMP-…>": { "description", "scope",
//! "debianbug", "releases": { "<codename>": { "status", "fixed_version",
//! "urgency", "nodsa", "repositories" } } } } }`.
//!
//! One advisory per (CVE, source package, release), id
//! `DEBIAN:<release>/<package>/<CVE>`, ecosystem `Debian:<release number>`
//! (`Debian:sid` for unstable), `upstream` = the CVE. States (in
//! `affected[].database_specific.state`):
//! - `resolved` with `fixed_version` `0`: never affected, no record;
//! - `resolved` with a version: `fixed`, range `introduced 0, fixed <version>`;
//! - `open` / `undetermined`: no fixed event; `wont-fix` when the tracker
//!   says Debian will not fix it in that release (`nodsa` set, urgency
//!   `unimportant` or `end-of-life`), otherwise `not-fixed`.
use serde_json::{Map, Value, json};

use crate::error::ImportError;
use crate::model::{Advisory, Affected, AffectedPackage, Event, Range, RangeKind, Severity};

pub(crate) const SOURCE: &str = "debian-security-tracker";

/// `bookworm` → `12`; unknown codenames (and `sid`) are kept as written.
pub fn debian_release_number(codename: &str) -> &str {
    match codename {
        "hamm" => "2",
        "slink" => "2.1",
        "potato" => "2.2",
        "woody" => "3.0",
        "sarge" => "3.1",
        "etch" => "4",
        "lenny" => "5",
        "squeeze" => "6",
        "wheezy" => "7",
        "jessie" => "8",
        "stretch" => "9",
        "buster" => "10",
        "bullseye" => "11",
        "bookworm" => "12",
        "trixie" => "13",
        "forky" => "14",
        "duke" => "15",
        other => other,
    }
}

pub(crate) fn looks_like_tracker(object: &Map<String, Value>) -> bool {
    let mut saw_issue = false;
    for package in object.values().take(16) {
        let Some(issues) = package.as_object() else {
            return false;
        };
        for issue in issues.values().take(4) {
            if issue
                .get("releases")
                .is_none_or(|releases| !releases.is_object())
            {
                return false;
            }
            saw_issue = true;
        }
    }
    saw_issue
}

pub(crate) fn parse(path: &str, value: &Value, now: &str) -> Result<Vec<Advisory>, ImportError> {
    let invalid = |what: String| ImportError::Invalid {
        path: path.to_owned(),
        what,
    };
    let Some(packages) = value.as_object() else {
        return Err(invalid("expected an object of source packages".to_owned()));
    };
    let mut advisories = Vec::new();
    for (package, issues) in packages {
        let Some(issues) = issues.as_object() else {
            return Err(invalid(format!(
                "package `{package}`: expected an object of issues"
            )));
        };
        for (issue, info) in issues {
            let Some(releases) = info.get("releases").and_then(Value::as_object) else {
                return Err(invalid(format!(
                    "`{package}` {issue}: no `releases` object"
                )));
            };
            let description = info
                .get("description")
                .and_then(Value::as_str)
                .map(str::to_owned);
            for (codename, release) in releases {
                let Some(release) = release.as_object() else {
                    return Err(invalid(format!(
                        "`{package}` {issue} {codename}: expected an object"
                    )));
                };
                if let Some(advisory) = convert(
                    package,
                    issue,
                    codename,
                    release,
                    description.clone(),
                    info,
                    now,
                ) {
                    advisories.push(advisory);
                }
            }
        }
    }
    Ok(advisories)
}

fn convert(
    package: &str,
    issue: &str,
    codename: &str,
    release: &Map<String, Value>,
    description: Option<String>,
    info: &Value,
    now: &str,
) -> Option<Advisory> {
    let text = |key: &str| release.get(key).and_then(Value::as_str);
    let status = text("status").unwrap_or("open");
    let fixed_version = text("fixed_version").filter(|version| !version.is_empty());
    let urgency = text("urgency").map(|urgency| urgency.trim_end_matches('*').trim());
    let nodsa = text("nodsa");
    let (state, events) = match (status, fixed_version) {
        ("resolved", Some("0")) => return None,
        ("resolved", Some(version)) => (
            "fixed",
            vec![
                Event::Introduced("0".to_owned()),
                Event::Fixed(version.to_owned()),
            ],
        ),
        // `resolved` without a version does not occur in the tracker's
        // output; reading it as "not affected" would hide a vulnerability.
        _ => {
            let wont_fix =
                nodsa.is_some() || matches!(urgency, Some("unimportant" | "end-of-life"));
            (
                if wont_fix { "wont-fix" } else { "not-fixed" },
                vec![Event::Introduced("0".to_owned())],
            )
        }
    };
    let ecosystem = format!("Debian:{}", debian_release_number(codename));
    let mut database_specific = json!({ "state": state, "status": status, "release": codename });
    if let Some(object) = database_specific.as_object_mut() {
        if let Some(urgency) = urgency {
            object.insert("urgency".to_owned(), Value::from(urgency));
        }
        if let Some(nodsa) = nodsa {
            object.insert("nodsa".to_owned(), Value::from(nodsa));
        }
        if let Some(reason) = text("nodsa_reason") {
            object.insert("nodsa_reason".to_owned(), Value::from(reason));
        }
    }
    let severity = match urgency {
        Some(label @ ("unimportant" | "low" | "medium" | "high")) => {
            vec![Severity {
                kind: "Debian".to_owned(),
                score: label.to_owned(),
            }]
        }
        _ => Vec::new(),
    };
    let mut top_specific = serde_json::Map::new();
    if let Some(scope) = info.get("scope").and_then(Value::as_str) {
        top_specific.insert("scope".to_owned(), Value::from(scope));
    }
    if let Some(bug) = info.get("debianbug") {
        top_specific.insert("debianbug".to_owned(), bug.clone());
    }
    Some(Advisory {
        id: format!(
            "DEBIAN:{}/{package}/{issue}",
            debian_release_number(codename)
        ),
        aliases: Vec::new(),
        upstream: if issue.starts_with("CVE-") {
            vec![issue.to_owned()]
        } else {
            Vec::new()
        },
        related: Vec::new(),
        summary: description,
        details: None,
        published: None,
        modified: now.to_owned(),
        withdrawn: None,
        severity: Vec::new(),
        affected: vec![Affected {
            package: AffectedPackage {
                ecosystem,
                name: package.to_owned(),
                purl: None,
            },
            ranges: vec![Range {
                kind: RangeKind::Ecosystem,
                repo: None,
                events,
                database_specific: None,
            }],
            versions: Vec::new(),
            severity,
            ecosystem_specific: None,
            database_specific: Some(database_specific),
        }],
        references: vec![crate::model::Reference {
            kind: "ADVISORY".to_owned(),
            url: format!("https://security-tracker.debian.org/tracker/{issue}"),
        }],
        database_specific: (!top_specific.is_empty()).then_some(Value::Object(top_specific)),
        data_source: SOURCE.to_owned(),
    })
}

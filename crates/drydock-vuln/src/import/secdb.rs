//! Alpine and Wolfi secdb JSON: `{ "distroversion", "reponame",
//! "urlprefix", "packages": [ { "pkg": { "name", "secfixes": { "<fixed
//! version>": ["CVE-… [ALIAS…]"] } } } ] }`.
//!
//! One advisory per (vulnerability, package, release), id
//! `ALPINE:<release>/<package>/<id>` (`WOLFI/…`, `CHAINGUARD/…`), ecosystem
//! `Alpine:<distroversion>` / `Wolfi` / `Chainguard`, range `introduced 0,
//! fixed <key>`. The key `0` means "never affected": no record. A line
//! `CVE-2016-9932 XSA-200` is one vulnerability with an alias.
use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::error::ImportError;
use crate::model::{Advisory, Affected, AffectedPackage, Event, Range, RangeKind};

pub(crate) fn parse(path: &str, value: &Value, now: &str) -> Result<Vec<Advisory>, ImportError> {
    let invalid = |what: String| ImportError::Invalid {
        path: path.to_owned(),
        what,
    };
    let url = value
        .get("urlprefix")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let (ecosystem, prefix, source) = if url.contains("wolfi.dev") {
        ("Wolfi".to_owned(), "WOLFI".to_owned(), "wolfi-secdb")
    } else if url.contains("cgr.dev") || url.contains("chainguard") {
        (
            "Chainguard".to_owned(),
            "CHAINGUARD".to_owned(),
            "chainguard-secdb",
        )
    } else {
        let Some(release) = value
            .get("distroversion")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
        else {
            return Err(invalid("Alpine secdb without `distroversion`".to_owned()));
        };
        (
            format!("Alpine:{release}"),
            format!("ALPINE:{release}"),
            "alpine-secdb",
        )
    };
    let packages = match value.get("packages") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(packages)) => packages,
        Some(_) => return Err(invalid("`packages` is not an array".to_owned())),
    };
    // (package, vulnerability id) → (aliases, fixed versions)
    let mut found: BTreeMap<(String, String), (Vec<String>, Vec<String>)> = BTreeMap::new();
    for (index, entry) in packages.iter().enumerate() {
        let Some(pkg) = entry.get("pkg") else {
            return Err(invalid(format!("packages[{index}]: no `pkg`")));
        };
        let Some(name) = pkg.get("name").and_then(Value::as_str) else {
            return Err(invalid(format!("packages[{index}]: no `pkg.name`")));
        };
        let secfixes = match pkg.get("secfixes") {
            None | Some(Value::Null) => continue,
            Some(Value::Object(secfixes)) => secfixes,
            Some(_) => return Err(invalid(format!("`{name}`: `secfixes` is not an object"))),
        };
        for (version, ids) in secfixes {
            if version == "0" {
                continue;
            }
            let ids = match ids {
                Value::Null => continue,
                Value::Array(ids) => ids,
                _ => {
                    return Err(invalid(format!(
                        "`{name}` {version}: expected a list of ids"
                    )));
                }
            };
            for line in ids {
                let Some(line) = line.as_str() else {
                    return Err(invalid(format!(
                        "`{name}` {version}: an id is not a string"
                    )));
                };
                // `CVE-… XSA-…` (aliases), `CVE-… (comment)`, the typo `CVE_2019-2426`.
                let mut tokens = line
                    .split_whitespace()
                    .take_while(|token| !token.starts_with('('))
                    .map(|token| match token.strip_prefix("CVE_") {
                        Some(rest) => format!("CVE-{rest}"),
                        None => token.to_owned(),
                    })
                    .filter(|token| is_vulnerability_id(token));
                let Some(primary) = tokens.next() else {
                    continue;
                };
                let slot = found.entry((name.to_owned(), primary)).or_default();
                for alias in tokens {
                    if !slot.0.contains(&alias) {
                        slot.0.push(alias);
                    }
                }
                slot.1.push(version.clone());
            }
        }
    }
    Ok(found
        .into_iter()
        .map(|((name, id), (aliases, mut fixed))| {
            // Listed under several versions: the first fix in version order.
            fixed.sort_by(|a, b| {
                drydock_version::compare(drydock_version::Ecosystem::Alpine, a, b)
                    .unwrap_or_else(|_| a.cmp(b))
            });
            let fixed = fixed.into_iter().next().unwrap_or_default();
            let mut upstream = Vec::new();
            for candidate in std::iter::once(&id).chain(aliases.iter()) {
                if candidate.starts_with("CVE-") {
                    upstream.push(candidate.clone());
                }
            }
            Advisory {
                id: format!("{prefix}/{name}/{id}"),
                aliases: std::iter::once(id.clone())
                    .chain(aliases)
                    .filter(|a| !a.starts_with("CVE-"))
                    .collect(),
                upstream,
                related: Vec::new(),
                summary: None,
                details: None,
                published: None,
                modified: now.to_owned(),
                withdrawn: None,
                severity: Vec::new(),
                affected: vec![Affected {
                    package: AffectedPackage {
                        ecosystem: ecosystem.clone(),
                        name,
                        purl: None,
                    },
                    ranges: vec![Range {
                        kind: RangeKind::Ecosystem,
                        repo: None,
                        events: vec![Event::Introduced("0".to_owned()), Event::Fixed(fixed)],
                        database_specific: None,
                    }],
                    versions: Vec::new(),
                    severity: Vec::new(),
                    ecosystem_specific: None,
                    database_specific: Some(json!({ "state": "fixed" })),
                }],
                references: Vec::new(),
                database_specific: None,
                data_source: source.to_owned(),
            }
        })
        .collect())
}

/// `CVE-2016-9932`, `XSA-200`, `GHSA-xxxx-…`: letters, a dash, then more.
fn is_vulnerability_id(token: &str) -> bool {
    let Some((prefix, rest)) = token.split_once('-') else {
        return false;
    };
    !prefix.is_empty()
        && prefix
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        && prefix
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_uppercase())
        && !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':'))
}

//! Reading a Java archive into a [`Summary`]: the facts the cataloger names
//! packages from, for the archive and every archive nested in it.
//!
//! The summary is what [`super::JavaCataloger::reduce`] keeps of a jar while
//! the layer streams by (a few hundred bytes instead of the archive), so it
//! has an encoding: [`MAGIC`] followed by JSON.
use serde::{Deserialize, Serialize};
use sha1::Digest as _;

use super::zip::{Entry, Zip, ZipError};

/// Archives nested deeper than this (the top archive is depth 0) are not opened.
pub(crate) const MAX_DEPTH: usize = 16;
/// The most a single nested archive may hold, uncompressed.
pub(crate) const MAX_NESTED_BYTES: u64 = 256 << 20;
/// The most bytes of nested archives read (inflated or borrowed) per top archive.
pub(crate) const MAX_TOTAL_BYTES: u64 = 1 << 30;
/// The most nested archives read per top archive.
pub(crate) const MAX_ARCHIVES: usize = 10_000;
/// The most a metadata file (`pom.properties`, `MANIFEST.MF`) may hold.
const MAX_METADATA_BYTES: u64 = 1 << 20;
/// The most problems kept per top archive; the rest are counted.
const MAX_PROBLEMS: usize = 100;

/// Marks an encoded summary; a zip archive cannot start with it.
pub(crate) const MAGIC: &[u8] = b"drydock-java-summary-v1\n";

/// Extensions of the archives read (case-insensitive).
pub(crate) const EXTENSIONS: [&str; 8] = ["jar", "war", "ear", "jpi", "hpi", "par", "sar", "kar"];

/// What was read from one archive and its nested archives.
#[derive(Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Summary {
    /// The top archive first, then nested ones depth first.
    pub(crate) archives: Vec<ArchiveFacts>,
    /// Problems, each naming the nested entry it is about.
    pub(crate) problems: Vec<String>,
}

/// The facts of one archive.
#[derive(Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct ArchiveFacts {
    /// Entry names from the top archive down to this one; empty for the top.
    pub(crate) nesting: Vec<String>,
    /// SHA-1 of the archive's bytes, lowercase hex.
    pub(crate) sha1: String,
    /// Main-section attributes of `META-INF/MANIFEST.MF` that name a package.
    pub(crate) manifest: Vec<(String, String)>,
    /// `META-INF/maven/**/pom.properties`, in central directory order.
    pub(crate) poms: Vec<PomProperties>,
}

#[derive(Debug, Default, Serialize, Deserialize, PartialEq, Eq, Clone)]
pub(crate) struct PomProperties {
    /// The entry name inside its archive.
    pub(crate) path: String,
    pub(crate) group_id: String,
    pub(crate) artifact_id: String,
    pub(crate) version: String,
}

/// Manifest attributes kept (compared case-insensitively, as Java does).
const MANIFEST_KEYS: [&str; 10] = [
    "Implementation-Title",
    "Implementation-Version",
    "Implementation-Vendor",
    "Implementation-Vendor-Id",
    "Specification-Title",
    "Specification-Version",
    "Specification-Vendor",
    "Bundle-SymbolicName",
    "Bundle-Version",
    "Automatic-Module-Name",
];

impl Summary {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        // Serialising plain strings and vectors cannot fail.
        if serde_json::to_writer(&mut out, self).is_err() {
            out.truncate(MAGIC.len());
        }
        out
    }

    /// `None` when `bytes` is not an encoded summary (a raw archive).
    pub(crate) fn decode(bytes: &[u8]) -> Option<Result<Summary, String>> {
        let json = bytes.strip_prefix(MAGIC)?;
        Some(
            serde_json::from_slice(json)
                .map_err(|error| format!("corrupt archive summary: {error}")),
        )
    }

    fn problem(&mut self, reason: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(reason);
        } else if self.problems.len() == MAX_PROBLEMS {
            self.problems
                .push("more problems in this archive were not reported".to_owned());
        }
    }
}

/// Whether an entry or file name ends with a Java archive extension.
pub(crate) fn is_archive_name(name: &[u8]) -> bool {
    let Some(dot) = name.iter().rposition(|&b| b == b'.') else {
        return false;
    };
    let extension = name.get(dot + 1..).unwrap_or_default();
    EXTENSIONS
        .iter()
        .any(|known| extension.eq_ignore_ascii_case(known.as_bytes()))
}

struct Reader {
    summary: Summary,
    /// Bytes of nested archives still allowed.
    budget: u64,
    archives: usize,
}

/// Read the archive `data` and everything nested in it. A top archive that
/// is not a readable zip is an `Err`; problems inside it are in the summary.
pub(crate) fn summarize(data: &[u8]) -> Result<Summary, ZipError> {
    let zip = Zip::parse(data)?;
    let mut reader = Reader {
        summary: Summary::default(),
        budget: MAX_TOTAL_BYTES,
        archives: 0,
    };
    reader.archive(&zip, data, &mut Vec::new());
    Ok(reader.summary)
}

impl Reader {
    fn archive(&mut self, zip: &Zip<'_>, data: &[u8], nesting: &mut Vec<String>) {
        let mut facts = ArchiveFacts {
            nesting: nesting.clone(),
            sha1: hex(&sha1::Sha1::digest(data)),
            ..ArchiveFacts::default()
        };
        let mut nested: Vec<Entry<'_>> = Vec::new();
        for entry in zip.entries() {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    self.summary.problem(located(nesting, &error.to_string()));
                    break;
                }
            };
            let name = entry.name;
            if name.ends_with(b"/") {
                continue;
            }
            if name.eq_ignore_ascii_case(b"META-INF/MANIFEST.MF") {
                if let Some(content) = self.metadata(zip, &entry, nesting) {
                    facts.manifest = parse_manifest(&content);
                }
            } else if is_pom_properties(name) {
                if let Some(content) = self.metadata(zip, &entry, nesting) {
                    let properties = parse_properties(&content);
                    let get = |key: &str| {
                        properties
                            .iter()
                            .find(|(k, _)| k == key)
                            .map(|(_, v)| v.trim().to_owned())
                            .unwrap_or_default()
                    };
                    facts.poms.push(PomProperties {
                        path: entry.display_name(),
                        group_id: get("groupId"),
                        artifact_id: get("artifactId"),
                        version: get("version"),
                    });
                }
            } else if is_archive_name(name) {
                nested.push(entry);
            }
        }
        self.summary.archives.push(facts);
        for entry in nested {
            nesting.push(entry.display_name());
            self.nested(zip, &entry, nesting);
            nesting.pop();
        }
    }

    fn nested(&mut self, zip: &Zip<'_>, entry: &Entry<'_>, nesting: &mut Vec<String>) {
        if nesting.len() > MAX_DEPTH {
            self.summary.problem(located(
                nesting,
                &format!("archive nested more than {MAX_DEPTH} deep; not read"),
            ));
            return;
        }
        if self.archives >= MAX_ARCHIVES {
            self.summary.problem(located(
                nesting,
                &format!("more than {MAX_ARCHIVES} nested archives; not read"),
            ));
            return;
        }
        if entry.size > self.budget {
            self.summary.problem(located(
                nesting,
                &format!(
                    "{} bytes would exceed the {MAX_TOTAL_BYTES}-byte limit on nested archives read per archive (zip bomb?); not read",
                    entry.size
                ),
            ));
            return;
        }
        let content = match zip.read(entry, MAX_NESTED_BYTES) {
            Ok(content) => content,
            Err(error) => {
                self.summary.problem(located(
                    nesting,
                    &format!("not read: {}", reason_of(&error)),
                ));
                return;
            }
        };
        self.budget = self.budget.saturating_sub(content.len() as u64);
        self.archives += 1;
        match Zip::parse(&content) {
            Ok(inner) => self.archive(&inner, &content, nesting),
            Err(error) => self.summary.problem(located(nesting, &error.to_string())),
        }
    }

    fn metadata(
        &mut self,
        zip: &Zip<'_>,
        entry: &Entry<'_>,
        nesting: &[String],
    ) -> Option<Vec<u8>> {
        match zip.read(entry, MAX_METADATA_BYTES.min(self.budget)) {
            Ok(content) => {
                self.budget = self.budget.saturating_sub(content.len() as u64);
                Some(content.into_owned())
            }
            Err(error) => {
                self.summary.problem(located(nesting, &error.to_string()));
                None
            }
        }
    }
}

/// The reason of an entry error without repeating the entry's name.
fn reason_of(error: &ZipError) -> String {
    match error {
        ZipError::Entry { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// `reason`, prefixed with the nested archive it is about (`a.jar!/b.jar: …`).
fn located(nesting: &[String], reason: &str) -> String {
    if nesting.is_empty() {
        reason.to_owned()
    } else {
        format!("{}: {reason}", nesting.join("!/"))
    }
}

/// `META-INF/maven/<…>/pom.properties`, without `..` components that would
/// place it outside `META-INF/maven`.
fn is_pom_properties(name: &[u8]) -> bool {
    name.starts_with(b"META-INF/maven/")
        && name.ends_with(b"/pom.properties")
        && !name.split(|&b| b == b'/').any(|c| c == b"..")
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// The main section of a manifest (JAR File Specification): `Name: value`
/// lines up to the first blank line; a line starting with one space
/// continues the previous value. Only [`MANIFEST_KEYS`] are kept, under
/// their canonical spelling.
pub(crate) fn parse_manifest(content: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(content);
    let mut attributes: Vec<(String, String)> = Vec::new();
    let mut current: Option<(String, String)> = None;
    let mut flush = |current: &mut Option<(String, String)>| {
        if let Some((key, value)) = current.take()
            && let Some(canonical) = MANIFEST_KEYS.iter().find(|k| k.eq_ignore_ascii_case(&key))
            && !attributes.iter().any(|(k, _)| k == canonical)
        {
            attributes.push(((*canonical).to_owned(), value.trim().to_owned()));
        }
    };
    for line in text.split("\r\n").flat_map(|l| l.split(['\n', '\r'])) {
        if line.is_empty() {
            break;
        }
        if let Some(continued) = line.strip_prefix(' ') {
            if let Some((_, value)) = current.as_mut() {
                value.push_str(continued);
            }
            continue;
        }
        flush(&mut current);
        if let Some((key, value)) = line.split_once(':') {
            current = Some((
                key.trim().to_owned(),
                value.strip_prefix(' ').unwrap_or(value).to_owned(),
            ));
        }
    }
    flush(&mut current);
    attributes
}

/// A `.properties` file (java.util.Properties): `key=value`, `key: value` or
/// `key value`; `#` and `!` comments; a trailing backslash continues a line;
/// `\uXXXX` and `\t`, `\n`, `\r`, `\f` escapes.
pub(crate) fn parse_properties(content: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(content);
    // Join continued lines first.
    let mut logical: Vec<String> = Vec::new();
    let mut pending: Option<String> = None;
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let line = if let Some(mut previous) = pending.take() {
            previous.push_str(raw.trim_start());
            previous
        } else {
            let trimmed = raw.trim_start();
            if trimmed.starts_with('#') || trimmed.starts_with('!') {
                continue;
            }
            trimmed.to_owned()
        };
        let trailing = line.chars().rev().take_while(|&c| c == '\\').count();
        if trailing % 2 == 1 {
            let mut line = line;
            line.pop();
            pending = Some(line);
        } else {
            logical.push(line);
        }
    }
    if let Some(line) = pending {
        logical.push(line);
    }
    logical
        .into_iter()
        .filter(|line| !line.is_empty())
        .map(|line| split_property(&line))
        .collect()
}

fn split_property(line: &str) -> (String, String) {
    let mut key = String::new();
    let mut chars = line.chars().peekable();
    let mut escaped = false;
    let mut raw_key = String::new();
    while let Some(&c) = chars.peek() {
        if escaped {
            raw_key.push('\\');
            raw_key.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '=' || c == ':' || c.is_whitespace() {
            break;
        } else {
            raw_key.push(c);
        }
        chars.next();
    }
    key.push_str(&unescape(&raw_key));
    let rest: String = chars.collect();
    let rest = rest.trim_start();
    let rest = rest
        .strip_prefix('=')
        .or_else(|| rest.strip_prefix(':'))
        .unwrap_or(rest)
        .trim_start();
    (key, unescape(rest))
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let digits: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&digits, 16)
                    .ok()
                    .and_then(char::from_u32)
                {
                    Some(decoded) if digits.len() == 4 => out.push(decoded),
                    _ => out.push('\u{fffd}'),
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_continuations_and_case() {
        let manifest = b"Manifest-Version: 1.0\r\nimplementation-title: Apache Commons\r\n  Lang\r\nBundle-SymbolicName: org.apache.commons.lang3\r\nBundle-Version: 3.12.0\r\n\r\nName: x\r\nImplementation-Version: 9\r\n";
        assert_eq!(
            parse_manifest(manifest),
            vec![
                (
                    "Implementation-Title".to_owned(),
                    "Apache Commons Lang".to_owned()
                ),
                (
                    "Bundle-SymbolicName".to_owned(),
                    "org.apache.commons.lang3".to_owned()
                ),
                ("Bundle-Version".to_owned(), "3.12.0".to_owned()),
            ]
        );
    }

    #[test]
    fn properties_forms() {
        let text = b"#Generated by Maven\n! other comment\ngroupId=org.example\nartifactId : demo\nversion 1.0\\\n    .2\nname=caf\\u00e9\\\n";
        assert_eq!(
            parse_properties(text),
            vec![
                ("groupId".to_owned(), "org.example".to_owned()),
                ("artifactId".to_owned(), "demo".to_owned()),
                ("version".to_owned(), "1.0.2".to_owned()),
                ("name".to_owned(), "café".to_owned()),
            ]
        );
    }

    #[test]
    fn pom_properties_paths() {
        assert!(is_pom_properties(b"META-INF/maven/g/a/pom.properties"));
        assert!(!is_pom_properties(b"META-INF/maven/../../x/pom.properties"));
        assert!(!is_pom_properties(
            b"BOOT-INF/META-INF/maven/g/a/pom.properties"
        ));
        assert!(is_archive_name(b"BOOT-INF/lib/x.JAR"));
        assert!(!is_archive_name(b"x.jarx"));
    }

    #[test]
    fn summary_round_trips() {
        let summary = Summary {
            archives: vec![ArchiveFacts {
                nesting: vec!["a\nb.jar".to_owned()],
                sha1: "00".to_owned(),
                manifest: vec![("Bundle-Version".to_owned(), "1".to_owned())],
                poms: vec![],
            }],
            problems: vec!["x".to_owned()],
        };
        assert_eq!(Summary::decode(&summary.encode()), Some(Ok(summary)));
        assert!(Summary::decode(b"PK\x03\x04").is_none());
    }
}

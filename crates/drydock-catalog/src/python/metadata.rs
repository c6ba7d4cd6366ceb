//! The core-metadata header block (`METADATA`, `PKG-INFO`) and the wheel
//! `RECORD` file.
//!
//! Core metadata (<https://packaging.python.org/specifications/core-metadata/>)
//! is an RFC 822 header block: `Key: value` lines, a line starting with a
//! space or tab continues the previous value, and the first empty line ends
//! the headers (what follows is the long description, never read here).
//! Keys are case-insensitive; a key may repeat (`Classifier`).
//!
//! `RECORD` (<https://packaging.python.org/specifications/recording-installed-packages/>)
//! is CSV: `path,algorithm=urlsafe-base64-digest,size`, paths relative to the
//! directory holding the `.dist-info` directory, fields quoted when they hold
//! a comma or a quote.

/// The header fields drydock reads, in file order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Headers {
    fields: Vec<(String, String)>,
}

impl Headers {
    /// The first value of `key` (case-insensitive), trimmed.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.trim())
    }

    /// Every value of `key` (case-insensitive), trimmed, in order.
    pub(crate) fn all<'s>(&'s self, key: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.fields
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.trim())
    }

    /// A non-empty value of `key` that is not the `UNKNOWN` placeholder old
    /// setuptools wrote for missing fields.
    pub(crate) fn known(&self, key: &str) -> Option<&str> {
        self.get(key)
            .filter(|v| !v.is_empty() && !v.eq_ignore_ascii_case("UNKNOWN"))
    }
}

/// The header block of a core-metadata file. Lines that are neither a
/// `Key: value` field nor a continuation are counted in the second value
/// (their line numbers, at most a few) so the caller can report them.
pub(crate) fn parse_headers(bytes: &[u8]) -> (Headers, Vec<usize>) {
    let mut headers = Headers::default();
    let mut malformed = Vec::new();
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.is_empty() {
            break;
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            // A continuation of the previous value (licence texts, long
            // descriptions in Metadata-Version 1.x).
            if let Some((_, value)) = headers.fields.last_mut() {
                value.push('\n');
                value.push_str(&String::from_utf8_lossy(line));
            } else if malformed.len() < 10 {
                malformed.push(index + 1);
            }
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            if malformed.len() < 10 {
                malformed.push(index + 1);
            }
            continue;
        };
        let (key, value) = line.split_at(colon);
        let value = value.get(1..).unwrap_or_default();
        headers.fields.push((
            String::from_utf8_lossy(key).trim().to_owned(),
            String::from_utf8_lossy(value).trim_start().to_owned(),
        ));
    }
    (headers, malformed)
}

/// The header block alone, without the description (in the body or in a
/// `Description:` field): what the cataloger needs of a metadata file that
/// may be hundreds of kilobytes of README.
pub(crate) fn reduce_headers(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut in_description = false;
    for raw in bytes.split(|&b| b == b'\n') {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.is_empty() {
            break;
        }
        let continuation = matches!(line.first(), Some(b' ' | b'\t'));
        if !continuation {
            in_description = line
                .get(..12)
                .is_some_and(|key| key.eq_ignore_ascii_case(b"description:"));
        }
        if in_description {
            continue;
        }
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out
}

/// The licences declared by a metadata block: `License-Expression` (an SPDX
/// expression, Metadata 2.4) if present; else `License` when it is a short
/// name rather than a licence text (one line of at most 100 characters);
/// else the last part of each `License ::` trove classifier
/// (`License :: OSI Approved :: BSD License` → `BSD License`).
pub(crate) fn licenses(headers: &Headers) -> Vec<String> {
    if let Some(expression) = headers.known("License-Expression") {
        return vec![expression.to_owned()];
    }
    if let Some(license) = headers.known("License")
        && !license.contains('\n')
        && license.chars().count() <= 100
    {
        return vec![license.to_owned()];
    }
    let mut out: Vec<String> = Vec::new();
    for classifier in headers.all("Classifier") {
        let mut parts = classifier.split("::").map(str::trim);
        if parts.next() != Some("License") {
            continue;
        }
        if let Some(last) = parts
            .last()
            .filter(|p| !p.is_empty() && *p != "OSI Approved")
            && !out.iter().any(|seen| seen == last)
        {
            out.push(last.to_owned());
        }
    }
    out
}

/// Who made the package: `Author` (with `Author-email` when that is a bare
/// address), else `Author-email`, else the same for `Maintainer`.
pub(crate) fn author(headers: &Headers) -> Option<String> {
    for (name_key, email_key) in [
        ("Author", "Author-email"),
        ("Maintainer", "Maintainer-email"),
    ] {
        let name = headers.known(name_key);
        let email = headers.known(email_key);
        match (name, email) {
            (Some(name), Some(email)) if !email.contains('<') && !email.contains(',') => {
                return Some(format!("{name} <{email}>"));
            }
            (Some(name), _) => return Some(name.to_owned()),
            (None, Some(email)) => return Some(email.to_owned()),
            (None, None) => {}
        }
    }
    None
}

/// One row of a `RECORD` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordRow {
    pub(crate) path: Vec<u8>,
    /// `sha256:<hex>` from `sha256=<urlsafe base64>`; `None` when absent or
    /// undecodable.
    pub(crate) digest: Option<String>,
    pub(crate) size: Option<u64>,
}

/// The rows of a `RECORD` file; empty lines are skipped, a row whose hash
/// does not decode keeps its path without a digest, and the line numbers of
/// rows without a path are returned for reporting.
pub(crate) fn parse_record(bytes: &[u8]) -> (Vec<RecordRow>, Vec<usize>) {
    let mut rows = Vec::new();
    let mut bad = Vec::new();
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.is_empty() {
            continue;
        }
        let mut fields = csv_fields(line).into_iter();
        let path = fields.next().unwrap_or_default();
        if path.is_empty() {
            if bad.len() < 10 {
                bad.push(index + 1);
            }
            continue;
        }
        let digest = fields.next().and_then(|hash| record_digest(&hash));
        let size = fields
            .next()
            .and_then(|size| std::str::from_utf8(&size).ok()?.trim().parse().ok());
        rows.push(RecordRow { path, digest, size });
    }
    (rows, bad)
}

/// Split one CSV line (RFC 4180 quoting: `"a,b"`, `""` for a quote).
fn csv_fields(line: &[u8]) -> Vec<Vec<u8>> {
    let mut fields = Vec::new();
    let mut field = Vec::new();
    let mut quoted = false;
    let mut bytes = line.iter().copied().peekable();
    let mut at_start = true;
    while let Some(b) = bytes.next() {
        if quoted {
            if b == b'"' {
                if bytes.peek() == Some(&b'"') {
                    field.push(b'"');
                    bytes.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(b);
            }
            continue;
        }
        match b {
            b'"' if at_start => {
                quoted = true;
                at_start = false;
            }
            b',' => {
                fields.push(std::mem::take(&mut field));
                at_start = true;
            }
            _ => {
                field.push(b);
                at_start = false;
            }
        }
    }
    fields.push(field);
    fields
}

/// `sha256=<urlsafe base64, unpadded>` → `sha256:<hex>`, for the hashes
/// wheels may use (sha256, sha384, sha512; others are kept by name if they
/// decode).
fn record_digest(field: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(field).ok()?.trim();
    let (algorithm, encoded) = text.split_once('=')?;
    if algorithm.is_empty() || !algorithm.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let raw = decode_base64_urlsafe(encoded.trim_end_matches('=').as_bytes())?;
    let expected = match algorithm {
        "sha256" => Some(32),
        "sha384" => Some(48),
        "sha512" => Some(64),
        "sha1" => Some(20),
        "md5" => Some(16),
        _ => None,
    };
    if expected.is_some_and(|len| raw.len() != len) || raw.is_empty() {
        return None;
    }
    Some(format!(
        "{}:{}",
        algorithm.to_ascii_lowercase(),
        drydock_core::to_hex(&raw)
    ))
}

/// URL-safe base64 (RFC 4648 §5) without padding. `None` on any other
/// character or on a length no encoder produces.
pub(crate) fn decode_base64_urlsafe(text: &[u8]) -> Option<Vec<u8>> {
    fn sextet(c: u8) -> Option<u32> {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        Some(u32::from(value))
    }
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    for chunk in text.chunks(4) {
        let mut bits = 0u32;
        for &c in chunk {
            bits = (bits << 6) | sextet(c)?;
        }
        let (kept, shift) = match chunk.len() {
            4 => (3, 0),
            3 => (2, 2),
            _ => (1, 4),
        };
        let value = (bits >> shift).to_be_bytes();
        out.extend(value.iter().skip(4 - kept));
    }
    Some(out)
}

/// The PyPI name as the purl spec wants it: lowercase, `_` → `-`.
pub(crate) fn purl_name(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_stop_at_the_body_and_join_continuations() {
        let text = b"Metadata-Version: 2.1\nName: Foo_Bar\nVersion: 1.0\nLicense: line one\n        line two\nClassifier: License :: OSI Approved :: MIT License\n\nName: not-a-header\n";
        let (headers, malformed) = parse_headers(text);
        assert!(malformed.is_empty());
        assert_eq!(headers.get("name"), Some("Foo_Bar"));
        assert_eq!(headers.get("License"), Some("line one\n        line two"));
        assert_eq!(headers.all("Name").count(), 1);
        // A multi-line License is a licence text: the classifier wins.
        assert_eq!(licenses(&headers), vec!["MIT License".to_owned()]);
    }

    #[test]
    fn license_expression_wins() {
        let (headers, _) =
            parse_headers(b"Name: a\nLicense-Expression: MIT OR Apache-2.0\nLicense: MIT\n");
        assert_eq!(licenses(&headers), vec!["MIT OR Apache-2.0".to_owned()]);
        let (headers, _) = parse_headers(b"Name: a\nLicense: UNKNOWN\n");
        assert!(licenses(&headers).is_empty());
    }

    #[test]
    fn reduce_drops_the_description() {
        let text = b"Name: a\nDescription: long\n  more\n  more\nVersion: 1\n\nbody\n".as_slice();
        assert_eq!(reduce_headers(text), b"Name: a\nVersion: 1\n");
    }

    #[test]
    fn record_rows_decode_digests_and_quotes() {
        let text = b"flask/__init__.py,sha256=TIsxliI6SxTmTYF6fvy-tG-HlgpnTsHb6roHvAVO-s4,232\n\"a,b.py\",,\nFlask-1.0.dist-info/RECORD,,\n,sha256=x,1\n";
        let (rows, bad) = parse_record(text);
        assert_eq!(bad, vec![4]);
        assert_eq!(rows.len(), 3);
        let first = rows.first().map(|r| r.digest.clone());
        assert_eq!(
            first,
            Some(Some(
                "sha256:4c8b3196223a4b14e64d817a7efcbeb46f87960a674ec1dbeaba07bc054eface"
                    .to_owned()
            ))
        );
        assert_eq!(
            rows.get(1).map(|r| r.path.clone()),
            Some(b"a,b.py".to_vec())
        );
    }

    #[test]
    fn author_combines_name_and_address() {
        let (headers, _) = parse_headers(b"Author: A\nAuthor-email: a@example.org\n");
        assert_eq!(author(&headers).as_deref(), Some("A <a@example.org>"));
        let (headers, _) = parse_headers(b"Author-email: \"A\" <a@example.org>\nMaintainer: M\n");
        assert_eq!(author(&headers).as_deref(), Some("\"A\" <a@example.org>"));
    }
}

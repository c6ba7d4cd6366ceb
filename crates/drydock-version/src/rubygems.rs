//! RubyGems versions (`Gem::Version`).
//!
//! Valid versions match `N(.[0-9A-Za-z]+)*(-[0-9A-Za-z-]+(.[0-9A-Za-z-]+)*)?`
//! (blank is `0`); a `-` stands for `.pre.`. Segments are runs of digits or
//! of letters; a letter segment makes the version a pre-release and sorts
//! before any number. Comparison uses the canonical segments: trailing
//! zeros dropped from the leading numeric part and from the rest.

use std::cmp::Ordering;

use crate::VersionError;
use crate::number;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Number(String),
    Text(String),
}

/// A parsed version, as its canonical segments.
#[derive(Debug, Clone)]
pub struct Version {
    segments: Vec<Segment>,
}

fn valid(text: &str) -> bool {
    if text.is_empty() {
        return true;
    }
    let (release, pre) = match text.split_once('-') {
        Some((release, pre)) => (release, Some(pre)),
        None => (text, None),
    };
    let mut parts = release.split('.');
    let first_ok = parts.next().is_some_and(number::is_digits);
    let rest_ok =
        parts.all(|part| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_alphanumeric()));
    let pre_ok = pre.is_none_or(|pre| {
        pre.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
        })
    });
    first_ok && rest_ok && pre_ok
}

impl Version {
    pub fn parse(version: &str) -> Result<Self, VersionError> {
        let text = version.trim_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r', '\0']);
        if !valid(text) {
            return Err(VersionError::version(
                "RubyGems",
                version,
                "malformed version number string",
            ));
        }
        let text = if text.is_empty() { "0" } else { text };
        let text = text.replace('-', ".pre.");
        // Runs of digits or of letters; `.` separates.
        let mut rewritten = Vec::new();
        let bytes = text.as_bytes();
        let mut index = 0;
        while let Some(&byte) = bytes.get(index) {
            if !byte.is_ascii_alphanumeric() {
                index += 1;
                continue;
            }
            let digit = byte.is_ascii_digit();
            let length = bytes
                .get(index..)
                .unwrap_or_default()
                .iter()
                .take_while(|b| {
                    if digit {
                        b.is_ascii_digit()
                    } else {
                        b.is_ascii_alphabetic()
                    }
                })
                .count();
            let run = text.get(index..index + length).unwrap_or_default();
            rewritten.push(if digit {
                Segment::Number(number::canonical(run))
            } else {
                Segment::Text(run.to_owned())
            });
            index += length;
        }
        // Canonical segments: drop trailing zeros of the numeric prefix and
        // of the rest.
        let split = rewritten
            .iter()
            .position(|segment| matches!(segment, Segment::Text(_)))
            .unwrap_or(rewritten.len());
        let rest = rewritten.split_off(split);
        let mut numeric = rewritten;
        let is_zero =
            |segment: &Segment| matches!(segment, Segment::Number(n) if number::is_zero(n));
        while numeric.last().is_some_and(is_zero) {
            numeric.pop();
        }
        let mut rest = rest;
        while rest.last().is_some_and(is_zero) {
            rest.pop();
        }
        numeric.extend(rest);
        Ok(Version { segments: numeric })
    }

    /// Whether the version has a letter segment.
    pub fn is_prerelease(&self) -> bool {
        self.segments
            .iter()
            .any(|segment| matches!(segment, Segment::Text(_)))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let zero = Segment::Number("0".to_owned());
        let length = self.segments.len().max(other.segments.len());
        for index in 0..length {
            let a = self.segments.get(index).unwrap_or(&zero);
            let b = other.segments.get(index).unwrap_or(&zero);
            let order = match (a, b) {
                (Segment::Number(a), Segment::Number(b)) => number::compare(a, b),
                (Segment::Text(_), Segment::Number(_)) => Ordering::Less,
                (Segment::Number(_), Segment::Text(_)) => Ordering::Greater,
                (Segment::Text(a), Segment::Text(b)) => a.cmp(b),
            };
            if order != Ordering::Equal {
                return order;
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

/// Compares two RubyGems versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(Version::parse(a)?.cmp(&Version::parse(b)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_examples() {
        // Gem::Version docs: 1.0.a.2 < 1.0.b1 < 1.0 ; 1.0.0 == 1.0.
        let order = ["1.0.a.2", "1.0.b1", "1.0", "1.0.1"];
        for pair in order.windows(2) {
            assert_eq!(compare(pair[0], pair[1]), Ok(Ordering::Less), "{pair:?}");
        }
        assert_eq!(compare("1.0.0", "1"), Ok(Ordering::Equal));
        assert_eq!(compare("1.0-rc1", "1.0.pre.rc1"), Ok(Ordering::Equal));
        assert_eq!(compare("", "0"), Ok(Ordering::Equal));
        assert!(compare("1..0", "1").is_err());
        assert!(compare("a", "1").is_err());
    }
}

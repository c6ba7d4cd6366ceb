//! RPM versions: `[epoch:]version[-release]`, ordered as rpm 4.18's
//! `rpmvercmp` and EVR comparison do.
//!
//! Each string is read as alphanumeric segments separated by anything else.
//! Digit segments compare numerically and beat letter segments; `~` sorts
//! before everything including the end (pre-releases, `1.0~rc1 < 1.0`);
//! `^` sorts after the end but before any other segment (snapshots,
//! `1.0 < 1.0^git1 < 1.0.1`). A missing epoch is 0 and a missing release
//! is empty, so `1.0 < 1.0-1`, as rpm 4.18's `rpm.vercmp` has it (rpm's
//! dependency ranges, which skip a missing release, are not this).

use std::cmp::Ordering;

use crate::number;

/// An EVR split into its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evr<'a> {
    pub epoch: Option<&'a str>,
    pub version: &'a str,
    pub release: Option<&'a str>,
}

impl<'a> Evr<'a> {
    /// Splits as rpm does: leading digits followed by `:` are the epoch,
    /// the last `-` after them ends the version.
    pub fn parse(evr: &'a str) -> Self {
        let digits = evr.bytes().take_while(u8::is_ascii_digit).count();
        let (epoch, rest) = match (evr.get(..digits), evr.get(digits..)) {
            (Some(epoch), Some(rest)) if rest.starts_with(':') => {
                (Some(epoch), rest.get(1..).unwrap_or_default())
            }
            _ => (None, evr),
        };
        let (version, release) = match rest.rsplit_once('-') {
            Some((version, release)) => (version, Some(release)),
            None => (rest, None),
        };
        Evr {
            epoch,
            version,
            release,
        }
    }
}

impl Ord for Evr<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        let epoch = |evr: &Self| match evr.epoch {
            Some(epoch) if !epoch.is_empty() => epoch,
            _ => "0",
        };
        vercmp(epoch(self), epoch(other))
            .then_with(|| vercmp(self.version, other.version))
            .then_with(|| vercmp(self.release.unwrap_or(""), other.release.unwrap_or("")))
    }
}

impl PartialOrd for Evr<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Compares two `[epoch:]version[-release]` strings.
pub fn compare(a: &str, b: &str) -> Ordering {
    Evr::parse(a).cmp(&Evr::parse(b))
}

/// `rpmvercmp`: compares one version or release string.
#[expect(
    clippy::many_single_char_names,
    reason = "two cursors over two strings"
)]
pub fn vercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let separator = |byte: &u8| !byte.is_ascii_alphanumeric() && *byte != b'~' && *byte != b'^';
    loop {
        while a.get(i).is_some_and(separator) {
            i += 1;
        }
        while b.get(j).is_some_and(separator) {
            j += 1;
        }
        let (x, y) = (a.get(i).copied(), b.get(j).copied());
        if x.is_none() && y.is_none() {
            return Ordering::Equal;
        }
        if x == Some(b'~') || y == Some(b'~') {
            if x != Some(b'~') {
                return Ordering::Greater;
            }
            if y != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if x == Some(b'^') || y == Some(b'^') {
            if x.is_none() {
                return Ordering::Less;
            }
            if y.is_none() {
                return Ordering::Greater;
            }
            if x != Some(b'^') {
                return Ordering::Greater;
            }
            if y != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(x), Some(_)) = (x, y) else {
            // One side has segments left: it is newer.
            return if x.is_none() {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        };
        let numeric = x.is_ascii_digit();
        let class = |byte: &u8| {
            if numeric {
                byte.is_ascii_digit()
            } else {
                byte.is_ascii_alphabetic()
            }
        };
        let a_end = i + a
            .get(i..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| class(b))
            .count();
        let b_end = j + b
            .get(j..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| class(b))
            .count();
        let segment_a = a.get(i..a_end).unwrap_or_default();
        let segment_b = b.get(j..b_end).unwrap_or_default();
        if segment_b.is_empty() {
            // Different kinds of segment: numbers are newer than letters.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let order = if numeric {
            number::compare(
                std::str::from_utf8(segment_a).unwrap_or_default(),
                std::str::from_utf8(segment_b).unwrap_or_default(),
            )
        } else {
            segment_a.cmp(segment_b)
        };
        if order != Ordering::Equal {
            return order;
        }
        i = a_end;
        j = b_end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tilde_and_caret() {
        assert_eq!(vercmp("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(vercmp("1.0^git1", "1.0"), Ordering::Greater);
        assert_eq!(vercmp("1.0^git1", "1.0.1"), Ordering::Less);
        assert_eq!(vercmp("1.0^git1", "1.0~rc1"), Ordering::Greater);
    }

    #[test]
    fn evr() {
        assert_eq!(compare("1:1.0-1", "2.0-1"), Ordering::Greater);
        assert_eq!(compare("0:1.0-1", "1.0-1"), Ordering::Equal);
        assert_eq!(compare("1.0", "1.0-5"), Ordering::Less);
    }
}

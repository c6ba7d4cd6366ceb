//! Debian package versions, as ordered by deb-version(7):
//! `[epoch:]upstream[-revision]`.
//!
//! The epoch is compared numerically; upstream and revision by the
//! "verrevcmp" rule: alternating non-digit runs (compared character by
//! character, with `~` before everything including the end of the string,
//! letters before every other character) and digit runs (compared
//! numerically).

use std::cmp::Ordering;

use crate::number;

/// A version split into its three parts. Never fails: a malformed epoch
/// (not all digits) is read as part of the upstream version, as if there
/// were no epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version<'a> {
    pub epoch: &'a str,
    pub upstream: &'a str,
    pub revision: &'a str,
}

impl<'a> Version<'a> {
    pub fn parse(version: &'a str) -> Self {
        let version = version.trim();
        let (epoch, rest) = match version.split_once(':') {
            Some((epoch, rest)) if number::is_digits(epoch) => (epoch, rest),
            _ => ("0", version),
        };
        let (upstream, revision) = rest.rsplit_once('-').unwrap_or((rest, ""));
        Version {
            epoch,
            upstream,
            revision,
        }
    }
}

impl Ord for Version<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        number::compare(self.epoch, other.epoch)
            .then_with(|| verrevcmp(self.upstream, other.upstream))
            .then_with(|| verrevcmp(self.revision, other.revision))
    }
}

impl PartialOrd for Version<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Compares two Debian versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    Version::parse(a).cmp(&Version::parse(b))
}

/// The weight of one character in a non-digit run; `None` is the end.
fn order(byte: Option<u8>) -> i32 {
    match byte {
        None => 0,
        Some(b'~') => -1,
        Some(byte) if byte.is_ascii_digit() => 0,
        Some(byte) if byte.is_ascii_alphabetic() => i32::from(byte),
        Some(byte) => i32::from(byte) + 256,
    }
}

fn is_digit(byte: Option<u8>) -> bool {
    byte.is_some_and(|byte| byte.is_ascii_digit())
}

/// The comparison of upstream versions and revisions.
#[expect(
    clippy::many_single_char_names,
    reason = "the names of deb-version(7)'s algorithm"
)]
fn verrevcmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        // Non-digit run.
        loop {
            let (x, y) = (a.get(i).copied(), b.get(j).copied());
            let x_more = x.is_some() && !is_digit(x);
            let y_more = y.is_some() && !is_digit(y);
            if !(x_more || y_more) {
                break;
            }
            let (ox, oy) = (order(x), order(y));
            if ox != oy {
                return ox.cmp(&oy);
            }
            i += 1;
            j += 1;
        }
        // Digit run.
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_difference = Ordering::Equal;
        while is_digit(a.get(i).copied()) && is_digit(b.get(j).copied()) {
            if first_difference == Ordering::Equal {
                first_difference = a.get(i).cmp(&b.get(j));
            }
            i += 1;
            j += 1;
        }
        if is_digit(a.get(i).copied()) {
            return Ordering::Greater;
        }
        if is_digit(b.get(j).copied()) {
            return Ordering::Less;
        }
        if first_difference != Ordering::Equal {
            return first_difference;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_examples() {
        // deb-version(7): `~~ < ~~a < ~ < (empty) < a`.
        let order = ["1.0~~", "1.0~~a", "1.0~", "1.0", "1.0a"];
        for pair in order.windows(2) {
            assert_eq!(compare(pair[0], pair[1]), Ordering::Less, "{pair:?}");
        }
        assert_eq!(compare("1:1.0", "2.0"), Ordering::Greater);
        assert_eq!(compare("0:1.0", "1.0"), Ordering::Equal);
        assert_eq!(compare("1.0-0", "1.0"), Ordering::Equal);
        assert_eq!(compare("1.0-1+b1", "1.0-1"), Ordering::Greater);
        assert_eq!(compare("1.0-1+b1", "1.0-1.1"), Ordering::Less);
    }

    #[test]
    fn huge_numbers_do_not_overflow() {
        assert_eq!(
            compare(
                "99999999999999999999999999:1",
                "99999999999999999999999998:2"
            ),
            Ordering::Greater
        );
        assert_eq!(
            compare("1.000000000000000000000000002", "1.2"),
            Ordering::Equal
        );
    }
}

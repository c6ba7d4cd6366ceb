//! NuGet versions (`NuGetVersion`): `Major[.Minor[.Patch[.Revision]]]`
//! with an optional SemVer 2 pre-release (`-label.label`) and metadata
//! (`+...`).
//!
//! Missing parts are 0 and leading zeros are ignored (`1.01` is `1.1.0.0`).
//! A release sorts above its pre-releases; labels compare one by one,
//! numeric labels numerically and below alphanumeric ones, which compare
//! case-insensitively; metadata is ignored.

use std::cmp::Ordering;

use crate::VersionError;
use crate::number;

#[derive(Debug, Clone)]
pub struct Version {
    numbers: [String; 4],
    labels: Vec<String>,
}

fn label_cmp(a: &str, b: &str) -> Ordering {
    match (number::is_digits(a), number::is_digits(b)) {
        (true, true) => number::compare(a, b),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.to_ascii_lowercase().cmp(&b.to_ascii_lowercase()),
    }
}

impl Version {
    pub fn parse(version: &str) -> Result<Self, VersionError> {
        let invalid = |reason| VersionError::version("NuGet", version, reason);
        let text = version.trim();
        let (rest, metadata) = match text.split_once('+') {
            Some((rest, metadata)) => (rest, Some(metadata)),
            None => (text, None),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (rest, None),
        };
        let mut numbers: [String; 4] = Default::default();
        let mut count = 0;
        for part in core.split('.') {
            let Some(slot) = numbers.get_mut(count) else {
                return Err(invalid("more than four version numbers"));
            };
            if !number::is_digits(part) {
                return Err(invalid("version numbers are digits"));
            }
            *slot = number::canonical(part);
            count += 1;
        }
        for slot in numbers.iter_mut().skip(count) {
            "0".clone_into(slot);
        }
        let identifier = |part: &str| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
        };
        let labels = match pre {
            Some(pre) => {
                let labels: Vec<String> = pre.split('.').map(str::to_owned).collect();
                if !labels.iter().all(|label| identifier(label)) {
                    return Err(invalid("bad pre-release label"));
                }
                labels
            }
            None => Vec::new(),
        };
        if let Some(metadata) = metadata
            && !metadata.split('.').all(identifier)
        {
            return Err(invalid("bad metadata"));
        }
        Ok(Version { numbers, labels })
    }

    pub fn is_prerelease(&self) -> bool {
        !self.labels.is_empty()
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        for (a, b) in self.numbers.iter().zip(&other.numbers) {
            let order = number::compare(a, b);
            if order != Ordering::Equal {
                return order;
            }
        }
        match (self.labels.is_empty(), other.labels.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Greater,
            (false, true) => return Ordering::Less,
            (false, false) => {}
        }
        for (a, b) in self.labels.iter().zip(&other.labels) {
            let order = label_cmp(a, b);
            if order != Ordering::Equal {
                return order;
            }
        }
        self.labels.len().cmp(&other.labels.len())
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

/// Compares two NuGet versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(Version::parse(a)?.cmp(&Version::parse(b)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_examples() {
        // NuGet package versioning docs: normalisation and pre-release order.
        for (a, b) in [
            ("1.0", "1.0.0.0"),
            ("1.01.1", "1.1.1"),
            ("1.0.0-Beta", "1.0.0-beta"),
            ("1.0.0+abc", "1.0.0"),
        ] {
            assert_eq!(compare(a, b), Ok(Ordering::Equal), "{a} = {b}");
        }
        let order = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-beta",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.0.1",
            "1.0.1",
        ];
        for pair in order.windows(2) {
            assert_eq!(compare(pair[0], pair[1]), Ok(Ordering::Less), "{pair:?}");
        }
        for invalid in ["", "1.2.3.4.5", "a", "1.0-", "1.0.0-a..b", "1.0+"] {
            assert!(Version::parse(invalid).is_err(), "{invalid}");
        }
    }
}

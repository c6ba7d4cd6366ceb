//! Debian `InRelease`: an OpenPGP cleartext-signed `Release` file (RFC 4880
//! §7), verified against a keyring, and its `SHA256` index list.
use pgp::composed::{CleartextSignedMessage, Deserializable, SignedPublicKey};

use crate::control::parse_paragraphs;

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("the keyring holds no usable OpenPGP public key")]
    EmptyKeyring,
    #[error("not an OpenPGP cleartext-signed message")]
    NotSigned(#[source] pgp::errors::Error),
    #[error("no signature verifies against the keyring ({signatures} signature(s) checked)")]
    BadSignature { signatures: usize },
    #[error("bad Release fields")]
    Fields(#[source] crate::control::ControlError),
    #[error("no Release paragraph")]
    Empty,
    #[error("bad `SHA256` line `{0}`")]
    HashLine(String),
    #[error("`{field}: {value}` is not a date (RFC 2822, as `Tue, 01 Dec 2026 01:33:13 UTC`)")]
    BadDate { field: &'static str, value: String },
}

/// Public keys from an OpenPGP keyring (binary or armored).
pub struct Keyring {
    keys: Vec<SignedPublicKey>,
}

impl Keyring {
    pub fn parse(bytes: &[u8]) -> Result<Self, ReleaseError> {
        let keys: Vec<SignedPublicKey> = if bytes.starts_with(b"-----BEGIN") {
            SignedPublicKey::from_armor_many(bytes)
                .map(|(keys, _)| keys.filter_map(Result::ok).collect())
                .unwrap_or_default()
        } else {
            SignedPublicKey::from_bytes_many(bytes)
                .map(|keys| keys.filter_map(Result::ok).collect())
                .unwrap_or_default()
        };
        if keys.is_empty() {
            return Err(ReleaseError::EmptyKeyring);
        }
        Ok(Self { keys })
    }

    /// Verify a cleartext-signed message; returns the signed text (dash
    /// escapes removed) when at least one signature was made by a key, or
    /// a subkey, of the keyring.
    pub fn verify_cleartext(&self, text: &str) -> Result<String, ReleaseError> {
        let (message, _) =
            CleartextSignedMessage::from_string(text).map_err(ReleaseError::NotSigned)?;
        for key in &self.keys {
            if message.verify(key).is_ok()
                || key
                    .public_subkeys
                    .iter()
                    .any(|subkey| message.verify(subkey).is_ok())
            {
                return Ok(unescape(message.text()));
            }
        }
        Err(ReleaseError::BadSignature {
            signatures: message.signatures().len(),
        })
    }
}

/// RFC 4880 §7.1: lines starting with `- ` carry a dash escape.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        out.push_str(line.strip_prefix("- ").unwrap_or(line));
    }
    out
}

/// The fields of a Release file drydock uses.
#[derive(Clone, Debug, Default)]
pub struct Release {
    pub suite: Option<String>,
    pub codename: Option<String>,
    /// `Date`, seconds since the epoch.
    pub date: Option<i64>,
    /// `Valid-Until`, seconds since the epoch.
    pub valid_until: Option<i64>,
    /// `NotAutomatic: yes`: apt's default pin priority is 1 (100 with
    /// `ButAutomaticUpgrades: yes`).
    pub not_automatic: bool,
    pub but_automatic_upgrades: bool,
    /// `path → (sha256, size)`.
    pub sha256: std::collections::BTreeMap<String, (String, u64)>,
}

impl Release {
    pub fn parse(text: &str) -> Result<Self, ReleaseError> {
        let paragraphs = parse_paragraphs(text).map_err(ReleaseError::Fields)?;
        let paragraph = paragraphs.first().ok_or(ReleaseError::Empty)?;
        let mut release = Release {
            suite: paragraph.get("Suite").map(str::to_owned),
            codename: paragraph.get("Codename").map(str::to_owned),
            date: date_field(paragraph, "Date")?,
            valid_until: date_field(paragraph, "Valid-Until")?,
            not_automatic: yes_field(paragraph, "NotAutomatic"),
            but_automatic_upgrades: yes_field(paragraph, "ButAutomaticUpgrades"),
            ..Release::default()
        };
        for line in paragraph.get("SHA256").unwrap_or_default().lines() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (Some(hash), Some(size), Some(path), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(ReleaseError::HashLine(line.to_owned()));
            };
            let size = size
                .parse()
                .map_err(|_| ReleaseError::HashLine(line.to_owned()))?;
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ReleaseError::HashLine(line.to_owned()));
            }
            release
                .sha256
                .insert(path.to_owned(), (hash.to_ascii_lowercase(), size));
        }
        Ok(release)
    }
}

fn date_field(
    paragraph: &crate::control::Paragraph,
    field: &'static str,
) -> Result<Option<i64>, ReleaseError> {
    paragraph
        .get(field)
        .map(|value| {
            parse_date(value).ok_or_else(|| ReleaseError::BadDate {
                field,
                value: value.to_owned(),
            })
        })
        .transpose()
}

fn yes_field(paragraph: &crate::control::Paragraph, field: &str) -> bool {
    paragraph
        .get(field)
        .is_some_and(|value| value.trim().eq_ignore_ascii_case("yes"))
}

/// An RFC 2822 date as Debian's Release files write it (`Sat, 11 Jul 2026
/// 10:16:37 UTC`; the weekday is optional, the zone is `UTC`, `GMT`, `Z` or
/// `±hhmm`), as seconds since the epoch.
pub fn parse_date(text: &str) -> Option<i64> {
    let mut words = text.split_whitespace().peekable();
    if words.peek().is_some_and(|w| w.ends_with(',')) {
        words.next();
    }
    let day: i64 = words.next()?.parse().ok()?;
    let month = words.next()?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| m.eq_ignore_ascii_case(month))?;
    let year: i64 = words.next()?.parse().ok()?;
    let mut clock = words.next()?.split(':');
    let hour: i64 = clock.next()?.parse().ok()?;
    let minute: i64 = clock.next()?.parse().ok()?;
    let second: i64 = clock.next().map_or(Some(0), |s| s.parse().ok())?;
    let offset = match words.next() {
        None => 0,
        Some(zone) if ["UTC", "GMT", "Z", "UT"].contains(&zone) => 0,
        Some(zone) => {
            let (sign, digits) = match zone.as_bytes().first()? {
                b'+' => (1, zone.get(1..)?),
                b'-' => (-1, zone.get(1..)?),
                _ => return None,
            };
            if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let hours: i64 = digits.get(..2)?.parse().ok()?;
            let minutes: i64 = digits.get(2..)?.parse().ok()?;
            sign * (hours * 3600 + minutes * 60)
        }
    };
    if words.next().is_some()
        || !(0..=9999).contains(&year)
        || !(1..=31).contains(&day)
        || !(0..24).contains(&hour)
        || !(0..60).contains(&minute)
        || !(0..=60).contains(&second)
    {
        return None;
    }
    let days = drydock_core::time::days_from_civil(year, i64::try_from(month).ok()? + 1, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// Why a signed Release must not be trusted at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Staleness {
    /// `Valid-Until` has passed: a replayed old index.
    Expired { valid_until: i64 },
    /// `Date` is later than `now` plus the tolerated clock skew.
    Future { date: i64 },
}

impl Release {
    /// apt's `Check-Valid-Until` and `Check-Date`: `None` when the Release
    /// may be used at `now` with `skew` seconds of clock skew tolerated.
    pub fn staleness(&self, now: i64, skew: i64) -> Option<Staleness> {
        if let Some(valid_until) = self.valid_until
            && valid_until < now
        {
            return Some(Staleness::Expired { valid_until });
        }
        if let Some(date) = self.date
            && date > now.saturating_add(skew)
        {
            return Some(Staleness::Future { date });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_dates() {
        let release = Release::parse(
            "Suite: oldstable-security\nDate: Tue, 01 Dec 2026 01:33:13 UTC\nValid-Until: Tue, 08 Dec 2026 01:33:13 UTC\nNotAutomatic: yes\nButAutomaticUpgrades: yes\n",
        )
        .unwrap();
        assert_eq!(
            drydock_core::time::format_rfc3339(release.date.unwrap()),
            "2026-12-01T01:33:13Z"
        );
        assert_eq!(
            drydock_core::time::format_rfc3339(release.valid_until.unwrap()),
            "2026-12-08T01:33:13Z"
        );
        assert!(release.not_automatic && release.but_automatic_upgrades);
        let date = release.date.unwrap();
        assert_eq!(release.staleness(date, 0), None);
        assert_eq!(
            release.staleness(date - 301, 300),
            Some(Staleness::Future { date })
        );
        assert_eq!(release.staleness(date - 300, 300), None);
        let valid_until = release.valid_until.unwrap();
        assert_eq!(release.staleness(valid_until, 0), None);
        assert_eq!(
            release.staleness(valid_until + 1, 0),
            Some(Staleness::Expired { valid_until })
        );
        assert_eq!(parse_date("1 Jan 1970 00:00:00 +0100"), Some(-3600));
        assert_eq!(
            parse_date("Thu, 29 Feb 2024 23:59:60 GMT"),
            Some(1_709_251_200)
        );
        assert_eq!(
            drydock_core::time::format_rfc3339(951_782_400),
            "2000-02-29T00:00:00Z"
        );
        for bad in [
            "01 Dec 99999999999999 01:33:13 UTC",
            "01 Dec -1 01:33:13 UTC",
            "",
            "Tue, 01 Foo 2026 01:33:13 UTC",
            "01 Dec 2026 25:00:00 UTC",
            "01 Dec 2026 01:00:00 CET",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert!(Release::parse("Date: yesterday\n").is_err());
    }

    #[test]
    fn release_hash_list() {
        let release = Release::parse(
            "Suite: stable\nCodename: bookworm\nSHA256:\n 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 12 main/binary-amd64/Packages.xz\n",
        )
        .unwrap();
        assert_eq!(release.codename.as_deref(), Some("bookworm"));
        assert_eq!(release.sha256["main/binary-amd64/Packages.xz"].1, 12);
        assert!(Release::parse("SHA256:\n nothex 1 x\n").is_err());
    }

    #[test]
    fn dash_unescape() {
        assert_eq!(unescape("- -x\nA\n"), "-x\nA\n");
    }
}

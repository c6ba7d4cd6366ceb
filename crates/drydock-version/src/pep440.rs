//! Python package versions (PEP 440) and specifier sets.
//!
//! `[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`, with the spelling
//! variants PEP 440 normalises (case, `alpha`/`beta`/`c`/`pre`/`preview`,
//! `rev`/`r`, `-N` as a post-release, `-`/`_`/`.` separators, implicit
//! numbers, a leading `v`).

use std::cmp::Ordering;
use std::fmt::Write as _;

use crate::VersionError;
use crate::number;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PreKind {
    Alpha,
    Beta,
    ReleaseCandidate,
}

impl PreKind {
    fn as_str(self) -> &'static str {
        match self {
            PreKind::Alpha => "a",
            PreKind::Beta => "b",
            PreKind::ReleaseCandidate => "rc",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LocalSegment {
    Number(String),
    Text(String),
}

impl Ord for LocalSegment {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (LocalSegment::Number(a), LocalSegment::Number(b)) => number::compare(a, b),
            (LocalSegment::Number(_), LocalSegment::Text(_)) => Ordering::Greater,
            (LocalSegment::Text(_), LocalSegment::Number(_)) => Ordering::Less,
            (LocalSegment::Text(a), LocalSegment::Text(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for LocalSegment {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A parsed PEP 440 version. Numbers are canonical digit strings.
#[derive(Debug, Clone)]
pub struct Version {
    pub epoch: String,
    pub release: Vec<String>,
    pub pre: Option<(PreKind, String)>,
    pub post: Option<String>,
    pub dev: Option<String>,
    pub local: Option<Vec<LocalSegment>>,
}

struct Cursor<'a> {
    text: &'a [u8],
    position: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.position).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.position += 1;
            true
        } else {
            false
        }
    }

    fn eat_separator(&mut self) -> bool {
        if matches!(self.peek(), Some(b'-' | b'_' | b'.')) {
            self.position += 1;
            true
        } else {
            false
        }
    }

    fn eat_word(&mut self, word: &str) -> bool {
        let end = self.position + word.len();
        if self.text.get(self.position..end) == Some(word.as_bytes()) {
            self.position = end;
            true
        } else {
            false
        }
    }

    /// A run of ASCII digits, canonical, or `None` if there is none.
    fn digits(&mut self) -> Option<String> {
        let start = self.position;
        while self.peek().is_some_and(|byte| byte.is_ascii_digit()) {
            self.position += 1;
        }
        let run = self.text.get(start..self.position)?;
        if run.is_empty() {
            return None;
        }
        Some(number::canonical(
            std::str::from_utf8(run).unwrap_or_default(),
        ))
    }

    fn at_end(&self) -> bool {
        self.position >= self.text.len()
    }
}

fn invalid(version: &str) -> VersionError {
    VersionError::version("PEP 440", version, "does not match the PEP 440 grammar")
}

/// Which parts a specifier operator allows after the release.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Grammar {
    /// A full version (`Version(...)`).
    Full,
    /// No local version (`~=`, `<`, `<=`, `>`, `>=`).
    NoLocal,
}

impl Version {
    /// Parses a version as `packaging.version.Version` does.
    pub fn parse(version: &str) -> Result<Self, VersionError> {
        Self::parse_with(version, Grammar::Full)
    }

    fn parse_with(version: &str, grammar: Grammar) -> Result<Self, VersionError> {
        let lower = version.trim().to_ascii_lowercase();
        let mut cursor = Cursor {
            text: lower.as_bytes(),
            position: 0,
        };
        cursor.eat(b'v');
        let first = cursor.digits().ok_or_else(|| invalid(version))?;
        let (epoch, first) = if cursor.eat(b'!') {
            (first, cursor.digits().ok_or_else(|| invalid(version))?)
        } else {
            ("0".to_owned(), first)
        };
        let mut release = vec![first];
        loop {
            let save = cursor.position;
            if cursor.eat(b'.')
                && let Some(part) = cursor.digits()
            {
                release.push(part);
                continue;
            }
            cursor.position = save;
            break;
        }
        let pre = parse_pre(&mut cursor);
        let post = parse_post(&mut cursor);
        let dev = parse_dev(&mut cursor);
        let local = if grammar == Grammar::Full && cursor.eat(b'+') {
            Some(parse_local(&mut cursor).ok_or_else(|| invalid(version))?)
        } else {
            None
        };
        if !cursor.at_end() {
            return Err(invalid(version));
        }
        Ok(Version {
            epoch,
            release,
            pre,
            post,
            dev,
            local,
        })
    }

    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some() || self.dev.is_some()
    }

    pub fn is_postrelease(&self) -> bool {
        self.post.is_some()
    }

    /// The version without its local part.
    #[must_use]
    pub fn public(&self) -> Version {
        Version {
            local: None,
            ..self.clone()
        }
    }

    /// Epoch and release only.
    #[must_use]
    pub fn base(&self) -> Version {
        Version {
            epoch: self.epoch.clone(),
            release: self.release.clone(),
            pre: None,
            post: None,
            dev: None,
            local: None,
        }
    }

    fn release_cmp(&self, other: &Self) -> Ordering {
        let length = self.release.len().max(other.release.len());
        for index in 0..length {
            let a = self.release.get(index).map_or("0", String::as_str);
            let b = other.release.get(index).map_or("0", String::as_str);
            let order = number::compare(a, b);
            if order != Ordering::Equal {
                return order;
            }
        }
        Ordering::Equal
    }
}

fn parse_pre(cursor: &mut Cursor<'_>) -> Option<(PreKind, String)> {
    let save = cursor.position;
    cursor.eat_separator();
    // Longest spelling first; the shorter ones are prefixes of them.
    let labels = [
        ("alpha", PreKind::Alpha),
        ("beta", PreKind::Beta),
        ("preview", PreKind::ReleaseCandidate),
        ("pre", PreKind::ReleaseCandidate),
        ("rc", PreKind::ReleaseCandidate),
        ("a", PreKind::Alpha),
        ("b", PreKind::Beta),
        ("c", PreKind::ReleaseCandidate),
    ];
    let Some(kind) = labels
        .iter()
        .find_map(|(label, kind)| cursor.eat_word(label).then_some(*kind))
    else {
        cursor.position = save;
        return None;
    };
    cursor.eat_separator();
    let number = cursor.digits().unwrap_or_else(|| "0".to_owned());
    Some((kind, number))
}

fn parse_post(cursor: &mut Cursor<'_>) -> Option<String> {
    let save = cursor.position;
    if cursor.eat(b'-')
        && let Some(number) = cursor.digits()
    {
        return Some(number);
    }
    cursor.position = save;
    cursor.eat_separator();
    if !["post", "rev", "r"]
        .iter()
        .any(|label| cursor.eat_word(label))
    {
        cursor.position = save;
        return None;
    }
    cursor.eat_separator();
    Some(cursor.digits().unwrap_or_else(|| "0".to_owned()))
}

fn parse_dev(cursor: &mut Cursor<'_>) -> Option<String> {
    let save = cursor.position;
    cursor.eat_separator();
    if !cursor.eat_word("dev") {
        cursor.position = save;
        return None;
    }
    cursor.eat_separator();
    Some(cursor.digits().unwrap_or_else(|| "0".to_owned()))
}

fn parse_local(cursor: &mut Cursor<'_>) -> Option<Vec<LocalSegment>> {
    let mut segments = Vec::new();
    loop {
        let start = cursor.position;
        while cursor
            .peek()
            .is_some_and(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit())
        {
            cursor.position += 1;
        }
        let segment = std::str::from_utf8(cursor.text.get(start..cursor.position)?).ok()?;
        if segment.is_empty() {
            return None;
        }
        segments.push(if number::is_digits(segment) {
            LocalSegment::Number(number::canonical(segment))
        } else {
            LocalSegment::Text(segment.to_owned())
        });
        if cursor.at_end() {
            return Some(segments);
        }
        if !cursor.eat_separator() {
            return None;
        }
    }
}

/// The pre-release part of the sort key: a dev release of a final version
/// sorts before its pre-releases, a final version after them.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum PreKey<'a> {
    DevOnly,
    Pre(PreKind, Number<'a>),
    Final,
}

/// A canonical number, ordered numerically.
#[derive(Debug, PartialEq, Eq)]
struct Number<'a>(&'a str);

impl Ord for Number<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        number::compare(self.0, other.0)
    }
}

impl PartialOrd for Number<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Version {
    fn pre_key(&self) -> PreKey<'_> {
        match &self.pre {
            Some((kind, number)) => PreKey::Pre(*kind, Number(number)),
            None if self.post.is_none() && self.dev.is_some() => PreKey::DevOnly,
            None => PreKey::Final,
        }
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        number::compare(&self.epoch, &other.epoch)
            .then_with(|| self.release_cmp(other))
            .then_with(|| self.pre_key().cmp(&other.pre_key()))
            // No post-release sorts first: `None < Some`.
            .then_with(|| {
                self.post
                    .as_deref()
                    .map(Number)
                    .cmp(&other.post.as_deref().map(Number))
            })
            // No dev release sorts last.
            .then_with(|| match (&self.dev, &other.dev) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => number::compare(a, b),
            })
            .then_with(|| self.local.cmp(&other.local))
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

impl std::fmt::Display for Version {
    /// The normalised form (`str(packaging.version.Version(...))`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::new();
        if self.epoch != "0" {
            let _ = write!(out, "{}!", self.epoch);
        }
        out.push_str(&self.release.join("."));
        if let Some((kind, number)) = &self.pre {
            let _ = write!(out, "{}{number}", kind.as_str());
        }
        if let Some(post) = &self.post {
            let _ = write!(out, ".post{post}");
        }
        if let Some(dev) = &self.dev {
            let _ = write!(out, ".dev{dev}");
        }
        if let Some(local) = &self.local {
            out.push('+');
            for (index, segment) in local.iter().enumerate() {
                if index > 0 {
                    out.push('.');
                }
                match segment {
                    LocalSegment::Number(text) | LocalSegment::Text(text) => out.push_str(text),
                }
            }
        }
        f.write_str(&out)
    }
}

/// Compares two PEP 440 versions.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(Version::parse(a)?.cmp(&Version::parse(b)?))
}

// ---------------------------------------------------------------------------
// Specifiers

#[derive(Debug, Clone)]
enum Specifier {
    Compatible(Version),
    Equal(Version),
    NotEqual(Version),
    /// `==V.*`: epoch and release prefix.
    Prefix(Version),
    NotPrefix(Version),
    LessEq(Version),
    GreaterEq(Version),
    Less(Version),
    Greater(Version),
    /// `===`: string identity, case-insensitive.
    Identity(String),
}

fn invalid_specifier(requirement: &str) -> VersionError {
    VersionError::requirement("PEP 440", requirement, "not a PEP 440 specifier")
}

fn parse_specifier(text: &str, requirement: &str) -> Result<Specifier, VersionError> {
    let text = text.trim();
    let operators = ["===", "~=", "==", "!=", "<=", ">=", "<", ">"];
    let Some(operator) = operators
        .iter()
        .find(|operator| text.starts_with(**operator))
    else {
        return Err(invalid_specifier(requirement));
    };
    let version = text.get(operator.len()..).unwrap_or_default().trim_start();
    if *operator == "===" {
        if version.is_empty()
            || version.contains(|c: char| c.is_whitespace() || c == ';' || c == ')')
        {
            return Err(invalid_specifier(requirement));
        }
        return Ok(Specifier::Identity(version.to_owned()));
    }
    if version.is_empty() || version.contains(char::is_whitespace) {
        return Err(invalid_specifier(requirement));
    }
    let parse =
        |grammar| Version::parse_with(version, grammar).map_err(|_| invalid_specifier(requirement));
    match *operator {
        "==" | "!=" => {
            if let Some(prefix) = version.strip_suffix(".*") {
                let parsed = Version::parse_with(prefix, Grammar::NoLocal)
                    .map_err(|_| invalid_specifier(requirement))?;
                if parsed.pre.is_some() || parsed.post.is_some() || parsed.dev.is_some() {
                    return Err(invalid_specifier(requirement));
                }
                return Ok(if *operator == "==" {
                    Specifier::Prefix(parsed)
                } else {
                    Specifier::NotPrefix(parsed)
                });
            }
            let parsed = parse(Grammar::Full)?;
            Ok(if *operator == "==" {
                Specifier::Equal(parsed)
            } else {
                Specifier::NotEqual(parsed)
            })
        }
        "~=" => {
            let parsed = parse(Grammar::NoLocal)?;
            if parsed.release.len() < 2 {
                return Err(invalid_specifier(requirement));
            }
            Ok(Specifier::Compatible(parsed))
        }
        "<=" => Ok(Specifier::LessEq(parse(Grammar::NoLocal)?)),
        ">=" => Ok(Specifier::GreaterEq(parse(Grammar::NoLocal)?)),
        "<" => Ok(Specifier::Less(parse(Grammar::NoLocal)?)),
        _ => Ok(Specifier::Greater(parse(Grammar::NoLocal)?)),
    }
}

/// `==V.*`: same epoch, and the release padded with zeros to the length of
/// the prefix starts with it.
fn prefix_matches(version: &Version, prefix: &Version) -> bool {
    number::compare(&version.epoch, &prefix.epoch) == Ordering::Equal
        && prefix.release.iter().enumerate().all(|(index, part)| {
            let mine = version.release.get(index).map_or("0", String::as_str);
            number::compare(mine, part) == Ordering::Equal
        })
}

/// Whether `version` is `spec` or one of its post-releases (`spec` without
/// dev and post parts): same epoch, release and pre-release, and either a
/// post-release or no dev part (a local version of `spec`).
fn in_post_family(version: &Version, spec: &Version) -> bool {
    number::compare(&version.epoch, &spec.epoch) == Ordering::Equal
        && version.release_cmp(spec) == Ordering::Equal
        && match (&version.pre, &spec.pre) {
            (None, None) => true,
            (Some((kind_a, a)), Some((kind_b, b))) => {
                kind_a == kind_b && number::compare(a, b) == Ordering::Equal
            }
            _ => false,
        }
        && (version.dev.is_none() || version.post.is_some())
}

impl Specifier {
    /// PEP 440's operator semantics, as `packaging` 26 implements them.
    fn contains(&self, raw: &str, version: &Version) -> bool {
        match self {
            Specifier::Compatible(spec) => {
                // `~=X.Y.Z` is `>=X.Y.Z, <X.(Y+1).dev0`.
                let mut upper = spec.base();
                upper.release.pop();
                if let Some(last) = upper.release.last_mut() {
                    *last = number::increment(last);
                }
                upper.dev = Some("0".to_owned());
                version >= spec && *version < upper
            }
            Specifier::Equal(spec) => {
                if spec.local.is_some() {
                    version == spec
                } else {
                    version.public() == *spec
                }
            }
            Specifier::NotEqual(spec) => !Specifier::Equal(spec.clone()).contains(raw, version),
            Specifier::Prefix(prefix) => prefix_matches(version, prefix),
            Specifier::NotPrefix(prefix) => !prefix_matches(version, prefix),
            Specifier::LessEq(spec) => version.public() <= *spec,
            Specifier::GreaterEq(spec) => version >= spec,
            Specifier::Less(spec) => {
                // `<V` leaves out V's pre-releases unless V is one.
                let bound = if spec.is_prerelease() {
                    spec.clone()
                } else {
                    Version {
                        dev: Some("0".to_owned()),
                        local: None,
                        ..spec.clone()
                    }
                };
                *version < bound
            }
            Specifier::Greater(spec) => {
                if let Some(dev) = &spec.dev {
                    let next = Version {
                        dev: Some(number::increment(dev)),
                        local: None,
                        ..spec.clone()
                    };
                    *version >= next
                } else if let Some(post) = &spec.post {
                    let next = Version {
                        post: Some(number::increment(post)),
                        dev: Some("0".to_owned()),
                        local: None,
                        ..spec.clone()
                    };
                    *version >= next
                } else {
                    // `>V` leaves out V's post-releases and local versions.
                    version > spec && !in_post_family(version, spec)
                }
            }
            Specifier::Identity(spec) => raw.to_lowercase() == spec.to_lowercase(),
        }
    }
}

/// A comma-separated PEP 440 specifier set.
#[derive(Debug, Clone)]
pub struct SpecifierSet {
    specifiers: Vec<Specifier>,
}

impl SpecifierSet {
    pub fn parse(requirement: &str) -> Result<Self, VersionError> {
        if requirement.trim().is_empty() {
            return Ok(SpecifierSet {
                specifiers: Vec::new(),
            });
        }
        let specifiers = requirement
            .split(',')
            .map(|part| parse_specifier(part, requirement))
            .collect::<Result<_, _>>()?;
        Ok(SpecifierSet { specifiers })
    }

    /// Whether every specifier contains the version. As in `packaging` 26,
    /// a pre-release is judged like any version: a single version has no
    /// alternatives to prefer.
    ///
    /// `raw` is the version as written, for `===`, which compares strings.
    pub fn contains(&self, raw: &str, version: &Version) -> bool {
        self.specifiers
            .iter()
            .all(|specifier| specifier.contains(raw, version))
    }
}

/// Whether the PyPI `version` satisfies the specifier set `requirement`.
pub fn satisfies(version: &str, requirement: &str) -> Result<bool, VersionError> {
    let parsed = Version::parse(version)?;
    Ok(SpecifierSet::parse(requirement)?.contains(version, &parsed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_from_pep_440() {
        let same = [
            ("1.0", "1.0.0"),
            ("1.0alpha1", "1.0a1"),
            ("1.0-c1", "1.0rc1"),
            ("1.0.preview2", "1.0rc2"),
            ("1.0-1", "1.0.post1"),
            ("1.0.rev", "1.0.post0"),
            ("1.0_r3", "1.0.post3"),
            ("V1.0.DEV", "1.0.dev0"),
            ("1!01.02", "1!1.2"),
            ("1.0+Ubuntu-1", "1.0+ubuntu.1"),
        ];
        for (a, b) in same {
            assert_eq!(compare(a, b), Ok(Ordering::Equal), "{a} {b}");
        }
        let order = [
            "1.0.dev456",
            "1.0a1",
            "1.0a2.dev456",
            "1.0a12.dev456",
            "1.0a12",
            "1.0b1.dev456",
            "1.0b2",
            "1.0b2.post345.dev456",
            "1.0b2.post345",
            "1.0rc1.dev456",
            "1.0rc1",
            "1.0",
            "1.0+abc.5",
            "1.0+abc.7",
            "1.0+5",
            "1.0.post456.dev34",
            "1.0.post456",
            "1.1.dev1",
        ];
        for pair in order.windows(2) {
            assert_eq!(compare(pair[0], pair[1]), Ok(Ordering::Less), "{pair:?}");
        }
        for invalid in ["", "1.0-", "a1", "1.0+", "1.0+a..b", "1..0", "1.0 1"] {
            assert!(Version::parse(invalid).is_err(), "{invalid}");
        }
        assert_eq!(
            Version::parse("1.0a.").map(|v| v.to_string()),
            Ok("1.0a0".to_owned())
        );
    }
}

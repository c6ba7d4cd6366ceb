//! Semantic Versioning 2.0.0, as npm (node-semver), crates.io (Cargo) and
//! Go modules use it, with each one's range syntax.
//!
//! Precedence: `major.minor.patch` numerically, then a version without a
//! pre-release above one with; pre-release identifiers compare one by one,
//! numeric ones numerically and below alphanumeric ones (ASCII order), a
//! shorter list first when it is a prefix. Build metadata is ignored.

use std::cmp::Ordering;

use crate::VersionError;
use crate::number;

/// One dot-separated pre-release identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifier {
    Numeric(String),
    Alphanumeric(String),
}

impl Ord for Identifier {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Identifier::Numeric(a), Identifier::Numeric(b)) => number::compare(a, b),
            (Identifier::Numeric(_), Identifier::Alphanumeric(_)) => Ordering::Less,
            (Identifier::Alphanumeric(_), Identifier::Numeric(_)) => Ordering::Greater,
            (Identifier::Alphanumeric(a), Identifier::Alphanumeric(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Identifier {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A parsed semantic version. Equality and ordering ignore build metadata.
#[derive(Debug, Clone)]
pub struct Version {
    pub major: String,
    pub minor: String,
    pub patch: String,
    pub pre: Vec<Identifier>,
    pub build: Vec<String>,
}

impl Version {
    fn core_cmp(&self, other: &Self) -> Ordering {
        number::compare(&self.major, &other.major)
            .then_with(|| number::compare(&self.minor, &other.minor))
            .then_with(|| number::compare(&self.patch, &other.patch))
    }

    fn same_core(&self, other: &Self) -> bool {
        self.core_cmp(other) == Ordering::Equal
    }

    fn new(major: &str, minor: &str, patch: &str, pre: Vec<Identifier>) -> Self {
        Version {
            major: major.to_owned(),
            minor: minor.to_owned(),
            patch: patch.to_owned(),
            pre,
            build: Vec::new(),
        }
    }

    /// Parses a strict SemVer 2.0.0 version (no prefix, no whitespace).
    pub fn parse(version: &str) -> Result<Self, VersionError> {
        parse_strict(version, "semver")
    }
}

/// Compares pre-release lists: empty (a release) is greatest.
fn pre_cmp(a: &[Identifier], b: &[Identifier]) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.cmp(b),
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.core_cmp(other)
            .then_with(|| pre_cmp(&self.pre, &other.pre))
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

/// `0` or a digit string without a leading zero.
fn is_numeric_identifier(text: &str) -> bool {
    number::is_digits(text) && (text == "0" || !text.starts_with('0'))
}

fn is_identifier_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-'
}

fn parse_pre(
    text: &str,
    scheme: &'static str,
    input: &str,
) -> Result<Vec<Identifier>, VersionError> {
    text.split('.')
        .map(|part| {
            if part.is_empty() || !part.bytes().all(is_identifier_char) {
                Err(VersionError::version(
                    scheme,
                    input,
                    "bad pre-release identifier",
                ))
            } else if number::is_digits(part) {
                if is_numeric_identifier(part) {
                    Ok(Identifier::Numeric(part.to_owned()))
                } else {
                    Err(VersionError::version(
                        scheme,
                        input,
                        "numeric pre-release identifier with a leading zero",
                    ))
                }
            } else {
                Ok(Identifier::Alphanumeric(part.to_owned()))
            }
        })
        .collect()
}

fn parse_build(text: &str, scheme: &'static str, input: &str) -> Result<Vec<String>, VersionError> {
    text.split('.')
        .map(|part| {
            if part.is_empty() || !part.bytes().all(is_identifier_char) {
                Err(VersionError::version(scheme, input, "bad build identifier"))
            } else {
                Ok(part.to_owned())
            }
        })
        .collect()
}

/// Splits `core[-pre][+build]`.
fn split_version(text: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, build) = match text.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (text, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (rest, None),
    };
    (core, pre, build)
}

fn parse_strict(text: &str, scheme: &'static str) -> Result<Version, VersionError> {
    let (core, pre, build) = split_version(text);
    let mut parts = core.split('.');
    let (Some(major), Some(minor), Some(patch), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VersionError::version(
            scheme,
            text,
            "expected major.minor.patch",
        ));
    };
    for part in [major, minor, patch] {
        if !is_numeric_identifier(part) {
            return Err(VersionError::version(
                scheme,
                text,
                "version numbers are digits without leading zeros",
            ));
        }
    }
    let pre = match pre {
        Some(pre) => parse_pre(pre, scheme, text)?,
        None => Vec::new(),
    };
    let build = match build {
        Some(build) => parse_build(build, scheme, text)?,
        None => Vec::new(),
    };
    Ok(Version {
        major: major.to_owned(),
        minor: minor.to_owned(),
        patch: patch.to_owned(),
        pre,
        build,
    })
}

/// JavaScript's `Number.MAX_SAFE_INTEGER`, node-semver's limit for numbers.
const MAX_SAFE_INTEGER: &str = "9007199254740991";
/// node-semver's limit on the length of a version or range.
const NPM_MAX_LENGTH: usize = 256;

/// Parses a version as node-semver (non-loose) does: surrounding whitespace
/// and one leading `v` allowed, numbers up to `Number.MAX_SAFE_INTEGER`.
pub fn parse_npm(version: &str) -> Result<Version, VersionError> {
    if version.len() > NPM_MAX_LENGTH {
        return Err(VersionError::version(
            "npm",
            version,
            "longer than 256 characters",
        ));
    }
    let trimmed = version.trim();
    let text = trimmed.strip_prefix('v').unwrap_or(trimmed);
    let parsed = parse_strict(text, "npm")?;
    for part in [&parsed.major, &parsed.minor, &parsed.patch] {
        if number::compare(part, MAX_SAFE_INTEGER) == Ordering::Greater {
            return Err(VersionError::version("npm", version, "number too large"));
        }
    }
    Ok(parsed)
}

/// Parses a version as Cargo's `semver` does: strict SemVer 2.0.0.
pub fn parse_cargo(version: &str) -> Result<Version, VersionError> {
    parse_strict(version, "crates.io")
}

/// Parses a Go module version: `vMAJOR[.MINOR[.PATCH[-pre][+build]]]`, as
/// `golang.org/x/mod/semver` accepts it (`v1` and `v1.2` are `v1.0.0` and
/// `v1.2.0`). OSV writes Go versions without the `v`, so it is optional.
pub fn parse_go(version: &str) -> Result<Version, VersionError> {
    let text = version.strip_prefix('v').unwrap_or(version);
    let (core, pre, build) = split_version(text);
    let mut parts = core.split('.');
    let major = parts.next().unwrap_or_default();
    let minor = parts.next();
    let patch = parts.next();
    if parts.next().is_some() {
        return Err(VersionError::version(
            "Go",
            version,
            "too many version numbers",
        ));
    }
    for part in [Some(major), minor, patch].into_iter().flatten() {
        if !is_numeric_identifier(part) {
            return Err(VersionError::version(
                "Go",
                version,
                "version numbers are digits without leading zeros",
            ));
        }
    }
    if patch.is_none() && (pre.is_some() || build.is_some()) {
        return Err(VersionError::version(
            "Go",
            version,
            "a pre-release or build needs major.minor.patch",
        ));
    }
    let pre = match pre {
        Some(pre) => parse_pre(pre, "Go", version)?,
        None => Vec::new(),
    };
    let build = match build {
        Some(build) => parse_build(build, "Go", version)?,
        None => Vec::new(),
    };
    Ok(Version {
        major: major.to_owned(),
        minor: minor.unwrap_or("0").to_owned(),
        patch: patch.unwrap_or("0").to_owned(),
        pre,
        build,
    })
}

pub fn compare_npm(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(parse_npm(a)?.cmp(&parse_npm(b)?))
}

pub fn compare_cargo(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(parse_cargo(a)?.cmp(&parse_cargo(b)?))
}

/// Go ordering; `+incompatible` is build metadata and so ignored, and
/// pseudo-versions are the pre-releases they are spelled as.
pub fn compare_go(a: &str, b: &str) -> Result<Ordering, VersionError> {
    Ok(parse_go(a)?.cmp(&parse_go(b)?))
}

// ---------------------------------------------------------------------------
// npm ranges (node-semver `Range`, default options)

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Less,
    LessEq,
    Greater,
    GreaterEq,
    Equal,
}

#[derive(Debug, Clone)]
enum Comparator {
    Any,
    Version(Op, Version),
}

impl Comparator {
    fn test(&self, version: &Version) -> bool {
        match self {
            Comparator::Any => true,
            Comparator::Version(op, bound) => {
                let order = version.cmp(bound);
                match op {
                    Op::Less => order == Ordering::Less,
                    Op::LessEq => order != Ordering::Greater,
                    Op::Greater => order == Ordering::Greater,
                    Op::GreaterEq => order != Ordering::Less,
                    Op::Equal => order == Ordering::Equal,
                }
            }
        }
    }
}

/// A version with `x`, `X`, `*` or missing parts (`None`).
#[derive(Debug, Clone)]
struct Partial {
    major: Option<String>,
    minor: Option<String>,
    patch: Option<String>,
    pre: Vec<Identifier>,
}

/// Parses node-semver's "x-range plain": `[v=]*` then up to three parts,
/// each a number or a wildcard, and after three a pre-release and build.
fn parse_partial(text: &str, range: &str) -> Result<Partial, VersionError> {
    let invalid = || VersionError::requirement("npm", range, "bad version in range");
    let (core, pre, build) = split_version(text);
    let mut parts = core.split('.');
    let mut part = || -> Result<Option<Option<String>>, VersionError> {
        match parts.next() {
            None => Ok(None),
            Some("x" | "X" | "*") => Ok(Some(None)),
            Some(digits) if is_numeric_identifier(digits) => Ok(Some(Some(digits.to_owned()))),
            Some(_) => Err(invalid()),
        }
    };
    let major = part()?.ok_or_else(invalid)?;
    let minor = part()?;
    let patch = if minor.is_some() { part()? } else { None };
    if part()?.is_some() {
        return Err(invalid());
    }
    // node-semver rejects a number after a wildcard (`1.x.3`).
    let wildcard_then_number = |earlier: &Option<String>, later: &Option<Option<String>>| {
        earlier.is_none() && matches!(later, Some(Some(_)))
    };
    if wildcard_then_number(&major, &minor)
        || wildcard_then_number(&major, &patch)
        || minor
            .as_ref()
            .is_some_and(|minor| wildcard_then_number(minor, &patch))
    {
        return Err(invalid());
    }
    if patch.is_none() && (pre.is_some() || build.is_some()) {
        return Err(invalid());
    }
    let pre = match pre {
        Some(pre) => parse_pre(pre, "npm", range).map_err(|_| invalid())?,
        None => Vec::new(),
    };
    if let Some(build) = build {
        parse_build(build, "npm", range).map_err(|_| invalid())?;
    }
    Ok(Partial {
        major,
        minor: minor.flatten(),
        patch: patch.flatten(),
        pre,
    })
    .map(|mut partial| {
        // A wildcard makes every later part a wildcard.
        if partial.major.is_none() {
            partial.minor = None;
        }
        if partial.minor.is_none() {
            partial.patch = None;
        }
        partial
    })
}

fn strip_v_equals(text: &str) -> &str {
    text.trim_start_matches(['v', '='])
}

fn lower(op: Op, major: &str, minor: &str, patch: &str, pre: Vec<Identifier>) -> Comparator {
    Comparator::Version(op, Version::new(major, minor, patch, pre))
}

fn zero_pre() -> Vec<Identifier> {
    vec![Identifier::Numeric("0".to_owned())]
}

/// Desugars one comparator word (`^1.2`, `~1`, `>=1.x`, `1.2.3`) into
/// primitive comparators.
fn desugar(word: &str, range: &str, out: &mut Vec<Comparator>) -> Result<(), VersionError> {
    let invalid = || VersionError::requirement("npm", range, "bad comparator");
    if let Some(rest) = word.strip_prefix("~>").or_else(|| word.strip_prefix('~')) {
        let partial = parse_partial(strip_v_equals(rest), range)?;
        let Some(major) = partial.major else {
            out.push(Comparator::Any);
            return Ok(());
        };
        let Some(minor) = partial.minor else {
            out.push(lower(Op::GreaterEq, &major, "0", "0", Vec::new()));
            out.push(lower(
                Op::Less,
                &number::increment(&major),
                "0",
                "0",
                zero_pre(),
            ));
            return Ok(());
        };
        let patch = partial.patch.unwrap_or_else(|| "0".to_owned());
        out.push(lower(Op::GreaterEq, &major, &minor, &patch, partial.pre));
        out.push(lower(
            Op::Less,
            &major,
            &number::increment(&minor),
            "0",
            zero_pre(),
        ));
        return Ok(());
    }
    if let Some(rest) = word.strip_prefix('^') {
        let partial = parse_partial(strip_v_equals(rest), range)?;
        let Some(major) = partial.major else {
            out.push(Comparator::Any);
            return Ok(());
        };
        let Some(minor) = partial.minor else {
            out.push(lower(Op::GreaterEq, &major, "0", "0", Vec::new()));
            out.push(lower(
                Op::Less,
                &number::increment(&major),
                "0",
                "0",
                zero_pre(),
            ));
            return Ok(());
        };
        let Some(patch) = partial.patch else {
            out.push(lower(Op::GreaterEq, &major, &minor, "0", Vec::new()));
            if major == "0" {
                out.push(lower(
                    Op::Less,
                    &major,
                    &number::increment(&minor),
                    "0",
                    zero_pre(),
                ));
            } else {
                out.push(lower(
                    Op::Less,
                    &number::increment(&major),
                    "0",
                    "0",
                    zero_pre(),
                ));
            }
            return Ok(());
        };
        out.push(lower(Op::GreaterEq, &major, &minor, &patch, partial.pre));
        let upper = if major != "0" {
            (number::increment(&major), "0".to_owned(), "0".to_owned())
        } else if minor != "0" {
            (major, number::increment(&minor), "0".to_owned())
        } else {
            (major, minor, number::increment(&patch))
        };
        out.push(lower(Op::Less, &upper.0, &upper.1, &upper.2, zero_pre()));
        return Ok(());
    }
    let (op, rest) = if let Some(rest) = word.strip_prefix(">=") {
        (Some(Op::GreaterEq), rest)
    } else if let Some(rest) = word.strip_prefix("<=") {
        (Some(Op::LessEq), rest)
    } else if let Some(rest) = word.strip_prefix('>') {
        (Some(Op::Greater), rest)
    } else if let Some(rest) = word.strip_prefix('<') {
        (Some(Op::Less), rest)
    } else if let Some(rest) = word.strip_prefix('=') {
        (Some(Op::Equal), rest)
    } else {
        (None, word)
    };
    let partial = parse_partial(strip_v_equals(rest), range)?;
    let (Some(major), Some(minor), Some(patch)) = (&partial.major, &partial.minor, &partial.patch)
    else {
        desugar_x_range(op, partial, out);
        return Ok(());
    };
    // A full version: node-semver's comparator grammar allows at most one
    // `v` (and no `=`) between the operator and the version.
    let after_op = rest;
    let stripped = after_op.strip_prefix('v').unwrap_or(after_op);
    if stripped.starts_with(['v', '=']) {
        return Err(invalid());
    }
    out.push(lower(
        op.unwrap_or(Op::Equal),
        major,
        minor,
        patch,
        partial.pre,
    ));
    Ok(())
}

fn desugar_x_range(op: Option<Op>, partial: Partial, out: &mut Vec<Comparator>) {
    let op = match op {
        Some(Op::Equal) | None => None,
        other => other,
    };
    let Some(major) = partial.major else {
        out.push(match op {
            Some(Op::Less | Op::Greater) => lower(Op::Less, "0", "0", "0", zero_pre()),
            _ => Comparator::Any,
        });
        return;
    };
    match (op, partial.minor) {
        (None, None) => {
            out.push(lower(Op::GreaterEq, &major, "0", "0", Vec::new()));
            out.push(lower(
                Op::Less,
                &number::increment(&major),
                "0",
                "0",
                zero_pre(),
            ));
        }
        (None, Some(minor)) => {
            out.push(lower(Op::GreaterEq, &major, &minor, "0", Vec::new()));
            out.push(lower(
                Op::Less,
                &major,
                &number::increment(&minor),
                "0",
                zero_pre(),
            ));
        }
        (Some(op), minor) => {
            let x_minor = minor.is_none();
            let minor = minor.unwrap_or_else(|| "0".to_owned());
            let (op, major, minor) = match op {
                Op::Greater if x_minor => {
                    (Op::GreaterEq, number::increment(&major), "0".to_owned())
                }
                Op::Greater => (Op::GreaterEq, major, number::increment(&minor)),
                Op::LessEq if x_minor => (Op::Less, number::increment(&major), minor),
                Op::LessEq => (Op::Less, major, number::increment(&minor)),
                other => (other, major, minor),
            };
            let pre = if op == Op::Less {
                zero_pre()
            } else {
                Vec::new()
            };
            out.push(lower(op, &major, &minor, "0", pre));
        }
    }
}

/// The hyphen range `A - B`.
fn desugar_hyphen(
    from: &str,
    to: &str,
    range: &str,
    out: &mut Vec<Comparator>,
) -> Result<(), VersionError> {
    let from = parse_partial(strip_v_equals(from), range)?;
    let to = parse_partial(strip_v_equals(to), range)?;
    if let Some(major) = from.major {
        let minor = from.minor.unwrap_or_else(|| "0".to_owned());
        let (patch, pre) = match from.patch {
            Some(patch) => (patch, from.pre),
            None => ("0".to_owned(), Vec::new()),
        };
        out.push(lower(Op::GreaterEq, &major, &minor, &patch, pre));
    }
    if let Some(major) = to.major {
        match (to.minor, to.patch) {
            (None, _) => out.push(lower(
                Op::Less,
                &number::increment(&major),
                "0",
                "0",
                zero_pre(),
            )),
            (Some(minor), None) => out.push(lower(
                Op::Less,
                &major,
                &number::increment(&minor),
                "0",
                zero_pre(),
            )),
            (Some(minor), Some(patch)) => {
                out.push(lower(Op::LessEq, &major, &minor, &patch, to.pre));
            }
        }
    }
    if out.is_empty() {
        out.push(Comparator::Any);
    }
    Ok(())
}

fn is_operator(word: &str) -> bool {
    matches!(word, "<" | "<=" | ">" | ">=" | "=" | "~" | "~>" | "^")
}

/// Parses one `||`-separated comparator set.
fn parse_set(set: &str, range: &str) -> Result<Vec<Comparator>, VersionError> {
    let words: Vec<&str> = set.split_whitespace().collect();
    let mut out = Vec::new();
    if let [from, "-", to] = words.as_slice() {
        desugar_hyphen(from, to, range, &mut out)?;
        return Ok(out);
    }
    let mut index = 0;
    while let Some(&word) = words.get(index) {
        index += 1;
        if is_operator(word) {
            let Some(&next) = words.get(index) else {
                return Err(VersionError::requirement(
                    "npm",
                    range,
                    "operator without a version",
                ));
            };
            index += 1;
            desugar(&format!("{word}{next}"), range, &mut out)?;
        } else {
            desugar(word, range, &mut out)?;
        }
    }
    if out.is_empty() {
        out.push(Comparator::Any);
    }
    Ok(out)
}

/// A parsed node-semver range: a union of comparator sets.
#[derive(Debug, Clone)]
pub struct NpmRange {
    sets: Vec<Vec<Comparator>>,
}

impl NpmRange {
    pub fn parse(range: &str) -> Result<Self, VersionError> {
        if range.len() > NPM_MAX_LENGTH {
            return Err(VersionError::requirement(
                "npm",
                range,
                "longer than 256 characters",
            ));
        }
        let sets = range
            .split("||")
            .map(|set| parse_set(set, range))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(NpmRange { sets })
    }

    /// node-semver's `satisfies` with default options: a pre-release
    /// satisfies a set only if some comparator of the set names a
    /// pre-release of the same `major.minor.patch`.
    pub fn matches(&self, version: &Version) -> bool {
        self.sets.iter().any(|set| {
            if !set.iter().all(|comparator| comparator.test(version)) {
                return false;
            }
            if version.pre.is_empty() {
                return true;
            }
            set.iter().any(|comparator| match comparator {
                Comparator::Any => false,
                Comparator::Version(_, bound) => !bound.pre.is_empty() && bound.same_core(version),
            })
        })
    }
}

/// Whether the npm `version` satisfies the node-semver `range`.
pub fn npm_satisfies(version: &str, range: &str) -> Result<bool, VersionError> {
    let version = parse_npm(version)?;
    Ok(NpmRange::parse(range)?.matches(&version))
}

// ---------------------------------------------------------------------------
// Cargo requirements (the `semver` crate's `VersionReq`)

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CargoOp {
    Exact,
    Greater,
    GreaterEq,
    Less,
    LessEq,
    Tilde,
    Caret,
}

#[derive(Debug, Clone)]
struct CargoComparator {
    op: CargoOp,
    major: String,
    minor: Option<String>,
    patch: Option<String>,
    pre: Vec<Identifier>,
}

/// `cmp` of an optional bound part against the version's part, or `None`
/// when the bound leaves the part open.
fn part_cmp(version: &str, bound: Option<&String>) -> Option<Ordering> {
    bound.map(|bound| number::compare(version, bound))
}

impl CargoComparator {
    fn matches_exact(&self, version: &Version) -> bool {
        number::compare(&version.major, &self.major) == Ordering::Equal
            && part_cmp(&version.minor, self.minor.as_ref()).is_none_or(Ordering::is_eq)
            && part_cmp(&version.patch, self.patch.as_ref()).is_none_or(Ordering::is_eq)
            && pre_cmp(&version.pre, &self.pre) == Ordering::Equal
    }

    /// `Some(ordering)` of the version against the bound at the first
    /// differing part, `None` when an open part ends the comparison.
    fn beyond(&self, version: &Version) -> Option<Ordering> {
        let major = number::compare(&version.major, &self.major);
        if major != Ordering::Equal {
            return Some(major);
        }
        let minor = part_cmp(&version.minor, self.minor.as_ref())?;
        if minor != Ordering::Equal {
            return Some(minor);
        }
        let patch = part_cmp(&version.patch, self.patch.as_ref())?;
        if patch != Ordering::Equal {
            return Some(patch);
        }
        Some(pre_cmp(&version.pre, &self.pre))
    }

    fn matches_greater(&self, version: &Version) -> bool {
        self.beyond(version) == Some(Ordering::Greater)
    }

    fn matches_less(&self, version: &Version) -> bool {
        self.beyond(version) == Some(Ordering::Less)
    }

    fn matches_tilde(&self, version: &Version) -> bool {
        if number::compare(&version.major, &self.major) != Ordering::Equal {
            return false;
        }
        if part_cmp(&version.minor, self.minor.as_ref()).is_some_and(Ordering::is_ne) {
            return false;
        }
        if let Some(patch) = part_cmp(&version.patch, self.patch.as_ref())
            && patch != Ordering::Equal
        {
            return patch == Ordering::Greater;
        }
        pre_cmp(&version.pre, &self.pre) != Ordering::Less
    }

    fn matches_caret(&self, version: &Version) -> bool {
        if number::compare(&version.major, &self.major) != Ordering::Equal {
            return false;
        }
        let Some(minor) = &self.minor else {
            return true;
        };
        let minor_order = number::compare(&version.minor, minor);
        let Some(patch) = &self.patch else {
            return if number::is_zero(&self.major) {
                minor_order == Ordering::Equal
            } else {
                minor_order != Ordering::Less
            };
        };
        let patch_order = number::compare(&version.patch, patch);
        if !number::is_zero(&self.major) {
            if minor_order != Ordering::Equal {
                return minor_order == Ordering::Greater;
            }
            if patch_order != Ordering::Equal {
                return patch_order == Ordering::Greater;
            }
        } else if !number::is_zero(minor) {
            if minor_order != Ordering::Equal {
                return false;
            }
            if patch_order != Ordering::Equal {
                return patch_order == Ordering::Greater;
            }
        } else if minor_order != Ordering::Equal || patch_order != Ordering::Equal {
            return false;
        }
        pre_cmp(&version.pre, &self.pre) != Ordering::Less
    }

    fn matches(&self, version: &Version) -> bool {
        match self.op {
            CargoOp::Exact => self.matches_exact(version),
            CargoOp::Greater => self.matches_greater(version),
            CargoOp::GreaterEq => self.matches_exact(version) || self.matches_greater(version),
            CargoOp::Less => self.matches_less(version),
            CargoOp::LessEq => self.matches_exact(version) || self.matches_less(version),
            CargoOp::Tilde => self.matches_tilde(version),
            CargoOp::Caret => self.matches_caret(version),
        }
    }

    /// Whether this comparator lets the pre-release `version` through.
    fn allows_pre(&self, version: &Version) -> bool {
        number::compare(&version.major, &self.major) == Ordering::Equal
            && self
                .minor
                .as_deref()
                .is_some_and(|minor| number::compare(&version.minor, minor).is_eq())
            && self
                .patch
                .as_deref()
                .is_some_and(|patch| number::compare(&version.patch, patch).is_eq())
            && !self.pre.is_empty()
    }
}

/// A parsed Cargo version requirement.
#[derive(Debug, Clone)]
pub struct CargoRequirement {
    comparators: Vec<CargoComparator>,
}

fn parse_cargo_comparator(
    text: &str,
    requirement: &str,
) -> Result<Option<CargoComparator>, VersionError> {
    let invalid = |reason| VersionError::requirement("crates.io", requirement, reason);
    let text = text.trim();
    let (op, rest) = if let Some(rest) = text.strip_prefix(">=") {
        (CargoOp::GreaterEq, rest)
    } else if let Some(rest) = text.strip_prefix("<=") {
        (CargoOp::LessEq, rest)
    } else if let Some(rest) = text.strip_prefix('>') {
        (CargoOp::Greater, rest)
    } else if let Some(rest) = text.strip_prefix('<') {
        (CargoOp::Less, rest)
    } else if let Some(rest) = text.strip_prefix('=') {
        (CargoOp::Exact, rest)
    } else if let Some(rest) = text.strip_prefix('~') {
        (CargoOp::Tilde, rest)
    } else if let Some(rest) = text.strip_prefix('^') {
        (CargoOp::Caret, rest)
    } else {
        (CargoOp::Caret, text)
    };
    let default_op = rest.len() == text.len();
    let rest = rest.trim_start();
    if rest.is_empty() {
        return Err(invalid("operator without a version"));
    }
    let (core, pre, build) = split_version(rest);
    let mut parts = core.split('.');
    let wildcard = |part: &str| matches!(part, "*" | "x" | "X");
    let mut numbers: Vec<Option<String>> = Vec::new();
    for part in parts.by_ref().take(3) {
        if wildcard(part) {
            numbers.push(None);
        } else if is_numeric_identifier(part) {
            if numbers.last().is_some_and(Option::is_none) {
                return Err(invalid("a number after a wildcard"));
            }
            numbers.push(Some(part.to_owned()));
        } else {
            return Err(invalid("version numbers are digits without leading zeros"));
        }
    }
    if parts.next().is_some() {
        return Err(invalid("too many version numbers"));
    }
    let has_wildcard = numbers.iter().any(Option::is_none);
    if has_wildcard && !default_op && op != CargoOp::Exact {
        return Err(invalid("a wildcard after an operator other than `=`"));
    }
    let mut numbers = numbers.into_iter();
    let Some(major) = numbers.next().flatten() else {
        if pre.is_some() || build.is_some() {
            return Err(invalid("a pre-release on a wildcard"));
        }
        // `*`: no comparator at all.
        return Ok(None);
    };
    let minor = numbers.next().flatten();
    let patch = numbers.next().flatten();
    if patch.is_none() && (pre.is_some() || build.is_some()) {
        return Err(invalid("a pre-release or build needs major.minor.patch"));
    }
    let pre = match pre {
        Some(pre) => parse_pre(pre, "crates.io", requirement)?,
        None => Vec::new(),
    };
    if let Some(build) = build {
        parse_build(build, "crates.io", requirement)?;
    }
    let op = if has_wildcard { CargoOp::Exact } else { op };
    Ok(Some(CargoComparator {
        op,
        major,
        minor,
        patch,
        pre,
    }))
}

impl CargoRequirement {
    pub fn parse(requirement: &str) -> Result<Self, VersionError> {
        let mut comparators = Vec::new();
        let mut wildcards = 0usize;
        let mut count = 0usize;
        for part in requirement.split(',') {
            count += 1;
            if part.trim().is_empty() {
                return Err(VersionError::requirement(
                    "crates.io",
                    requirement,
                    "empty comparator",
                ));
            }
            match parse_cargo_comparator(part, requirement)? {
                Some(comparator) => comparators.push(comparator),
                None => wildcards += 1,
            }
        }
        if wildcards > 0 && count > 1 {
            return Err(VersionError::requirement(
                "crates.io",
                requirement,
                "`*` must be the only comparator",
            ));
        }
        Ok(CargoRequirement { comparators })
    }

    /// The `semver` crate's `VersionReq::matches`: every comparator
    /// matches, and a pre-release only when a comparator names a
    /// pre-release of the same `major.minor.patch`.
    pub fn matches(&self, version: &Version) -> bool {
        self.comparators
            .iter()
            .all(|comparator| comparator.matches(version))
            && (version.pre.is_empty()
                || self
                    .comparators
                    .iter()
                    .any(|comparator| comparator.allows_pre(version)))
    }
}

/// Whether the crates.io `version` satisfies the Cargo `requirement`.
pub fn cargo_satisfies(version: &str, requirement: &str) -> Result<bool, VersionError> {
    let version = parse_cargo(version)?;
    Ok(CargoRequirement::parse(requirement)?.matches(&version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_from_the_spec() {
        // semver.org, item 11.
        let order = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "2.0.0",
            "2.1.0",
            "2.1.1",
        ];
        for pair in order.windows(2) {
            assert_eq!(
                compare_cargo(pair[0], pair[1]),
                Ok(Ordering::Less),
                "{pair:?}"
            );
        }
        assert_eq!(compare_cargo("1.0.0+a", "1.0.0+b"), Ok(Ordering::Equal));
    }

    #[test]
    fn go_versions() {
        // From the Go modules reference: shorthand, +incompatible,
        // pseudo-versions.
        assert_eq!(compare_go("v1", "v1.0.0"), Ok(Ordering::Equal));
        assert_eq!(compare_go("v1.2", "v1.2.0"), Ok(Ordering::Equal));
        assert_eq!(
            compare_go("v2.0.0+incompatible", "v2.0.0"),
            Ok(Ordering::Equal)
        );
        assert_eq!(
            compare_go("v0.0.0-20191109021931-daa7c04131f5", "v0.0.1"),
            Ok(Ordering::Less)
        );
        assert_eq!(
            compare_go("v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.3"),
            Ok(Ordering::Greater)
        );
        assert_eq!(
            compare_go("v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.4-alpha"),
            Ok(Ordering::Less)
        );
        assert_eq!(
            compare_go("v1.2.3-pre.0.20191109021931-daa7c04131f5", "v1.2.3-pre"),
            Ok(Ordering::Greater)
        );
        assert_eq!(
            compare_go(
                "v0.0.0-20191109021931-daa7c04131f5",
                "v0.0.0-20200101000000-aaaaaaaaaaaa"
            ),
            Ok(Ordering::Less)
        );
        assert_eq!(compare_go("1.2.3", "v1.2.3"), Ok(Ordering::Equal));
        for invalid in [
            "v1.2-pre",
            "v01.2.3",
            "v1.2.3.4",
            "v1.2.3-01",
            "",
            "v",
            "va.b.c",
        ] {
            assert!(parse_go(invalid).is_err(), "{invalid}");
        }
    }

    #[test]
    fn cargo_requirements() {
        let yes = [
            ("1.2.3", "1.2.3"),
            ("1.9.0", "^1.2.3"),
            ("0.2.9", "^0.2.3"),
            ("0.0.3", "^0.0.3"),
            ("1.2.9", "~1.2.3"),
            ("1.5.0", ">= 1.2, < 2"),
            ("3.0.0", "*"),
            ("1.2.7", "1.2.*"),
            ("1.0.0-beta.2", ">=1.0.0-beta.1"),
            ("0.1.7", "0.1"),
        ];
        let no = [
            ("2.0.0", "^1.2.3"),
            ("0.3.0", "^0.2.3"),
            ("0.0.4", "^0.0.3"),
            ("1.3.0", "~1.2.3"),
            ("2.0.0-alpha", "<2.0.0"),
            ("1.3.0-beta", ">=1.2.0"),
            ("1.0.0-alpha", ">=1.0.0-beta.1"),
            ("0.2.0", "0.1"),
        ];
        for (version, requirement) in yes {
            assert_eq!(
                cargo_satisfies(version, requirement),
                Ok(true),
                "{version} {requirement}"
            );
        }
        for (version, requirement) in no {
            assert_eq!(
                cargo_satisfies(version, requirement),
                Ok(false),
                "{version} {requirement}"
            );
        }
        for invalid in ["", ">=", "1.2.3.4", "01.2", "*, 1", "1.*.3", ">=*"] {
            assert!(CargoRequirement::parse(invalid).is_err(), "{invalid}");
        }
    }
}

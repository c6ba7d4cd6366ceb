//! Packagist (Composer) versions.
//!
//! A version is first normalised as Composer's `VersionParser::normalize`
//! does (`v1.2` → `1.2.0.0`, `1.0-b2` → `1.0.0.0-beta2`, `1.0-pl1` →
//! `1.0.0.0-patch1`, `1.x-dev` → `1.9999999.9999999.9999999-dev`, date
//! versions, `dev-<branch>` kept as is), then normalised versions are
//! ordered as PHP's `version_compare` orders them: parts split at `.`,
//! `-`, `_`, `+` and digit/letter transitions; numbers numerically; words
//! by their stability, `dev < alpha = a < beta = b < RC = rc < (number) <
//! pl = p`, any other word below `dev`.
//!
//! Composer leaves two different `dev-` branches unordered; here they are
//! ordered by name so that the order is total.

use std::cmp::Ordering;

use crate::VersionError;
use crate::number;

fn invalid(version: &str) -> VersionError {
    VersionError::version("Composer", version, "invalid version string")
}

fn php_trim(text: &str) -> &str {
    text.trim_matches([' ', '\t', '\n', '\r', '\0', '\x0b'])
}

/// Splits `digits` off the front.
fn leading_digits(text: &str) -> (&str, &str) {
    let end = text.bytes().take_while(u8::is_ascii_digit).count();
    (
        text.get(..end).unwrap_or_default(),
        text.get(end..).unwrap_or_default(),
    )
}

/// The stability modifier: `[._-]?((stable|beta|b|RC|alpha|a|patch|pl|p)
/// ((?:[.-]?\d+)*))?([.-]?dev)?` must match all of `text` (lower-cased).
/// Returns the normalised suffix, or `None` if it does not match.
/// `original` is the same text before lower-casing: Composer drops only a
/// lower-case `stable`.
fn modifier(text: &str, original: &str) -> Option<String> {
    let skip = usize::from(text.starts_with(['.', '_', '-']));
    // Either the separator belongs to the modifier or to `-dev`; try both.
    for skip in [skip, 0] {
        let rest = text.get(skip..).unwrap_or_default();
        let original = original.get(skip..).unwrap_or_default();
        if let Some(suffix) = modifier_body(rest, original) {
            return Some(suffix);
        }
    }
    None
}

fn modifier_body(text: &str, original: &str) -> Option<String> {
    let stabilities = [
        "stable", "beta", "b", "rc", "alpha", "a", "patch", "pl", "p",
    ];
    let mut out = String::new();
    let mut rest = text;
    if let Some(stability) = stabilities
        .iter()
        .find(|stability| rest.starts_with(**stability))
    {
        let after = rest.get(stability.len()..).unwrap_or_default();
        // `(?:[.-]?\d+)*`
        let mut numbers = after;
        loop {
            let candidate = numbers.strip_prefix(['.', '-']).unwrap_or(numbers);
            let (digits, remaining) = leading_digits(candidate);
            if digits.is_empty() {
                break;
            }
            numbers = remaining;
        }
        let number_text = after.get(..after.len() - numbers.len()).unwrap_or_default();
        // `-dev` must follow or the string must end.
        let dev_ok = numbers.is_empty() || is_dev(numbers);
        if dev_ok {
            if *stability == "stable" && original.starts_with("stable") {
                return Some(String::new());
            }
            let expanded = match *stability {
                "a" => "alpha",
                "b" => "beta",
                "p" | "pl" => "patch",
                "rc" => "RC",
                other => other,
            };
            out.push('-');
            out.push_str(expanded);
            out.push_str(number_text.trim_start_matches(['.', '-']));
            rest = numbers;
        }
    }
    if rest.is_empty() {
        return Some(out);
    }
    if is_dev(rest) {
        out.push_str("-dev");
        return Some(out);
    }
    None
}

fn is_dev(text: &str) -> bool {
    matches!(text, "dev" | ".dev" | "-dev")
}

/// `^v?\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3})?`: the longest prefix of
/// digit runs joined by single separators, if it fits the grammar.
fn date_prefix(text: &str) -> Option<(&str, &str)> {
    let bytes = text.as_bytes();
    let mut runs: Vec<usize> = Vec::new();
    let mut index = 0;
    loop {
        let start = index;
        while bytes.get(index).is_some_and(u8::is_ascii_digit) {
            index += 1;
        }
        if index == start {
            // A separator not followed by a digit is not part of the date.
            if !runs.is_empty() {
                index = start - 1;
            }
            break;
        }
        runs.push(index - start);
        if matches!(bytes.get(index), Some(b'.' | b':' | b'-'))
            && bytes.get(index + 1).is_some_and(u8::is_ascii_digit)
        {
            index += 1;
        } else {
            break;
        }
    }
    let (&last, middle) = runs.split_last()?;
    let mut fixed = 0usize;
    let final_length = if let Some((&first, others)) = middle.split_first() {
        if first < 4 || (first - 4) % 2 != 0 {
            return None;
        }
        fixed += (first - 4) / 2;
        for &run in others {
            if run % 2 != 0 {
                return None;
            }
            fixed += run / 2;
        }
        last
    } else {
        last.checked_sub(4)?
    };
    // The last run holds `b` two-digit groups and a tail of 0..=3 digits.
    let most = final_length / 2;
    let least = final_length.saturating_sub(3).div_ceil(2);
    let feasible = (least..=most).any(|b| (1..=6).contains(&(fixed + b)));
    if !feasible {
        return None;
    }
    Some((text.get(..index)?, text.get(index..)?))
}

/// `normalizeBranch` for the numeric part of an `X.Y-dev` branch.
fn normalize_branch(name: &str) -> Option<String> {
    let name = php_trim(name);
    let name = name.strip_prefix(['v', 'V']).unwrap_or(name);
    let mut parts = name.split('.');
    let first = parts.next()?;
    if !number::is_digits(first) {
        return None;
    }
    let mut out = first.to_owned();
    let mut count = 1;
    for part in parts {
        count += 1;
        if count > 4 {
            return None;
        }
        if matches!(part, "x" | "X" | "*") {
            out.push_str(".9999999");
        } else if number::is_digits(part) {
            out.push('.');
            out.push_str(part);
        } else {
            return None;
        }
    }
    for _ in count..4 {
        out.push_str(".9999999");
    }
    out.push_str("-dev");
    Some(out)
}

/// Composer's `VersionParser::normalize`.
pub fn normalize(version: &str) -> Result<String, VersionError> {
    let mut text = php_trim(version);
    // `1.0 as 2.0`: the first version.
    let words: Vec<&str> = text.split(' ').filter(|word| !word.is_empty()).collect();
    if let [first, "as", second] = words.as_slice()
        && !first.contains(',')
        && !second.contains(',')
        && !first.contains(char::is_whitespace)
        && !second.contains(char::is_whitespace)
    {
        text = first;
    }
    // `@stable` style stability flags.
    let lower_full = text.to_ascii_lowercase();
    for flag in ["@stable", "@rc", "@beta", "@alpha", "@dev"] {
        if lower_full.ends_with(flag) {
            text = text.get(..text.len() - flag.len()).unwrap_or_default();
            break;
        }
    }
    if matches!(text, "master" | "trunk" | "default") {
        return Ok(format!("dev-{text}"));
    }
    if text
        .get(..4)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("dev-"))
    {
        return Ok(format!("dev-{}", text.get(4..).unwrap_or_default()));
    }
    // Build metadata.
    if let Some((before, after)) = text.split_once('+')
        && !before.is_empty()
        && !before.contains(|c: char| c == ',' || c.is_whitespace())
        && !after.is_empty()
        && !after.contains(char::is_whitespace)
    {
        text = before;
    }
    let lower = text.to_ascii_lowercase();
    let body = lower.strip_prefix('v').unwrap_or(&lower);
    // Classical versioning: up to four numbers, the first of at most five
    // digits.
    let (major, mut rest) = leading_digits(body);
    if !major.is_empty() && major.len() <= 5 {
        let mut numbers = vec![major];
        while numbers.len() < 4 {
            let Some(after_dot) = rest.strip_prefix('.') else {
                break;
            };
            let (digits, remaining) = leading_digits(after_dot);
            if digits.is_empty() {
                break;
            }
            numbers.push(digits);
            rest = remaining;
        }
        let original_rest = text.get(text.len() - rest.len()..).unwrap_or_default();
        if let Some(suffix) = modifier(rest, original_rest) {
            let mut out = numbers.join(".");
            for _ in numbers.len()..4 {
                out.push_str(".0");
            }
            out.push_str(&suffix);
            return Ok(out);
        }
    }
    if let Some((date, rest)) = date_prefix(body)
        && let Some(suffix) = modifier(
            rest,
            text.get(text.len() - rest.len()..).unwrap_or_default(),
        )
    {
        let mut out: String = date
            .chars()
            .map(|c| if c.is_ascii_digit() { c } else { '.' })
            .collect();
        out.push_str(&suffix);
        return Ok(out);
    }
    // `1.x-dev` style branches.
    if lower.ends_with("dev") {
        let prefix = text.get(..text.len() - 3).unwrap_or_default();
        let prefix = prefix.strip_suffix(['.', '-']).unwrap_or(prefix);
        if let Some(branch) = normalize_branch(prefix) {
            return Ok(branch);
        }
    }
    Err(invalid(version))
}

/// PHP's `version_compare` canonical form, split into parts.
fn php_parts(version: &str) -> Vec<&str> {
    // Cut at non-alphanumerics and at digit/non-digit transitions.
    let bytes = version.as_bytes();
    let mut parts = Vec::new();
    let mut start = 0;
    for index in 0..=bytes.len() {
        let boundary = match (bytes.get(index.wrapping_sub(1)), bytes.get(index)) {
            (_, None) => true,
            (_, Some(byte)) if !byte.is_ascii_alphanumeric() => true,
            (Some(previous), Some(byte)) => {
                previous.is_ascii_alphanumeric()
                    && previous.is_ascii_digit() != byte.is_ascii_digit()
            }
            (None, Some(_)) => false,
        };
        if boundary {
            if let Some(part) = version.get(start..index)
                && !part.is_empty()
            {
                parts.push(part);
            }
            start = if bytes
                .get(index)
                .is_some_and(|byte| !byte.is_ascii_alphanumeric())
            {
                index + 1
            } else {
                index
            };
        }
    }
    parts
}

/// The stability rank of a word; a number ranks 4.
fn special_form(word: &str) -> i32 {
    const FORMS: [(&str, i32); 10] = [
        ("dev", 0),
        ("alpha", 1),
        ("a", 1),
        ("beta", 2),
        ("b", 2),
        ("RC", 3),
        ("rc", 3),
        ("#", 4),
        ("pl", 5),
        ("p", 5),
    ];
    FORMS
        .iter()
        .find(|(name, _)| word.starts_with(name))
        .map_or(-1, |(_, rank)| *rank)
}

fn is_number(part: &str) -> bool {
    part.bytes()
        .next()
        .is_some_and(|byte| byte.is_ascii_digit())
}

/// PHP's `version_compare` on two (normalised) version strings.
pub fn php_version_compare(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        (false, false) => {}
    }
    let (parts_a, parts_b) = (php_parts(a), php_parts(b));
    for (x, y) in parts_a.iter().zip(&parts_b) {
        let order = match (is_number(x), is_number(y)) {
            (true, true) => number::compare(x, y),
            (false, false) => special_form(x).cmp(&special_form(y)),
            (true, false) => 4.cmp(&special_form(y)),
            (false, true) => special_form(x).cmp(&4),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    let common = parts_a.len().min(parts_b.len());
    if let Some(extra) = parts_a.get(common) {
        return if is_number(extra) {
            Ordering::Greater
        } else {
            special_form(extra).cmp(&4)
        };
    }
    if let Some(extra) = parts_b.get(common) {
        return if is_number(extra) {
            Ordering::Less
        } else {
            4.cmp(&special_form(extra))
        };
    }
    Ordering::Equal
}

/// Compares two Composer versions after normalising them.
pub fn compare(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let (a, b) = (normalize(a)?, normalize(b)?);
    let (a_branch, b_branch) = (a.starts_with("dev-"), b.starts_with("dev-"));
    if a_branch && b_branch {
        return Ok(a.cmp(&b));
    }
    Ok(php_version_compare(&a, &b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_composer() {
        // Expected values checked with Composer 2.5 (`VersionParser::normalize`).
        let cases = [
            ("1.0", "1.0.0.0"),
            ("v1.2.3", "1.2.3.0"),
            ("1.0.0-beta2", "1.0.0.0-beta2"),
            ("1.0-b2", "1.0.0.0-beta2"),
            ("1.0-RC1", "1.0.0.0-RC1"),
            ("1.0-pl1", "1.0.0.0-patch1"),
            ("1.0.0-dev", "1.0.0.0-dev"),
            ("1.x-dev", "1.9999999.9999999.9999999-dev"),
            ("dev-master", "dev-master"),
            ("20100102", "20100102"),
            ("2010.01.02", "2010.01.02.0"),
            ("2010-01-02-beta", "2010.01.02-beta"),
            ("1.0-STABLE", "1.0.0.0-stable"),
            ("1.0.0+build.5", "1.0.0.0"),
        ];
        for (input, expected) in cases {
            assert_eq!(normalize(input).as_deref(), Ok(expected), "{input}");
        }
        assert!(normalize("foo").is_err());
    }

    #[test]
    fn stability_order() {
        let order = [
            "dev-master",
            "1.0-dev",
            "1.0-alpha1",
            "1.0-beta1",
            "1.0-RC1",
            "1.0",
            "1.0-p1",
            "1.0.1",
        ];
        for pair in order.windows(2) {
            assert_eq!(compare(pair[0], pair[1]), Ok(Ordering::Less), "{pair:?}");
        }
    }
}

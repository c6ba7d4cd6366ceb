//! Ruby: installed gems (`**/specifications/*.gemspec`, the specifications
//! RubyGems writes when it installs a gem, and Debian's
//! `rubygems-integration` directories) and Bundler lock files
//! (`**/Gemfile.lock`, `**/gems.locked`, reported as declared).
//!
//! ## Installed specifications
//! RubyGems writes them with `Gem::Specification#to_ruby`: a fixed shape of
//! `<var>.<attribute> = <literal>` lines inside
//! `Gem::Specification.new do |<var>|`. This is not a Ruby interpreter: it
//! reads those assignments whose value is a string literal (`"…"`, `'…'`,
//! `%q<…>` and friends, optionally `.freeze`) or an array of them, and
//! ignores every other line. Read: `name`, `version`, `platform` (purl
//! qualifier `platform` unless `ruby`), `licenses`/`license`, `authors`
//! (the maintainer, joined with `, `). A file without both a literal
//! `name` and `version` is a problem.
//!
//! ## Gemfile.lock
//! Sections start in column 0. In `GEM`, `GIT` and `PATH` sections, the
//! lines under `specs:` indented by exactly four spaces are
//! `name (version)` or `name (version-platform)` (the version ends at the
//! first `-`, as Bundler splits it); six-space lines are their
//! dependencies and are skipped. Every other section (`PLATFORMS`,
//! `DEPENDENCIES`, `BUNDLED WITH`, …) is skipped. Gems from all three
//! source kinds are reported (a `PATH` gem is usually the project itself,
//! but it is in the bundle), purl `pkg:gem/<name>@<version>` with
//! `platform` when given.
use drydock_core::{Location, Package, PackageKind, Purl};

use crate::{Cataloger, Claims, Context, FileRef, Files, Found};

pub(crate) struct RubyCataloger;

const ID: &str = "ruby";

impl Cataloger for RubyCataloger {
    fn id(&self) -> &'static str {
        ID
    }
    fn version(&self) -> u32 {
        1
    }
    fn claims(&self) -> Claims {
        Claims {
            paths: vec![],
            globs: vec![
                "**/specifications/*.gemspec",
                "**/Gemfile.lock",
                "**/gems.locked",
            ],
            max_bytes: 16 << 20,
            executables: false,
        }
    }
    fn catalog(&self, files: &Files<'_>, _context: &Context) -> Found {
        let mut found = Found::default();
        for file in files.iter() {
            let name = file.path.file_name();
            if name.ends_with(b".gemspec") {
                catalog_gemspec(file, &mut found);
            } else {
                catalog_lock(file, &mut found);
            }
        }
        found
    }
}

/// What an installed specification says.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Gemspec {
    pub(crate) name: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) platform: Option<String>,
    pub(crate) licenses: Vec<String>,
    pub(crate) authors: Vec<String>,
}

fn catalog_gemspec(file: &FileRef<'_>, found: &mut Found) {
    let spec = parse_gemspec(file.bytes);
    let (Some(name), Some(version)) = (spec.name, spec.version) else {
        found.problem(
            ID,
            file,
            "no string `name` and `version` assignments in the specification",
        );
        return;
    };
    let platform = spec.platform.filter(|p| p != "ruby");
    let mut package = package(&name, &version, platform.as_deref(), file, true);
    package.licenses = spec.licenses;
    if !spec.authors.is_empty() {
        package.maintainer = Some(spec.authors.join(", "));
    }
    found.packages.push(package);
}

fn package(
    name: &str,
    version: &str,
    platform: Option<&str>,
    file: &FileRef<'_>,
    installed: bool,
) -> Package {
    Package {
        name: name.to_owned(),
        version: version.to_owned(),
        kind: PackageKind::Gem,
        purl: Purl::new("gem", name)
            .with_version(version)
            .with_qualifier("platform", platform.unwrap_or_default()),
        arch: None,
        source: None,
        licenses: Vec::new(),
        maintainer: None,
        installed_size: None,
        checksum: None,
        installed,
        locations: vec![Location {
            path: file.path.clone(),
            layer: file.layer.clone(),
        }],
        layer: None,
        files: Vec::new(),
    }
}

/// The attributes of a RubyGems-written specification.
pub(crate) fn parse_gemspec(bytes: &[u8]) -> Gemspec {
    let text = String::from_utf8_lossy(bytes);
    let mut variable: Option<String> = None;
    let mut spec = Gemspec::default();
    for line in text.lines() {
        let line = line.trim();
        if variable.is_none() {
            if let Some(rest) = line.strip_prefix("Gem::Specification.new")
                && let Some(open) = rest.find('|')
                && let Some(rest) = rest.get(open + 1..)
                && let Some((name, _)) = rest.split_once('|')
            {
                variable = Some(name.trim().to_owned());
            }
            continue;
        }
        let Some(var) = variable.as_deref() else {
            continue;
        };
        let Some(rest) = line.strip_prefix(var).and_then(|r| r.strip_prefix('.')) else {
            continue;
        };
        let Some((attribute, value)) = rest.split_once('=') else {
            continue;
        };
        let attribute = attribute.trim();
        if attribute.is_empty()
            || !attribute
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            continue;
        }
        let value = value.trim_start();
        match attribute {
            "name" => spec.name = spec.name.take().or_else(|| string_value(value)),
            "version" => spec.version = spec.version.take().or_else(|| string_value(value)),
            "platform" => spec.platform = spec.platform.take().or_else(|| string_value(value)),
            "licenses" => spec.licenses = array_value(value).unwrap_or_default(),
            "license" => spec.licenses = string_value(value).into_iter().collect(),
            "authors" => spec.authors = array_value(value).unwrap_or_default(),
            _ => {}
        }
    }
    spec
}

/// A string literal at the start of `text` (with an optional `.freeze`,
/// or wrapped in `Gem::Version.new(…)`), then nothing but an optional
/// trailing `if …` modifier or comment.
fn string_value(text: &str) -> Option<String> {
    let text = text
        .strip_prefix("Gem::Version.new(")
        .or_else(|| text.strip_prefix("Gem::Platform.new("))
        .unwrap_or(text);
    let (value, _) = string_literal(text)?;
    Some(value)
}

/// `[lit, lit, …]`.
fn array_value(text: &str) -> Option<Vec<String>> {
    let mut rest = text.strip_prefix('[')?.trim_start();
    let mut values = Vec::new();
    loop {
        if let Some(after) = rest.strip_prefix(']') {
            let _ = after;
            return Some(values);
        }
        let (value, after) = string_literal(rest)?;
        values.push(value);
        rest = after.trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
}

/// One literal and what follows it (`.freeze` consumed).
fn string_literal(text: &str) -> Option<(String, &str)> {
    let mut chars = text.char_indices();
    let (_, first) = chars.next()?;
    let (value, end) = match first {
        '"' | '\'' => quoted(text, 1, first, first == '"')?,
        '%' => {
            let mut offset = 1;
            let kind = text.get(1..2)?;
            let interpolating = match kind {
                "q" => {
                    offset = 2;
                    false
                }
                "Q" => {
                    offset = 2;
                    true
                }
                _ => true,
            };
            let open = text.get(offset..)?.chars().next()?;
            let close = match open {
                '<' => '>',
                '{' => '}',
                '(' => ')',
                '[' => ']',
                other if other.is_ascii_punctuation() => other,
                _ => return None,
            };
            quoted(text, offset + open.len_utf8(), close, interpolating)?
        }
        _ => return None,
    };
    let rest = text.get(end..)?;
    let rest = rest.strip_prefix(".freeze").unwrap_or(rest);
    Some((value, rest))
}

/// The literal from byte `start` up to the unescaped `close`; returns the
/// value and the byte index after `close`. Interpolation (`#{`) is not
/// evaluated: such a value is refused.
fn quoted(text: &str, start: usize, close: char, double: bool) -> Option<(String, usize)> {
    let body = text.get(start..)?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((index, c)) = chars.next() {
        if c == close {
            return Some((out, start + index + c.len_utf8()));
        }
        if c == '\\' {
            let (_, escaped) = chars.next()?;
            match escaped {
                'n' if double => out.push('\n'),
                't' if double => out.push('\t'),
                other if double || other == close || other == '\\' => out.push(other),
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
            continue;
        }
        if double && c == '#' && body.get(index + 1..).is_some_and(|r| r.starts_with('{')) {
            return None;
        }
        out.push(c);
    }
    None
}

/// One gem from a lock file.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct LockedGem {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) platform: Option<String>,
}

fn catalog_lock(file: &FileRef<'_>, found: &mut Found) {
    let Ok(text) = std::str::from_utf8(file.bytes) else {
        found.problem(ID, file, "lock file is not UTF-8");
        return;
    };
    let (gems, problems) = parse_lock(text);
    for problem in problems {
        found.problem(ID, file, problem);
    }
    for gem in gems {
        found.packages.push(package(
            &gem.name,
            &gem.version,
            gem.platform.as_deref(),
            file,
            false,
        ));
    }
}

/// The gems of a `Gemfile.lock`, and problems with line numbers.
pub(crate) fn parse_lock(text: &str) -> (Vec<LockedGem>, Vec<String>) {
    let mut gems = Vec::new();
    let mut problems = Vec::new();
    let mut in_source = false;
    let mut in_specs = false;
    for (index, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            in_source = matches!(line, "GEM" | "GIT" | "PATH");
            in_specs = false;
            continue;
        }
        if !in_source {
            continue;
        }
        let indent = line.len() - line.trim_start_matches(' ').len();
        match indent {
            2 => in_specs = line.trim() == "specs:",
            4 if in_specs => match parse_spec_line(line.trim()) {
                Some(gem) => gems.push(gem),
                None => problems.push(format!(
                    "line {}: `{}` is not `name (version)`",
                    index + 1,
                    line.trim()
                )),
            },
            _ => {}
        }
    }
    (gems, problems)
}

fn parse_spec_line(line: &str) -> Option<LockedGem> {
    let (name, rest) = line.split_once(" (")?;
    let inner = rest.strip_suffix(')')?;
    let (version, platform) = match inner.split_once('-') {
        Some((version, platform)) => (version, Some(platform.to_owned())),
        None => (inner, None),
    };
    if name.is_empty() || version.is_empty() || name.contains(' ') {
        return None;
    }
    Some(LockedGem {
        name: name.to_owned(),
        version: version.to_owned(),
        platform,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        assert_eq!(string_value("\"rack\".freeze"), Some("rack".to_owned()));
        assert_eq!(string_value("%q<rack>.freeze"), Some("rack".to_owned()));
        assert_eq!(string_value("'it''s'"), Some("it".to_owned()));
        assert_eq!(string_value("\"a\\\"b\""), Some("a\"b".to_owned()));
        assert_eq!(string_value("\"#{x}\""), None);
        assert_eq!(string_value("Foo::VERSION"), None);
        assert_eq!(string_value("\"unterminated"), None);
        assert_eq!(
            array_value("[\"A B\".freeze, \"C\".freeze]"),
            Some(vec!["A B".to_owned(), "C".to_owned()])
        );
        assert_eq!(array_value("[]"), Some(vec![]));
    }

    #[test]
    fn spec_lines_split_version_and_platform_like_bundler() {
        assert_eq!(
            parse_spec_line("nokogiri (1.13.10-x86_64-linux)"),
            Some(LockedGem {
                name: "nokogiri".to_owned(),
                version: "1.13.10".to_owned(),
                platform: Some("x86_64-linux".to_owned())
            })
        );
        assert_eq!(parse_spec_line("rack"), None);
    }
}

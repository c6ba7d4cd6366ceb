//! Python lock and requirement files: what a project declares, not what is
//! installed.
//!
//! | file | format | read |
//! |---|---|---|
//! | `requirements*.txt` | pip's requirements format | every requirement: pinned (`name==version` or `===`) at its version, others (`>=`, `~=`, several clauses, a wildcard `==1.*`, none) with their specifier and no version; extras, environment markers and `--hash` options tolerated; `\` continuations joined before comments are stripped (pip's order); `-r`/`-c` includes followed by the cataloger; `-e`, other options, URLs and paths skipped |
//! | `poetry.lock` | TOML, `[[package]]` `name`/`version` | every package |
//! | `uv.lock` | TOML, `[[package]]` `name`/`version`/`source` | every package but the project's own (`source` `editable`/`virtual`, or no version) |
//! | `pdm.lock` | TOML, `[[package]]` `name`/`version` | every package |
//! | `pylock.toml`, `pylock.*.toml` (PEP 751) | TOML, `[[packages]]` `name`/`version` | every package with a version |
//! | `Pipfile.lock` | JSON, `default` and `develop` maps of name → `{version: "==x"}` | every entry with a `==` version |
use serde::Deserialize;

/// One declared package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Declared {
    pub(crate) name: String,
    /// The exact version, or (`exact` false) the specifier as declared
    /// (`>=2.8.1`, `~=1.4`, empty for none).
    pub(crate) version: String,
    pub(crate) exact: bool,
}

/// A lock file that could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LockError(pub(crate) String);

/// The lock formats, by file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockKind {
    Requirements,
    Poetry,
    Uv,
    Pdm,
    Pylock,
    Pipfile,
}

impl LockKind {
    pub(crate) fn of(file_name: &[u8]) -> Option<LockKind> {
        let name = std::str::from_utf8(file_name).ok()?;
        Some(match name {
            "poetry.lock" => LockKind::Poetry,
            "uv.lock" => LockKind::Uv,
            "pdm.lock" => LockKind::Pdm,
            "Pipfile.lock" => LockKind::Pipfile,
            "pylock.toml" => LockKind::Pylock,
            _ if name.starts_with("pylock.") && name.strip_suffix(".toml").is_some() => {
                LockKind::Pylock
            }
            _ if name.starts_with("requirements") && name.strip_suffix(".txt").is_some() => {
                LockKind::Requirements
            }
            _ => return None,
        })
    }
}

/// Parse a lock file of the given kind.
pub(crate) fn parse(kind: LockKind, bytes: &[u8]) -> Result<Vec<Declared>, LockError> {
    match kind {
        LockKind::Requirements => Ok(parse_requirements(bytes).declared),
        LockKind::Poetry | LockKind::Pdm => parse_toml_packages(bytes, false),
        LockKind::Uv => parse_toml_packages(bytes, true),
        LockKind::Pylock => parse_pylock(bytes),
        LockKind::Pipfile => parse_pipfile_lock(bytes),
    }
}

/// What one requirements file says: its requirements and the files it
/// includes (`-r`) or takes constraints from (`-c`).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Requirements {
    pub(crate) declared: Vec<Declared>,
    pub(crate) includes: Vec<Include>,
}

/// A `-r FILE` / `--requirement FILE` or `-c FILE` / `--constraint FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Include {
    pub(crate) path: String,
    pub(crate) constraint: bool,
}

/// The logical lines of a requirements file, in pip's documented order:
/// first a line ending in `\` is joined with the next, then comments (`#`
/// at the start of the line or after whitespace) are stripped. So a `\`
/// after a comment continues the comment: the next line is part of it. A
/// line that is only a comment never continues (pip treats it as a
/// comment, whatever it ends with) and ends a continuation.
fn logical_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending: Option<String> = None;
    for raw in text.lines() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let whole_comment = raw.trim_start().starts_with('#');
        if let Some(joined) = raw.strip_suffix('\\').filter(|_| !whole_comment) {
            pending.get_or_insert_with(String::new).push_str(joined);
            continue;
        }
        let mut line = pending.take().unwrap_or_default();
        if !whole_comment {
            line.push_str(raw);
        }
        out.push(strip_comment(&line).to_owned());
    }
    if let Some(line) = pending {
        out.push(strip_comment(&line).to_owned());
    }
    out
}

/// `-r FILE`, `-rFILE`, `--requirement FILE`, `--requirement=FILE` (and
/// the same for `-c`/`--constraint`).
fn include(line: &str) -> Option<Include> {
    let line = line.trim();
    for (short, long, constraint) in [("-r", "--requirement", false), ("-c", "--constraint", true)]
    {
        let rest = line
            .strip_prefix(long)
            .filter(|rest| rest.starts_with([' ', '\t', '=']))
            .or_else(|| line.strip_prefix(short));
        let Some(rest) = rest else {
            continue;
        };
        let path = rest.trim_start_matches(['=', ' ', '\t']).trim();
        if path.is_empty() {
            return None;
        }
        return Some(Include {
            path: path.to_owned(),
            constraint,
        });
    }
    None
}

/// The requirements and includes of a requirements file. Requirements with
/// an exact pin (`==`/`===`) are declared at that version; others (`>=2`,
/// `~=1.4`, `==1.*`, several clauses, or none) are declared with their
/// specifier as written and no version.
pub(crate) fn parse_requirements(bytes: &[u8]) -> Requirements {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Requirements::default();
    for line in logical_lines(&text) {
        if let Some(include) = include(&line) {
            out.includes.push(include);
        } else if let Some(requirement) = requirement(&line) {
            out.declared.push(requirement);
        }
    }
    out
}

/// A line without its comment: `#` at the start or after whitespace.
fn strip_comment(line: &str) -> &str {
    let mut previous_space = true;
    for (index, c) in line.char_indices() {
        if c == '#' && previous_space {
            return line.get(..index).unwrap_or_default();
        }
        previous_space = c.is_whitespace();
    }
    line
}

/// `name[extras] <specifier> ; marker --hash=…` → the requirement: at its
/// version when pinned to exactly one, else with its specifier.
fn requirement(line: &str) -> Option<Declared> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('-') {
        return None;
    }
    // Options after the requirement (`--hash=…`, `--global-option`).
    let line = match line.find(" -") {
        Some(index) => line.get(..index).unwrap_or_default(),
        None => line,
    };
    // Environment markers.
    let requirement = line.split(';').next().unwrap_or_default().trim();
    let name_end = requirement
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .unwrap_or(requirement.len());
    let name = requirement.get(..name_end).unwrap_or_default();
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return None;
    }
    let mut rest = requirement.get(name_end..).unwrap_or_default().trim_start();
    if let Some(after) = rest.strip_prefix('[') {
        let close = after.find(']')?;
        rest = after.get(close + 1..).unwrap_or_default().trim_start();
    }
    // `name @ https://…` (a direct URL) and paths name no registry version.
    if rest.starts_with('@') || rest.contains("://") {
        return None;
    }
    // `name (==1.0)` is an old but valid spelling.
    let rest = rest
        .strip_prefix('(')
        .and_then(|r| r.trim_end().strip_suffix(')'))
        .unwrap_or(rest)
        .trim();
    let specifier_chars = |c: char| {
        c.is_ascii_alphanumeric()
            || c.is_whitespace()
            || matches!(
                c,
                '.' | '_' | '-' | '+' | '!' | '*' | '=' | '<' | '>' | '~' | ','
            )
    };
    if !rest.chars().all(specifier_chars) {
        return None;
    }
    let exact = (!rest.contains(','))
        .then(|| {
            rest.strip_prefix("===")
                .or_else(|| rest.strip_prefix("=="))
                .map(str::trim)
        })
        .flatten()
        .filter(|version| {
            !version.is_empty()
                && version
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '!'))
        });
    Some(match exact {
        Some(version) => Declared {
            name: name.to_owned(),
            version: version.to_owned(),
            exact: true,
        },
        None => Declared {
            name: name.to_owned(),
            version: rest.split_whitespace().collect::<Vec<_>>().join(""),
            exact: false,
        },
    })
}

#[derive(Deserialize)]
struct TomlLock {
    #[serde(default)]
    package: Vec<TomlPackage>,
}

#[derive(Deserialize)]
struct Pylock {
    #[serde(default)]
    packages: Vec<TomlPackage>,
}

#[derive(Deserialize)]
struct TomlPackage {
    name: Option<String>,
    version: Option<String>,
    source: Option<toml::Value>,
}

fn toml_error(error: &toml::de::Error) -> LockError {
    LockError(format!("not a valid TOML lock file: {}", error.message()))
}

/// `[[package]]` tables (poetry, uv, pdm). With `skip_local`, packages whose
/// `source` is the project itself (`editable`, `virtual`) are left out.
fn parse_toml_packages(bytes: &[u8], skip_local: bool) -> Result<Vec<Declared>, LockError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| LockError("not valid UTF-8, as TOML must be".to_owned()))?;
    check_nesting(text)?;
    let lock: TomlLock = toml::from_str(text).map_err(|e| toml_error(&e))?;
    Ok(lock
        .package
        .into_iter()
        .filter(|p| {
            !(skip_local
                && p.source
                    .as_ref()
                    .and_then(toml::Value::as_table)
                    .is_some_and(|source| {
                        source.contains_key("editable") || source.contains_key("virtual")
                    }))
        })
        .filter_map(declared)
        .collect())
}

fn parse_pylock(bytes: &[u8]) -> Result<Vec<Declared>, LockError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| LockError("not valid UTF-8, as TOML must be".to_owned()))?;
    check_nesting(text)?;
    let lock: Pylock = toml::from_str(text).map_err(|e| toml_error(&e))?;
    Ok(lock.packages.into_iter().filter_map(declared).collect())
}

fn declared(package: TomlPackage) -> Option<Declared> {
    let name = package.name.filter(|n| !n.is_empty())?;
    let version = package.version.filter(|v| !v.is_empty())?;
    Some(Declared {
        name,
        version,
        exact: true,
    })
}

/// Lock files are flat; refuse deeply nested arrays and inline tables before
/// handing them to a recursive parser.
fn check_nesting(text: &str) -> Result<(), LockError> {
    const MAX_DEPTH: usize = 64;
    let mut depth: usize = 0;
    let mut max: usize = 0;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in text.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && q == '"' {
                escaped = true;
            } else if c == q || c == '\n' {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '[' | '{' => {
                depth = depth.saturating_add(1);
                max = max.max(depth);
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        if max > MAX_DEPTH {
            return Err(LockError(format!(
                "nested more than {MAX_DEPTH} levels deep"
            )));
        }
    }
    Ok(())
}

/// `Pipfile.lock`: `default` and `develop` sections.
fn parse_pipfile_lock(bytes: &[u8]) -> Result<Vec<Declared>, LockError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| LockError(format!("not valid JSON: {e}")))?;
    let Some(object) = value.as_object() else {
        return Err(LockError("not a JSON object".to_owned()));
    };
    let mut out = Vec::new();
    for section in ["default", "develop"] {
        let Some(entries) = object.get(section).and_then(serde_json::Value::as_object) else {
            continue;
        };
        for (name, entry) in entries {
            let Some(version) = entry.get("version").and_then(serde_json::Value::as_str) else {
                // Path, VCS and editable entries carry no version.
                continue;
            };
            let version = version
                .strip_prefix("===")
                .or_else(|| version.strip_prefix("=="))
                .unwrap_or(version)
                .trim();
            if name.is_empty() || version.is_empty() || version.contains(['*', '<', '>', ',']) {
                continue;
            }
            out.push(Declared {
                name: name.clone(),
                version: version.to_owned(),
                exact: true,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (name, version or specifier, exact) of every requirement.
    fn requirements(text: &str) -> Vec<(String, String, bool)> {
        parse_requirements(text.as_bytes())
            .declared
            .into_iter()
            .map(|d| (d.name, d.version, d.exact))
            .collect()
    }

    fn exact(name: &str, version: &str) -> (String, String, bool) {
        (name.to_owned(), version.to_owned(), true)
    }

    fn declared(name: &str, specifier: &str) -> (String, String, bool) {
        (name.to_owned(), specifier.to_owned(), false)
    }

    #[test]
    fn requirements_pinned_and_unpinned() {
        let text = "# comment\n-r base.txt\n--index-url https://example.org/simple\nDjango==2.2.0  # pinned\nrequests[security,socks] == 2.25.0 ; python_version >= \"3\"\nflask>=1.0\nnumpy==1.*\nsix==1.15.0 \\\n    --hash=sha256:abc \\\n    --hash=sha256:def\nurllib3===1.26.4\nfoo @ https://example.org/foo.whl\n-e git+https://example.org/x#egg=x\nbar>=1, ==1.2\nold (==0.1)\npytest\n./local/pkg\n";
        assert_eq!(
            requirements(text),
            vec![
                exact("Django", "2.2.0"),
                exact("requests", "2.25.0"),
                declared("flask", ">=1.0"),
                declared("numpy", "==1.*"),
                exact("six", "1.15.0"),
                exact("urllib3", "1.26.4"),
                declared("bar", ">=1,==1.2"),
                exact("old", "0.1"),
                declared("pytest", ""),
            ]
        );
    }

    /// pip joins continuation lines first and strips comments after: a `\`
    /// at the end of a comment continues the comment over the next line.
    #[test]
    fn continuation_after_a_comment_continues_the_comment() {
        let text = "a==1.0 # note \\\nb==2.0\nc==3.0 \\\n# whole-line comment \\\nd==4.0\n";
        assert_eq!(
            requirements(text),
            vec![exact("a", "1.0"), exact("c", "3.0"), exact("d", "4.0")]
        );
    }

    #[test]
    fn includes_and_constraints() {
        let parsed =
            parse_requirements(b"-r base.txt\n--requirement=dev/more.txt\n-c constraints.txt\n--constraint c2.txt\n-rinline.txt\nx==1\n");
        let includes: Vec<(&str, bool)> = parsed
            .includes
            .iter()
            .map(|include| (include.path.as_str(), include.constraint))
            .collect();
        assert_eq!(
            includes,
            [
                ("base.txt", false),
                ("dev/more.txt", false),
                ("constraints.txt", true),
                ("c2.txt", true),
                ("inline.txt", false)
            ]
        );
        assert_eq!(parsed.declared.len(), 1);
    }

    #[test]
    fn kinds_by_file_name() {
        assert_eq!(
            LockKind::of(b"requirements-dev.txt"),
            Some(LockKind::Requirements)
        );
        assert_eq!(LockKind::of(b"pylock.prod.toml"), Some(LockKind::Pylock));
        assert_eq!(LockKind::of(b"Pipfile"), None);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("a = {}{}", "[".repeat(1000), "]".repeat(1000));
        assert!(parse(LockKind::Poetry, text.as_bytes()).is_err());
    }
}

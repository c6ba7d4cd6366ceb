//! Python lock and requirement files: what a project declares, not what is
//! installed.
//!
//! | file | format | read |
//! |---|---|---|
//! | `requirements*.txt` | pip's requirements format | exact pins only: `name==version` (or `===`), extras, environment markers, `--hash` options, comments and `\` continuations tolerated; option lines (`-r`, `-c`, `-e`, `--index-url`, …), URLs and paths skipped; a requirement with any other specifier (`>=`, `~=`, several clauses, a wildcard `==1.*`) names no single version and is not reported |
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
    pub(crate) version: String,
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
        LockKind::Requirements => Ok(parse_requirements(bytes)),
        LockKind::Poetry | LockKind::Pdm => parse_toml_packages(bytes, false),
        LockKind::Uv => parse_toml_packages(bytes, true),
        LockKind::Pylock => parse_pylock(bytes),
        LockKind::Pipfile => parse_pipfile_lock(bytes),
    }
}

/// The exact pins of a requirements file.
pub(crate) fn parse_requirements(bytes: &[u8]) -> Vec<Declared> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    let mut logical = String::new();
    for raw in text.lines() {
        let line = strip_comment(raw);
        // A trailing backslash joins the next physical line.
        if let Some(joined) = line.trim_end().strip_suffix('\\') {
            logical.push_str(joined);
            logical.push(' ');
            continue;
        }
        logical.push_str(line);
        if let Some(pin) = requirement_pin(&logical) {
            out.push(pin);
        }
        logical.clear();
    }
    if let Some(pin) = requirement_pin(&logical) {
        out.push(pin);
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

/// `name[extras] == version ; marker --hash=…` → the pin, if the line is a
/// requirement pinned to exactly one version.
fn requirement_pin(line: &str) -> Option<Declared> {
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
    // `name (==1.0)` is an old but valid spelling.
    let rest = rest
        .strip_prefix('(')
        .and_then(|r| r.trim_end().strip_suffix(')'))
        .unwrap_or(rest)
        .trim();
    if rest.contains(',') {
        return None;
    }
    let version = rest
        .strip_prefix("===")
        .or_else(|| rest.strip_prefix("=="))?
        .trim();
    let valid = !version.is_empty()
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '!'));
    valid.then(|| Declared {
        name: name.to_owned(),
        version: version.to_owned(),
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
    Some(Declared { name, version })
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
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pins(text: &str) -> Vec<(String, String)> {
        parse_requirements(text.as_bytes())
            .into_iter()
            .map(|d| (d.name, d.version))
            .collect()
    }

    #[test]
    fn requirements_keep_exact_pins_only() {
        let text = "# comment\n-r base.txt\n--index-url https://example.org/simple\nDjango==2.2.0  # pinned\nrequests[security,socks] == 2.25.0 ; python_version >= \"3\"\nflask>=1.0\nnumpy==1.*\nsix==1.15.0 \\\n    --hash=sha256:abc \\\n    --hash=sha256:def\nurllib3===1.26.4\nfoo @ https://example.org/foo.whl\n-e git+https://example.org/x#egg=x\nbar>=1,==1.2\nold (==0.1)\n";
        assert_eq!(
            pins(text),
            vec![
                ("Django".to_owned(), "2.2.0".to_owned()),
                ("requests".to_owned(), "2.25.0".to_owned()),
                ("six".to_owned(), "1.15.0".to_owned()),
                ("urllib3".to_owned(), "1.26.4".to_owned()),
                ("old".to_owned(), "0.1".to_owned()),
            ]
        );
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

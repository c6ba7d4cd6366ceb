//! The subset of YAML that `pnpm-lock.yaml` and yarn Berry's `yarn.lock`
//! are written in: block mappings by indentation, one `key: value` or
//! `key:` per line, keys and scalar values plain, single- or double-quoted.
//! This reader yields those mapping lines with their indentation and skips
//! everything else (comments, sequence items, the bodies of block scalars
//! `|`/`>`, continuation lines of multi-line flow collections), which
//! neither lock format uses for the fields drydock reads. It never fails:
//! a line it cannot read is skipped, and the catalogers report entries
//! whose fields are missing.

/// One `key: value` (or `key:`) line of a block mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub(crate) indent: usize,
    pub(crate) key: String,
    /// `None` for `key:` opening a nested block; flow collections
    /// (`{…}`, `[…]`) are kept as their raw text.
    pub(crate) value: Option<String>,
    pub(crate) number: usize,
}

/// The mapping lines of a document, in order.
pub(crate) fn mapping_lines(text: &str) -> Vec<Line> {
    let mut out = Vec::new();
    // Inside a block scalar: lines indented deeper than this are its text.
    let mut block_scalar_indent: Option<usize> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        let content = line.trim_start_matches(' ');
        let indent = line.len().saturating_sub(content.len());
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if let Some(scalar) = block_scalar_indent {
            if indent > scalar {
                continue;
            }
            block_scalar_indent = None;
        }
        if content.starts_with("- ") || content == "-" || content.starts_with("---") {
            continue;
        }
        let Some((key, rest)) = split_key(content) else {
            continue;
        };
        let rest = strip_comment(rest.trim());
        let value = if rest.is_empty() {
            None
        } else if rest.starts_with('|') || rest.starts_with('>') {
            block_scalar_indent = Some(indent);
            Some(String::new())
        } else {
            Some(unquote(rest))
        };
        out.push(Line {
            indent,
            key,
            value,
            number: index + 1,
        });
    }
    out
}

/// The key of a mapping line and the text after its `:`.
fn split_key(content: &str) -> Option<(String, &str)> {
    let first = content.chars().next()?;
    if first == '"' || first == '\'' {
        let (key, length) = quoted(content)?;
        let rest = content.get(length..)?.trim_start();
        let rest = rest.strip_prefix(':')?;
        if !(rest.is_empty() || rest.starts_with(' ')) {
            return None;
        }
        return Some((key, rest));
    }
    if matches!(first, '{' | '[' | '&' | '*' | '!' | '|' | '>' | '?') {
        return None;
    }
    // A plain key ends at the first `: ` or at a final `:`.
    let bytes = content.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        if bytes.get(index) == Some(&b':') && matches!(bytes.get(index + 1), None | Some(b' ')) {
            let key = content.get(..index)?.trim_end().to_owned();
            return Some((key, content.get(index + 1..).unwrap_or_default()));
        }
        index += 1;
    }
    None
}

/// A quoted scalar at the start of `text`: its value and the bytes it spans.
fn quoted(text: &str) -> Option<(String, usize)> {
    let mut chars = text.char_indices();
    let (_, quote) = chars.next()?;
    let mut out = String::new();
    let mut escaped = false;
    while let Some((index, c)) = chars.next() {
        if quote == '"' {
            if escaped {
                out.push(match c {
                    'n' => '\n',
                    't' => '\t',
                    other => other,
                });
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                return Some((out, index + 1));
            } else {
                out.push(c);
            }
        } else if c == '\'' {
            // `''` is an escaped single quote.
            if text.get(index + 1..).is_some_and(|r| r.starts_with('\'')) {
                out.push('\'');
                chars.next();
            } else {
                return Some((out, index + 1));
            }
        } else {
            out.push(c);
        }
    }
    None
}

/// A scalar value without its quotes (a value that does not close its quote
/// is kept as written).
fn unquote(value: &str) -> String {
    if (value.starts_with('"') || value.starts_with('\''))
        && let Some((text, _)) = quoted(value)
    {
        return text;
    }
    value.to_owned()
}

/// A plain value without a trailing ` # comment`.
fn strip_comment(value: &str) -> &str {
    if value.starts_with('"') || value.starts_with('\'') {
        return value;
    }
    match value.find(" #") {
        Some(index) => value.get(..index).unwrap_or(value).trim_end(),
        None => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_keys_values_and_nesting() {
        let text = "lockfileVersion: '9.0'\n\npackages:\n\n  '@babel/core@7.0.0':\n    resolution: {integrity: sha512-abc}\n    engines: {node: '>=6'}\n  \"a@npm:^1, a@npm:^1.1\":\n    version: 1.2.3 # comment\n    description: |\n      key: not a key\n    os:\n      - linux\n";
        let lines = mapping_lines(text);
        let keys: Vec<(usize, &str, Option<&str>)> = lines
            .iter()
            .map(|l| (l.indent, l.key.as_str(), l.value.as_deref()))
            .collect();
        assert_eq!(
            keys,
            vec![
                (0, "lockfileVersion", Some("9.0")),
                (0, "packages", None),
                (2, "@babel/core@7.0.0", None),
                (4, "resolution", Some("{integrity: sha512-abc}")),
                (4, "engines", Some("{node: '>=6'}")),
                (2, "a@npm:^1, a@npm:^1.1", None),
                (4, "version", Some("1.2.3")),
                (4, "description", Some("")),
                (4, "os", None),
            ]
        );
    }
}

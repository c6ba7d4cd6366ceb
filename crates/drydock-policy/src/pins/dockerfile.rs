//! Dockerfiles and Containerfiles: `FROM` (flags such as `--platform`
//! skipped, `ARG` defaults declared before the first `FROM` substituted,
//! earlier stage names and `scratch` ignored) and `COPY --from=IMAGE`.
//! Logical lines follow Docker's rules: the escape character (`\`, or the
//! one an `# escape=` directive names) before a line break continues the
//! instruction, comment lines inside a continuation are dropped, heredoc
//! bodies are skipped.
use std::collections::{HashMap, HashSet};
use std::ops::Range;

use super::substitute::{Escape, Value, substitute};
use super::{FoundReference, Lines, PinFileKind, PinParseError, Rewrite};

/// An instruction joined from its physical lines; `map[i]` is the file
/// offset of byte `i` of `text`.
struct Logical {
    text: String,
    map: Vec<usize>,
}

impl Logical {
    fn push(&mut self, line: &str, offset: usize) {
        self.text.push_str(line);
        self.map.extend((0..line.len()).map(|i| offset + i));
    }

    /// The file range of logical bytes `range`, when they are contiguous in the file.
    fn file_range(&self, range: &Range<usize>) -> Option<Range<usize>> {
        let start = *self.map.get(range.start)?;
        if range.is_empty() {
            return Some(start..start);
        }
        let last = *self.map.get(range.end - 1)?;
        (last + 1 - start == range.len()).then_some(start..last + 1)
    }

    fn file_offset(&self, at: usize) -> usize {
        self.map
            .get(at)
            .or_else(|| self.map.last())
            .copied()
            .unwrap_or(0)
    }
}

/// Whitespace-separated words, quotes kept (a word runs through quoted parts).
fn words(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = None;
    let mut quote = None;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match quote {
            Some(q) => {
                if c == '\\' && q == '"' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == ' ' || c == '\t' => {
                if let Some(s) = start.take() {
                    out.push(s..i);
                }
            }
            None => {
                if start.is_none() {
                    start = Some(i);
                }
                if c == '"' || c == '\'' {
                    quote = Some(c);
                }
            }
        }
    }
    if let Some(s) = start {
        out.push(s..text.len());
    }
    out
}

/// The leading `# key=value` parser directives: the escape character.
fn escape_directive(text: &str) -> char {
    for line in text.lines() {
        let Some(rest) = line.trim().strip_prefix('#') else {
            break;
        };
        let Some((key, value)) = rest.split_once('=') else {
            break;
        };
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            break;
        }
        if key.eq_ignore_ascii_case("escape") {
            return match value.trim() {
                "`" => '`',
                _ => '\\',
            };
        }
    }
    '\\'
}

/// Heredoc terminators a logical line opens (`<<EOF`, `<<-"EOF"`).
fn heredocs(text: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("<<") {
        rest = rest.get(at + 2..).unwrap_or_default();
        let (strip_tabs, body) = match rest.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, rest),
        };
        let body = body.trim_start_matches(['"', '\'']);
        let word: String = body
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !word.is_empty() && word.chars().next().is_some_and(|c| !c.is_ascii_digit()) {
            out.push((word, strip_tabs));
        }
    }
    out
}

struct Arg {
    value: Value,
    /// The default's file range, when it is written on one line.
    range: Option<Range<usize>>,
}

pub(super) fn references(text: &str) -> Result<Vec<FoundReference>, PinParseError> {
    let lines = Lines::new(text);
    let escape = escape_directive(text);
    let mut found = Vec::new();
    let mut global: HashMap<String, Arg> = HashMap::new();
    let mut stages: HashSet<String> = HashSet::new();
    let mut seen_from = false;
    let mut physical = text.split_inclusive('\n').scan(0usize, |offset, line| {
        let at = *offset;
        *offset += line.len();
        Some((at, line))
    });
    let mut pending_heredocs: Vec<(String, bool)> = Vec::new();
    loop {
        // Heredoc bodies of the previous instruction.
        for (word, strip_tabs) in std::mem::take(&mut pending_heredocs) {
            for (_, line) in physical.by_ref() {
                let line = line.trim_end_matches(['\n', '\r']);
                let line = if strip_tabs {
                    line.trim_start_matches('\t')
                } else {
                    line
                };
                if line == word {
                    break;
                }
            }
        }
        let mut logical = Logical {
            text: String::new(),
            map: Vec::new(),
        };
        let mut started = false;
        let mut ended = true;
        for (offset, line) in physical.by_ref() {
            // A byte-order mark is not part of the first instruction.
            let (offset, line) = match line.strip_prefix('\u{feff}') {
                Some(rest) if offset == 0 => (offset + '\u{feff}'.len_utf8(), rest),
                _ => (offset, line),
            };
            let content = line.trim_end_matches(['\n', '\r']);
            let trimmed = content.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let body = content.trim_end();
            if let Some(joined) = body.strip_suffix(escape) {
                logical.push(joined, offset);
                started = true;
                ended = false;
                continue;
            }
            logical.push(content, offset);
            started = true;
            ended = true;
            break;
        }
        if !started {
            break;
        }
        if !ended && logical.text.trim().is_empty() {
            break;
        }
        let words = words(&logical.text);
        let Some(instruction) = words.first().and_then(|r| logical.text.get(r.clone())) else {
            continue;
        };
        pending_heredocs = heredocs(&logical.text);
        let instruction = instruction.to_ascii_uppercase();
        let word = |r: &Range<usize>| logical.text.get(r.clone()).unwrap_or_default();
        match instruction.as_str() {
            "ARG" if !seen_from => {
                for range in words.iter().skip(1) {
                    let text = word(range);
                    let (name, value) = match text.split_once('=') {
                        Some((name, value)) => (name, Some(value)),
                        None => (text, None),
                    };
                    let arg = match value {
                        None => Arg {
                            value: Value::Empty,
                            range: None,
                        },
                        Some(value) => {
                            let value_start = range.start + name.len() + 1;
                            let (inner, quoted) = unquote(value);
                            let inner_start = value_start + usize::from(quoted);
                            let resolved =
                                substitute(inner, Escape::Char(escape), &|n| lookup(&global, n));
                            Arg {
                                value: resolved.map_or(Value::Empty, Value::Set),
                                range: logical
                                    .file_range(&(inner_start..inner_start + inner.len())),
                            }
                        }
                    };
                    global.insert(name.to_owned(), arg);
                }
            }
            "FROM" => {
                seen_from = true;
                let mut rest = words
                    .iter()
                    .skip(1)
                    .skip_while(|r| word(r).starts_with("--"));
                let Some(image) = rest.next() else {
                    let (line, column) = lines.position(logical.file_offset(0));
                    return Err(PinParseError {
                        line,
                        column,
                        message: "`FROM` without an image".to_owned(),
                    });
                };
                let written = word(image);
                let resolved = substitute(written, Escape::Char(escape), &|n| lookup(&global, n));
                let stage = match (rest.next(), rest.next()) {
                    (Some(keyword), Some(name)) if word(keyword).eq_ignore_ascii_case("as") => {
                        Some(word(name).to_ascii_lowercase())
                    }
                    _ => None,
                };
                let is_stage_or_scratch = resolved.as_ref().is_some_and(|r| {
                    let r = r.to_ascii_lowercase();
                    r == "scratch" || stages.contains(&r)
                });
                if !is_stage_or_scratch {
                    let rewrite = from_rewrite(written, image, &logical, &global);
                    let (line, column) = lines.position(logical.file_offset(image.start));
                    found.push(FoundReference {
                        kind: PinFileKind::Dockerfile,
                        line,
                        column,
                        written: written.to_owned(),
                        reference: resolved,
                        rewrite,
                    });
                }
                if let Some(stage) = stage {
                    stages.insert(stage);
                }
            }
            "COPY" => {
                for range in words.iter().skip(1) {
                    let text = word(range);
                    if !text.starts_with("--") {
                        break;
                    }
                    let Some(value) = text.strip_prefix("--from=") else {
                        continue;
                    };
                    let resolved = substitute(value, Escape::Char(escape), &|n| lookup(&global, n));
                    let skip = resolved.as_ref().is_some_and(|r| {
                        r.bytes().all(|b| b.is_ascii_digit())
                            || stages.contains(&r.to_ascii_lowercase())
                    });
                    if skip {
                        continue;
                    }
                    let start = range.start + "--from=".len();
                    let value_range = start..range.end;
                    let rewrite = match logical.file_range(&value_range) {
                        Some(range) => Rewrite::Whole { range },
                        None => continuation(),
                    };
                    let (line, column) = lines.position(logical.file_offset(start));
                    found.push(FoundReference {
                        kind: PinFileKind::Dockerfile,
                        line,
                        column,
                        written: value.to_owned(),
                        reference: resolved,
                        rewrite,
                    });
                }
            }
            _ => {}
        }
    }
    Ok(found)
}

fn lookup(global: &HashMap<String, Arg>, name: &str) -> Value {
    match global.get(name) {
        Some(arg) => arg.value.clone(),
        None => Value::Unset,
    }
}

fn continuation() -> Rewrite {
    Rewrite::Unfixable {
        reason: "the reference spans a line continuation".to_owned(),
    }
}

/// `"x"` → (`x`, true); anything else as it is.
fn unquote(value: &str) -> (&str, bool) {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            return (inner, true);
        }
    }
    (value, false)
}

/// A `FROM` that is exactly one variable with a default is pinned in the
/// `ARG` default; anything else in place.
fn from_rewrite(
    written: &str,
    image: &Range<usize>,
    logical: &Logical,
    global: &HashMap<String, Arg>,
) -> Rewrite {
    let name = written
        .strip_prefix("${")
        .and_then(|n| n.strip_suffix('}'))
        .or_else(|| written.strip_prefix('$'));
    if let Some(name) = name
        && !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return match global.get(name) {
            Some(Arg {
                range: Some(range), ..
            }) => Rewrite::Whole {
                range: range.clone(),
            },
            _ => Rewrite::Unfixable {
                reason: format!("`{name}` has no default to pin"),
            },
        };
    }
    match logical.file_range(image) {
        Some(range) => Rewrite::Whole { range },
        None => continuation(),
    }
}

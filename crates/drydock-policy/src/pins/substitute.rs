//! Shell-style variable substitution as Dockerfiles (`ARG`) and Compose
//! files use it: `$NAME`, `${NAME}`, `${NAME:-word}`, `${NAME-word}`,
//! `${NAME:+word}`, `${NAME+word}`, `${NAME:?message}`.

/// What a variable holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Value {
    Set(String),
    /// Declared without a value (an `ARG` with no default).
    Empty,
    /// Not declared.
    Unset,
}

/// How `$` is escaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Escape {
    /// `\$` (Dockerfiles; the escape character may be changed).
    Char(char),
    /// `$$` (Compose).
    Dollar,
}

/// `text` with its variables replaced; `None` when a variable that decides
/// the result has no value (the reference cannot be known from the file).
pub(crate) fn substitute(
    text: &str,
    escape: Escape,
    lookup: &dyn Fn(&str) -> Value,
) -> Option<String> {
    expand(text, escape, lookup, 0)
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn expand(
    text: &str,
    escape: Escape,
    lookup: &dyn Fn(&str) -> Value,
    depth: usize,
) -> Option<String> {
    if depth > 8 {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if let Escape::Char(e) = escape
            && c == e
            && chars.peek().is_some_and(|(_, n)| *n == '$')
        {
            chars.next();
            out.push('$');
            continue;
        }
        if c != '$' {
            out.push(c);
            continue;
        }
        match chars.peek().map(|(_, n)| *n) {
            Some('$') if escape == Escape::Dollar => {
                chars.next();
                out.push('$');
            }
            Some('{') => {
                chars.next();
                let body_start = at + 2;
                let mut nesting = 1usize;
                let mut end = None;
                for (i, n) in chars.by_ref() {
                    match n {
                        '{' => nesting += 1,
                        '}' => {
                            nesting -= 1;
                            if nesting == 0 {
                                end = Some(i);
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                let body = text.get(body_start..end?)?;
                out.push_str(&braced(body, escape, lookup, depth)?);
            }
            Some(n) if is_name_char(n) && !n.is_ascii_digit() => {
                let mut name = String::new();
                while let Some((_, n)) = chars.peek() {
                    if !is_name_char(*n) {
                        break;
                    }
                    name.push(*n);
                    chars.next();
                }
                match lookup(&name) {
                    Value::Set(value) => out.push_str(&value),
                    Value::Empty | Value::Unset => return None,
                }
            }
            _ => out.push('$'),
        }
    }
    Some(out)
}

fn braced(
    body: &str,
    escape: Escape,
    lookup: &dyn Fn(&str) -> Value,
    depth: usize,
) -> Option<String> {
    let name_end = body.find(|c: char| !is_name_char(c)).unwrap_or(body.len());
    let name = body.get(..name_end)?;
    if name.is_empty() {
        return None;
    }
    let rest = body.get(name_end..)?;
    let value = lookup(name);
    let word = |w: &str| expand(w, escape, lookup, depth + 1);
    if rest.is_empty() {
        return match value {
            Value::Set(v) => Some(v),
            Value::Empty | Value::Unset => None,
        };
    }
    let (colon, operator, argument) = if let Some(r) = rest.strip_prefix(':') {
        let mut cs = r.chars();
        let op = cs.next()?;
        (true, op, cs.as_str())
    } else {
        let mut cs = rest.chars();
        let op = cs.next()?;
        (false, op, cs.as_str())
    };
    // With `:`, an empty value counts as unset.
    let present = match &value {
        Value::Set(v) => !(colon && v.is_empty()),
        Value::Empty => !colon,
        Value::Unset => false,
    };
    let current = match value {
        Value::Set(v) => v,
        Value::Empty | Value::Unset => String::new(),
    };
    match operator {
        '-' => {
            if present {
                Some(current)
            } else {
                word(argument)
            }
        }
        '+' => {
            if present {
                word(argument)
            } else {
                Some(String::new())
            }
        }
        '?' => present.then_some(current),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(name: &str) -> Value {
        match name {
            "TAG" => Value::Set("3.11".to_owned()),
            "EMPTY" => Value::Empty,
            _ => Value::Unset,
        }
    }

    #[test]
    fn forms() {
        let s = |t: &str| substitute(t, Escape::Char('\\'), &args);
        assert_eq!(s("py:$TAG").as_deref(), Some("py:3.11"));
        assert_eq!(s("py:${TAG}-slim").as_deref(), Some("py:3.11-slim"));
        assert_eq!(s("py:${NOPE:-3.12}").as_deref(), Some("py:3.12"));
        assert_eq!(s("py:${EMPTY:-3.12}").as_deref(), Some("py:3.12"));
        assert_eq!(s("py:${EMPTY-3.12}").as_deref(), Some("py:"));
        assert_eq!(s("py${TAG:+:x}").as_deref(), Some("py:x"));
        assert_eq!(s("py${NOPE:+:x}").as_deref(), Some("py"));
        assert_eq!(s("py:$NOPE"), None);
        assert_eq!(s("py:${EMPTY}"), None);
        assert_eq!(s("${NOPE:-${TAG}}").as_deref(), Some("3.11"));
        assert_eq!(s("a\\$TAG").as_deref(), Some("a$TAG"));
        assert_eq!(s("${"), None);
        let c = |t: &str| substitute(t, Escape::Dollar, &args);
        assert_eq!(c("a$$b").as_deref(), Some("a$b"));
    }
}

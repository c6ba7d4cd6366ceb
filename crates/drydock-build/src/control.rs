//! deb822 control data: paragraphs of `Field: value` lines with folded
//! continuation lines, as in `Packages`, `Release` and `DEBIAN/control`.

/// One paragraph: fields in input order, plus its exact text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Paragraph {
    fields: Vec<(String, String)>,
    text: String,
}

impl Paragraph {
    /// The value of a field (case-insensitive name); continuation lines are
    /// joined with `\n` and keep their leading space.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(field, _)| field.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The paragraph as it appeared in the input (no trailing blank line).
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ControlError {
    #[error("line {line}: continuation line before any field")]
    Continuation { line: usize },
    #[error("line {line}: expected `Field: value`")]
    NoColon { line: usize },
}

/// Parse every paragraph of a deb822 document. Comment lines (`#`) are skipped.
pub fn parse_paragraphs(text: &str) -> Result<Vec<Paragraph>, ControlError> {
    let mut paragraphs = Vec::new();
    let mut current = Paragraph::default();
    for (index, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let number = index + 1;
        if line.trim().is_empty() {
            if !current.fields.is_empty() {
                paragraphs.push(std::mem::take(&mut current));
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            let Some((_, value)) = current.fields.last_mut() else {
                return Err(ControlError::Continuation { line: number });
            };
            value.push('\n');
            value.push_str(line);
        } else {
            let Some((name, value)) = line.split_once(':') else {
                return Err(ControlError::NoColon { line: number });
            };
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(ControlError::NoColon { line: number });
            }
            current
                .fields
                .push((name.to_owned(), value.trim().to_owned()));
        }
        current.text.push_str(line);
        current.text.push('\n');
    }
    if !current.fields.is_empty() {
        paragraphs.push(current);
    }
    Ok(paragraphs)
}

/// A version relation operator (Debian Policy §7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    Earlier,        // <<
    EarlierOrEqual, // <=
    Equal,          // =
    LaterOrEqual,   // >=
    Later,          // >>
}

impl Operator {
    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "<<" => Self::Earlier,
            "<=" | "<" => Self::EarlierOrEqual,
            "=" => Self::Equal,
            ">=" | ">" => Self::LaterOrEqual,
            ">>" => Self::Later,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Earlier => "<<",
            Self::EarlierOrEqual => "<=",
            Self::Equal => "=",
            Self::LaterOrEqual => ">=",
            Self::Later => ">>",
        }
    }

    /// Does `version` satisfy `version OP wanted`?
    pub fn accepts(self, version: &str, wanted: &str) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        let ordering = drydock_version::dpkg::compare(version, wanted);
        match self {
            Self::Earlier => ordering == Less,
            Self::EarlierOrEqual => ordering != Greater,
            Self::Equal => ordering == Equal,
            Self::LaterOrEqual => ordering != Less,
            Self::Later => ordering == Greater,
        }
    }
}

/// One alternative of a relation: `name[:arch] [(op version)]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Relation {
    pub name: String,
    /// `any`, `native` or an architecture name.
    pub arch: Option<String>,
    pub constraint: Option<(Operator, String)>,
}

impl std::fmt::Display for Relation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)?;
        if let Some(arch) = &self.arch {
            write!(f, ":{arch}")?;
        }
        if let Some((operator, version)) = &self.constraint {
            write!(f, " ({} {version})", operator.as_str())?;
        }
        Ok(())
    }
}

/// A comma-separated list of `|`-separated alternatives.
pub type Relations = Vec<Vec<Relation>>;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("bad relation `{text}`")]
pub struct RelationError {
    pub text: String,
}

/// Parse a `Depends`-style field. Architecture (`[amd64]`) and build-profile
/// (`<!nocheck>`) restrictions are dropped: they do not occur in binary
/// package relations.
pub fn parse_relations(text: &str) -> Result<Relations, RelationError> {
    let mut groups = Vec::new();
    for group in text.split(',') {
        if group.trim().is_empty() {
            continue;
        }
        let mut alternatives = Vec::new();
        for alternative in group.split('|') {
            alternatives.push(parse_relation(alternative)?);
        }
        groups.push(alternatives);
    }
    Ok(groups)
}

fn parse_relation(text: &str) -> Result<Relation, RelationError> {
    let error = || RelationError {
        text: text.trim().to_owned(),
    };
    let mut rest = text.trim();
    // Drop restrictions: `[arch …]` and `<profile …>` after the name/version.
    let after_version = rest.find(')').map_or(0, |p| p + 1);
    let cut = [
        rest.find('['),
        rest.get(after_version..)
            .and_then(|r| r.find('<'))
            .map(|p| p + after_version),
    ]
    .into_iter()
    .flatten()
    .min();
    if let Some(cut) = cut {
        rest = rest.get(..cut).ok_or_else(error)?.trim();
    }
    let (head, constraint) = match rest.split_once('(') {
        Some((head, tail)) => {
            let inner = tail.trim().strip_suffix(')').ok_or_else(error)?.trim();
            let split = inner
                .find(|c: char| !matches!(c, '<' | '>' | '='))
                .ok_or_else(error)?;
            let (operator, version) = (
                inner.get(..split).ok_or_else(error)?,
                inner.get(split..).ok_or_else(error)?,
            );
            let operator = Operator::parse(operator.trim()).ok_or_else(error)?;
            let version = version.trim();
            if version.is_empty() || version.contains(char::is_whitespace) {
                return Err(error());
            }
            (head.trim(), Some((operator, version.to_owned())))
        }
        None => (rest, None),
    };
    let (name, arch) = match head.split_once(':') {
        Some((name, arch)) => (name, Some(arch.to_owned())),
        None => (head, None),
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return Err(error());
    }
    Ok(Relation {
        name: name.to_owned(),
        arch,
        constraint,
    })
}

/// A package's `Provides` entries: `name [(= version)]`.
pub fn parse_provides(text: &str) -> Result<Vec<(String, Option<String>)>, RelationError> {
    let mut provides = Vec::new();
    for group in parse_relations(text)? {
        for relation in group {
            let version = match relation.constraint {
                Some((Operator::Equal, version)) => Some(version),
                Some(_) => {
                    return Err(RelationError {
                        text: relation.to_string(),
                    });
                }
                None => None,
            };
            provides.push((relation.name, version));
        }
    }
    Ok(provides)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_fold_continuations() {
        let text = "Package: a\nDescription: x\n more\n .\n\n\nPackage: b\nVersion: 1\n";
        let paragraphs = parse_paragraphs(text).unwrap();
        assert_eq!(paragraphs.len(), 2);
        assert_eq!(paragraphs[0].get("description"), Some("x\n more\n ."));
        assert_eq!(paragraphs[1].get("Version"), Some("1"));
        assert_eq!(
            paragraphs[0].text(),
            "Package: a\nDescription: x\n more\n .\n"
        );
        assert!(parse_paragraphs(" a\n").is_err());
        assert!(parse_paragraphs("nocolon\n").is_err());
    }

    #[test]
    fn relations_parse_alternatives_versions_and_qualifiers() {
        let relations =
            parse_relations("libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0, python3:any (<< 3.12~), foo [amd64] <!nocheck>").unwrap();
        assert_eq!(relations.len(), 4);
        assert_eq!(relations[1][1].name, "debconf-2.0");
        assert_eq!(
            relations[0][0].constraint,
            Some((Operator::LaterOrEqual, "2.34".into()))
        );
        assert_eq!(relations[2][0].arch.as_deref(), Some("any"));
        assert_eq!(
            relations[2][0].constraint,
            Some((Operator::Earlier, "3.12~".into()))
        );
        assert_eq!(relations[3][0].name, "foo");
        assert!(parse_relations("a (>= )").is_err());
        assert!(parse_relations("a (~ 1)").is_err());
        assert!(parse_relations("a b").is_err());
    }

    #[test]
    fn operators_use_dpkg_ordering() {
        assert!(Operator::Earlier.accepts("1.0~rc1", "1.0"));
        assert!(Operator::LaterOrEqual.accepts("2.36-9+deb12u4", "2.34"));
        assert!(!Operator::Later.accepts("1:1.0", "1:1.0"));
        assert!(Operator::Equal.accepts("1.0-1", "1.0-1"));
    }
}

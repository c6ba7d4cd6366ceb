//! License strings as package databases write them, mapped to SPDX.
//!
//! We know a small list of SPDX license and exception ids (the ones distro
//! packages use most) plus common aliases (Debian DEP-5 short names such as
//! `GPL-2+`, Fedora's legacy `GPLv2+`, deprecated SPDX ids such as `GPL-2.0+`).
//! A string is parsed as an SPDX license expression (`AND`, `OR`, `WITH`,
//! parentheses, `+`); anything we cannot prove valid is never emitted as an
//! SPDX id: CycloneDX gets it as a license *name*, SPDX as a `LicenseRef-`.

use std::collections::BTreeMap;

use drydock_core::Digest;

/// SPDX license ids we emit as ids. Every entry is in the SPDX license list
/// (a test checks them against the CycloneDX copy of that list).
const LICENSE_IDS: &[&str] = &[
    "0BSD",
    "AFL-2.1",
    "AGPL-3.0-only",
    "AGPL-3.0-or-later",
    "Apache-1.1",
    "Apache-2.0",
    "Artistic-1.0",
    "Artistic-1.0-Perl",
    "Artistic-2.0",
    "BSD-1-Clause",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSD-4-Clause",
    "BSL-1.0",
    "bzip2-1.0.6",
    "CC-BY-3.0",
    "CC-BY-4.0",
    "CC-BY-SA-3.0",
    "CC-BY-SA-4.0",
    "CC0-1.0",
    "CDDL-1.0",
    "curl",
    "EPL-1.0",
    "EPL-2.0",
    "FTL",
    "GFDL-1.2-only",
    "GFDL-1.2-or-later",
    "GFDL-1.3-only",
    "GFDL-1.3-or-later",
    "GPL-1.0-only",
    "GPL-1.0-or-later",
    "GPL-2.0-only",
    "GPL-2.0-or-later",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "HPND",
    "IJG",
    "ISC",
    "LGPL-2.0-only",
    "LGPL-2.0-or-later",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "Libpng",
    "libtiff",
    "MIT",
    "MIT-0",
    "MIT-CMU",
    "MPL-1.1",
    "MPL-2.0",
    "NCSA",
    "OFL-1.1",
    "OLDAP-2.8",
    "OpenSSL",
    "PHP-3.01",
    "PostgreSQL",
    "PSF-2.0",
    "Python-2.0",
    "Ruby",
    "Sleepycat",
    "Unicode-3.0",
    "Unicode-DFS-2016",
    "Unlicense",
    "Vim",
    "W3C",
    "WTFPL",
    "X11",
    "Zlib",
    "ZPL-2.1",
];

/// SPDX license exception ids, allowed only after `WITH`.
const EXCEPTION_IDS: &[&str] = &[
    "Autoconf-exception-2.0",
    "Autoconf-exception-3.0",
    "Bison-exception-2.2",
    "Classpath-exception-2.0",
    "Font-exception-2.0",
    "GCC-exception-2.0",
    "GCC-exception-3.1",
    "Libtool-exception",
    "Linux-syscall-note",
    "LLVM-exception",
    "OpenJDK-assembly-exception-1.0",
    "openvpn-openssl-exception",
    "Qt-GPL-exception-1.0",
    "u-boot-exception-2.0",
    "WxWindows-exception-3.1",
];

/// Aliases (matched case-insensitively) and the SPDX id each one means.
const ALIASES: &[(&str, &str)] = &[
    // Deprecated SPDX ids.
    ("GPL-1.0", "GPL-1.0-only"),
    ("GPL-1.0+", "GPL-1.0-or-later"),
    ("GPL-2.0", "GPL-2.0-only"),
    ("GPL-2.0+", "GPL-2.0-or-later"),
    ("GPL-3.0", "GPL-3.0-only"),
    ("GPL-3.0+", "GPL-3.0-or-later"),
    ("LGPL-2.0", "LGPL-2.0-only"),
    ("LGPL-2.0+", "LGPL-2.0-or-later"),
    ("LGPL-2.1", "LGPL-2.1-only"),
    ("LGPL-2.1+", "LGPL-2.1-or-later"),
    ("LGPL-3.0", "LGPL-3.0-only"),
    ("LGPL-3.0+", "LGPL-3.0-or-later"),
    ("AGPL-3.0", "AGPL-3.0-only"),
    ("GFDL-1.2", "GFDL-1.2-only"),
    ("GFDL-1.3", "GFDL-1.3-only"),
    // Debian DEP-5 short names.
    ("GPL-1", "GPL-1.0-only"),
    ("GPL-1+", "GPL-1.0-or-later"),
    ("GPL-2", "GPL-2.0-only"),
    ("GPL-2+", "GPL-2.0-or-later"),
    ("GPL-3", "GPL-3.0-only"),
    ("GPL-3+", "GPL-3.0-or-later"),
    ("LGPL-2", "LGPL-2.0-only"),
    ("LGPL-2+", "LGPL-2.0-or-later"),
    ("LGPL-2.1+", "LGPL-2.1-or-later"),
    ("LGPL-3", "LGPL-3.0-only"),
    ("LGPL-3+", "LGPL-3.0-or-later"),
    ("AGPL-3", "AGPL-3.0-only"),
    ("AGPL-3+", "AGPL-3.0-or-later"),
    ("GFDL-1.2+", "GFDL-1.2-or-later"),
    ("GFDL-1.3+", "GFDL-1.3-or-later"),
    ("Apache-2", "Apache-2.0"),
    ("Expat", "MIT"),
    ("MPL-2", "MPL-2.0"),
    ("BSL", "BSL-1.0"),
    ("CC0", "CC0-1.0"),
    // Fedora's legacy short names.
    ("GPLv2", "GPL-2.0-only"),
    ("GPLv2+", "GPL-2.0-or-later"),
    ("GPLv3", "GPL-3.0-only"),
    ("GPLv3+", "GPL-3.0-or-later"),
    ("LGPLv2.1", "LGPL-2.1-only"),
    ("LGPLv2.1+", "LGPL-2.1-or-later"),
    ("LGPLv3", "LGPL-3.0-only"),
    ("LGPLv3+", "LGPL-3.0-or-later"),
    ("ASL 2.0", "Apache-2.0"),
];

/// The SPDX license ids this module knows (for checking against the list).
pub fn known_license_ids() -> &'static [&'static str] {
    LICENSE_IDS
}

/// The SPDX exception ids this module knows.
pub fn known_exception_ids() -> &'static [&'static str] {
    EXCEPTION_IDS
}

/// The canonical SPDX license id for `text` if it is a known id or alias.
pub fn canonical_id(text: &str) -> Option<&'static str> {
    let text = text.trim();
    LICENSE_IDS
        .iter()
        .find(|id| id.eq_ignore_ascii_case(text))
        .copied()
        .or_else(|| {
            ALIASES
                .iter()
                .find(|(alias, _)| alias.eq_ignore_ascii_case(text))
                .map(|(_, id)| *id)
        })
}

fn canonical_exception(text: &str) -> Option<&'static str> {
    EXCEPTION_IDS
        .iter()
        .find(|id| id.eq_ignore_ascii_case(text))
        .copied()
}

/// How one license string of a package is written in CycloneDX.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CycloneDxLicense {
    /// A known SPDX license id: `{"license": {"id": …}}`.
    Id(&'static str),
    /// A valid SPDX expression of known ids with an operator or `+`.
    Expression(String),
    /// Anything else, verbatim: `{"license": {"name": …}}`.
    Name(String),
}

/// Classify one license string for CycloneDX.
pub fn cyclonedx_license(text: &str) -> CycloneDxLicense {
    if let Some(id) = canonical_id(text) {
        return CycloneDxLicense::Id(id);
    }
    match parse(text) {
        Some(expression) if expression.all_known() => {
            CycloneDxLicense::Expression(expression.render(&mut |atom| match atom {
                Atom::Known(id) => (*id).to_owned(),
                Atom::Unknown(raw) => raw.clone(),
            }))
        }
        _ => CycloneDxLicense::Name(text.trim().to_owned()),
    }
}

/// The SPDX `licenseDeclared` value for a package's license strings, and the
/// `LicenseRef-` ids it uses, each with the text it stands for.
///
/// No strings give `NOASSERTION`. Several strings are joined with `AND`.
/// Inside an expression, an unknown license id becomes `LicenseRef-<id>`; a
/// string that is not an expression becomes one `LicenseRef-` for all of it.
pub fn spdx_license_declared(texts: &[String], refs: &mut BTreeMap<String, String>) -> String {
    let mut parts: Vec<Expression> = Vec::new();
    for text in texts {
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let expression = parse(text).unwrap_or_else(|| Expression::Atom {
            atom: Atom::Unknown(text.to_owned()),
            plus: false,
        });
        if !parts.contains(&expression) {
            parts.push(expression);
        }
    }
    let expression = match parts.len() {
        0 => return "NOASSERTION".to_owned(),
        1 => parts.pop().unwrap_or(Expression::And(Vec::new())),
        _ => Expression::And(parts),
    };
    expression.render(&mut |atom| match atom {
        Atom::Known(id) => (*id).to_owned(),
        Atom::Unknown(raw) => {
            let id = license_ref(raw);
            refs.insert(id.clone(), raw.clone());
            id
        }
    })
}

/// `LicenseRef-<text>` with characters SPDX does not allow replaced; when
/// anything was replaced (or shortened), a hash of the text keeps ids distinct.
pub fn license_ref(text: &str) -> String {
    if let Some(rest) = text.strip_prefix("LicenseRef-")
        && !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
    {
        return text.to_owned();
    }
    let cleaned: String = text
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if cleaned == text {
        format!("LicenseRef-{cleaned}")
    } else {
        let hash = Digest::sha256_of(text.as_bytes());
        let short: String = hash.hex().chars().take(8).collect();
        format!("LicenseRef-{cleaned}-{short}")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Atom {
    Known(&'static str),
    Unknown(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Expression {
    Atom { atom: Atom, plus: bool },
    With(Box<Expression>, &'static str),
    And(Vec<Expression>),
    Or(Vec<Expression>),
}

impl Expression {
    fn all_known(&self) -> bool {
        match self {
            Expression::Atom { atom, .. } => matches!(atom, Atom::Known(_)),
            Expression::With(inner, _) => inner.all_known(),
            Expression::And(items) | Expression::Or(items) => items.iter().all(Self::all_known),
        }
    }

    fn render(&self, name: &mut dyn FnMut(&Atom) -> String) -> String {
        match self {
            Expression::Atom { atom, plus } => {
                let mut out = name(atom);
                if *plus {
                    out.push('+');
                }
                out
            }
            Expression::With(inner, exception) => {
                format!("{} WITH {exception}", inner.render(name))
            }
            Expression::And(items) => items
                .iter()
                .map(|item| match item {
                    Expression::Or(_) => format!("({})", item.render(name)),
                    _ => item.render(name),
                })
                .collect::<Vec<_>>()
                .join(" AND "),
            Expression::Or(items) => items
                .iter()
                .map(|item| item.render(name))
                .collect::<Vec<_>>()
                .join(" OR "),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    With,
    Word(String),
}

fn tokenize(text: &str) -> Option<Vec<Token>> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, tokens: &mut Vec<Token>| {
        if word.is_empty() {
            return;
        }
        let token = match word.as_str() {
            w if w.eq_ignore_ascii_case("and") => Token::And,
            w if w.eq_ignore_ascii_case("or") => Token::Or,
            w if w.eq_ignore_ascii_case("with") => Token::With,
            _ => Token::Word(std::mem::take(word)),
        };
        word.clear();
        tokens.push(token);
    };
    for c in text.chars() {
        match c {
            '(' | ')' => {
                flush(&mut word, &mut tokens);
                tokens.push(if c == '(' { Token::Open } else { Token::Close });
            }
            c if c.is_whitespace() => flush(&mut word, &mut tokens),
            c if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | ':') => word.push(c),
            _ => return None,
        }
    }
    flush(&mut word, &mut tokens);
    Some(tokens)
}

/// Parse an SPDX license expression; `None` when `text` is not one.
fn parse(text: &str) -> Option<Expression> {
    let tokens = tokenize(text)?;
    // Single words are handled by `canonical_id` or are names; a one-word
    // "expression" must still be a syntactically valid id to be one.
    let mut parser = Parser {
        tokens: &tokens,
        at: 0,
        depth: 0,
    };
    let expression = parser.or()?;
    (parser.at == tokens.len()).then_some(expression)
}

struct Parser<'a> {
    tokens: &'a [Token],
    at: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn or(&mut self) -> Option<Expression> {
        let mut items = vec![self.and()?];
        while self.peek() == Some(&Token::Or) {
            self.at += 1;
            items.push(self.and()?);
        }
        Some(if items.len() == 1 {
            items.pop()?
        } else {
            Expression::Or(items)
        })
    }

    fn and(&mut self) -> Option<Expression> {
        let mut items = vec![self.with()?];
        while self.peek() == Some(&Token::And) {
            self.at += 1;
            items.push(self.with()?);
        }
        Some(if items.len() == 1 {
            items.pop()?
        } else {
            Expression::And(items)
        })
    }

    fn with(&mut self) -> Option<Expression> {
        let simple = self.simple()?;
        if self.peek() != Some(&Token::With) {
            return Some(simple);
        }
        self.at += 1;
        let Some(Token::Word(exception)) = self.peek() else {
            return None;
        };
        let exception = canonical_exception(exception)?;
        self.at += 1;
        matches!(simple, Expression::Atom { .. })
            .then(|| Expression::With(Box::new(simple), exception))
    }

    fn simple(&mut self) -> Option<Expression> {
        match self.peek()? {
            Token::Open => {
                // Bound recursion on hostile input.
                if self.depth >= 32 {
                    return None;
                }
                self.at += 1;
                self.depth += 1;
                let inner = self.or()?;
                self.depth -= 1;
                if self.peek() != Some(&Token::Close) {
                    return None;
                }
                self.at += 1;
                Some(inner)
            }
            Token::Word(word) => {
                let word = word.clone();
                self.at += 1;
                atom(&word)
            }
            _ => None,
        }
    }
}

/// One license id in an expression: known (possibly via an alias, or with a
/// trailing `+`), a `LicenseRef-`, or an unknown but well-formed idstring.
fn atom(word: &str) -> Option<Expression> {
    if let Some(id) = canonical_id(word) {
        return Some(Expression::Atom {
            atom: Atom::Known(id),
            plus: false,
        });
    }
    let (base, plus) = match word.strip_suffix('+') {
        Some(base) => (base, true),
        None => (word, false),
    };
    let valid_idstring = !base.is_empty()
        && base
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if !valid_idstring {
        return None;
    }
    if let Some(id) = LICENSE_IDS.iter().find(|id| id.eq_ignore_ascii_case(base)) {
        return Some(Expression::Atom {
            atom: Atom::Known(id),
            plus,
        });
    }
    // Unknown ids keep their `+` inside the text they are named by.
    Some(Expression::Atom {
        atom: Atom::Unknown(word.to_owned()),
        plus: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_expressions() {
        assert_eq!(
            cyclonedx_license("(mit or apache-2.0) and GPL-2.0+ with GCC-exception-3.1"),
            CycloneDxLicense::Expression(
                "(MIT OR Apache-2.0) AND GPL-2.0-or-later WITH GCC-exception-3.1".to_owned()
            )
        );
        assert_eq!(
            cyclonedx_license("MIT OR"),
            CycloneDxLicense::Name("MIT OR".to_owned())
        );
        assert_eq!(
            cyclonedx_license("((MIT)"),
            CycloneDxLicense::Name("((MIT)".to_owned())
        );
        let deep = format!("{}MIT{}", "(".repeat(100), ")".repeat(100));
        assert_eq!(cyclonedx_license(&deep), CycloneDxLicense::Name(deep));
    }
}

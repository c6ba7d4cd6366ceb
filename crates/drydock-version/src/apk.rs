//! Alpine (apk-tools) package versions:
//! `digit{.digit}...{letter}{_suffix{number}}...{~hash}{-rN}`.
//!
//! The ordering follows apk-tools' documented token rules (apk-tools 2.14 /
//! 3.x, `src/version.c`): the version is read as a sequence of typed tokens
//! (first number, `.number`, letter, `_suffix`, suffix number, `~hash`,
//! `-rN`); tokens of the same type compare by value; `.number` runs with a
//! leading zero compare as strings; suffixes order `_alpha < _beta < _pre <
//! _rc < (none) < _cvs < _svn < _git < _hg < _p`. When one version runs out
//! of tokens first, or the token types differ, the version that goes on is
//! newer unless what follows is a pre-release suffix; an invalid tail sorts
//! before everything.

use std::cmp::Ordering;

use crate::number;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNumber,
    CommitHash,
    Revision,
    End,
    Invalid,
}

/// Suffix ranks; `NONE` is the pivot between pre- and post-release.
const SUFFIXES: [&str; 9] = ["alpha", "beta", "pre", "rc", "cvs", "svn", "git", "hg", "p"];
const NONE: u8 = 5;

fn suffix_rank(suffix: &str) -> Option<u8> {
    let index = SUFFIXES.iter().position(|known| *known == suffix)?;
    let rank = u8::try_from(index).ok()? + 1;
    Some(if rank >= NONE { rank + 1 } else { rank })
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: Kind,
    value: &'a str,
    suffix: u8,
}

struct Tokens<'a> {
    rest: &'a str,
    token: Token<'a>,
}

fn take_while(input: &str, keep: impl Fn(u8) -> bool) -> (&str, &str) {
    let end = input.bytes().take_while(|byte| keep(*byte)).count();
    (
        input.get(..end).unwrap_or_default(),
        input.get(end..).unwrap_or_default(),
    )
}

impl<'a> Tokens<'a> {
    fn new(version: &'a str) -> Self {
        let (digits, rest) = take_while(version, |byte| byte.is_ascii_digit());
        let kind = if digits.is_empty() {
            Kind::Invalid
        } else {
            Kind::InitialDigit
        };
        Tokens {
            rest,
            token: Token {
                kind,
                value: digits,
                suffix: 0,
            },
        }
    }

    fn invalid(&mut self) {
        self.token.kind = Kind::Invalid;
    }

    fn digits(&mut self, kind: Kind) {
        let (digits, rest) = take_while(self.rest, |byte| byte.is_ascii_digit());
        self.rest = rest;
        self.token.value = digits;
        self.token.kind = if digits.is_empty() {
            Kind::Invalid
        } else {
            kind
        };
    }

    fn advance(&mut self) {
        let previous = self.token.kind;
        let Some(&first) = self.rest.as_bytes().first() else {
            self.token.kind = Kind::End;
            return;
        };
        match first {
            b'a'..=b'z' => {
                if previous > Kind::Digit {
                    return self.invalid();
                }
                self.token.value = self.rest.get(..1).unwrap_or_default();
                self.rest = self.rest.get(1..).unwrap_or_default();
                self.token.kind = Kind::Letter;
            }
            b'.' | b'0'..=b'9' => {
                if first == b'.' {
                    if previous > Kind::Digit {
                        return self.invalid();
                    }
                    self.rest = self.rest.get(1..).unwrap_or_default();
                }
                match previous {
                    Kind::InitialDigit | Kind::Digit => self.digits(Kind::Digit),
                    Kind::Suffix => self.digits(Kind::SuffixNumber),
                    _ => self.invalid(),
                }
            }
            b'_' => {
                if previous > Kind::SuffixNumber {
                    return self.invalid();
                }
                let (suffix, rest) = take_while(self.rest.get(1..).unwrap_or_default(), |byte| {
                    byte.is_ascii_lowercase()
                });
                self.rest = rest;
                let Some(rank) = suffix_rank(suffix) else {
                    return self.invalid();
                };
                self.token = Token {
                    kind: Kind::Suffix,
                    value: suffix,
                    suffix: rank,
                };
            }
            b'~' => {
                if previous >= Kind::CommitHash {
                    return self.invalid();
                }
                let (hash, rest) = take_while(self.rest.get(1..).unwrap_or_default(), |byte| {
                    byte.is_ascii_hexdigit()
                });
                if hash.is_empty() {
                    return self.invalid();
                }
                self.rest = rest;
                self.token.value = hash;
                self.token.kind = Kind::CommitHash;
            }
            b'-' => {
                if previous >= Kind::Revision {
                    return self.invalid();
                }
                let Some(rest) = self.rest.strip_prefix("-r") else {
                    return self.invalid();
                };
                self.rest = rest;
                self.digits(Kind::Revision);
            }
            _ => self.invalid(),
        }
    }
}

fn token_cmp(a: &Token<'_>, b: &Token<'_>) -> Ordering {
    match a.kind {
        Kind::Digit if a.value.starts_with('0') || b.value.starts_with('0') => a.value.cmp(b.value),
        Kind::InitialDigit | Kind::Digit | Kind::SuffixNumber | Kind::Revision => {
            number::compare(a.value, b.value)
        }
        Kind::Suffix => a.suffix.cmp(&b.suffix),
        Kind::Letter | Kind::CommitHash | Kind::End | Kind::Invalid => a.value.cmp(b.value),
    }
}

/// Compares two apk versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (mut ta, mut tb) = (Tokens::new(a), Tokens::new(b));
    while ta.token.kind == tb.token.kind && ta.token.kind < Kind::End {
        let order = token_cmp(&ta.token, &tb.token);
        if order != Ordering::Equal {
            return order;
        }
        ta.advance();
        tb.advance();
    }
    let (ka, kb) = (ta.token.kind, tb.token.kind);
    if ka == kb {
        return Ordering::Equal;
    }
    if ka == Kind::Suffix && ta.token.suffix < NONE {
        return Ordering::Less;
    }
    if kb == Kind::Suffix && tb.token.suffix < NONE {
        return Ordering::Greater;
    }
    // The later token type (END, INVALID) is the older version.
    kb.cmp(&ka)
}

/// Whether apk-tools accepts the version.
pub fn is_valid(version: &str) -> bool {
    let mut tokens = Tokens::new(version);
    while tokens.token.kind < Kind::End {
        tokens.advance();
    }
    tokens.token.kind == Kind::End
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity() {
        for valid in [
            "1",
            "1.2.3",
            "1.2a",
            "1.2_rc1",
            "1.2_p20240101-r3",
            "1.0~abc123-r0",
            "1_alpha_beta",
        ] {
            assert!(is_valid(valid), "{valid}");
        }
        for invalid in [
            "", "a", "1.a", "1.2-3", "1_foo", "1-r", "1-r1.2", "1~", "1a.2",
        ] {
            assert!(!is_valid(invalid), "{invalid}");
        }
    }
}

//! Maven versions, ordered as Maven 3.8's `ComparableVersion` documents
//! ("Version Order Specification" in the POM reference).
//!
//! The version is lower-cased and split into numbers and qualifiers at `.`,
//! `-` and digit/letter transitions; a `-` or a transition opens a nested
//! list, and so does a qualifier that ends the version or is followed by a
//! number, when its list already has items (`1.0.foo` is `1.0-foo`). Trailing "null" items (`0`, `""`, `ga`, `final`, `release`) are
//! trimmed in every list. Qualifiers order `alpha < beta < milestone < rc =
//! cr < snapshot < "" = ga = final = release < sp`, then any other
//! qualifier, alphabetically; `a`, `b`, `m` directly followed by a digit mean
//! `alpha`, `beta`, `milestone`. A number beats a qualifier and a list; a
//! list beats a qualifier.
//!
//! The nesting only ever goes one way (a list's nested list is its last
//! element), so a version is stored as a chain of levels and compared
//! without recursion, however deep the nesting.

use std::cmp::Ordering;

use crate::number;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    /// A canonical digit string.
    Number(String),
    /// A qualifier, aliases resolved.
    Qualifier(String),
}

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
/// The rank of the release qualifier `""`.
const RELEASE: usize = 5;

/// Orders qualifiers: known ones by rank, then unknown ones alphabetically.
fn qualifier_key(qualifier: &str) -> (usize, &str) {
    match QUALIFIERS.iter().position(|known| *known == qualifier) {
        Some(rank) => (rank, ""),
        None => (QUALIFIERS.len(), qualifier),
    }
}

impl Item {
    fn qualifier(text: &str, followed_by_digit: bool) -> Item {
        let text = match (text, followed_by_digit) {
            ("a", true) => "alpha",
            ("b", true) => "beta",
            ("m", true) => "milestone",
            ("ga" | "final" | "release", _) => "",
            ("cr", _) => "rc",
            (other, _) => other,
        };
        Item::Qualifier(text.to_owned())
    }

    fn is_null(&self) -> bool {
        match self {
            Item::Number(digits) => number::is_zero(digits),
            Item::Qualifier(text) => qualifier_key(text) == (RELEASE, ""),
        }
    }

    fn cmp_null(&self) -> Ordering {
        match self {
            Item::Number(digits) => {
                if number::is_zero(digits) {
                    Ordering::Equal
                } else {
                    Ordering::Greater
                }
            }
            Item::Qualifier(text) => qualifier_key(text).cmp(&(RELEASE, "")),
        }
    }

    fn cmp_item(&self, other: &Item) -> Ordering {
        match (self, other) {
            (Item::Number(a), Item::Number(b)) => number::compare(a, b),
            (Item::Number(_), Item::Qualifier(_)) => Ordering::Greater,
            (Item::Qualifier(_), Item::Number(_)) => Ordering::Less,
            (Item::Qualifier(a), Item::Qualifier(b)) => qualifier_key(a).cmp(&qualifier_key(b)),
        }
    }

    /// An item against a nested list: numbers are greater, qualifiers less.
    fn cmp_list(&self) -> Ordering {
        match self {
            Item::Number(_) => Ordering::Greater,
            Item::Qualifier(_) => Ordering::Less,
        }
    }
}

/// A parsed version: `levels[k + 1]` is the last element of `levels[k]`.
#[derive(Debug, Clone)]
pub struct Version {
    levels: Vec<Vec<Item>>,
}

fn parse_item(token: &str, digits: bool) -> Item {
    if digits {
        Item::Number(number::canonical(token))
    } else {
        Item::qualifier(token, false)
    }
}

impl Version {
    pub fn parse(version: &str) -> Self {
        let lower = version.to_lowercase();
        let mut levels: Vec<Vec<Item>> = vec![Vec::new()];
        let mut current: Vec<Item> = Vec::new();
        let mut start = 0;
        let mut digits = false;
        for (index, character) in lower.char_indices() {
            let token = lower.get(start..index).unwrap_or_default();
            match character {
                '.' => {
                    current.push(if token.is_empty() {
                        Item::Number("0".to_owned())
                    } else {
                        parse_item(token, digits)
                    });
                    start = index + 1;
                }
                '-' => {
                    current.push(if token.is_empty() {
                        Item::Number("0".to_owned())
                    } else {
                        parse_item(token, digits)
                    });
                    start = index + 1;
                    levels.push(std::mem::take(&mut current));
                }
                '0'..='9' => {
                    if !digits && !token.is_empty() {
                        // A qualifier followed by a number starts a list of
                        // its own (`1.0.a1` is `1.0-a-1`).
                        if !current.is_empty() {
                            levels.push(std::mem::take(&mut current));
                        }
                        current.push(Item::qualifier(token, true));
                        start = index;
                        levels.push(std::mem::take(&mut current));
                    }
                    digits = true;
                }
                _ => {
                    if digits && !token.is_empty() {
                        current.push(Item::Number(number::canonical(token)));
                        start = index;
                        levels.push(std::mem::take(&mut current));
                    }
                    digits = false;
                }
            }
        }
        let rest = lower.get(start..).unwrap_or_default();
        if !rest.is_empty() {
            // A trailing qualifier also starts its own list (`1.0.foo` is
            // `1.0-foo`).
            if !digits && !current.is_empty() {
                levels.push(std::mem::take(&mut current));
            }
            current.push(parse_item(rest, digits));
        }
        levels.push(current);
        // `levels[0]` was the placeholder the first push went after.
        levels.remove(0);
        // Normalise from the innermost list outwards.
        for level in (0..levels.len()).rev() {
            if let Some(items) = levels.get_mut(level) {
                while items.last().is_some_and(Item::is_null) {
                    items.pop();
                }
                if items.is_empty() && level > 0 && level + 1 == levels.len() {
                    levels.pop();
                }
            }
        }
        Version { levels }
    }

    fn width(&self, level: usize) -> usize {
        let items = self.levels.get(level).map_or(0, Vec::len);
        items + usize::from(level + 1 < self.levels.len())
    }

    fn element(&self, level: usize, position: usize) -> Option<Element<'_>> {
        let items = self.levels.get(level)?;
        match items.get(position) {
            Some(item) => Some(Element::Item(item)),
            None if position == items.len() && level + 1 < self.levels.len() => Some(Element::List),
            None => None,
        }
    }

    /// The nested list starting at `level` against nothing.
    fn cmp_null_from(&self, level: usize) -> Ordering {
        for items in self.levels.iter().skip(level) {
            for item in items {
                let order = item.cmp_null();
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
        Ordering::Equal
    }
}

enum Element<'a> {
    Item(&'a Item),
    List,
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let (mut level_a, mut level_b) = (0, 0);
        'levels: loop {
            let width = self.width(level_a).max(other.width(level_b));
            for position in 0..width {
                let order = match (
                    self.element(level_a, position),
                    other.element(level_b, position),
                ) {
                    (None, None) => Ordering::Equal,
                    (Some(Element::Item(a)), Some(Element::Item(b))) => a.cmp_item(b),
                    (Some(Element::Item(a)), Some(Element::List)) => a.cmp_list(),
                    (Some(Element::List), Some(Element::Item(b))) => b.cmp_list().reverse(),
                    (Some(Element::List), Some(Element::List)) => {
                        level_a += 1;
                        level_b += 1;
                        continue 'levels;
                    }
                    (Some(Element::Item(a)), None) => a.cmp_null(),
                    (None, Some(Element::Item(b))) => b.cmp_null().reverse(),
                    (Some(Element::List), None) => self.cmp_null_from(level_a + 1),
                    (None, Some(Element::List)) => other.cmp_null_from(level_b + 1).reverse(),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
            return Ordering::Equal;
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

/// Compares two Maven versions.
pub fn compare(a: &str, b: &str) -> Ordering {
    Version::parse(a).cmp(&Version::parse(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_order() {
        // The POM reference's examples.
        let less = [
            ("1", "1.1"),
            ("1-snapshot", "1"),
            ("1-sp", "1-sp1"),
            ("1-alpha", "1-beta"),
            ("1-beta", "1-milestone"),
            ("1-rc", "1-snapshot"),
            ("1-ga", "1-sp"),
            ("1-a1", "1-alpha-2"),
            ("1-foo", "1-1"),
            ("1-1", "1.1"),
        ];
        for (a, b) in less {
            assert_eq!(compare(a, b), Ordering::Less, "{a} < {b}");
        }
        for (a, b) in [
            ("1", "1.0"),
            ("1", "1-0"),
            ("1-ga", "1"),
            ("1-final", "1"),
            ("1-cr1", "1-rc1"),
            ("1.0.0-RELEASE", "1"),
            ("1.foo", "1-foo"),
        ] {
            assert_eq!(compare(a, b), Ordering::Equal, "{a} = {b}");
        }
    }

    #[test]
    fn deep_nesting_does_not_recurse() {
        let deep = "1-".repeat(100_000);
        let deeper = format!("{deep}2");
        assert_eq!(compare(&deep, &deeper), Ordering::Less);
    }
}

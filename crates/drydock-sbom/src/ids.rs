//! Identifiers shared by the writers: content-derived UUIDs, component
//! references, SPDX ids, source package purls, maintainer parsing.

use std::collections::{BTreeMap, BTreeSet};

use drydock_core::{Digest, Package, PackageKind, Purl};

/// A UUID-shaped string from the SHA-256 of `content`, with the version nibble
/// set to 8 (RFC 9562 "custom") and the RFC 4122 variant bits `10`.
pub(crate) fn content_uuid(content: &[u8]) -> String {
    let digest = Digest::sha256_of(content);
    let hex: Vec<char> = digest.hex().chars().take(32).collect();
    let mut chars = hex;
    // Position 12 is the version nibble, position 16 holds the variant bits.
    if let Some(version) = chars.get_mut(12) {
        *version = '8';
    }
    if let Some(variant) = chars.get_mut(16) {
        let nibble = variant.to_digit(16).unwrap_or(0);
        *variant = char::from_digit((nibble & 0x3) | 0x8, 16).unwrap_or('8');
    }
    let mut out = String::with_capacity(36);
    for (i, c) in chars.into_iter().enumerate() {
        if matches!(i, 8 | 12 | 16 | 20) {
            out.push('-');
        }
        out.push(c);
    }
    out
}

/// One reference per package (indexed like `packages`): the purl when it is
/// unique, `purl|n` (n counting from 1 in order) when several packages share
/// it. `|` is percent-encoded inside purls, so these never collide.
pub(crate) fn package_refs(packages: &[&Package]) -> Vec<String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let purls: Vec<String> = packages.iter().map(|p| p.purl.to_string()).collect();
    for purl in &purls {
        *counts.entry(purl.clone()).or_default() += 1;
    }
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    purls
        .iter()
        .map(|purl| {
            if counts.get(purl).copied().unwrap_or(0) > 1 {
                let n = seen.entry(purl).or_default();
                *n += 1;
                format!("{purl}|{n}")
            } else {
                purl.clone()
            }
        })
        .collect()
}

/// Replace every character SPDX does not allow in an id (`[A-Za-z0-9.-]`) by `-`.
pub(crate) fn spdx_idstring(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "unnamed".to_owned()
    } else {
        cleaned
    }
}

/// Hands out unique SPDX ids: `SPDXRef-<prefix>-<sanitised parts>`, with `-2`,
/// `-3`, … appended when the sanitised form is already taken.
#[derive(Default)]
pub(crate) struct SpdxIds {
    taken: BTreeSet<String>,
}

impl SpdxIds {
    pub(crate) fn reserve(&mut self, id: &str) {
        self.taken.insert(id.to_owned());
    }

    pub(crate) fn allocate(&mut self, prefix: &str, parts: &[&str]) -> String {
        let mut base = format!("SPDXRef-{prefix}");
        for part in parts.iter().filter(|p| !p.is_empty()) {
            base.push('-');
            base.push_str(&spdx_idstring(part));
        }
        let mut candidate = base.clone();
        let mut n = 1usize;
        while self.taken.contains(&candidate) {
            n += 1;
            candidate = format!("{base}-{n}");
        }
        self.taken.insert(candidate.clone());
        candidate
    }
}

/// The purl of the source package `package` was built from: same type and
/// namespace, the source's name and version, `arch=source` (deb) or
/// `arch=src` (rpm), and the binary's `distro` (and rpm `epoch`) qualifiers.
pub(crate) fn source_purl(package: &Package) -> Option<Purl> {
    let source = package.source.as_ref()?;
    let mut purl = Purl::new(package.purl.ty(), &source.name)
        .with_namespace(package.purl.namespace().unwrap_or_default())
        .with_version(&source.version);
    let arch = match package.kind {
        PackageKind::Deb => "source",
        PackageKind::Rpm => "src",
        _ => "",
    };
    purl = purl.with_qualifier("arch", arch);
    if let Some(distro) = package.purl.qualifier("distro") {
        purl = purl.with_qualifier("distro", distro);
    }
    if package.kind == PackageKind::Rpm
        && let Some(epoch) = package.purl.qualifier("epoch")
    {
        purl = purl.with_qualifier("epoch", epoch);
    }
    Some(purl)
}

/// A maintainer field split into name and e-mail: `Name <mail>` or `mail (Name)`.
pub(crate) struct Contact {
    pub(crate) name: String,
    pub(crate) email: Option<String>,
}

pub(crate) fn parse_maintainer(raw: &str) -> Contact {
    let raw = raw.trim();
    if let Some((name, rest)) = raw.split_once('<')
        && let Some((email, _)) = rest.split_once('>')
    {
        let email = email.trim();
        return Contact {
            name: name.trim().to_owned(),
            email: plausible_email(email).then(|| email.to_owned()),
        };
    }
    if let Some((email, rest)) = raw.split_once('(')
        && let Some((name, _)) = rest.split_once(')')
        && plausible_email(email.trim())
    {
        return Contact {
            name: name.trim().to_owned(),
            email: Some(email.trim().to_owned()),
        };
    }
    if plausible_email(raw) {
        return Contact {
            name: String::new(),
            email: Some(raw.to_owned()),
        };
    }
    Contact {
        name: raw.to_owned(),
        email: None,
    }
}

fn plausible_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || "<>()[],;:\"\\".contains(c))
}

/// True when a maintainer name reads as a group rather than a person.
pub(crate) fn is_organization(name: &str) -> bool {
    const WORDS: [&str; 10] = [
        "team",
        "maintainers",
        "developers",
        "project",
        "group",
        "community",
        "foundation",
        "packagers",
        "inc.",
        "ltd",
    ];
    let lower = name.to_lowercase();
    WORDS.iter().any(|word| lower.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_has_version_8_and_rfc_variant() {
        let uuid = content_uuid(b"drydock");
        let bytes: Vec<char> = uuid.chars().collect();
        assert_eq!(uuid.len(), 36);
        assert_eq!(bytes.get(14), Some(&'8'));
        assert!(matches!(bytes.get(19), Some('8' | '9' | 'a' | 'b')));
        assert_ne!(uuid, content_uuid(b"drydock2"));
    }

    #[test]
    fn maintainers_split() {
        let c = parse_maintainer("Jürgen Müller <jm@example.org>");
        assert_eq!(c.name, "Jürgen Müller");
        assert_eq!(c.email.as_deref(), Some("jm@example.org"));
        let c = parse_maintainer("Debian OpenSSL Team");
        assert_eq!(c.email, None);
        assert!(is_organization(&c.name));
        let c = parse_maintainer("Natanael Copa <broken address>");
        assert_eq!(c.email, None);
    }

    #[test]
    fn spdx_ids_are_unique_and_clean() {
        let mut ids = SpdxIds::default();
        let a = ids.allocate("Package", &["deb", "libstdc++6", "12.2.0-14"]);
        let b = ids.allocate("Package", &["deb", "libstdc--6", "12.2.0-14"]);
        assert_eq!(a, "SPDXRef-Package-deb-libstdc--6-12.2.0-14");
        assert_eq!(b, "SPDXRef-Package-deb-libstdc--6-12.2.0-14-2");
    }
}

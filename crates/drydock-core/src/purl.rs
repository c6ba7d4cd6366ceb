use std::collections::BTreeMap;
use std::fmt;

/// A package URL (<https://github.com/package-url/purl-spec>), built from its
/// parts and rendered in canonical form: type lowercase, qualifiers sorted by
/// key, components percent-encoded.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Purl {
    ty: String,
    namespace: Option<String>,
    name: String,
    version: Option<String>,
    qualifiers: BTreeMap<String, String>,
    subpath: Option<String>,
}

impl Purl {
    pub fn new(ty: &str, name: &str) -> Purl {
        Purl {
            ty: ty.to_ascii_lowercase(),
            namespace: None,
            name: name.to_owned(),
            version: None,
            qualifiers: BTreeMap::new(),
            subpath: None,
        }
    }

    #[must_use]
    pub fn with_namespace(mut self, namespace: &str) -> Purl {
        if !namespace.is_empty() {
            self.namespace = Some(namespace.to_owned());
        }
        self
    }

    #[must_use]
    pub fn with_version(mut self, version: &str) -> Purl {
        if !version.is_empty() {
            self.version = Some(version.to_owned());
        }
        self
    }

    /// Add a qualifier; empty values are dropped as the spec requires.
    #[must_use]
    pub fn with_qualifier(mut self, key: &str, value: &str) -> Purl {
        if !value.is_empty() {
            self.qualifiers
                .insert(key.to_ascii_lowercase(), value.to_owned());
        }
        self
    }

    #[must_use]
    pub fn with_subpath(mut self, subpath: &str) -> Purl {
        if !subpath.is_empty() {
            self.subpath = Some(subpath.to_owned());
        }
        self
    }

    pub fn ty(&self) -> &str {
        &self.ty
    }
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }
    pub fn qualifier(&self, key: &str) -> Option<&str> {
        self.qualifiers.get(key).map(String::as_str)
    }
}

/// Percent-encode everything but the unreserved set; `:` is left as is, as
/// the spec allows and the reference implementations do.
fn encode(out: &mut String, s: &str, keep_slash: bool) {
    for &b in s.as_bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~' | b':')
            || (keep_slash && b == b'/');
        if keep {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push_str(&crate::to_hex(&[b]).to_ascii_uppercase());
        }
    }
}

impl fmt::Display for Purl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::with_capacity(64);
        out.push_str("pkg:");
        out.push_str(&self.ty);
        out.push('/');
        if let Some(namespace) = &self.namespace {
            for segment in namespace.split('/').filter(|s| !s.is_empty()) {
                encode(&mut out, segment, false);
                out.push('/');
            }
        }
        encode(&mut out, &self.name, false);
        if let Some(version) = &self.version {
            out.push('@');
            encode(&mut out, version, false);
        }
        let mut first = true;
        for (key, value) in &self.qualifiers {
            out.push(if first { '?' } else { '&' });
            first = false;
            out.push_str(key);
            out.push('=');
            encode(&mut out, value, false);
        }
        if let Some(subpath) = &self.subpath {
            out.push('#');
            let mut first = true;
            for segment in subpath
                .split('/')
                .filter(|s| !s.is_empty() && *s != "." && *s != "..")
            {
                if !first {
                    out.push('/');
                }
                first = false;
                encode(&mut out, segment, false);
            }
        }
        f.write_str(&out)
    }
}

impl serde::Serialize for Purl {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deb_purl_matches_the_spec_example() {
        let purl = Purl::new("deb", "libssl3")
            .with_namespace("debian")
            .with_version("3.0.11-1~deb12u2")
            .with_qualifier("distro", "debian-12")
            .with_qualifier("arch", "amd64");
        assert_eq!(
            purl.to_string(),
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"
        );
    }

    #[test]
    fn reserved_characters_are_encoded() {
        let purl = Purl::new("deb", "libstdc++6")
            .with_namespace("debian")
            .with_version("1:12.2.0-14+deb12u1")
            .with_qualifier("arch", "");
        assert_eq!(
            purl.to_string(),
            "pkg:deb/debian/libstdc%2B%2B6@1:12.2.0-14%2Bdeb12u1"
        );
        let npm = Purl::new("npm", "core")
            .with_namespace("@angular")
            .with_version("1.0 beta");
        assert_eq!(npm.to_string(), "pkg:npm/%40angular/core@1.0%20beta");
    }
}

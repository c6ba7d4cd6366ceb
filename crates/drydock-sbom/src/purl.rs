//! Reading purls back from SBOMs.

use drydock_core::Purl;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PurlParseError {
    #[error("`{0}` does not start with `pkg:`")]
    Scheme(String),
    #[error("`{0}` has no type or no name")]
    Incomplete(String),
    #[error("`{0}` has a bad percent-encoding")]
    Encoding(String),
    #[error("`{0}` has a qualifier without `=`")]
    Qualifier(String),
}

/// Parse a purl in the canonical form [`Purl`]'s `Display` writes (and the
/// usual variations: `pkg://`, unsorted qualifiers, lowercase escapes).
pub fn parse_purl(text: &str) -> Result<Purl, PurlParseError> {
    let Some(rest) = text.strip_prefix("pkg:") else {
        return Err(PurlParseError::Scheme(text.to_owned()));
    };
    let rest = rest.trim_start_matches('/');
    let (rest, subpath) = match rest.split_once('#') {
        Some((rest, subpath)) => (rest, Some(subpath)),
        None => (rest, None),
    };
    let (rest, qualifiers) = match rest.split_once('?') {
        Some((rest, qualifiers)) => (rest, Some(qualifiers)),
        None => (rest, None),
    };
    let rest = rest.trim_end_matches('/');
    let Some((ty, path)) = rest.split_once('/') else {
        return Err(PurlParseError::Incomplete(text.to_owned()));
    };
    let (path, version) = match path.rsplit_once('@') {
        Some((path, version)) => (path, Some(version)),
        None => (path, None),
    };
    let (namespace, name) = match path.rsplit_once('/') {
        Some((namespace, name)) => (Some(namespace), name),
        None => (None, path),
    };
    let decode_or = |s: &str| decode(s).ok_or_else(|| PurlParseError::Encoding(text.to_owned()));
    let name = decode_or(name)?;
    if ty.is_empty() || name.is_empty() {
        return Err(PurlParseError::Incomplete(text.to_owned()));
    }
    let mut purl = Purl::new(ty, &name);
    if let Some(namespace) = namespace {
        let segments = namespace
            .split('/')
            .filter(|s| !s.is_empty())
            .map(decode_or)
            .collect::<Result<Vec<_>, _>>()?;
        purl = purl.with_namespace(&segments.join("/"));
    }
    if let Some(version) = version {
        purl = purl.with_version(&decode_or(version)?);
    }
    for pair in qualifiers
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|p| !p.is_empty())
    {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(PurlParseError::Qualifier(text.to_owned()));
        };
        purl = purl.with_qualifier(key, &decode_or(value)?);
    }
    if let Some(subpath) = subpath {
        // The purl spec discards empty, `.` and `..` subpath segments.
        let segments = subpath
            .split('/')
            .filter(|s| !s.is_empty() && *s != "." && *s != "..")
            .map(decode_or)
            .collect::<Result<Vec<_>, _>>()?;
        purl = purl.with_subpath(&segments.join("/"));
    }
    Ok(purl)
}

fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_canonical_purls() {
        for text in [
            "pkg:deb/debian/libstdc%2B%2B6@1:12.2.0-14%2Bdeb12u1?arch=amd64&distro=debian-12",
            "pkg:npm/%40angular/core@1.0%20beta",
            "pkg:rpm/fedora/bash@5.2.15-3.fc38?arch=x86_64&epoch=1",
            "pkg:golang/github.com/a/b@v1.0.0#sub/dir",
        ] {
            assert_eq!(parse_purl(text).map(|p| p.to_string()), Ok(text.to_owned()));
        }
    }

    /// Found by the `purl` fuzz target: a `.` subpath segment was kept when
    /// reading but dropped when printing, so the purl did not round-trip.
    #[test]
    #[expect(clippy::unwrap_used, reason = "a test fails loudly")]
    fn dot_subpath_segments_are_discarded() {
        let purl = parse_purl("pkg:npm/a@1#lib/./x/../y").unwrap();
        assert_eq!(purl.to_string(), "pkg:npm/a@1#lib/x/y");
        assert_eq!(parse_purl(&purl.to_string()), Ok(purl));
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_purl("deb/debian/x").is_err());
        assert!(parse_purl("pkg:deb").is_err());
        assert!(parse_purl("pkg:deb/x%2").is_err());
        assert!(parse_purl("pkg:deb/x%zz").is_err());
        assert!(parse_purl("pkg:deb/x?arch").is_err());
    }
}

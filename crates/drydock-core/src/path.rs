use std::fmt;

/// A path inside an image root: relative, normalised (no `.`, no `..`, no empty
/// components), bytes that need not be UTF-8. The root itself is the empty path.
/// Displayed with a leading `/`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ImagePath(Vec<u8>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PathError {
    #[error("path `{0}` is absolute")]
    Absolute(String),
    #[error("path `{0}` climbs out of the root with `..`")]
    Traversal(String),
    #[error("path `{0}` contains a NUL byte")]
    Nul(String),
}

impl ImagePath {
    pub fn root() -> ImagePath {
        ImagePath(Vec::new())
    }

    /// A path as written in a tar header: relative, `./` prefixes and
    /// trailing slashes allowed. Absolute paths and `..` are errors.
    pub fn from_tar(raw: &[u8]) -> Result<ImagePath, PathError> {
        if raw.first() == Some(&b'/') {
            return Err(PathError::Absolute(lossy(raw)));
        }
        Self::normalise_strict(raw)
    }

    /// A path written relative to the root or absolute (meaning from the
    /// root), e.g. a path a cataloger names. `..` is an error.
    pub fn new(raw: impl AsRef<[u8]>) -> Result<ImagePath, PathError> {
        Self::normalise_strict(raw.as_ref())
    }

    fn normalise_strict(raw: &[u8]) -> Result<ImagePath, PathError> {
        if raw.contains(&0) {
            return Err(PathError::Nul(lossy(raw)));
        }
        let mut out = Vec::with_capacity(raw.len());
        for component in raw.split(|&b| b == b'/') {
            match component {
                b"" | b"." => {}
                b".." => return Err(PathError::Traversal(lossy(raw))),
                name => {
                    if !out.is_empty() {
                        out.push(b'/');
                    }
                    out.extend_from_slice(name);
                }
            }
        }
        Ok(ImagePath(out))
    }

    /// Resolve a link target the way the kernel does inside a chroot:
    /// absolute targets start at the root, relative ones at `dir`, and `..`
    /// at the root stays at the root. Never escapes.
    pub fn resolve_link(dir: &ImagePath, target: &[u8]) -> ImagePath {
        let mut parts: Vec<&[u8]> = if target.first() == Some(&b'/') {
            Vec::new()
        } else {
            dir.components().collect()
        };
        for component in target.split(|&b| b == b'/') {
            match component {
                b"" | b"." => {}
                b".." => {
                    parts.pop();
                }
                name => parts.push(name),
            }
        }
        ImagePath(parts.join(&b'/'))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub fn components(&self) -> impl DoubleEndedIterator<Item = &[u8]> {
        self.0.split(|&b| b == b'/').filter(|c| !c.is_empty())
    }

    pub fn parent(&self) -> Option<ImagePath> {
        if self.0.is_empty() {
            return None;
        }
        match self.0.iter().rposition(|&b| b == b'/') {
            Some(i) => Some(ImagePath(self.0.get(..i).unwrap_or_default().to_vec())),
            None => Some(ImagePath::root()),
        }
    }

    pub fn file_name(&self) -> &[u8] {
        match self.0.iter().rposition(|&b| b == b'/') {
            Some(i) => self.0.get(i + 1..).unwrap_or_default(),
            None => &self.0,
        }
    }

    /// Append one or more normalised components (`name` must not hold `..`).
    #[must_use]
    pub fn join(&self, name: &[u8]) -> ImagePath {
        let mut out = self.0.clone();
        for component in name.split(|&b| b == b'/') {
            if component.is_empty() || component == b"." || component == b".." {
                continue;
            }
            if !out.is_empty() {
                out.push(b'/');
            }
            out.extend_from_slice(component);
        }
        ImagePath(out)
    }

    /// True when `self` is `dir` or lies below it.
    pub fn starts_with(&self, dir: &ImagePath) -> bool {
        if dir.0.is_empty() {
            return true;
        }
        self.0.starts_with(&dir.0)
            && (self.0.len() == dir.0.len() || self.0.get(dir.0.len()) == Some(&b'/'))
    }

    /// The path as UTF-8 if it is, with a leading `/`.
    pub fn to_display(&self) -> String {
        format!("/{}", String::from_utf8_lossy(&self.0))
    }
}

fn lossy(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

impl fmt::Display for ImagePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}", String::from_utf8_lossy(&self.0))
    }
}

impl fmt::Debug for ImagePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.to_display())
    }
}

impl serde::Serialize for ImagePath {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_display())
    }
}

impl<'de> serde::Deserialize<'de> for ImagePath {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        ImagePath::new(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> ImagePath {
        ImagePath::new(s).unwrap_or_default()
    }

    #[test]
    fn tar_paths_normalise() {
        assert_eq!(ImagePath::from_tar(b"./etc//passwd"), Ok(p("etc/passwd")));
        assert_eq!(ImagePath::from_tar(b"usr/lib/"), Ok(p("usr/lib")));
        assert_eq!(ImagePath::from_tar(b"./"), Ok(ImagePath::root()));
    }

    #[test]
    fn tar_paths_reject_absolute_and_traversal() {
        assert!(matches!(
            ImagePath::from_tar(b"/etc/passwd"),
            Err(PathError::Absolute(_))
        ));
        assert!(matches!(
            ImagePath::from_tar(b"a/../../x"),
            Err(PathError::Traversal(_))
        ));
        assert!(matches!(
            ImagePath::from_tar(b"../x"),
            Err(PathError::Traversal(_))
        ));
    }

    #[test]
    fn links_resolve_inside_the_root() {
        assert_eq!(
            ImagePath::resolve_link(&p("etc"), b"../usr/lib/os-release"),
            p("usr/lib/os-release")
        );
        assert_eq!(
            ImagePath::resolve_link(&p("etc"), b"../../../../etc/shadow"),
            p("etc/shadow")
        );
        assert_eq!(ImagePath::resolve_link(&p("a/b"), b"/x/./y"), p("x/y"));
    }

    #[test]
    fn parent_and_starts_with() {
        assert_eq!(p("a/b/c").parent(), Some(p("a/b")));
        assert_eq!(p("a").parent(), Some(ImagePath::root()));
        assert!(p("var/lib/dpkg/status").starts_with(&p("var/lib")));
        assert!(!p("var/library").starts_with(&p("var/lib")));
        assert_eq!(p("var/lib/dpkg").file_name(), b"dpkg");
    }
}

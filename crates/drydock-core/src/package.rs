use crate::{Digest, ImagePath, Purl};

/// What kind of package database a package came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PackageKind {
    Deb,
    Apk,
    Rpm,
}

impl PackageKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PackageKind::Deb => "deb",
            PackageKind::Apk => "apk",
            PackageKind::Rpm => "rpm",
        }
    }
}

/// A vulnerability-database ecosystem, spelled as OSV spells it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Ecosystem(pub String);

/// A layer of an image: its position and digest (absent for `dir:` sources).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Layer {
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff_id: Option<Digest>,
}

/// Where a package was found: the file that declared it and the layer that file came from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Location {
    pub path: ImagePath,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<Layer>,
}

/// The source package a binary package was built from.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct SourcePackage {
    pub name: String,
    pub version: String,
}

/// A file a package owns, with its recorded digest when the database has one
/// (`md5:…` for dpkg, `sha1:…`/`sha256:…` for apk and rpm).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct OwnedFile {
    pub path: ImagePath,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// One package found in an image.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Package {
    pub name: String,
    /// The version as the package manager prints it (rpm: `[epoch:]version-release`).
    pub version: String,
    pub kind: PackageKind,
    pub purl: Purl,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourcePackage>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maintainer: Option<String>,
    /// Installed size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub installed_size: Option<u64>,
    /// A checksum of the package itself when the database records one (apk `C:`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    /// True for installed packages, false for ones only declared (lock files).
    pub installed: bool,
    pub locations: Vec<Location>,
    /// The layer that introduced this package (name, version and arch first present).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<Layer>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<OwnedFile>,
}

/// A relationship between two packages or a package and a file, by purl.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Relationship {
    pub from: String,
    pub to: String,
    pub kind: String,
}

/// A problem with one file, located: `path (layer): reason`. Data, not a log line.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub cataloger: String,
    pub path: ImagePath,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<Layer>,
    pub reason: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.layer {
            Some(layer) => write!(f, "{} (layer {}): {}", self.path, layer.index, self.reason),
            None => write!(f, "{}: {}", self.path, self.reason),
        }
    }
}

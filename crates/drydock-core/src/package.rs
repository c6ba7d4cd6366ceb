use crate::{Digest, ImagePath, Purl};

/// What kind of package a package is, named by its purl type.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum PackageKind {
    Deb,
    Apk,
    Rpm,
    Pypi,
    Npm,
    Cargo,
    Golang,
    Maven,
    Nuget,
    Gem,
    Composer,
    Conda,
}

impl PackageKind {
    pub const ALL: [PackageKind; 12] = [
        PackageKind::Deb,
        PackageKind::Apk,
        PackageKind::Rpm,
        PackageKind::Pypi,
        PackageKind::Npm,
        PackageKind::Cargo,
        PackageKind::Golang,
        PackageKind::Maven,
        PackageKind::Nuget,
        PackageKind::Gem,
        PackageKind::Composer,
        PackageKind::Conda,
    ];

    /// The purl type, also the name in drydock's JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            PackageKind::Deb => "deb",
            PackageKind::Apk => "apk",
            PackageKind::Rpm => "rpm",
            PackageKind::Pypi => "pypi",
            PackageKind::Npm => "npm",
            PackageKind::Cargo => "cargo",
            PackageKind::Golang => "golang",
            PackageKind::Maven => "maven",
            PackageKind::Nuget => "nuget",
            PackageKind::Gem => "gem",
            PackageKind::Composer => "composer",
            PackageKind::Conda => "conda",
        }
    }

    /// True for packages of an operating system's package manager.
    pub fn is_os(self) -> bool {
        matches!(self, PackageKind::Deb | PackageKind::Apk | PackageKind::Rpm)
    }

    /// The OSV ecosystem of a language package (OS packages depend on the distro).
    pub fn language_ecosystem(self) -> Option<&'static str> {
        match self {
            PackageKind::Pypi => Some("PyPI"),
            PackageKind::Npm => Some("npm"),
            PackageKind::Cargo => Some("crates.io"),
            PackageKind::Golang => Some("Go"),
            PackageKind::Maven => Some("Maven"),
            PackageKind::Nuget => Some("NuGet"),
            PackageKind::Gem => Some("RubyGems"),
            PackageKind::Composer => Some("Packagist"),
            PackageKind::Deb | PackageKind::Apk | PackageKind::Rpm | PackageKind::Conda => None,
        }
    }
}

impl std::str::FromStr for PackageKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PackageKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown package kind `{s}`"))
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

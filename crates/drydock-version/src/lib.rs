//! Exact version ordering per package ecosystem, and the range checks the
//! vulnerability matcher needs.
//!
//! Each scheme lives in its own module named after its spec (`dpkg`, `apk`,
//! `rpm`, `semver`, `pep440`, `maven`, `rubygems`, `nuget`, `composer`).
//! [`compare`] and [`satisfies`] dispatch on an [`Ecosystem`], spelled as
//! OSV spells it.
//!
//! Everything here parses untrusted strings: no panics, no recursion on
//! input depth, numbers of any length compared as digit strings.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

pub mod apk;
pub mod composer;
pub mod dpkg;
pub mod maven;
pub mod nuget;
pub mod pep440;
pub mod rpm;
pub mod rubygems;
pub mod semver;

mod number;

/// A package ecosystem, as far as its version scheme goes.
///
/// Distributions that share a scheme map to the same variant: Ubuntu is
/// [`Ecosystem::Debian`] (dpkg), Wolfi and Chainguard are
/// [`Ecosystem::Alpine`] (apk), Rocky, Alma, SUSE, openSUSE and Mageia are
/// [`Ecosystem::RedHat`] (rpm).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ecosystem {
    Debian,
    Alpine,
    RedHat,
    Npm,
    CratesIo,
    PyPI,
    Maven,
    Go,
    RubyGems,
    NuGet,
    Packagist,
}

impl Ecosystem {
    /// Every ecosystem, in a stable order.
    pub const ALL: [Ecosystem; 11] = [
        Ecosystem::Debian,
        Ecosystem::Alpine,
        Ecosystem::RedHat,
        Ecosystem::Npm,
        Ecosystem::CratesIo,
        Ecosystem::PyPI,
        Ecosystem::Maven,
        Ecosystem::Go,
        Ecosystem::RubyGems,
        Ecosystem::NuGet,
        Ecosystem::Packagist,
    ];

    /// The OSV spelling of the ecosystem.
    pub fn osv_name(self) -> &'static str {
        match self {
            Ecosystem::Debian => "Debian",
            Ecosystem::Alpine => "Alpine",
            Ecosystem::RedHat => "Red Hat",
            Ecosystem::Npm => "npm",
            Ecosystem::CratesIo => "crates.io",
            Ecosystem::PyPI => "PyPI",
            Ecosystem::Maven => "Maven",
            Ecosystem::Go => "Go",
            Ecosystem::RubyGems => "RubyGems",
            Ecosystem::NuGet => "NuGet",
            Ecosystem::Packagist => "Packagist",
        }
    }

    /// Every name [`FromStr`] accepts (before an optional `:release` suffix).
    pub const NAMES: &'static [&'static str] = &[
        "Debian",
        "Ubuntu",
        "Alpine",
        "Wolfi",
        "Chainguard",
        "Red Hat",
        "Rocky Linux",
        "AlmaLinux",
        "SUSE",
        "openSUSE",
        "Mageia",
        "npm",
        "crates.io",
        "PyPI",
        "Maven",
        "Go",
        "RubyGems",
        "NuGet",
        "Packagist",
    ];
}

impl fmt::Display for Ecosystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.osv_name())
    }
}

/// The name was not an ecosystem this crate knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown ecosystem `{name}`")]
pub struct UnknownEcosystem {
    pub name: String,
}

impl FromStr for Ecosystem {
    type Err = UnknownEcosystem;

    /// Accepts OSV spellings, with an optional `:release` suffix
    /// (`Debian:12`, `Alpine:v3.19`, `Red Hat:enterprise_linux:9`) that is
    /// ignored. Names are matched case-insensitively.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        let base = name.split(':').next().unwrap_or(name).trim();
        let lower = base.to_ascii_lowercase();
        let ecosystem = match lower.as_str() {
            "debian" | "ubuntu" => Ecosystem::Debian,
            "alpine" | "wolfi" | "chainguard" => Ecosystem::Alpine,
            "red hat" | "redhat" | "rocky linux" | "almalinux" | "suse" | "opensuse" | "mageia" => {
                Ecosystem::RedHat
            }
            "npm" => Ecosystem::Npm,
            "crates.io" => Ecosystem::CratesIo,
            "pypi" => Ecosystem::PyPI,
            "maven" => Ecosystem::Maven,
            "go" => Ecosystem::Go,
            "rubygems" => Ecosystem::RubyGems,
            "nuget" => Ecosystem::NuGet,
            "packagist" => Ecosystem::Packagist,
            _ => {
                return Err(UnknownEcosystem {
                    name: name.to_owned(),
                });
            }
        };
        Ok(ecosystem)
    }
}

/// A version or requirement that its scheme rejects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error("invalid {scheme} version `{version}`: {reason}")]
    InvalidVersion {
        scheme: &'static str,
        version: String,
        reason: &'static str,
    },
    #[error("invalid {scheme} requirement `{requirement}`: {reason}")]
    InvalidRequirement {
        scheme: &'static str,
        requirement: String,
        reason: &'static str,
    },
    #[error("{ecosystem} has no range syntax in drydock-version")]
    NoRangeSyntax { ecosystem: Ecosystem },
}

impl VersionError {
    pub(crate) fn version(scheme: &'static str, version: &str, reason: &'static str) -> Self {
        VersionError::InvalidVersion {
            scheme,
            version: truncate(version),
            reason,
        }
    }

    pub(crate) fn requirement(
        scheme: &'static str,
        requirement: &str,
        reason: &'static str,
    ) -> Self {
        VersionError::InvalidRequirement {
            scheme,
            requirement: truncate(requirement),
            reason,
        }
    }
}

/// Error messages quote the input, but never more than a screenful of it.
fn truncate(input: &str) -> String {
    const LIMIT: usize = 200;
    if input.len() <= LIMIT {
        return input.to_owned();
    }
    let mut end = LIMIT;
    while !input.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", input.get(..end).unwrap_or_default())
}

/// Compares two versions under `ecosystem`'s scheme.
///
/// Schemes with validity rules (semver for npm, crates.io and Go, PEP 440,
/// NuGet, RubyGems, Composer) return an error for an invalid version; dpkg,
/// apk, rpm and Maven order any string.
pub fn compare(ecosystem: Ecosystem, a: &str, b: &str) -> Result<Ordering, VersionError> {
    match ecosystem {
        Ecosystem::Debian => Ok(dpkg::compare(a, b)),
        Ecosystem::Alpine => Ok(apk::compare(a, b)),
        Ecosystem::RedHat => Ok(rpm::compare(a, b)),
        Ecosystem::Npm => semver::compare_npm(a, b),
        Ecosystem::CratesIo => semver::compare_cargo(a, b),
        Ecosystem::Go => semver::compare_go(a, b),
        Ecosystem::PyPI => pep440::compare(a, b),
        Ecosystem::Maven => Ok(maven::compare(a, b)),
        Ecosystem::RubyGems => rubygems::compare(a, b),
        Ecosystem::NuGet => nuget::compare(a, b),
        Ecosystem::Packagist => composer::compare(a, b),
    }
}

/// Whether `version` satisfies `requirement` in the ecosystem's own range
/// syntax: node-semver ranges for npm, Cargo requirements for crates.io,
/// PEP 440 specifier sets for PyPI.
pub fn satisfies(
    ecosystem: Ecosystem,
    version: &str,
    requirement: &str,
) -> Result<bool, VersionError> {
    match ecosystem {
        Ecosystem::Npm => semver::npm_satisfies(version, requirement),
        Ecosystem::CratesIo => semver::cargo_satisfies(version, requirement),
        Ecosystem::PyPI => pep440::satisfies(version, requirement),
        other => Err(VersionError::NoRangeSyntax { ecosystem: other }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osv_names_parse_with_and_without_release() {
        for ecosystem in Ecosystem::ALL {
            assert_eq!(ecosystem.osv_name().parse::<Ecosystem>(), Ok(ecosystem));
        }
        assert_eq!("Debian:12".parse(), Ok(Ecosystem::Debian));
        assert_eq!("Ubuntu:22.04:LTS".parse(), Ok(Ecosystem::Debian));
        assert_eq!("Alpine:v3.19".parse(), Ok(Ecosystem::Alpine));
        assert_eq!("Rocky Linux:9".parse(), Ok(Ecosystem::RedHat));
        assert_eq!("openSUSE".parse(), Ok(Ecosystem::RedHat));
        assert_eq!("Wolfi".parse(), Ok(Ecosystem::Alpine));
        assert!("Hex".parse::<Ecosystem>().is_err());
        for name in Ecosystem::NAMES {
            assert!(name.parse::<Ecosystem>().is_ok(), "{name}");
        }
    }

    #[test]
    fn long_inputs_are_truncated_in_errors() {
        let long = "é".repeat(500);
        let message = VersionError::version("x", &long, "y").to_string();
        assert!(message.len() < 300);
    }

    #[test]
    fn no_range_syntax_is_an_error() {
        assert!(satisfies(Ecosystem::Debian, "1", "1").is_err());
    }
}

//! Golden-image policy: rules over an image's files (the walk's metadata
//! tree and a few claimed files), its configuration, packages, findings and
//! signatures, turned into coded diagnostics with evidence.
//!
//! The walk is shared with cataloging: [`PolicyVisitor`] wraps the catalog
//! dispatcher and adds the few files the rules read (`/etc/passwd`, the
//! required files, candidate private keys).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod config;
mod output;
pub mod pins;
mod rules;
mod visitor;

pub use config::{
    Owner, Policy, PolicyError, RequiredFile, RequiredLabel, RuleConfig, RuleParams,
    VulnerabilityParams, default_policy, parse_policy,
};
pub use output::{sarif, table};
pub use rules::{
    Evidence, FindingInput, GoldenBase, ImageConfig, Inputs, Outcome, PolicyReport, RuleResult,
    SignatureState, evaluate,
};
pub use visitor::PolicyVisitor;

/// Every rule: stable id and what it checks.
pub const RULES: &[(&str, &str)] = &[
    (
        "runs-as-root",
        "the image runs as root: config user empty, `0`, `root`, or a name /etc/passwd maps to uid 0",
    ),
    (
        "shell-present",
        "a shell (sh, bash, dash, ash, zsh, ksh, busybox …) is present in a system path",
    ),
    (
        "package-manager-present",
        "a package manager (dpkg/apt, apk, rpm/dnf/yum/microdnf/zypper, pip) is present in a system path",
    ),
    ("setuid-files", "files with the setuid or setgid bit"),
    (
        "world-writable-files",
        "world-writable files or directories (sticky directories excepted)",
    ),
    (
        "private-keys",
        "PEM private keys or well-known credential files in the image",
    ),
    (
        "required-files",
        "the organisation's required files are missing or differ in owner, mode or content",
    ),
    ("max-age", "the image was created more than N days ago"),
    (
        "vulnerabilities",
        "fixable findings at or above a severity published more than N days ago, or any KEV finding",
    ),
    (
        "unsigned",
        "no signature on the image verifies with the given key",
    ),
    (
        "base-not-golden",
        "the image's first layers are not those of an approved golden image",
    ),
    (
        "required-labels",
        "required image labels are missing or differ",
    ),
];

/// How bad a failed rule is.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// The description of a rule id.
pub fn describe(id: &str) -> &'static str {
    RULES
        .iter()
        .find(|(rule, _)| *rule == id)
        .map_or("", |(_, description)| description)
}

//! The policy file: which rules are enabled and their parameters.
//!
//! ```yaml
//! base: default            # or `none`: start from no rules
//! rules:
//!   runs-as-root: {}
//!   shell-present: {enabled: false}
//!   vulnerabilities: {severity: high, published-days: 30, kev: true}
//!   required-files:
//!     files:
//!       - {path: /etc/otel/collector.yaml, owner: 0, mode: "0644", contains: "endpoint:"}
//! ```
//! Unknown keys anywhere are errors (serde's `deny_unknown_fields`), and
//! the YAML parser's errors carry the line and column.
use std::collections::BTreeSet;

use serde::Deserialize;

use crate::Severity;

/// A parsed policy, ready to evaluate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Where it came from (`built-in default` or the file name).
    pub name: String,
    pub rules: Vec<RuleConfig>,
}

/// One enabled rule and its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleConfig {
    pub severity: Severity,
    pub params: RuleParams,
}

impl RuleConfig {
    pub fn id(&self) -> &'static str {
        self.params.id()
    }
}

/// Parameters per rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleParams {
    RunsAsRoot,
    ShellPresent { allow: BTreeSet<String> },
    PackageManagerPresent { allow: BTreeSet<String> },
    SetuidFiles { allow: BTreeSet<String> },
    WorldWritableFiles { allow: BTreeSet<String> },
    PrivateKeys { allow: BTreeSet<String> },
    RequiredFiles { files: Vec<RequiredFile> },
    MaxAge { days: u32 },
    Vulnerabilities(VulnerabilityParams),
    Unsigned,
    BaseNotGolden,
    RequiredLabels { labels: Vec<RequiredLabel> },
}

impl RuleParams {
    pub fn id(&self) -> &'static str {
        match self {
            RuleParams::RunsAsRoot => "runs-as-root",
            RuleParams::ShellPresent { .. } => "shell-present",
            RuleParams::PackageManagerPresent { .. } => "package-manager-present",
            RuleParams::SetuidFiles { .. } => "setuid-files",
            RuleParams::WorldWritableFiles { .. } => "world-writable-files",
            RuleParams::PrivateKeys { .. } => "private-keys",
            RuleParams::RequiredFiles { .. } => "required-files",
            RuleParams::MaxAge { .. } => "max-age",
            RuleParams::Vulnerabilities(_) => "vulnerabilities",
            RuleParams::Unsigned => "unsigned",
            RuleParams::BaseNotGolden => "base-not-golden",
            RuleParams::RequiredLabels { .. } => "required-labels",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredFile {
    /// Absolute path in the image.
    pub path: String,
    /// `UID` or `UID:GID`.
    #[serde(default)]
    pub owner: Option<Owner>,
    /// Octal permission bits, e.g. `"0644"`.
    #[serde(default)]
    pub mode: Option<String>,
    /// A substring the content must contain.
    #[serde(default)]
    pub contains: Option<String>,
}

/// `owner: 0` or `owner: "65532:65532"`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Owner {
    Uid(u64),
    Text(String),
}

impl Owner {
    /// (uid, gid) as written; `None` when it does not parse.
    pub fn ids(&self) -> Option<(u64, Option<u64>)> {
        match self {
            Owner::Uid(uid) => Some((*uid, None)),
            Owner::Text(text) => match text.split_once(':') {
                Some((uid, gid)) => Some((uid.parse().ok()?, Some(gid.parse().ok()?))),
                None => Some((text.parse().ok()?, None)),
            },
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredLabel {
    pub name: String,
    /// When set, the label must have exactly this value.
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VulnerabilityParams {
    /// Fixable findings at or above this severity fail.
    pub severity: drydock_vuln::SeverityLevel,
    /// ... when published more than this many days ago (0: any).
    pub published_days: u32,
    /// Any finding in CISA's KEV catalog fails, fixable or not.
    pub kev: bool,
}

// ---- the YAML shape ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    base: Option<Base>,
    #[serde(default)]
    rules: Option<Rules>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Base {
    Default,
    None,
}

macro_rules! rule_struct {
    ($name:ident { $($field:ident : $ty:ty),* $(,)? }) => {
        #[derive(Deserialize, Default)]
        #[serde(deny_unknown_fields, rename_all = "kebab-case")]
        struct $name {
            #[serde(default)]
            enabled: Option<bool>,
            #[serde(default)]
            severity: Option<Severity>,
            $(#[serde(default)] $field: $ty,)*
        }
    };
}

rule_struct!(Plain {});
rule_struct!(AllowList { allow: Vec<String> });
rule_struct!(RequiredFilesYaml {
    files: Vec<RequiredFile>
});
rule_struct!(MaxAgeYaml { days: Option<u32> });
rule_struct!(VulnerabilitiesYaml {
    min_severity: Option<String>,
    published_days: Option<u32>,
    kev: Option<bool>,
});
rule_struct!(LabelsYaml {
    labels: Vec<RequiredLabel>
});

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Rules {
    runs_as_root: Option<Plain>,
    shell_present: Option<AllowList>,
    package_manager_present: Option<AllowList>,
    setuid_files: Option<AllowList>,
    world_writable_files: Option<AllowList>,
    private_keys: Option<AllowList>,
    required_files: Option<RequiredFilesYaml>,
    max_age: Option<MaxAgeYaml>,
    vulnerabilities: Option<VulnerabilitiesYaml>,
    unsigned: Option<Plain>,
    base_not_golden: Option<Plain>,
    required_labels: Option<LabelsYaml>,
}

#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("policy `{file}`: {message}")]
    Yaml { file: String, message: String },
    #[error("policy `{file}`: {message}")]
    Invalid { file: String, message: String },
}

/// The built-in default: what a golden base promises — non-root, no shell,
/// no package manager, no fixable critical vulnerability, signed.
pub fn default_policy() -> Policy {
    Policy {
        name: "built-in default".into(),
        rules: default_rules(),
    }
}

fn default_rules() -> Vec<RuleConfig> {
    vec![
        RuleConfig {
            severity: Severity::High,
            params: RuleParams::RunsAsRoot,
        },
        RuleConfig {
            severity: Severity::Medium,
            params: RuleParams::ShellPresent {
                allow: BTreeSet::new(),
            },
        },
        RuleConfig {
            severity: Severity::Medium,
            params: RuleParams::PackageManagerPresent {
                allow: BTreeSet::new(),
            },
        },
        RuleConfig {
            severity: Severity::Critical,
            params: RuleParams::Vulnerabilities(VulnerabilityParams {
                severity: drydock_vuln::SeverityLevel::Critical,
                published_days: 0,
                kev: false,
            }),
        },
        RuleConfig {
            severity: Severity::High,
            params: RuleParams::Unsigned,
        },
    ]
}

/// The default severity of each rule.
fn default_severity(id: &str) -> Severity {
    match id {
        "runs-as-root" | "unsigned" | "private-keys" | "setuid-files" => Severity::High,
        "vulnerabilities" => Severity::Critical,
        "max-age" | "required-labels" => Severity::Low,
        _ => Severity::Medium,
    }
}

/// The YAML parser's message, with the line of an unknown key when it
/// had no location for it (keys of the document's top level).
fn yaml_message(error: &serde_saphyr::Error, text: &str) -> String {
    let full = error.without_snippet().to_string();
    let first = full.lines().next().unwrap_or_default();
    let message = first.strip_prefix("error: ").unwrap_or(first).to_owned();
    if message.starts_with("line ") || message.contains(" line ") {
        return message;
    }
    let key = message
        .strip_prefix("unknown field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(key, _)| key);
    let line = key.and_then(|key| {
        text.lines().position(|line| {
            let trimmed = line.trim_start().trim_start_matches("- ");
            trimmed
                .strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
    });
    match line {
        Some(index) => format!("{message} at line {}", index + 1),
        None => message,
    }
}

/// Parse a policy file. `file` names it in errors.
pub fn parse_policy(file: &str, text: &str) -> Result<Policy, PolicyError> {
    let parsed: File = serde_saphyr::from_str(text).map_err(|source| PolicyError::Yaml {
        file: file.to_owned(),
        message: yaml_message(&source, text),
    })?;
    let invalid = |message: String| PolicyError::Invalid {
        file: file.to_owned(),
        message,
    };
    let mut rules = match parsed.base.unwrap_or(Base::Default) {
        Base::Default => default_rules(),
        Base::None => Vec::new(),
    };
    let Some(yaml) = parsed.rules else {
        return Ok(Policy {
            name: file.to_owned(),
            rules,
        });
    };
    let mut set = |enabled: Option<bool>, severity: Option<Severity>, params: RuleParams| {
        let id = params.id();
        let previous = rules.iter().position(|rule| rule.id() == id);
        let previous_severity = previous
            .and_then(|index| rules.get(index))
            .map(|rule| rule.severity);
        if let Some(index) = previous {
            rules.remove(index);
        }
        if enabled.unwrap_or(true) {
            rules.push(RuleConfig {
                severity: severity
                    .or(previous_severity)
                    .unwrap_or_else(|| default_severity(id)),
                params,
            });
        }
    };
    let allow = |list: Vec<String>| list.into_iter().collect::<BTreeSet<_>>();
    if let Some(rule) = yaml.runs_as_root {
        set(rule.enabled, rule.severity, RuleParams::RunsAsRoot);
    }
    if let Some(rule) = yaml.shell_present {
        set(
            rule.enabled,
            rule.severity,
            RuleParams::ShellPresent {
                allow: allow(rule.allow),
            },
        );
    }
    if let Some(rule) = yaml.package_manager_present {
        set(
            rule.enabled,
            rule.severity,
            RuleParams::PackageManagerPresent {
                allow: allow(rule.allow),
            },
        );
    }
    if let Some(rule) = yaml.setuid_files {
        set(
            rule.enabled,
            rule.severity,
            RuleParams::SetuidFiles {
                allow: allow(rule.allow),
            },
        );
    }
    if let Some(rule) = yaml.world_writable_files {
        set(
            rule.enabled,
            rule.severity,
            RuleParams::WorldWritableFiles {
                allow: allow(rule.allow),
            },
        );
    }
    if let Some(rule) = yaml.private_keys {
        set(
            rule.enabled,
            rule.severity,
            RuleParams::PrivateKeys {
                allow: allow(rule.allow),
            },
        );
    }
    if let Some(rule) = yaml.required_files {
        for required in &rule.files {
            if !required.path.starts_with('/') {
                return Err(invalid(format!(
                    "required-files: `{}` is not an absolute path",
                    required.path
                )));
            }
            if let Some(mode) = &required.mode
                && u32::from_str_radix(mode, 8).is_err()
            {
                return Err(invalid(format!(
                    "required-files: `{}`: mode `{mode}` is not octal",
                    required.path
                )));
            }
            if let Some(owner) = &required.owner
                && owner.ids().is_none()
            {
                return Err(invalid(format!(
                    "required-files: `{}`: owner must be `UID` or `UID:GID`",
                    required.path
                )));
            }
        }
        set(
            rule.enabled,
            rule.severity,
            RuleParams::RequiredFiles { files: rule.files },
        );
    }
    if let Some(rule) = yaml.max_age {
        let Some(days) = rule.days else {
            return Err(invalid("max-age: `days` is required".into()));
        };
        set(rule.enabled, rule.severity, RuleParams::MaxAge { days });
    }
    if let Some(rule) = yaml.vulnerabilities {
        let severity = match rule.min_severity.as_deref() {
            None => drydock_vuln::SeverityLevel::Critical,
            Some(text) => text.parse().map_err(|_| {
                invalid(format!(
                    "vulnerabilities: `{text}` is not a severity (critical, high, medium, low, negligible)"
                ))
            })?,
        };
        set(
            rule.enabled,
            rule.severity,
            RuleParams::Vulnerabilities(VulnerabilityParams {
                severity,
                published_days: rule.published_days.unwrap_or(0),
                kev: rule.kev.unwrap_or(false),
            }),
        );
    }
    if let Some(rule) = yaml.unsigned {
        set(rule.enabled, rule.severity, RuleParams::Unsigned);
    }
    if let Some(rule) = yaml.base_not_golden {
        set(rule.enabled, rule.severity, RuleParams::BaseNotGolden);
    }
    if let Some(rule) = yaml.required_labels {
        set(
            rule.enabled,
            rule.severity,
            RuleParams::RequiredLabels {
                labels: rule.labels,
            },
        );
    }
    rules.sort_by_key(|rule| crate::RULES.iter().position(|(id, _)| *id == rule.id()));
    Ok(Policy {
        name: file.to_owned(),
        rules,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_rule_names_the_line() {
        let error = parse_policy("p.yaml", "rules:\n  runs-as-root: {}\n  no-such-rule: {}\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("policy `p.yaml`: ")
                && error.contains("unknown field `no-such-rule`"),
            "{error}"
        );
        assert!(error.contains("line 3"), "{error}");
        assert!(!error.contains('\n'), "one line: {error}");
    }

    #[test]
    fn unknown_parameter_names_the_line() {
        let error = parse_policy("p.yaml", "rules:\n  max-age:\n    days: 3\n    dayz: 4\n")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("unknown field `dayz`") && error.contains("line 4"),
            "{error}"
        );
    }

    #[test]
    fn malformed_yaml_names_the_line() {
        let error = parse_policy("p.yaml", "rules:\n  max-age: [\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("line"), "{error}");
    }

    #[test]
    fn base_none_and_overrides() {
        let policy = parse_policy(
            "p.yaml",
            "base: none\nrules:\n  max-age: {days: 30}\n  setuid-files: {severity: low, allow: [/usr/bin/passwd]}\n",
        )
        .unwrap();
        let ids: Vec<_> = policy.rules.iter().map(RuleConfig::id).collect();
        assert_eq!(ids, ["setuid-files", "max-age"]);
        assert_eq!(policy.rules[0].severity, Severity::Low);
        let policy = parse_policy("p.yaml", "rules:\n  unsigned: {enabled: false}\n").unwrap();
        let ids: Vec<_> = policy.rules.iter().map(RuleConfig::id).collect();
        assert_eq!(
            ids,
            [
                "runs-as-root",
                "shell-present",
                "package-manager-present",
                "vulnerabilities"
            ]
        );
    }

    #[test]
    fn bad_values_are_errors() {
        for (text, expected) in [
            ("rules:\n  max-age: {}\n", "`days` is required"),
            (
                "rules:\n  vulnerabilities: {min-severity: awful}\n",
                "not a severity",
            ),
            (
                "rules:\n  required-files: {files: [{path: etc/x}]}\n",
                "not an absolute path",
            ),
            (
                "rules:\n  required-files: {files: [{path: /x, mode: '9'}]}\n",
                "not octal",
            ),
            (
                "rules:\n  runs-as-root: {severity: dire}\n",
                "unknown variant `dire`",
            ),
        ] {
            let error = parse_policy("p.yaml", text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}

//! Evaluating a policy over one image.
use std::collections::{BTreeMap, BTreeSet};

use drydock_core::{Digest, ImagePath};
use drydock_oci::{Content, EntryKind, View};
use drydock_vuln::{Finding, FixState};
use serde::Serialize;

use crate::visitor::{credential_file, key_candidate};
use crate::{Policy, RuleParams, Severity, VulnerabilityParams};

/// Directories searched for shells and package managers.
const SYSTEM_PATHS: &[&str] = &[
    "bin",
    "sbin",
    "usr/bin",
    "usr/sbin",
    "usr/local/bin",
    "usr/local/sbin",
];
const SHELLS: &[&str] = &[
    "sh", "bash", "dash", "ash", "zsh", "ksh", "mksh", "csh", "tcsh", "fish", "busybox", "rbash",
];
const PACKAGE_MANAGERS: &[&str] = &[
    "dpkg", "apt", "apt-get", "aptitude", "apk", "rpm", "dnf", "yum", "microdnf", "zypper", "tdnf",
    "pip", "pip3",
];

/// The parts of the image configuration the rules read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageConfig {
    pub user: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub created: Option<String>,
}

impl ImageConfig {
    /// From the configuration blob (JSON).
    pub fn from_json(bytes: &[u8]) -> Result<ImageConfig, serde_json::Error> {
        #[derive(serde::Deserialize, Default)]
        struct Runtime {
            #[serde(rename = "User", default)]
            user: Option<String>,
            #[serde(rename = "Labels", default)]
            labels: Option<BTreeMap<String, String>>,
        }
        #[derive(serde::Deserialize)]
        struct Raw {
            #[serde(default)]
            created: Option<String>,
            #[serde(default)]
            config: Option<Runtime>,
        }
        let raw: Raw = serde_json::from_slice(bytes)?;
        let runtime = raw.config.unwrap_or_default();
        Ok(ImageConfig {
            user: runtime.user,
            labels: runtime.labels.unwrap_or_default(),
            created: raw.created,
        })
    }
}

/// Whether a signature verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignatureState {
    /// No key given: the rule cannot be evaluated.
    NoKey,
    /// Signatures were checked and none verified (reasons).
    NotVerified(Vec<String>),
    /// The signature manifest(s) that verified.
    Verified(Vec<Digest>),
    /// Checking was impossible (the source is not a registry or layout …).
    Unavailable(String),
}

/// One finding with its publication time (seconds since the epoch).
#[derive(Clone, Debug)]
pub struct FindingInput {
    pub finding: Finding,
    pub published: Option<i64>,
}

/// An approved golden image: its line, digest and layer digests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GoldenBase {
    pub name: String,
    pub layers: Vec<Digest>,
}

/// Everything a policy is evaluated over.
pub struct Inputs<'a> {
    pub view: &'a View<'a>,
    /// `None` for sources without a configuration (directories).
    pub config: Option<&'a ImageConfig>,
    /// The image's layer digests, bottom first.
    pub layers: &'a [Digest],
    /// `None` when no vulnerability database was available (the reason).
    pub findings: Result<&'a [FindingInput], String>,
    pub signature: &'a SignatureState,
    /// `Err(reason)` when no catalog could be consulted.
    pub golden_bases: Result<&'a [GoldenBase], String>,
    /// Seconds since the epoch.
    pub now: i64,
}

/// How one rule came out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "status", content = "reason")]
pub enum Outcome {
    Pass,
    Fail,
    /// The rule could not be evaluated (no database, no key …): the reason.
    NotEvaluated(String),
}

/// One piece of evidence: what, where.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Evidence {
    /// `path`, `config`, `package`, `finding`, `label`, `signature`, `layer`.
    pub kind: &'static str,
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Evidence {
    fn new(kind: &'static str, value: impl Into<String>, detail: Option<String>) -> Evidence {
        Evidence {
            kind,
            value: value.into(),
            detail,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleResult {
    pub id: &'static str,
    pub severity: Severity,
    pub description: &'static str,
    pub outcome: Outcome,
    pub evidence: Vec<Evidence>,
}

/// The result of a policy over one image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PolicyReport {
    pub policy: String,
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// `pass` only when every rule passed.
    pub verdict: &'static str,
    pub results: Vec<RuleResult>,
}

impl PolicyReport {
    /// Every enabled rule passed (none failed, none was left unevaluated).
    pub fn passed(&self) -> bool {
        self.results.iter().all(|r| r.outcome == Outcome::Pass)
    }

    pub fn failed_ids(&self) -> Vec<&'static str> {
        self.results
            .iter()
            .filter(|r| r.outcome == Outcome::Fail)
            .map(|r| r.id)
            .collect()
    }
}

/// Evaluate `policy` over one image.
pub fn evaluate(
    policy: &Policy,
    source: &str,
    digest: Option<&str>,
    inputs: &Inputs<'_>,
) -> PolicyReport {
    let results: Vec<RuleResult> = policy
        .rules
        .iter()
        .map(|rule| {
            let (outcome, mut evidence) = run(&rule.params, inputs);
            evidence.sort();
            evidence.dedup();
            RuleResult {
                id: rule.id(),
                severity: rule.severity,
                description: crate::describe(rule.id()),
                outcome,
                evidence,
            }
        })
        .collect();
    let verdict = if results.iter().all(|r| r.outcome == Outcome::Pass) {
        "pass"
    } else if results.iter().any(|r| r.outcome == Outcome::Fail) {
        "fail"
    } else {
        "incomplete"
    };
    PolicyReport {
        policy: policy.name.clone(),
        source: source.to_owned(),
        digest: digest.map(str::to_owned),
        verdict,
        results,
    }
}

fn verdict(evidence: Vec<Evidence>) -> (Outcome, Vec<Evidence>) {
    if evidence.is_empty() {
        (Outcome::Pass, evidence)
    } else {
        (Outcome::Fail, evidence)
    }
}

fn not_evaluated(reason: impl Into<String>) -> (Outcome, Vec<Evidence>) {
    (Outcome::NotEvaluated(reason.into()), Vec::new())
}

fn run(params: &RuleParams, inputs: &Inputs<'_>) -> (Outcome, Vec<Evidence>) {
    match params {
        RuleParams::RunsAsRoot => runs_as_root(inputs),
        RuleParams::ShellPresent { allow } => verdict(binaries(inputs.view, SHELLS, allow)),
        RuleParams::PackageManagerPresent { allow } => {
            verdict(binaries(inputs.view, PACKAGE_MANAGERS, allow))
        }
        RuleParams::SetuidFiles { allow } => verdict(mode_bits(inputs.view, allow, |entry| {
            matches!(entry.kind, EntryKind::File | EntryKind::HardLink { .. })
                && entry.mode & 0o6000 != 0
        })),
        RuleParams::WorldWritableFiles { allow } => {
            verdict(mode_bits(inputs.view, allow, |entry| match entry.kind {
                EntryKind::File | EntryKind::HardLink { .. } | EntryKind::Other => {
                    entry.mode & 0o002 != 0
                }
                EntryKind::Dir => entry.mode & 0o002 != 0 && entry.mode & 0o1000 == 0,
                EntryKind::Symlink(_) => false,
            }))
        }
        RuleParams::PrivateKeys { allow } => verdict(private_keys(inputs.view, allow)),
        RuleParams::RequiredFiles { files } => verdict(required_files(inputs.view, files)),
        RuleParams::MaxAge { days } => max_age(inputs, *days),
        RuleParams::Vulnerabilities(params) => vulnerabilities(inputs, params),
        RuleParams::Unsigned => match inputs.signature {
            SignatureState::NoKey => not_evaluated("no public key given (`--key`)"),
            SignatureState::Unavailable(reason) => not_evaluated(reason.clone()),
            SignatureState::Verified(_) => (Outcome::Pass, Vec::new()),
            SignatureState::NotVerified(reasons) => {
                let mut evidence: Vec<Evidence> = reasons
                    .iter()
                    .map(|reason| Evidence::new("signature", "rejected", Some(reason.clone())))
                    .collect();
                if evidence.is_empty() {
                    evidence.push(Evidence::new(
                        "signature",
                        "none",
                        Some("no signature found".into()),
                    ));
                }
                (Outcome::Fail, evidence)
            }
        },
        RuleParams::BaseNotGolden => base_not_golden(inputs),
        RuleParams::RequiredLabels { labels } => {
            let Some(config) = inputs.config else {
                return not_evaluated("the source has no image configuration");
            };
            let mut evidence = Vec::new();
            for label in labels {
                match (config.labels.get(&label.name), &label.value) {
                    (None, _) => evidence.push(Evidence::new(
                        "label",
                        label.name.clone(),
                        Some("missing".into()),
                    )),
                    (Some(actual), Some(wanted)) if actual != wanted => {
                        evidence.push(Evidence::new(
                            "label",
                            label.name.clone(),
                            Some(format!("is `{actual}`, expected `{wanted}`")),
                        ));
                    }
                    _ => {}
                }
            }
            verdict(evidence)
        }
    }
}

fn read_text<'v>(view: &'v View<'_>, path: &str) -> Option<&'v [u8]> {
    let path = ImagePath::new(path).ok()?;
    match view.read(&path) {
        Content::File { bytes, .. } => Some(bytes),
        _ => None,
    }
}

fn runs_as_root(inputs: &Inputs<'_>) -> (Outcome, Vec<Evidence>) {
    let Some(config) = inputs.config else {
        return not_evaluated("the source has no image configuration");
    };
    let user = config.user.clone().unwrap_or_default();
    let name = user.split(':').next().unwrap_or_default();
    let field = |detail: &str| {
        (
            Outcome::Fail,
            vec![Evidence::new(
                "config",
                format!("config.User={user:?}"),
                Some(detail.to_owned()),
            )],
        )
    };
    if name.is_empty() {
        return field("no user set: the runtime's default is root");
    }
    if let Ok(uid) = name.parse::<u64>() {
        return if uid == 0 {
            field("uid 0")
        } else {
            (Outcome::Pass, Vec::new())
        };
    }
    if name == "root" {
        return field("root");
    }
    let Some(passwd) = read_text(inputs.view, "etc/passwd") else {
        return not_evaluated(format!(
            "user `{name}` cannot be mapped to a uid: the image has no readable /etc/passwd"
        ));
    };
    let text = String::from_utf8_lossy(passwd);
    for line in text.lines() {
        let mut fields = line.split(':');
        if fields.next() == Some(name) {
            let uid = fields.nth(1).unwrap_or_default();
            return if uid == "0" {
                field(&format!("/etc/passwd maps `{name}` to uid 0"))
            } else {
                (Outcome::Pass, Vec::new())
            };
        }
    }
    not_evaluated(format!("user `{name}` is not in /etc/passwd"))
}

/// Executables named `names` in a system path that resolve to a file.
fn binaries(view: &View<'_>, names: &[&str], allow: &BTreeSet<String>) -> Vec<Evidence> {
    let mut found = Vec::new();
    for (path, entry) in view.entries() {
        let Some(parent) = path.parent() else {
            continue;
        };
        let parent = String::from_utf8_lossy(parent.as_bytes()).into_owned();
        if !SYSTEM_PATHS.contains(&parent.as_str()) {
            continue;
        }
        let name = String::from_utf8_lossy(path.file_name()).into_owned();
        let is_candidate =
            names.contains(&name.as_str()) || (names.contains(&"pip") && name.starts_with("pip3."));
        if !is_candidate || allow.contains(&path.to_display()) {
            continue;
        }
        let detail = match &entry.kind {
            EntryKind::File | EntryKind::HardLink { .. } => None,
            EntryKind::Symlink(target) => {
                // Present only when the link leads to a file.
                let Ok(resolved) = view.resolve(&path) else {
                    continue;
                };
                match view.entry(&resolved).map(|e| &e.kind) {
                    Some(EntryKind::File | EntryKind::HardLink { .. }) => {
                        Some(format!("symlink to {}", String::from_utf8_lossy(target)))
                    }
                    _ => continue,
                }
            }
            EntryKind::Dir | EntryKind::Other => continue,
        };
        found.push(Evidence::new("path", path.to_display(), detail));
    }
    found
}

fn mode_bits(
    view: &View<'_>,
    allow: &BTreeSet<String>,
    wanted: impl Fn(&drydock_oci::Entry) -> bool,
) -> Vec<Evidence> {
    view.entries()
        .filter(|(path, entry)| wanted(entry) && !allow.contains(&path.to_display()))
        .map(|(path, entry)| {
            Evidence::new(
                "path",
                path.to_display(),
                Some(format!(
                    "mode {:04o}, owner {}:{}",
                    entry.mode & 0o7777,
                    entry.uid,
                    entry.gid
                )),
            )
        })
        .collect()
}

fn private_keys(view: &View<'_>, allow: &BTreeSet<String>) -> Vec<Evidence> {
    let mut evidence = Vec::new();
    for (path, entry) in view.entries() {
        if !matches!(entry.kind, EntryKind::File | EntryKind::HardLink { .. })
            || allow.contains(&path.to_display())
        {
            continue;
        }
        if let Some(name) = credential_file(path.as_bytes()) {
            evidence.push(Evidence::new(
                "path",
                path.to_display(),
                Some(format!("credential file `{name}`")),
            ));
            continue;
        }
        if !key_candidate(path.as_bytes()) {
            continue;
        }
        if let Content::File { bytes, .. } = view.read(&path)
            && let Some(kind) = pem_private_key(bytes)
        {
            evidence.push(Evidence::new("path", path.to_display(), Some(kind)));
        }
    }
    evidence
}

/// `-----BEGIN [RSA |EC |OPENSSH |ENCRYPTED ]PRIVATE KEY-----` → the label.
fn pem_private_key(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    text.lines().find_map(|line| {
        let label = line
            .trim()
            .strip_prefix("-----BEGIN ")?
            .strip_suffix("-----")?;
        label
            .ends_with("PRIVATE KEY")
            .then(|| format!("PEM {label}"))
    })
}

fn required_files(view: &View<'_>, files: &[crate::RequiredFile]) -> Vec<Evidence> {
    let mut evidence = Vec::new();
    for file in files {
        let Ok(path) = ImagePath::new(file.path.trim_start_matches('/')) else {
            continue;
        };
        let problem = |detail: String| Evidence::new("path", file.path.clone(), Some(detail));
        let resolved = view.resolve(&path).unwrap_or_else(|_| path.clone());
        let Some(entry) = view.entry(&resolved) else {
            evidence.push(problem("missing".into()));
            continue;
        };
        if let Some((uid, gid)) = file.owner.as_ref().and_then(crate::Owner::ids) {
            let owner_ok = entry.uid == uid && gid.is_none_or(|gid| entry.gid == gid);
            if !owner_ok {
                let wanted = gid.map_or(uid.to_string(), |gid| format!("{uid}:{gid}"));
                evidence.push(problem(format!(
                    "owner {}:{}, expected {wanted}",
                    entry.uid, entry.gid
                )));
            }
        }
        if let Some(mode) = file
            .mode
            .as_deref()
            .and_then(|m| u32::from_str_radix(m, 8).ok())
            && entry.mode & 0o7777 != mode
        {
            evidence.push(problem(format!(
                "mode {:04o}, expected {mode:04o}",
                entry.mode & 0o7777
            )));
        }
        if let Some(pattern) = &file.contains {
            match view.read(&path) {
                Content::File { bytes, .. } => {
                    if !String::from_utf8_lossy(bytes).contains(pattern.as_str()) {
                        evidence.push(problem(format!("does not contain `{pattern}`")));
                    }
                }
                Content::Absent => evidence.push(problem("missing".into())),
                Content::Unreadable(reason) => {
                    evidence.push(problem(format!("cannot be read: {reason}")));
                }
            }
        }
    }
    evidence
}

fn max_age(inputs: &Inputs<'_>, days: u32) -> (Outcome, Vec<Evidence>) {
    let Some(config) = inputs.config else {
        return not_evaluated("the source has no image configuration");
    };
    let Some(created) = &config.created else {
        return not_evaluated("the image configuration has no `created` time");
    };
    let Some((seconds, _)) = drydock_vuln::time::parse_rfc3339(created) else {
        return not_evaluated(format!("`created` is not a time: `{created}`"));
    };
    let age_days = (inputs.now - seconds).div_euclid(86_400);
    if age_days > i64::from(days) {
        (
            Outcome::Fail,
            vec![Evidence::new(
                "config",
                format!("created={created}"),
                Some(format!("{age_days} days old, limit {days}")),
            )],
        )
    } else {
        (Outcome::Pass, Vec::new())
    }
}

fn vulnerabilities(inputs: &Inputs<'_>, params: &VulnerabilityParams) -> (Outcome, Vec<Evidence>) {
    let findings = match &inputs.findings {
        Ok(findings) => *findings,
        Err(reason) => return not_evaluated(reason.clone()),
    };
    let cutoff = inputs.now - i64::from(params.published_days) * 86_400;
    let mut evidence = Vec::new();
    for input in findings {
        let finding = &input.finding;
        let kev = params.kev && finding.kev.is_some();
        let old_enough = params.published_days == 0 || input.published.is_some_and(|p| p <= cutoff);
        let fixable =
            finding.state == FixState::Fixed && finding.severity >= params.severity && old_enough;
        if !(kev || fixable) {
            continue;
        }
        let mut detail = format!(
            "{} in {} {}",
            finding.severity.as_str(),
            finding.package.name,
            finding.package.version
        );
        if let Some(fixed) = finding.fixed_versions.first() {
            detail.push_str(", fixed in ");
            detail.push_str(fixed);
        }
        if kev {
            detail.push_str(", in CISA KEV");
        }
        evidence.push(Evidence::new("finding", finding.id.clone(), Some(detail)));
    }
    verdict(evidence)
}

fn base_not_golden(inputs: &Inputs<'_>) -> (Outcome, Vec<Evidence>) {
    let bases = match &inputs.golden_bases {
        Ok(bases) => *bases,
        Err(reason) => return not_evaluated(reason.clone()),
    };
    if inputs.layers.is_empty() {
        return not_evaluated("the source has no layers");
    }
    let matched = bases
        .iter()
        .filter(|base| !base.layers.is_empty() && inputs.layers.starts_with(&base.layers))
        .max_by_key(|base| base.layers.len());
    if matched.is_some() {
        return (Outcome::Pass, Vec::new());
    }
    let first = inputs
        .layers
        .first()
        .map(ToString::to_string)
        .unwrap_or_default();
    (
        Outcome::Fail,
        vec![Evidence::new(
            "layer",
            first,
            Some(format!(
                "the first layers match none of {} approved golden image{}",
                bases.len(),
                if bases.len() == 1 { "" } else { "s" }
            )),
        )],
    )
}

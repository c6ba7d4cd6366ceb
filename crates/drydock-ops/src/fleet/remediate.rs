//! `drydock fleet remediate`: patch every stored Debian image with fixable
//! findings (`drydock patch`), push the patched image beside the original,
//! and record which digest patches which, so the inventory resolves the
//! original's findings (`remediated:sha256:…`) once the patched digest runs
//! in its place.
use std::collections::BTreeMap;

use drydock_store::{FindingFilter, LocationRow, Remediation, Store};
use drydock_vuln::SeverityLevel;
use serde::Serialize;

use super::{FleetError, FleetSettings, error_chain, now, open_store, store_error};
use crate::PatchSettings;

/// What `fleet remediate` needs.
#[derive(Debug, Clone, Default)]
pub struct RemediateSettings {
    pub fleet: FleetSettings,
    /// Only findings of this vulnerability (id or alias).
    pub vuln: Option<String>,
    /// Only findings at or above this severity.
    pub severity: Option<SeverityLevel>,
    /// `REGISTRY[/PREFIX]`: patched images go to `TO/REPOSITORY:TAG{suffix}`.
    pub to: String,
    /// Appended to the original tag (default `-patched`).
    pub suffix: String,
    /// Archive, keys, cache and registry settings for every patch
    /// (`source`, `output`, `only`, `dry_run` and `db_dir` are set per image).
    pub patch: PatchSettings,
    pub dry_run: bool,
}

/// One image's outcome.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RemediateItem {
    pub digest: String,
    /// `patched`, `would-patch`, `skipped` or `failed`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patched_digest: Option<String>,
    /// `name old -> new`.
    pub packages: Vec<String>,
    /// The vulnerabilities the patch fixes (`patched`, `would-patch`) or
    /// the image's fixable ones (`skipped`, `failed`).
    pub vulns: Vec<String>,
    /// Why the image was skipped or failed; packages the patch left alone.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RemediateReport {
    pub images: Vec<RemediateItem>,
}

impl RemediateReport {
    pub fn count(&self, status: &str) -> usize {
        self.images.iter().filter(|i| i.status == status).count()
    }
}

struct Candidate {
    vulns: Vec<String>,
    /// Each vulnerability's aliases (the patch may name a fix by either).
    aliases: BTreeMap<String, Vec<String>>,
    locations: Vec<LocationRow>,
}

fn aliases_of(detail: &str) -> Vec<String> {
    serde_json::from_str::<serde_json::Value>(detail)
        .ok()
        .and_then(|value| {
            value["aliases"].as_array().map(|list| {
                list.iter()
                    .filter_map(|alias| alias.as_str().map(str::to_owned))
                    .collect()
            })
        })
        .unwrap_or_default()
}

/// `REGISTRY/REPOSITORY` of a location, without tag or digest.
fn image_name(location: &LocationRow) -> Option<String> {
    if let (Some(registry), Some(repository)) = (&location.registry, &location.repository) {
        return Some(format!("{registry}/{repository}"));
    }
    let reference = location.reference.split('@').next()?;
    let slash = reference.rfind('/').unwrap_or(0);
    let name = match reference.rfind(':') {
        Some(colon) if colon > slash => &reference[..colon],
        _ => reference,
    };
    (!name.is_empty()).then(|| name.to_owned())
}

/// The repository path of an image name (after the registry host).
fn repository_of(name: &str) -> &str {
    match name.split_once('/') {
        Some((host, rest)) if host.contains(['.', ':']) || host == "localhost" => rest,
        _ => name,
    }
}

/// Where the patched image of `digest` seen at `location` goes.
fn target_of(to: &str, suffix: &str, location: &LocationRow, name: &str, digest: &str) -> String {
    let tag = location.tag.clone().unwrap_or_else(|| {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        format!("sha256-{}", hex.get(..12).unwrap_or(hex))
    });
    let mut tag = format!("{tag}{suffix}");
    tag.truncate(128);
    format!(
        "{}/{}:{tag}",
        to.trim_end_matches('/'),
        repository_of(name).trim_start_matches('/')
    )
}

/// Patches every image with fixable findings of Debian packages.
pub fn remediate(settings: &RemediateSettings) -> Result<RemediateReport, FleetError> {
    let mut store = open_store(&settings.fleet)?;
    let filter = FindingFilter {
        vuln: settings.vuln.clone(),
        severity: settings.severity,
        fixable: true,
        ..FindingFilter::default()
    };
    let findings = store.findings(&filter).map_err(store_error(&store))?;
    let distros: BTreeMap<String, Option<String>> = store
        .images()
        .map_err(store_error(&store))?
        .into_iter()
        .map(|image| (image.digest, image.distro))
        .collect();
    let sources: BTreeMap<String, serde_json::Value> = store
        .sources()
        .map_err(store_error(&store))?
        .into_iter()
        .filter(|source| source.kind == "registry")
        .map(|source| (source.name, source.config))
        .collect();
    let mut candidates: BTreeMap<String, Candidate> = BTreeMap::new();
    let mut other: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for finding in findings {
        if finding.purl.starts_with("pkg:deb/") {
            let entry = candidates
                .entry(finding.digest.clone())
                .or_insert_with(|| Candidate {
                    vulns: Vec::new(),
                    aliases: BTreeMap::new(),
                    locations: finding.locations.to_vec(),
                });
            if !entry.vulns.contains(&finding.vuln_id) {
                entry
                    .aliases
                    .insert(finding.vuln_id.clone(), aliases_of(&finding.detail));
                entry.vulns.push(finding.vuln_id);
            }
        } else {
            other
                .entry(finding.digest)
                .or_default()
                .push(format!("{} ({})", finding.vuln_id, finding.package));
        }
    }
    let mut report = RemediateReport::default();
    for (digest, packages) in other {
        if candidates.contains_key(&digest) {
            continue;
        }
        report.images.push(RemediateItem {
            digest,
            status: "skipped".into(),
            source: None,
            target: None,
            patched_digest: None,
            packages: Vec::new(),
            vulns: Vec::new(),
            reasons: vec![format!(
                "no fixable finding in a Debian package (only {})",
                packages.join(", ")
            )],
        });
    }
    for (digest, candidate) in candidates {
        let item = remediate_one(settings, &mut store, &sources, &distros, &digest, candidate)?;
        report.images.push(item);
    }
    report.images.sort_by(|a, b| a.digest.cmp(&b.digest));
    Ok(report)
}

fn remediate_one(
    settings: &RemediateSettings,
    store: &mut Store,
    sources: &BTreeMap<String, serde_json::Value>,
    distros: &BTreeMap<String, Option<String>>,
    digest: &str,
    candidate: Candidate,
) -> Result<RemediateItem, FleetError> {
    let mut item = RemediateItem {
        digest: digest.to_owned(),
        status: "skipped".into(),
        source: None,
        target: None,
        patched_digest: None,
        packages: Vec::new(),
        vulns: candidate.vulns.clone(),
        reasons: Vec::new(),
    };
    let distro = distros.get(digest).cloned().flatten().unwrap_or_default();
    if !distro.starts_with("debian") {
        item.reasons.push(format!(
            "not a Debian image (distro `{}`)",
            if distro.is_empty() {
                "unknown"
            } else {
                &distro
            }
        ));
        return Ok(item);
    }
    // A registry location first (its source's credentials), else any.
    let mut locations = candidate.locations;
    locations.sort_by_key(|l| (l.kind != "registry", l.reference.clone()));
    let Some((location, name)) = locations
        .iter()
        .find_map(|l| image_name(l).map(|name| (l, name)))
    else {
        item.reasons
            .push("no location to pull the image from".into());
        return Ok(item);
    };
    let source = format!("registry:{name}@{digest}");
    let target = format!(
        "registry:{}",
        target_of(
            &settings.to,
            if settings.suffix.is_empty() {
                "-patched"
            } else {
                &settings.suffix
            },
            location,
            &name,
            digest
        )
    );
    item.source = Some(source.clone());
    item.target = Some(target.clone());
    let mut patch = settings.patch.clone();
    if let Some(config) = sources.get(&location.source) {
        let stored = super::registry::settings_of(config);
        patch.registry.ca_certs.extend(stored.ca_certs);
        patch.registry.insecure.extend(stored.insecure);
        if patch.registry.username.is_none() {
            patch.registry.username = stored.username;
            patch.registry.password = stored.password;
        }
    }
    patch.source = source;
    patch.output = Some(target.clone());
    patch.only.clone_from(&candidate.vulns);
    patch.dry_run = settings.dry_run;
    patch.db_dir = patch.db_dir.or_else(|| settings.fleet.db_dir.clone());
    let outcome = match crate::patch(&patch) {
        Ok(outcome) => outcome,
        Err(error) => {
            item.status = "failed".into();
            item.reasons.push(error_chain(&error));
            return Ok(item);
        }
    };
    item.packages = outcome
        .updates
        .iter()
        .map(|u| {
            format!(
                "{} {} -> {}",
                u.name,
                u.old.as_deref().unwrap_or("(new)"),
                u.new.version
            )
        })
        .collect();
    // The store's ids of what the patch fixes (it may name them by alias).
    let named: std::collections::BTreeSet<&str> = outcome
        .updates
        .iter()
        .flat_map(|u| u.ids.iter().map(String::as_str))
        .collect();
    let fixed: Vec<String> = candidate
        .vulns
        .iter()
        .filter(|id| {
            named.contains(id.as_str())
                || candidate
                    .aliases
                    .get(*id)
                    .is_some_and(|aliases| aliases.iter().any(|a| named.contains(a.as_str())))
        })
        .cloned()
        .collect();
    item.reasons = outcome
        .warnings
        .iter()
        .map(|w| format!("warning: {w}"))
        .chain(
            outcome
                .skipped
                .iter()
                .map(|s| format!("`{}` {}: {}", s.package, s.version, s.reason)),
        )
        .collect();
    if outcome.updates.is_empty() {
        item.status = "skipped".into();
        if outcome.skipped.is_empty() {
            item.reasons.push("nothing to patch".into());
        }
        return Ok(item);
    }
    item.vulns = fixed;
    if settings.dry_run {
        item.status = "would-patch".into();
        return Ok(item);
    }
    let Some(patched) = outcome.digest else {
        item.status = "failed".into();
        item.reasons.push("the patch wrote no image".into());
        return Ok(item);
    };
    item.status = "patched".into();
    item.patched_digest = Some(patched.clone());
    store
        .record_remediation(&Remediation {
            original_digest: digest.to_owned(),
            patched_digest: patched,
            target: target
                .strip_prefix("registry:")
                .unwrap_or(&target)
                .to_owned(),
            created_at: now()?,
            packages: item.packages.clone(),
            vulns: item.vulns.clone(),
        })
        .map_err(store_error(store))?;
    Ok(item)
}

/// Every remediation recorded in the store.
pub fn remediations(settings: &FleetSettings) -> Result<Vec<Remediation>, FleetError> {
    let mut store = open_store(settings)?;
    store.remediations().map_err(store_error(&store))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(reference: &str, tag: Option<&str>) -> LocationRow {
        LocationRow {
            kind: "kubernetes".into(),
            source: "c".into(),
            reference: reference.into(),
            registry: None,
            repository: None,
            tag: tag.map(str::to_owned),
            cluster: None,
            namespace: None,
            workload_kind: None,
            workload: None,
            pod: None,
            container: None,
            container_kind: None,
            first_seen: String::new(),
            last_seen: String::new(),
        }
    }

    #[test]
    fn names_and_targets_keep_the_repository_path() {
        let at_port = location("localhost:5000/apps/web:1.2", Some("1.2"));
        assert_eq!(
            image_name(&at_port).as_deref(),
            Some("localhost:5000/apps/web")
        );
        let pinned = location("registry.example/team/api@sha256:abcd", None);
        assert_eq!(
            image_name(&pinned).as_deref(),
            Some("registry.example/team/api")
        );
        assert_eq!(
            target_of(
                "mirror.example/patched/",
                "-patched",
                &at_port,
                "localhost:5000/apps/web",
                "sha256:0123456789abcdef"
            ),
            "mirror.example/patched/apps/web:1.2-patched"
        );
        assert_eq!(
            target_of(
                "localhost:5000",
                "-fix",
                &pinned,
                "registry.example/team/api",
                "sha256:0123456789abcdef"
            ),
            "localhost:5000/team/api:sha256-0123456789ab-fix"
        );
        assert_eq!(repository_of("library/debian"), "library/debian");
    }
}

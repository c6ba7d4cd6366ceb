//! A registry as an inventory source: every repository under a prefix
//! (the catalog API, else the listed repositories), every tag, each tag's
//! digest by `HEAD`.
use std::path::PathBuf;

use drydock_registry::{Reference, Repository};
use drydock_store::{Sighting, SightingKind, SourceRow};

use super::{FleetError, FleetSettings, Inventory, Pending, add_source, path_strings, paths_of};
use crate::RegistrySettings;

/// `drydock fleet add registry HOST[:PORT][/PREFIX]`.
#[derive(Debug, Clone, Default)]
pub struct RegistrySource {
    /// `host[:port][/prefix]`.
    pub target: String,
    /// The source's name (default: the target).
    pub name: Option<String>,
    /// Repositories to list when the registry has no catalog API.
    pub repositories: Vec<String>,
    pub ca_certs: Vec<PathBuf>,
    /// Plain HTTP / unverified TLS for this registry.
    pub insecure: bool,
    pub username: Option<String>,
    pub password: Option<String>,
}

fn split_target(target: &str) -> Result<(String, String), String> {
    let target = target
        .strip_prefix("registry:")
        .or_else(|| target.strip_prefix("docker://"))
        .unwrap_or(target)
        .trim_end_matches('/');
    let (host, prefix) = target.split_once('/').unwrap_or((target, ""));
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
    {
        return Err(format!("`{target}` is not HOST[:PORT][/PREFIX]"));
    }
    Ok((host.to_owned(), prefix.to_owned()))
}

/// Adds the source (nothing is contacted until `sync`).
pub fn add_registry(
    settings: &FleetSettings,
    source: &RegistrySource,
) -> Result<String, FleetError> {
    let (host, prefix) = split_target(&source.target).map_err(|reason| FleetError::Source {
        name: source.target.clone(),
        reason,
    })?;
    let name = source.name.clone().unwrap_or_else(|| source.target.clone());
    let config = serde_json::json!({
        "registry": host,
        "prefix": prefix,
        "repositories": source.repositories,
        "ca_certs": path_strings(&source.ca_certs),
        "insecure": source.insecure,
        "username": source.username,
        "password": source.password,
    });
    add_source(settings, &name, "registry", &source.target, &config)?;
    Ok(name)
}

pub(super) fn settings_of(config: &serde_json::Value) -> RegistrySettings {
    let host = config["registry"].as_str().unwrap_or_default().to_owned();
    RegistrySettings {
        ca_certs: paths_of(&config["ca_certs"]),
        insecure: if config["insecure"].as_bool().unwrap_or(false) {
            vec![host]
        } else {
            Vec::new()
        },
        username: config["username"].as_str().map(str::to_owned),
        password: config["password"].as_str().map(str::to_owned),
        ..RegistrySettings::default()
    }
}

/// One pass over the registry. Any listing failure fails the whole source
/// (its sightings are then left as they were, not marked gone).
pub(super) fn inventory(source: &SourceRow) -> Result<Inventory, String> {
    let config = &source.config;
    let host = config["registry"].as_str().unwrap_or_default().to_owned();
    let prefix = config["prefix"].as_str().unwrap_or_default().to_owned();
    let settings = settings_of(config);
    let client = settings.client().map_err(|e| super::error_chain(&e))?;
    let root = Reference::parse(&format!("{host}/catalog")).map_err(|e| super::error_chain(&e))?;
    let listed: Vec<String> = config["repositories"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut repositories: Vec<String> = match Repository::new(client.clone(), root.clone())
        .catalog()
    {
        Ok(all) => all
            .into_iter()
            .filter(|repo| {
                prefix.is_empty() || repo == &prefix || repo.starts_with(&format!("{prefix}/"))
            })
            .collect(),
        Err(error) if !listed.is_empty() => {
            let _ = error;
            Vec::new()
        }
        Err(error) => {
            return Err(format!(
                "cannot list repositories of `{host}`: {} (hint: name them with `--repository`)",
                super::error_chain(&error)
            ));
        }
    };
    repositories.extend(listed);
    repositories.sort();
    repositories.dedup();
    let mut inventory = Inventory::default();
    for repository in repositories {
        let reference = Reference::parse(&format!("{host}/{repository}"))
            .map_err(|e| super::error_chain(&e))?;
        let repo = Repository::new(client.clone(), reference);
        let mut tags = repo
            .tags()
            .map_err(|e| format!("`{host}/{repository}`: {}", super::error_chain(&e)))?;
        tags.sort();
        for tag in tags {
            // Referrer fallback tags and cosign's `.sig`/`.att` are not images.
            if tag.starts_with("sha256-") {
                continue;
            }
            let Some(digest) = repo
                .manifest_digest(&tag)
                .map_err(|e| format!("`{host}/{repository}:{tag}`: {}", super::error_chain(&e)))?
            else {
                continue;
            };
            let digest = digest.to_string();
            inventory.sightings.push(Sighting {
                key: format!("{repository}:{tag}@{digest}"),
                digest: digest.clone(),
                kind: SightingKind::Registry,
                reference: format!("{host}/{repository}:{tag}"),
                registry: Some(host.clone()),
                repository: Some(repository.clone()),
                tag: Some(tag.clone()),
                cluster: None,
                namespace: None,
                workload_kind: None,
                workload: None,
                pod: None,
                container: None,
                container_kind: None,
            });
            inventory.pending.push(Pending {
                digest: digest.clone(),
                source: format!("registry:{host}/{repository}@{digest}"),
                registry: settings.clone(),
            });
        }
    }
    Ok(inventory)
}

#[cfg(test)]
mod tests {
    use super::split_target;

    #[test]
    fn targets() {
        assert_eq!(
            split_target("localhost:5000/team").unwrap(),
            ("localhost:5000".into(), "team".into())
        );
        assert_eq!(
            split_target("registry:r.example/").unwrap(),
            ("r.example".into(), String::new())
        );
        assert!(split_target("/x").is_err());
        assert!(split_target("a b/c").is_err());
    }
}

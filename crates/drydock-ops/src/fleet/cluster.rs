//! A Kubernetes cluster as an inventory source: every container of every
//! pod (regular, init, ephemeral) with the digest it runs and its owner
//! workload. Digests not yet analysed are pulled from the registry the pod
//! names, with the user's Docker credentials.
use std::path::PathBuf;

use drydock_kube::{Client, ContainerKind, KubeConfig};
use drydock_registry::Reference;
use drydock_store::{Sighting, SightingKind, SourceRow};

use super::{FleetError, FleetSettings, Inventory, Pending, add_source, path_strings, paths_of};
use crate::{EnvVars, RegistrySettings};

/// Where the in-cluster service account lives.
const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// `drydock fleet add cluster`.
#[derive(Debug, Clone, Default)]
pub struct ClusterSource {
    /// The source's name (default: the context name, or `in-cluster`).
    pub name: Option<String>,
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// Only this namespace (default: all).
    pub namespace: Option<String>,
    /// Use the pod's service account instead of a kubeconfig.
    pub in_cluster: bool,
    /// Registry settings for pulling images the pods name.
    pub ca_certs: Vec<PathBuf>,
    pub insecure_registries: Vec<String>,
}

/// Adds the source after checking that the kubeconfig and context load (no
/// request is made until `sync`).
pub fn add_cluster(settings: &FleetSettings, source: &ClusterSource) -> Result<String, FleetError> {
    let name = if source.in_cluster {
        source
            .name
            .clone()
            .unwrap_or_else(|| "in-cluster".to_owned())
    } else {
        let Some(path) = &source.kubeconfig else {
            return Err(FleetError::Source {
                name: source.name.clone().unwrap_or_default(),
                reason: "pass `--kubeconfig FILE` or `--in-cluster`".to_owned(),
            });
        };
        let config = KubeConfig::load(path).map_err(|error| FleetError::Source {
            name: source
                .name
                .clone()
                .unwrap_or_else(|| path.display().to_string()),
            reason: super::error_chain(&error),
        })?;
        let context = source
            .context
            .clone()
            .or_else(|| config.current_context().map(str::to_owned));
        match &context {
            Some(context) if config.contexts().contains(context) => {}
            Some(context) => {
                return Err(FleetError::Source {
                    name: path.display().to_string(),
                    reason: format!("kubeconfig `{}`: no context `{context}`", path.display()),
                });
            }
            None => {
                return Err(FleetError::Source {
                    name: path.display().to_string(),
                    reason: format!(
                        "kubeconfig `{}` has no current-context: pass `--context`",
                        path.display()
                    ),
                });
            }
        }
        source
            .name
            .clone()
            .or(context)
            .unwrap_or_else(|| "cluster".to_owned())
    };
    let kubeconfig = source
        .kubeconfig
        .as_ref()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.clone()));
    let config = serde_json::json!({
        "kubeconfig": kubeconfig.map(|p| p.display().to_string()),
        "context": source.context,
        "namespace": source.namespace,
        "in_cluster": source.in_cluster,
        "ca_certs": path_strings(&source.ca_certs),
        "insecure_registries": source.insecure_registries,
    });
    let target = if source.in_cluster {
        "in-cluster".to_owned()
    } else {
        source
            .kubeconfig
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    };
    add_source(settings, &name, "cluster", &target, &config)?;
    Ok(name)
}

fn client(config: &serde_json::Value) -> Result<Client, String> {
    if config["in_cluster"].as_bool().unwrap_or(false) {
        let host = EnvVars::get(EnvVars::KUBERNETES_SERVICE_HOST).unwrap_or_default();
        let port = EnvVars::get(EnvVars::KUBERNETES_SERVICE_PORT).unwrap_or_default();
        return Client::in_cluster(&host, &port, std::path::Path::new(SERVICE_ACCOUNT_DIR))
            .map_err(|e| super::error_chain(&e));
    }
    let path = PathBuf::from(config["kubeconfig"].as_str().unwrap_or_default());
    let kubeconfig = KubeConfig::load(&path).map_err(|e| super::error_chain(&e))?;
    Client::from_kubeconfig(&kubeconfig, config["context"].as_str())
        .map_err(|e| super::error_chain(&e))
}

/// One pass over the cluster. A failure to list fails the whole source.
pub(super) fn inventory(source: &SourceRow) -> Result<Inventory, String> {
    let config = &source.config;
    let client = client(config)?;
    let containers = client
        .list_containers(config["namespace"].as_str())
        .map_err(|e| super::error_chain(&e))?;
    let registry = RegistrySettings {
        ca_certs: paths_of(&config["ca_certs"]),
        insecure: config["insecure_registries"]
            .as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        ..RegistrySettings::default()
    };
    let mut inventory = Inventory::default();
    for container in containers {
        let kind = match container.kind {
            ContainerKind::Container => "container",
            ContainerKind::Init => "init",
            ContainerKind::Ephemeral => "ephemeral",
        };
        let place = format!(
            "{}/{}/{}",
            container.namespace, container.pod, container.container
        );
        let Some(digest) = container.digest.clone() else {
            inventory.notes.push(format!(
                "{place}: no image digest yet (image `{}` not pulled, or the runtime reports only a local image id)",
                container.image
            ));
            continue;
        };
        inventory.sightings.push(Sighting {
            key: format!(
                "{}/{}/{kind}/{}@{digest}",
                container.namespace, container.pod, container.container
            ),
            digest: digest.clone(),
            kind: SightingKind::Kubernetes,
            reference: container.image.clone(),
            registry: None,
            repository: None,
            tag: None,
            cluster: Some(source.name.clone()),
            namespace: Some(container.namespace.clone()),
            workload_kind: container.workload.as_ref().map(|w| w.kind.clone()),
            workload: container.workload.as_ref().map(|w| w.name.clone()),
            pod: Some(container.pod.clone()),
            container: Some(container.container.clone()),
            container_kind: Some(kind.to_owned()),
        });
        // Where to pull it from: the repository the pod names, at the digest.
        match Reference::parse(&container.image) {
            Ok(reference) => inventory.pending.push(Pending {
                digest: digest.clone(),
                source: format!(
                    "registry:{}/{}@{digest}",
                    reference.registry, reference.repository
                ),
                registry: registry.clone(),
            }),
            Err(error) => inventory.notes.push(format!(
                "{place}: cannot pull `{}`: {}",
                container.image,
                super::error_chain(&error)
            )),
        }
    }
    Ok(inventory)
}

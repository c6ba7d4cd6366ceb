//! The inventory: every container of every pod (paginated with `limit` and
//! `continue`), its image and the digest it runs, and the top-level
//! workload found by following controller owner references.
use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::config::nullable;
use crate::error::KubeError;

/// Which list of the pod spec a container comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerKind {
    /// `spec.containers`.
    Container,
    /// `spec.initContainers` (including restartable "sidecar" init containers).
    Init,
    /// `spec.ephemeralContainers` (`kubectl debug`).
    Ephemeral,
}

/// The top-level owner of a pod, e.g. `Deployment`/`web`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Workload {
    pub kind: String,
    pub name: String,
}

/// One container of one pod.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunningContainer {
    pub namespace: String,
    pub pod: String,
    pub pod_uid: String,
    pub node: Option<String>,
    pub phase: Option<String>,
    pub container: String,
    pub kind: ContainerKind,
    /// The image as written in the pod spec.
    pub image: String,
    /// `imageID` from the container status as reported
    /// (`docker-pullable://repo@sha256:…`, `repo@sha256:…`, `sha256:…`);
    /// `None` while the image is still being pulled.
    pub image_id: Option<String>,
    /// The manifest digest (`sha256:<64 hex>`) the container runs: from a
    /// `…@sha256:` image ID, else from a spec image pinned by digest. A bare
    /// `sha256:` image ID is the runtime's local image (config) ID, which no
    /// registry serves as a manifest, so it gives no digest.
    pub digest: Option<String>,
    /// The top-level owner; `None` for a bare pod.
    pub workload: Option<Workload>,
}

#[derive(Deserialize)]
struct PodList {
    #[serde(default)]
    metadata: ListMeta,
    #[serde(deserialize_with = "nullable")]
    items: Vec<Pod>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ListMeta {
    #[serde(rename = "continue")]
    continue_token: Option<String>,
}

#[derive(Deserialize)]
struct Pod {
    metadata: ObjectMeta,
    #[serde(default, deserialize_with = "nullable")]
    spec: PodSpec,
    #[serde(default, deserialize_with = "nullable")]
    status: PodStatus,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ObjectMeta {
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    namespace: String,
    #[serde(default, deserialize_with = "nullable")]
    uid: String,
    #[serde(default, deserialize_with = "nullable")]
    owner_references: Vec<OwnerReference>,
}

#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OwnerReference {
    #[serde(default)]
    api_version: String,
    kind: String,
    name: String,
    #[serde(default)]
    controller: Option<bool>,
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct PodSpec {
    #[serde(deserialize_with = "nullable")]
    containers: Vec<ContainerSpec>,
    #[serde(deserialize_with = "nullable")]
    init_containers: Vec<ContainerSpec>,
    #[serde(deserialize_with = "nullable")]
    ephemeral_containers: Vec<ContainerSpec>,
    node_name: Option<String>,
}

#[derive(Deserialize)]
struct ContainerSpec {
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    image: String,
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct PodStatus {
    phase: Option<String>,
    #[serde(deserialize_with = "nullable")]
    container_statuses: Vec<ContainerStatus>,
    #[serde(deserialize_with = "nullable")]
    init_container_statuses: Vec<ContainerStatus>,
    #[serde(deserialize_with = "nullable")]
    ephemeral_container_statuses: Vec<ContainerStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContainerStatus {
    name: String,
    #[serde(default, rename = "imageID", deserialize_with = "nullable")]
    image_id: String,
}

/// Only the owner references of a fetched owner object matter.
#[derive(Deserialize)]
struct OwnerObject {
    metadata: OwnerMeta,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OwnerMeta {
    #[serde(default, deserialize_with = "nullable")]
    owner_references: Vec<OwnerReference>,
}

/// A list longer than this many pages is refused (a server handing out
/// continue tokens forever cannot keep drydock looping).
const MAX_PAGES: usize = 100_000;

/// Owner chains longer than this are cut (and cycles cannot loop).
const MAX_OWNER_DEPTH: usize = 8;

/// The API path of the owner kinds drydock follows upward.
fn owner_path(namespace: &str, owner: &OwnerReference) -> Option<String> {
    let group = owner.api_version.split_once('/').map_or("", |(g, _)| g);
    let resource = match (group, owner.kind.as_str()) {
        ("apps", "ReplicaSet") => "apps/v1/namespaces/{ns}/replicasets",
        ("apps", "Deployment") => "apps/v1/namespaces/{ns}/deployments",
        ("apps", "StatefulSet") => "apps/v1/namespaces/{ns}/statefulsets",
        ("apps", "DaemonSet") => "apps/v1/namespaces/{ns}/daemonsets",
        ("batch", "Job") => "batch/v1/namespaces/{ns}/jobs",
        ("batch", "CronJob") => "batch/v1/namespaces/{ns}/cronjobs",
        _ => return None,
    };
    if !is_path_segment(namespace) || !is_path_segment(&owner.name) {
        return None;
    }
    Some(format!(
        "/apis/{}/{}",
        resource.replace("{ns}", namespace),
        owner.name
    ))
}

/// Object names and namespaces are DNS subdomains; anything else is not
/// put into a URL.
fn is_path_segment(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
}

/// The controller owner reference, else the first one.
fn controller(references: &[OwnerReference]) -> Option<&OwnerReference> {
    references
        .iter()
        .find(|r| r.controller == Some(true))
        .or_else(|| references.first())
}

/// `sha256:<64 lowercase hex>` after the last `@` of `reference`.
fn pinned_digest(reference: &str) -> Option<String> {
    let (_, digest) = reference.rsplit_once('@')?;
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    .then(|| digest.to_owned())
}

pub(crate) fn digest_of(image_id: Option<&str>, image: &str) -> Option<String> {
    image_id
        .and_then(pinned_digest)
        .or_else(|| pinned_digest(image))
}

/// One record per container of `pods`; `top` names the workload of a
/// pod's controller owner reference.
fn containers_of(
    pods: Vec<Pod>,
    mut top: impl FnMut(&str, &OwnerReference) -> Result<Workload, KubeError>,
) -> Result<Vec<RunningContainer>, KubeError> {
    let mut containers = Vec::new();
    for pod in pods {
        let workload = match controller(&pod.metadata.owner_references) {
            Some(owner) => Some(top(&pod.metadata.namespace, owner)?),
            None => None,
        };
        let lists = [
            (
                ContainerKind::Init,
                &pod.spec.init_containers,
                &pod.status.init_container_statuses,
            ),
            (
                ContainerKind::Container,
                &pod.spec.containers,
                &pod.status.container_statuses,
            ),
            (
                ContainerKind::Ephemeral,
                &pod.spec.ephemeral_containers,
                &pod.status.ephemeral_container_statuses,
            ),
        ];
        for (kind, specs, statuses) in lists {
            for spec in specs {
                let image_id = statuses
                    .iter()
                    .find(|s| s.name == spec.name)
                    .map(|s| s.image_id.trim())
                    .filter(|id| !id.is_empty())
                    .map(str::to_owned);
                containers.push(RunningContainer {
                    namespace: pod.metadata.namespace.clone(),
                    pod: pod.metadata.name.clone(),
                    pod_uid: pod.metadata.uid.clone(),
                    node: pod.spec.node_name.clone().filter(|n| !n.is_empty()),
                    phase: pod.status.phase.clone().filter(|p| !p.is_empty()),
                    container: spec.name.clone(),
                    kind,
                    digest: digest_of(image_id.as_deref(), &spec.image),
                    image: spec.image.clone(),
                    image_id,
                    workload: workload.clone(),
                });
            }
        }
    }
    Ok(containers)
}

/// Entry points for the fuzz targets (`fuzz/fuzz_targets/kube.rs`): the
/// parsing and record building of a pod list page and of an owner object,
/// without a server. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    use super::{OwnerObject, PodList, Workload, containers_of, controller, owner_path};
    use crate::RunningContainer;

    /// Parse `bytes` as a `PodList` page and build its records, taking each
    /// pod's controller owner as its workload.
    pub fn pod_list(bytes: &[u8]) -> Option<Vec<RunningContainer>> {
        let page: PodList = serde_json::from_slice(bytes).ok()?;
        let _ = page.metadata.continue_token;
        containers_of(page.items, |namespace, owner| {
            let _ = owner_path(namespace, owner);
            Ok(Workload {
                kind: owner.kind.clone(),
                name: owner.name.clone(),
            })
        })
        .ok()
    }

    /// Parse `bytes` as an owner object and pick its controller owner.
    pub fn owner_object(bytes: &[u8]) -> Option<String> {
        let object: OwnerObject = serde_json::from_slice(bytes).ok()?;
        controller(&object.metadata.owner_references).map(|owner| owner.name.clone())
    }
}

/// Follows owner references upward, one GET per distinct owner per pass.
struct Owners<'a> {
    client: &'a Client,
    authorization: Option<&'a str>,
    /// (namespace, kind, name) → top-level workload.
    cache: HashMap<(String, String, String), Workload>,
}

impl Owners<'_> {
    fn top(&mut self, namespace: &str, first: &OwnerReference) -> Result<Workload, KubeError> {
        let key = (namespace.to_owned(), first.kind.clone(), first.name.clone());
        if let Some(found) = self.cache.get(&key) {
            return Ok(found.clone());
        }
        let mut current = first.clone();
        for _ in 0..MAX_OWNER_DEPTH {
            let Some(path) = owner_path(namespace, &current) else {
                break;
            };
            let Some(object) =
                self.client
                    .get_json::<OwnerObject>(&path, &[], self.authorization)?
            else {
                // The owner is gone (being deleted); it is still the best name.
                break;
            };
            match controller(&object.metadata.owner_references) {
                Some(next) => current = next.clone(),
                None => break,
            }
        }
        let top = Workload {
            kind: current.kind,
            name: current.name,
        };
        self.cache.insert(key, top.clone());
        Ok(top)
    }
}

impl Client {
    /// All containers (regular, init and ephemeral) of all pods in
    /// `namespace`, or in every namespace with `None`. Pods are listed in
    /// pages of `limit` (default 500) joined with `continue`; a list whose
    /// continue token expired mid-way (410 Gone) is restarted once. A
    /// credential from an exec plugin that the server rejects (401) is
    /// renewed by running the plugin again, once.
    pub fn list_containers(
        &self,
        namespace: Option<&str>,
    ) -> Result<Vec<RunningContainer>, KubeError> {
        match self.inventory_pass(namespace) {
            Err(KubeError::Unauthorized { server }) => {
                if self.refresh_credential()? {
                    self.inventory_pass(namespace)
                } else {
                    Err(KubeError::Unauthorized { server })
                }
            }
            other => other,
        }
    }

    fn inventory_pass(&self, namespace: Option<&str>) -> Result<Vec<RunningContainer>, KubeError> {
        let authorization = self.authorization()?;
        let path = match namespace {
            None => "/api/v1/pods".to_owned(),
            Some(ns) if is_path_segment(ns) => format!("/api/v1/namespaces/{ns}/pods"),
            Some(ns) => {
                return Err(KubeError::Protocol {
                    server: self.server().to_owned(),
                    path: "/api/v1/namespaces/…/pods".into(),
                    reason: format!("`{ns}` is not a valid namespace name"),
                });
            }
        };
        let pods = self.list_pods(&path, authorization.as_deref())?;
        let mut owners = Owners {
            client: self,
            authorization: authorization.as_deref(),
            cache: HashMap::new(),
        };
        containers_of(pods, |namespace, owner| owners.top(namespace, owner))
    }

    fn list_pods(&self, path: &str, authorization: Option<&str>) -> Result<Vec<Pod>, KubeError> {
        let limit = self.page_size.to_string();
        let mut restarted = false;
        'list: loop {
            let mut pods = Vec::new();
            let mut token: Option<String> = None;
            for _ in 0..MAX_PAGES {
                let mut query = vec![("limit", limit.as_str())];
                if let Some(token) = &token {
                    query.push(("continue", token.as_str()));
                }
                let page = match self.get_json::<PodList>(path, &query, authorization) {
                    Ok(Some(page)) => page,
                    Ok(None) => {
                        return Err(KubeError::Status {
                            server: self.server().to_owned(),
                            path: path.to_owned(),
                            code: 404,
                            message: "not found (is this a Kubernetes API server?)".into(),
                        });
                    }
                    Err(KubeError::Status { code: 410, .. }) if token.is_some() && !restarted => {
                        restarted = true;
                        continue 'list;
                    }
                    Err(e) => return Err(e),
                };
                pods.extend(page.items);
                match page.metadata.continue_token.filter(|t| !t.is_empty()) {
                    Some(next) if Some(&next) == token.as_ref() => {
                        return Err(KubeError::Protocol {
                            server: self.server().to_owned(),
                            path: path.to_owned(),
                            reason: "the server returned the same continue token twice".into(),
                        });
                    }
                    Some(next) => token = Some(next),
                    None => return Ok(pods),
                }
            }
            return Err(KubeError::Protocol {
                server: self.server().to_owned(),
                path: path.to_owned(),
                reason: format!("the list did not end after {MAX_PAGES} pages"),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_come_from_image_ids_then_pinned_specs() {
        let hex = "0123456789abcdef".repeat(4);
        let pinned = format!("sha256:{hex}");
        assert_eq!(
            digest_of(
                Some(&format!("docker-pullable://nginx@sha256:{hex}")),
                "nginx"
            ),
            Some(pinned.clone())
        );
        assert_eq!(
            digest_of(
                Some(&format!("docker.io/library/nginx@sha256:{hex}")),
                "nginx"
            ),
            Some(pinned.clone())
        );
        // A bare image ID is the local config digest: no manifest digest.
        assert_eq!(digest_of(Some(&format!("sha256:{hex}")), "nginx:1"), None);
        assert_eq!(
            digest_of(Some(&format!("docker://sha256:{hex}")), "nginx:1"),
            None
        );
        assert_eq!(
            digest_of(None, &format!("nginx@sha256:{hex}")),
            Some(pinned.clone())
        );
        assert_eq!(
            digest_of(
                Some(&format!("sha256:{hex}")),
                &format!("nginx@sha256:{hex}")
            ),
            Some(pinned)
        );
        // Invalid hex, wrong length, other algorithms.
        assert_eq!(
            digest_of(Some(&format!("x@sha256:{}", hex.to_uppercase())), "x"),
            None
        );
        assert_eq!(digest_of(Some("x@sha256:abc"), "x"), None);
        assert_eq!(digest_of(Some(&format!("x@sha512:{hex}{hex}")), "x"), None);
    }

    #[test]
    fn names_outside_dns_subdomains_are_not_put_into_paths() {
        assert!(is_path_segment("web-7d9f8b6c5d"));
        for bad in ["", ".", "..", "a/b", "a?b", "A", "a%2f"] {
            assert!(!is_path_segment(bad), "{bad}");
        }
    }
}

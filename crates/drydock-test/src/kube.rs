//! A fake Kubernetes API server on a loopback port, realistic enough that
//! the real `kubectl` accepts it: TLS with a test CA (made by openssl),
//! authentication by bearer token or by client certificate signed by the
//! CA (verified after the handshake, so a bad certificate gets a 401
//! `Status` as from kube-apiserver), a little RBAC, discovery documents,
//! paginated lists (`limit`, `continue`, `resourceVersion`,
//! `remainingItemCount`) and GETs of single objects, with `Status` bodies
//! for every error. Every request is logged for assertions.
//!
//! Shapes follow the Kubernetes API reference (core/v1 Pod, apps/v1,
//! batch/v1, meta/v1 `ListMeta` and `Status`).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme};
use serde_json::{Value, json};

use crate::sha256_hex;

/// The token of a user who may read everything.
pub const KUBE_TOKEN: &str = "drydock-reader-token-5f1c2a";
/// The token of a user who may only list pods in namespace `default`.
pub const KUBE_LIMITED_TOKEN: &str = "drydock-limited-token-91be07";
/// The `resourceVersion` of every list the server returns.
pub const KUBE_LIST_RESOURCE_VERSION: &str = "48213";

/// How a request authenticated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestAuth {
    /// A known bearer token; the user name.
    Token(String),
    /// A client certificate signed by the test CA; its common name.
    ClientCert(String),
    /// No credentials (`system:anonymous`).
    Anonymous,
    /// Credentials that were rejected with 401.
    Rejected(String),
}

/// One request the server answered.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    pub auth: RequestAuth,
    /// `Impersonate-User` and every `Impersonate-Group`.
    pub impersonated: Option<(String, Vec<String>)>,
    pub status: u16,
}

impl RecordedRequest {
    pub fn query_value(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Behaviour switches for error tests.
#[derive(Clone, Debug, Default)]
pub struct FakeOptions {
    /// Serve these bodies (status 200) instead of the real answer for these paths.
    pub broken_paths: Vec<(String, String)>,
    /// Answer the first request carrying a `continue` token with 410 Expired.
    pub expire_first_continue: bool,
    /// Answer the first pod lists with these statuses (429 carries
    /// `Retry-After: 1`, as kube-apiserver's max-in-flight filter sends).
    pub fail_first_pod_lists: Vec<u16>,
}

/// Certificates and keys made for one server, all PEM files in one directory.
#[derive(Clone, Debug)]
pub struct KubePki {
    pub dir: PathBuf,
}

impl KubePki {
    /// The test CA that signed the server and client certificates.
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }
    /// Another CA, which signed nothing this server trusts.
    pub fn other_ca(&self) -> PathBuf {
        self.dir.join("other-ca.crt")
    }
    /// (certificate, key) of `CN=drydock-admin, O=system:masters` with a SEC1 EC key.
    pub fn client(&self) -> (PathBuf, PathBuf) {
        (self.dir.join("client.crt"), self.dir.join("client.key"))
    }
    /// (certificate, key) of `CN=drydock-rsa` with a PKCS#1 RSA key (as kubeadm and kind write them).
    pub fn client_rsa(&self) -> (PathBuf, PathBuf) {
        (
            self.dir.join("client-rsa.crt"),
            self.dir.join("client-rsa.key"),
        )
    }
    /// (certificate, key) signed by the test CA but expired in 2020.
    pub fn client_expired(&self) -> (PathBuf, PathBuf) {
        (self.dir.join("expired.crt"), self.dir.join("expired.key"))
    }
    /// (certificate, key) signed by [`Self::other_ca`].
    pub fn client_unknown(&self) -> (PathBuf, PathBuf) {
        (self.dir.join("stranger.crt"), self.dir.join("stranger.key"))
    }
}

fn run_ok(command: &mut Command) {
    let out = command.stdin(Stdio::null()).output().expect("spawn");
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test CA, a server certificate for 127.0.0.1 and client certificates
/// (valid EC, valid RSA PKCS#1, expired, from another CA), by openssl.
pub fn make_kube_pki(dir: &Path) -> KubePki {
    let script = r"set -e
ec() { openssl ecparam -name prime256v1 -genkey -noout -out $1 2>/dev/null; }
ec ca.key
openssl req -x509 -new -key ca.key -out ca.crt -days 2 -subj /CN=drydock-kube-ca 2>/dev/null
ec other-ca.key
openssl req -x509 -new -key other-ca.key -out other-ca.crt -days 2 -subj /CN=other-ca 2>/dev/null
sign() { # name subject ca [extfile]
  openssl req -new -key $1.key -out $1.csr -subj $2 2>/dev/null
  openssl x509 -req -in $1.csr -CA $3.crt -CAkey $3.key -CAcreateserial -out $1.crt -days 2 -extfile $4 2>/dev/null
}
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' > server.ext
printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n' > client.ext
ec server.key; sign server /CN=kube-apiserver ca server.ext
ec client.key; sign client /O=system:masters/CN=drydock-admin ca client.ext
openssl genrsa -traditional -out client-rsa.key 2048 2>/dev/null
sign client-rsa /CN=drydock-rsa ca client.ext
ec stranger.key; sign stranger /CN=stranger other-ca client.ext
ec expired.key
openssl req -new -key expired.key -out expired.csr -subj /CN=drydock-expired 2>/dev/null
mkdir -p ca-db; : > ca-db/index.txt; echo 1000 > ca-db/serial
cat > ca.cnf <<EOF
[ca]
default_ca = test
[test]
database = ca-db/index.txt
new_certs_dir = ca-db
serial = ca-db/serial
default_md = sha256
policy = any
x509_extensions = ext
[any]
commonName = supplied
[ext]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
EOF
openssl ca -batch -config ca.cnf -cert ca.crt -keyfile ca.key -in expired.csr -out expired.crt -notext -startdate 20200101000000Z -enddate 20200201000000Z 2>/dev/null
";
    run_ok(Command::new("sh").args(["-c", script]).current_dir(dir));
    KubePki {
        dir: dir.to_path_buf(),
    }
}

// ---------------------------------------------------------------------------
// Objects

/// One container of a pod built by [`KubeObjects`].
#[derive(Clone, Debug)]
pub struct FakeContainer {
    pub name: String,
    pub image: String,
    /// `None`: still pulling (`waiting: ContainerCreating`, `imageID: ""`).
    pub image_id: Option<String>,
    /// `container`, `init` or `ephemeral`.
    pub kind: &'static str,
}

impl FakeContainer {
    /// A running container whose status reports `image_id`.
    pub fn running(name: &str, image: &str, image_id: &str) -> FakeContainer {
        FakeContainer {
            name: name.into(),
            image: image.into(),
            image_id: Some(image_id.into()),
            kind: "container",
        }
    }
    /// A container whose image is still being pulled (no imageID yet).
    pub fn pulling(name: &str, image: &str) -> FakeContainer {
        FakeContainer {
            name: name.into(),
            image: image.into(),
            image_id: None,
            kind: "container",
        }
    }
    #[must_use]
    pub fn init(mut self) -> FakeContainer {
        self.kind = "init";
        self
    }
    #[must_use]
    pub fn ephemeral(mut self) -> FakeContainer {
        self.kind = "ephemeral";
        self
    }
}

/// `sha256:` + 64 hex, derived from `seed`.
pub fn fake_digest(seed: &str) -> String {
    format!("sha256:{}", sha256_hex(seed.as_bytes()))
}

/// The alphabet Kubernetes uses for generated name suffixes and pod-template-hash.
const SAFE_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn safe_suffix(seed: &str, len: usize) -> String {
    sha256_hex(seed.as_bytes())
        .as_bytes()
        .chunks(2)
        .take(len)
        .map(|pair| {
            let byte =
                u8::from_str_radix(std::str::from_utf8(pair).expect("hex"), 16).expect("hex");
            char::from(SAFE_ALPHABET[usize::from(byte) % SAFE_ALPHABET.len()])
        })
        .collect()
}

fn uid(seed: &str) -> String {
    let hex = sha256_hex(seed.as_bytes());
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

const CREATED: &str = "2026-11-30T08:15:27Z";
const STARTED: &str = "2026-11-30T08:15:41Z";

/// What the container runtime reports as `status.image`: the spec image
/// normalised to a full reference.
fn normalized_image(image: &str) -> String {
    let first = image.split('/').next().unwrap_or("");
    if !image.contains('/') {
        format!("docker.io/library/{image}")
    } else if first.contains('.') || first.contains(':') || first == "localhost" {
        image.to_owned()
    } else {
        format!("docker.io/{image}")
    }
}

fn owner_ref(api_version: &str, kind: &str, name: &str, uid: &str) -> Value {
    json!({
        "apiVersion": api_version,
        "kind": kind,
        "name": name,
        "uid": uid,
        "controller": true,
        "blockOwnerDeletion": true
    })
}

fn container_spec(c: &FakeContainer) -> Value {
    let mut spec = json!({
        "name": c.name,
        "image": c.image,
        "imagePullPolicy": "IfNotPresent",
        "resources": {},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File"
    });
    if c.kind == "ephemeral" {
        spec["stdin"] = json!(true);
        spec["tty"] = json!(true);
    }
    spec
}

fn container_status(c: &FakeContainer, pod_done: bool) -> Value {
    let Some(image_id) = &c.image_id else {
        return json!({
            "name": c.name,
            "state": { "waiting": { "reason": "ContainerCreating" } },
            "lastState": {},
            "ready": false,
            "restartCount": 0,
            "image": c.image,
            "imageID": "",
            "started": false
        });
    };
    let container_id = format!(
        "containerd://{}",
        sha256_hex(format!("{}{image_id}", c.name).as_bytes())
    );
    let state = if c.kind == "init" || pod_done {
        json!({ "terminated": {
            "exitCode": 0, "reason": "Completed",
            "startedAt": STARTED, "finishedAt": "2026-11-30T08:15:44Z",
            "containerID": container_id
        }})
    } else {
        json!({ "running": { "startedAt": STARTED } })
    };
    let mut status = json!({
        "name": c.name,
        "state": state,
        "lastState": {},
        "ready": c.kind == "container" && !pod_done,
        "restartCount": 0,
        "image": normalized_image(&c.image),
        "imageID": image_id,
        "containerID": container_id,
    });
    if c.kind != "ephemeral" {
        status["started"] = json!(c.kind == "container" && !pod_done);
    }
    status
}

/// The objects a [`FakeApiServer`] serves, with builders for realistic workloads.
#[derive(Clone, Debug, Default)]
pub struct KubeObjects {
    objects: Vec<Value>,
}

impl KubeObjects {
    pub fn new() -> KubeObjects {
        KubeObjects::default()
    }

    /// Add any object (it must carry `apiVersion`, `kind` and `metadata`).
    pub fn push(&mut self, object: Value) -> &mut KubeObjects {
        self.objects.push(object);
        self
    }

    pub fn objects(&self) -> &[Value] {
        &self.objects
    }

    pub fn pods(&self) -> impl Iterator<Item = &Value> {
        self.objects.iter().filter(|o| o["kind"] == "Pod")
    }

    fn template(containers: &[FakeContainer], labels: &Value) -> Value {
        json!({
            "metadata": { "labels": labels },
            "spec": {
                "containers": containers.iter().filter(|c| c.kind == "container").map(container_spec).collect::<Vec<_>>(),
                "initContainers": containers.iter().filter(|c| c.kind == "init").map(container_spec).collect::<Vec<_>>(),
                "restartPolicy": "Always",
                "dnsPolicy": "ClusterFirst"
            }
        })
    }

    /// A pod with `owner` (an owner reference) or none, on `node`.
    pub fn pod(
        &mut self,
        namespace: &str,
        name: &str,
        node: Option<&str>,
        labels: &Value,
        owner: Option<Value>,
        containers: &[FakeContainer],
    ) -> &mut KubeObjects {
        let done = owner.as_ref().is_some_and(|o| o["kind"] == "Job");
        let pulling = containers.iter().any(|c| c.image_id.is_none());
        let phase = if done {
            "Succeeded"
        } else if pulling {
            "Pending"
        } else {
            "Running"
        };
        let of = |kind: &str| {
            containers
                .iter()
                .filter(|c| c.kind == kind)
                .collect::<Vec<_>>()
        };
        let mut spec = json!({
            "containers": of("container").iter().map(|c| container_spec(c)).collect::<Vec<_>>(),
            "restartPolicy": if done { "Never" } else { "Always" },
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default",
            "serviceAccount": "default",
            "securityContext": {},
            "schedulerName": "default-scheduler",
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            ],
            "priority": 0,
            "enableServiceLinks": true,
            "preemptionPolicy": "PreemptLowerPriority"
        });
        if let Some(node) = node {
            spec["nodeName"] = json!(node);
        }
        let mut status = json!({
            "phase": phase,
            "conditions": [
                {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": CREATED},
                {"type": "Ready", "status": if phase == "Running" { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": STARTED},
                {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": CREATED}
            ],
            "hostIP": "10.0.0.11",
            "podIP": format!("10.244.1.{}", 2 + self.objects.len() % 250),
            "startTime": CREATED,
            "containerStatuses": of("container").iter().map(|c| container_status(c, done)).collect::<Vec<_>>(),
            "qosClass": "BestEffort"
        });
        let init = of("init");
        if !init.is_empty() {
            spec["initContainers"] =
                json!(init.iter().map(|c| container_spec(c)).collect::<Vec<_>>());
            status["initContainerStatuses"] = json!(
                init.iter()
                    .map(|c| container_status(c, done))
                    .collect::<Vec<_>>()
            );
        }
        let ephemeral = of("ephemeral");
        if !ephemeral.is_empty() {
            spec["ephemeralContainers"] = json!(
                ephemeral
                    .iter()
                    .map(|c| {
                        let mut s = container_spec(c);
                        if let Some(first) = of("container").first() {
                            s["targetContainerName"] = json!(first.name);
                        }
                        s
                    })
                    .collect::<Vec<_>>()
            );
            status["ephemeralContainerStatuses"] = json!(
                ephemeral
                    .iter()
                    .map(|c| container_status(c, done))
                    .collect::<Vec<_>>()
            );
        }
        let mut metadata = json!({
            "name": name,
            "namespace": namespace,
            "uid": uid(&format!("pod/{namespace}/{name}")),
            "resourceVersion": (40000 + self.objects.len()).to_string(),
            "creationTimestamp": CREATED,
            "labels": labels,
        });
        if let Some(owner) = owner {
            metadata["generateName"] =
                json!(name.rsplit_once('-').map_or(name, |(p, _)| p).to_owned() + "-");
            metadata["ownerReferences"] = json!([owner]);
        }
        self.objects.push(json!({
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": metadata,
            "spec": spec,
            "status": status
        }));
        self
    }

    fn meta(&self, kind: &str, namespace: &str, name: &str, labels: &Value) -> Value {
        json!({
            "name": name,
            "namespace": namespace,
            "uid": uid(&format!("{kind}/{namespace}/{name}")),
            "resourceVersion": (30000 + self.objects.len()).to_string(),
            "generation": 1,
            "creationTimestamp": CREATED,
            "labels": labels,
        })
    }

    /// A Deployment, its current ReplicaSet (`NAME-<pod-template-hash>`) and
    /// `replicas` pods (`NAME-<hash>-<5 chars>`).
    pub fn deployment(
        &mut self,
        namespace: &str,
        name: &str,
        replicas: usize,
        containers: &[FakeContainer],
    ) -> &mut KubeObjects {
        let hash = safe_suffix(&format!("{namespace}/{name}/template"), 10);
        let labels = json!({ "app": name });
        let pod_labels = json!({ "app": name, "pod-template-hash": hash });
        let deployment_meta = self.meta("Deployment", namespace, name, &labels);
        let deployment_uid = deployment_meta["uid"].as_str().expect("uid").to_owned();
        self.objects.push(json!({
            "kind": "Deployment",
            "apiVersion": "apps/v1",
            "metadata": deployment_meta,
            "spec": {
                "replicas": replicas,
                "selector": { "matchLabels": labels },
                "template": KubeObjects::template(containers, &labels),
                "strategy": { "type": "RollingUpdate", "rollingUpdate": { "maxUnavailable": "25%", "maxSurge": "25%" } },
                "revisionHistoryLimit": 10,
                "progressDeadlineSeconds": 600
            },
            "status": { "observedGeneration": 1, "replicas": replicas, "updatedReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas }
        }));
        let rs_name = format!("{name}-{hash}");
        let mut rs_meta = self.meta("ReplicaSet", namespace, &rs_name, &pod_labels);
        rs_meta["annotations"] = json!({ "deployment.kubernetes.io/revision": "1" });
        rs_meta["ownerReferences"] =
            json!([owner_ref("apps/v1", "Deployment", name, &deployment_uid)]);
        let rs_uid = rs_meta["uid"].as_str().expect("uid").to_owned();
        self.objects.push(json!({
            "kind": "ReplicaSet",
            "apiVersion": "apps/v1",
            "metadata": rs_meta,
            "spec": {
                "replicas": replicas,
                "selector": { "matchLabels": pod_labels },
                "template": KubeObjects::template(containers, &pod_labels)
            },
            "status": { "replicas": replicas, "fullyLabeledReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas, "observedGeneration": 1 }
        }));
        for replica in 0..replicas {
            let pod_name = format!(
                "{rs_name}-{}",
                safe_suffix(&format!("{rs_name}/{replica}"), 5)
            );
            self.pod(
                namespace,
                &pod_name,
                Some(&format!("node-{}", replica % 2 + 1)),
                &pod_labels,
                Some(owner_ref("apps/v1", "ReplicaSet", &rs_name, &rs_uid)),
                containers,
            );
        }
        self
    }

    /// A StatefulSet and its pods `NAME-0` … `NAME-(replicas-1)`.
    pub fn stateful_set(
        &mut self,
        namespace: &str,
        name: &str,
        replicas: usize,
        containers: &[FakeContainer],
    ) -> &mut KubeObjects {
        let labels = json!({ "app": name });
        let meta = self.meta("StatefulSet", namespace, name, &labels);
        let set_uid = meta["uid"].as_str().expect("uid").to_owned();
        self.objects.push(json!({
            "kind": "StatefulSet",
            "apiVersion": "apps/v1",
            "metadata": meta,
            "spec": {
                "replicas": replicas,
                "selector": { "matchLabels": labels },
                "template": KubeObjects::template(containers, &labels),
                "serviceName": name,
                "podManagementPolicy": "OrderedReady",
                "updateStrategy": { "type": "RollingUpdate", "rollingUpdate": { "partition": 0 } }
            },
            "status": { "observedGeneration": 1, "replicas": replicas, "readyReplicas": replicas, "currentReplicas": replicas, "updatedReplicas": replicas }
        }));
        let revision = format!("{name}-{}", safe_suffix(&format!("{name}/rev"), 10));
        for ordinal in 0..replicas {
            let pod_name = format!("{name}-{ordinal}");
            self.pod(
                namespace,
                &pod_name,
                Some(&format!("node-{}", ordinal % 2 + 1)),
                &json!({ "app": name, "controller-revision-hash": revision, "statefulset.kubernetes.io/pod-name": pod_name }),
                Some(owner_ref("apps/v1", "StatefulSet", name, &set_uid)),
                containers,
            );
        }
        self
    }

    /// A DaemonSet and one pod per node.
    pub fn daemon_set(
        &mut self,
        namespace: &str,
        name: &str,
        nodes: &[&str],
        containers: &[FakeContainer],
    ) -> &mut KubeObjects {
        let labels = json!({ "app": name });
        let meta = self.meta("DaemonSet", namespace, name, &labels);
        let set_uid = meta["uid"].as_str().expect("uid").to_owned();
        self.objects.push(json!({
            "kind": "DaemonSet",
            "apiVersion": "apps/v1",
            "metadata": meta,
            "spec": {
                "selector": { "matchLabels": labels },
                "template": KubeObjects::template(containers, &labels),
                "updateStrategy": { "type": "RollingUpdate", "rollingUpdate": { "maxUnavailable": 1, "maxSurge": 0 } },
                "revisionHistoryLimit": 10
            },
            "status": { "currentNumberScheduled": nodes.len(), "numberMisscheduled": 0, "desiredNumberScheduled": nodes.len(), "numberReady": nodes.len(), "observedGeneration": 1 }
        }));
        for node in nodes {
            let pod_name = format!("{name}-{}", safe_suffix(&format!("{name}/{node}"), 5));
            self.pod(
                namespace,
                &pod_name,
                Some(node),
                &json!({ "app": name, "pod-template-generation": "1" }),
                Some(owner_ref("apps/v1", "DaemonSet", name, &set_uid)),
                containers,
            );
        }
        self
    }

    /// A CronJob, one Job it scheduled (`NAME-<minutes since epoch>`) and the Job's completed pod.
    pub fn cron_job(
        &mut self,
        namespace: &str,
        name: &str,
        containers: &[FakeContainer],
    ) -> &mut KubeObjects {
        let labels = json!({ "app": name });
        let meta = self.meta("CronJob", namespace, name, &labels);
        let cron_uid = meta["uid"].as_str().expect("uid").to_owned();
        let job_template =
            json!({ "spec": { "template": KubeObjects::template(containers, &labels) } });
        self.objects.push(json!({
            "kind": "CronJob",
            "apiVersion": "batch/v1",
            "metadata": meta,
            "spec": {
                "schedule": "*/30 * * * *",
                "concurrencyPolicy": "Forbid",
                "suspend": false,
                "jobTemplate": job_template,
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 1
            },
            "status": { "lastScheduleTime": "2026-11-30T08:00:00Z", "lastSuccessfulTime": "2026-11-30T08:00:09Z" }
        }));
        let job_name = format!("{name}-29409120");
        let owner = owner_ref("batch/v1", "CronJob", name, &cron_uid);
        self.job_with_owner(namespace, &job_name, Some(owner), containers)
    }

    /// A Job (owned by a CronJob when `owner` is set) and its completed pod.
    pub fn job(
        &mut self,
        namespace: &str,
        name: &str,
        containers: &[FakeContainer],
    ) -> &mut KubeObjects {
        self.job_with_owner(namespace, name, None, containers)
    }

    fn job_with_owner(
        &mut self,
        namespace: &str,
        name: &str,
        owner: Option<Value>,
        containers: &[FakeContainer],
    ) -> &mut KubeObjects {
        let job_uid = uid(&format!("Job/{namespace}/{name}"));
        let labels = json!({ "batch.kubernetes.io/controller-uid": job_uid, "batch.kubernetes.io/job-name": name, "controller-uid": job_uid, "job-name": name });
        let mut meta = self.meta("Job", namespace, name, &labels);
        if let Some(owner) = owner {
            meta["ownerReferences"] = json!([owner]);
        }
        self.objects.push(json!({
            "kind": "Job",
            "apiVersion": "batch/v1",
            "metadata": meta,
            "spec": {
                "parallelism": 1, "completions": 1, "backoffLimit": 6,
                "selector": { "matchLabels": { "batch.kubernetes.io/controller-uid": job_uid } },
                "template": KubeObjects::template(containers, &labels),
                "completionMode": "NonIndexed", "suspend": false
            },
            "status": { "startTime": CREATED, "completionTime": "2026-11-30T08:15:45Z", "succeeded": 1, "ready": 0 }
        }));
        let pod_name = format!("{name}-{}", safe_suffix(&format!("{name}/pod"), 5));
        self.pod(
            namespace,
            &pod_name,
            Some("node-1"),
            &labels,
            Some(owner_ref("batch/v1", "Job", name, &job_uid)),
            containers,
        )
    }

    /// A pod with no owner.
    pub fn bare_pod(
        &mut self,
        namespace: &str,
        name: &str,
        containers: &[FakeContainer],
    ) -> &mut KubeObjects {
        self.pod(
            namespace,
            name,
            Some("node-2"),
            &json!({ "run": name }),
            None,
            containers,
        )
    }
}

/// A cluster with every workload kind, init, ephemeral and still-pulling
/// containers, and both `docker-pullable://…@sha256:` and `…@sha256:`
/// image IDs: 15 pods over four namespaces.
pub fn realistic_cluster() -> KubeObjects {
    let nginx = fake_digest("nginx:1.27");
    let migrate = fake_digest("migrate:3");
    let redis = fake_digest("redis:7.2");
    let fluent = fake_digest("fluent-bit:3.1");
    let backup = fake_digest("backup:1");
    let debug = fake_digest("busybox:1.36");
    let mut objects = KubeObjects::new();
    objects
        .deployment(
            "shop",
            "web",
            3,
            &[
                FakeContainer::running(
                    "migrate",
                    "registry.example.com/shop/migrate:3",
                    &format!("registry.example.com/shop/migrate@{migrate}"),
                )
                .init(),
                FakeContainer::running(
                    "nginx",
                    "nginx:1.27",
                    &format!("docker.io/library/nginx@{nginx}"),
                ),
            ],
        )
        .deployment(
            "shop",
            "api",
            2,
            &[FakeContainer::running(
                "api",
                &format!(
                    "registry.example.com/shop/api@{}",
                    fake_digest("api:pinned")
                ),
                &format!(
                    "registry.example.com/shop/api@{}",
                    fake_digest("api:pinned")
                ),
            )],
        )
        .stateful_set(
            "shop",
            "redis",
            2,
            &[FakeContainer::running(
                "redis",
                "redis:7.2",
                &format!("docker-pullable://redis@{redis}"),
            )],
        )
        .daemon_set(
            "kube-system",
            "fluent-bit",
            &["node-1", "node-2", "node-3"],
            &[FakeContainer::running(
                "fluent-bit",
                "cr.fluentbit.io/fluent/fluent-bit:3.1",
                &format!("cr.fluentbit.io/fluent/fluent-bit@{fluent}"),
            )],
        )
        .cron_job(
            "ops",
            "backup",
            &[FakeContainer::running(
                "backup",
                "registry.example.com/ops/backup:1",
                &format!("registry.example.com/ops/backup@{backup}"),
            )],
        )
        .job(
            "ops",
            "reindex",
            &[FakeContainer::running(
                "reindex",
                "registry.example.com/ops/backup:1",
                &format!("registry.example.com/ops/backup@{backup}"),
            )],
        )
        .bare_pod(
            "default",
            "debug-shell",
            &[
                FakeContainer::running(
                    "shell",
                    "busybox:1.36",
                    &format!("docker.io/library/busybox@{debug}"),
                ),
                FakeContainer::running(
                    "debugger-x7k2p",
                    "busybox:1.36",
                    &format!("docker.io/library/busybox@{debug}"),
                )
                .ephemeral(),
            ],
        )
        .bare_pod(
            "default",
            "pulling",
            &[FakeContainer::pulling(
                "app",
                "registry.example.com/team/app:2.0",
            )],
        )
        .bare_pod(
            "default",
            "local-build",
            &[FakeContainer::running(
                "app",
                "app:dev",
                &fake_digest("app:dev local config"),
            )],
        );
    objects
}

// ---------------------------------------------------------------------------
// The server

/// Resources served, with their discovery entries.
struct Resource {
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
    short: &'static [&'static str],
}

const RESOURCES: &[Resource] = &[
    Resource {
        group: "",
        version: "v1",
        plural: "pods",
        singular: "pod",
        kind: "Pod",
        namespaced: true,
        short: &["po"],
    },
    Resource {
        group: "",
        version: "v1",
        plural: "namespaces",
        singular: "namespace",
        kind: "Namespace",
        namespaced: false,
        short: &["ns"],
    },
    Resource {
        group: "",
        version: "v1",
        plural: "nodes",
        singular: "node",
        kind: "Node",
        namespaced: false,
        short: &["no"],
    },
    Resource {
        group: "apps",
        version: "v1",
        plural: "deployments",
        singular: "deployment",
        kind: "Deployment",
        namespaced: true,
        short: &["deploy"],
    },
    Resource {
        group: "apps",
        version: "v1",
        plural: "replicasets",
        singular: "replicaset",
        kind: "ReplicaSet",
        namespaced: true,
        short: &["rs"],
    },
    Resource {
        group: "apps",
        version: "v1",
        plural: "statefulsets",
        singular: "statefulset",
        kind: "StatefulSet",
        namespaced: true,
        short: &["sts"],
    },
    Resource {
        group: "apps",
        version: "v1",
        plural: "daemonsets",
        singular: "daemonset",
        kind: "DaemonSet",
        namespaced: true,
        short: &["ds"],
    },
    Resource {
        group: "batch",
        version: "v1",
        plural: "jobs",
        singular: "job",
        kind: "Job",
        namespaced: true,
        short: &[],
    },
    Resource {
        group: "batch",
        version: "v1",
        plural: "cronjobs",
        singular: "cronjob",
        kind: "CronJob",
        namespaced: true,
        short: &["cj"],
    },
];

fn resource_list(group: &str, version: &str) -> Value {
    let group_version = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    let resources: Vec<Value> = RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .map(|r| {
            let mut entry = json!({
                "name": r.plural,
                "singularName": r.singular,
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
                "storageVersionHash": base64::engine::general_purpose::STANDARD.encode(&sha256_hex(r.kind.as_bytes()).as_bytes()[..8]),
            });
            if !r.short.is_empty() {
                entry["shortNames"] = json!(r.short);
            }
            if matches!(r.kind, "Pod" | "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" | "CronJob") {
                entry["categories"] = json!(["all"]);
            }
            entry
        })
        .collect();
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources
    })
}

fn status_body(code: u16, reason: &str, message: &str, details: Option<Value>) -> Value {
    let mut body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code
    });
    if let Some(details) = details {
        body["details"] = details;
    }
    body
}

struct Response {
    status: u16,
    body: Vec<u8>,
}

impl Response {
    fn json(status: u16, value: &Value) -> Response {
        Response {
            status,
            body: serde_json::to_vec(value).expect("serialize"),
        }
    }
}

struct State {
    objects: Vec<Value>,
    options: FakeOptions,
    log: Mutex<Vec<RecordedRequest>>,
    continue_expired: AtomicBool,
    pod_lists: std::sync::atomic::AtomicUsize,
    port: u16,
    client_verifier: Arc<dyn ClientCertVerifier>,
}

/// A fake API server on `127.0.0.1:port`, stopped on drop.
pub struct FakeApiServer {
    pub port: u16,
    pub pki: KubePki,
    state: Arc<State>,
    stop: Arc<AtomicBool>,
    _dir: tempfile::TempDir,
}

/// Accept a client certificate at the TLS layer whatever it is (Go's
/// `RequestClientCert`, as kube-apiserver does) and judge it per request.
#[derive(Debug)]
struct RequestClientCert(Arc<dyn ClientCertVerifier>);

impl ClientCertVerifier for RequestClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        false
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.0.root_hint_subjects()
    }
    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The last common name (the subject's: it follows the issuer's) in a DER certificate.
fn common_name(der: &[u8]) -> String {
    const OID: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x03];
    let mut found = String::new();
    let mut at = 0;
    while let Some(offset) = der[at..].windows(OID.len()).position(|w| w == OID) {
        let start = at + offset + OID.len();
        if let (Some(_tag), Some(&len)) = (der.get(start), der.get(start + 1))
            && let Some(value) = der.get(start + 2..start + 2 + usize::from(len))
        {
            found = String::from_utf8_lossy(value).into_owned();
        }
        at = start;
    }
    found
}

impl FakeApiServer {
    /// Start serving `objects` with default options.
    pub fn start(objects: &KubeObjects) -> FakeApiServer {
        FakeApiServer::start_with(objects, FakeOptions::default())
    }

    pub fn start_with(objects: &KubeObjects, options: FakeOptions) -> FakeApiServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let pki = make_kube_pki(dir.path());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(pki.ca()).expect("read CA") {
            roots.add(cert.expect("CA PEM")).expect("add CA");
        }
        let client_verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .allow_unauthenticated()
                .build()
                .expect("client verifier");
        let server_chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(pki.dir.join("server.crt"))
                .expect("read server cert")
                .map(|c| c.expect("server cert PEM"))
                .collect();
        let server_key =
            PrivateKeyDer::from_pem_file(pki.dir.join("server.key")).expect("server key");
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_client_cert_verifier(Arc::new(RequestClientCert(client_verifier.clone())))
            .with_single_cert(server_chain, server_key)
            .expect("server config");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let config = Arc::new(config);

        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("local address").port();
        let state = Arc::new(State {
            objects: objects.objects.clone(),
            options,
            log: Mutex::new(Vec::new()),
            continue_expired: AtomicBool::new(false),
            pod_lists: std::sync::atomic::AtomicUsize::new(0),
            port,
            client_verifier,
        });
        let stop = Arc::new(AtomicBool::new(false));
        {
            let state = state.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let state = state.clone();
                    let config = config.clone();
                    std::thread::spawn(move || serve_connection(stream, &config, &state));
                }
            });
        }
        FakeApiServer {
            port,
            pki,
            state,
            stop,
            _dir: dir,
        }
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// Every request answered so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state
            .log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Forget the request log.
    pub fn clear_requests(&self) {
        self.state
            .log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// A kubeconfig with one cluster (CA as data), one user and one
    /// context `fake`: `user_yaml` is the body of `user:` (indented by 4).
    pub fn kubeconfig(&self, user_yaml: &str) -> String {
        let ca = base64::engine::general_purpose::STANDARD
            .encode(std::fs::read(self.pki.ca()).expect("read CA"));
        let mut out = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}\n    certificate-authority-data: {ca}\nusers:\n- name: fake-user\n  user:\n",
            self.url()
        );
        for line in user_yaml.lines() {
            writeln!(out, "    {line}").expect("write to string");
        }
        out.push_str("contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake-user\n    namespace: shop\ncurrent-context: fake\n");
        out
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve_connection(mut tcp: TcpStream, config: &Arc<rustls::ServerConfig>, state: &State) {
    let _ = tcp.set_read_timeout(Some(Duration::from_mins(1)));
    let _ = tcp.set_nodelay(true);
    let Ok(mut conn) = rustls::ServerConnection::new(config.clone()) else {
        return;
    };
    while conn.is_handshaking() {
        if conn.complete_io(&mut tcp).is_err() {
            return;
        }
    }
    // Judge the client certificate as kube-apiserver's x509 authenticator does.
    let cert_user = conn.peer_certificates().and_then(|chain| {
        let (end_entity, intermediates) = chain.split_first()?;
        Some(
            match state.client_verifier.verify_client_cert(
                end_entity,
                intermediates,
                UnixTime::now(),
            ) {
                Ok(_) => Ok(common_name(end_entity)),
                Err(e) => Err(e.to_string()),
            },
        )
    });
    let stream = rustls::StreamOwned::new(conn, tcp);
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut parts = line.split_whitespace();
        let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
            return;
        };
        let (method, target) = (method.to_owned(), target.to_owned());
        let mut headers = HashMap::new();
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                headers
                    .entry(name.trim().to_ascii_lowercase())
                    .or_insert_with(Vec::new)
                    .push(value.trim().to_owned());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|l| l.first()?.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let close = headers
            .get("connection")
            .and_then(|c| c.first())
            .is_some_and(|c| c.eq_ignore_ascii_case("close"));
        let response = handle(state, &method, &target, &headers, cert_user.as_ref());
        let reason = match response.status {
            200 => "OK",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            410 => "Gone",
            429 => "Too Many Requests",
            500 => "Internal Server Error",
            503 => "Service Unavailable",
            _ => "Error",
        };
        let head = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: application/json\r\nCache-Control: no-cache, private\r\nAudit-Id: {}\r\n{}Content-Length: {}\r\n\r\n",
            response.status,
            uid(&target),
            if response.status == 429 {
                "Retry-After: 1\r\n"
            } else {
                ""
            },
            response.body.len()
        );
        // One write: a response split over two TLS records stalls on Nagle + delayed ACK.
        let mut message = head.into_bytes();
        message.extend_from_slice(&response.body);
        let stream = reader.get_mut();
        if stream.write_all(&message).is_err() || stream.flush().is_err() {
            return;
        }
        if close {
            stream.conn.send_close_notify();
            let _ = stream.flush();
            return;
        }
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte == b'%'
            && let Some(hex) = bytes.get(i + 1..i + 3)
            && let Ok(value) = u8::from_str_radix(&String::from_utf8_lossy(hex), 16)
        {
            out.push(value);
            i += 3;
            continue;
        }
        out.push(if byte == b'+' { b' ' } else { byte });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn handle(
    state: &State,
    method: &str,
    target: &str,
    headers: &HashMap<String, Vec<String>>,
    cert_user: Option<&Result<String, String>>,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.first())
            .map(String::as_str)
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = parse_query(query);
    // Authentication: a union of x509 and bearer token, as kube-apiserver.
    let bearer = header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim);
    let token_user = bearer.and_then(|token| match token {
        KUBE_TOKEN => Some("drydock-reader".to_owned()),
        KUBE_LIMITED_TOKEN => Some("drydock-limited".to_owned()),
        _ => None,
    });
    let auth = match (cert_user, &token_user) {
        (Some(Ok(cn)), _) => RequestAuth::ClientCert(cn.clone()),
        (_, Some(user)) => RequestAuth::Token(user.clone()),
        (Some(Err(reason)), _) => RequestAuth::Rejected(format!("client certificate: {reason}")),
        (None, None) if bearer.is_some() => RequestAuth::Rejected("unknown bearer token".into()),
        // Basic auth was removed from kube-apiserver in 1.19: rejected, but
        // the user is recorded so tests can check what the client sent.
        (None, None) if headers.contains_key("authorization") => {
            let basic = header("authorization")
                .and_then(|h| h.strip_prefix("Basic "))
                .and_then(|b| {
                    base64::engine::general_purpose::STANDARD
                        .decode(b.trim())
                        .ok()
                })
                .map(|b| String::from_utf8_lossy(&b).into_owned());
            RequestAuth::Rejected(basic.map_or_else(
                || "unsupported authorization scheme".to_owned(),
                |credentials| format!("basic auth `{credentials}`"),
            ))
        }
        (None, None) => RequestAuth::Anonymous,
    };
    let impersonated = header("impersonate-user").map(|user| {
        (
            user.to_owned(),
            headers
                .get("impersonate-group")
                .cloned()
                .unwrap_or_default(),
        )
    });
    let response = respond(state, method, path, &query, &auth, impersonated.as_ref());
    state
        .log
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(RecordedRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            query,
            auth,
            impersonated,
            status: response.status,
        });
    response
}

fn respond(
    state: &State,
    method: &str,
    path: &str,
    query: &[(String, String)],
    auth: &RequestAuth,
    impersonated: Option<&(String, Vec<String>)>,
) -> Response {
    let authenticated = match auth {
        RequestAuth::Rejected(_) => {
            return Response::json(401, &status_body(401, "Unauthorized", "Unauthorized", None));
        }
        RequestAuth::Token(user) | RequestAuth::ClientCert(user) => user.as_str(),
        RequestAuth::Anonymous => "system:anonymous",
    };
    // Impersonation: only the readers may; the request then runs as the
    // impersonated user with only its own (or `system:masters`) rights.
    let (user, full_rights) = match impersonated {
        None => (authenticated, authenticated != "drydock-limited"),
        Some(_) if !matches!(authenticated, "drydock-reader" | "drydock-admin") => {
            let target = impersonated.map_or("", |(u, _)| u.as_str());
            return Response::json(
                403,
                &status_body(
                    403,
                    "Forbidden",
                    &format!(
                        "users \"{target}\" is forbidden: User \"{authenticated}\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"
                    ),
                    Some(json!({ "name": target, "kind": "users" })),
                ),
            );
        }
        Some((user, groups)) => (
            user.as_str(),
            user == "drydock-reader" || groups.iter().any(|g| g == "system:masters"),
        ),
    };
    if let Some((_, body)) = state.options.broken_paths.iter().find(|(p, _)| p == path) {
        return Response {
            status: 200,
            body: body.clone().into_bytes(),
        };
    }
    if method != "GET" {
        return Response::json(
            405,
            &status_body(
                405,
                "MethodNotAllowed",
                "the server does not allow this method on the requested resource",
                None,
            ),
        );
    }
    if path == "/version" {
        return Response::json(
            200,
            &json!({
                "major": "1", "minor": "29", "gitVersion": "v1.29.4",
                "gitCommit": "55019c83b0fd51ef4ced8c29eec2c4847f896e74", "gitTreeState": "clean",
                "buildDate": "2024-04-16T15:03:26Z", "goVersion": "go1.21.9", "compiler": "gc", "platform": "linux/amd64"
            }),
        );
    }
    let forbidden = |verb: &str, resource: &str, group: &str, namespace: Option<&str>| {
        let scope = namespace.map_or_else(
            || "at the cluster scope".to_owned(),
            |ns| format!("in the namespace \"{ns}\""),
        );
        let qualified = if group.is_empty() {
            resource.to_owned()
        } else {
            format!("{resource}.{group}")
        };
        Response::json(
            403,
            &status_body(
                403,
                "Forbidden",
                &format!(
                    "{qualified} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" in API group \"{group}\" {scope}"
                ),
                Some(json!({ "group": group, "kind": resource })),
            ),
        )
    };
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    // Discovery.
    let discovery = match segments.as_slice() {
        ["api"] => Some(json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": format!("127.0.0.1:{}", state.port) }]
        })),
        ["apis"] => Some(json!({
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": (["apps", "batch"]).iter().map(|g| json!({
                "name": g,
                "versions": [{ "groupVersion": format!("{g}/v1"), "version": "v1" }],
                "preferredVersion": { "groupVersion": format!("{g}/v1"), "version": "v1" }
            })).collect::<Vec<_>>()
        })),
        ["api", "v1"] => Some(resource_list("", "v1")),
        ["apis", group @ ("apps" | "batch"), "v1"] => Some(resource_list(group, "v1")),
        _ => None,
    };
    if let Some(document) = discovery {
        if user == "system:anonymous" {
            return Response::json(
                403,
                &status_body(
                    403,
                    "Forbidden",
                    &format!("forbidden: User \"system:anonymous\" cannot get path \"{path}\""),
                    Some(json!({})),
                ),
            );
        }
        return Response::json(200, &document);
    }
    // Resources: [api|apis/group]/v1/[namespaces/NS/]PLURAL[/NAME]
    let (group, rest) = match segments.as_slice() {
        ["api", "v1", rest @ ..] => ("", rest),
        ["apis", group, "v1", rest @ ..] => (*group, rest),
        _ => return not_found_path(),
    };
    let (namespace, plural, name) = match rest {
        ["namespaces", ns, plural] => (Some(*ns), *plural, None),
        ["namespaces", ns, plural, name] => (Some(*ns), *plural, Some(*name)),
        [plural] => (None, *plural, None),
        [plural, name] => (None, *plural, Some(*name)),
        _ => return not_found_path(),
    };
    let Some(resource) = RESOURCES
        .iter()
        .find(|r| r.group == group && r.plural == plural)
    else {
        return not_found_path();
    };
    // RBAC: readers read everything; the limited user lists pods in
    // `default` only; anonymous and unknown impersonated users nothing.
    let allowed = match user {
        "system:anonymous" => false,
        "drydock-limited" => resource.plural == "pods" && namespace == Some("default"),
        _ => full_rights,
    };
    let verb = if name.is_some() { "get" } else { "list" };
    if !allowed {
        return forbidden(verb, resource.plural, group, namespace);
    }
    let api_version = if group.is_empty() {
        "v1".to_owned()
    } else {
        format!("{group}/v1")
    };
    let mut matching: Vec<&Value> = state
        .objects
        .iter()
        .filter(|o| o["kind"] == resource.kind && o["apiVersion"] == api_version.as_str())
        .filter(|o| namespace.is_none_or(|ns| o["metadata"]["namespace"] == ns))
        .filter(|o| name.is_none_or(|name| o["metadata"]["name"] == name))
        .collect();
    // Lists come in key order (`namespace/name`), as etcd returns them.
    matching.sort_by_cached_key(|o| {
        (
            o["metadata"]["namespace"].as_str().unwrap_or("").to_owned(),
            o["metadata"]["name"].as_str().unwrap_or("").to_owned(),
        )
    });
    if let Some(name) = name {
        if let Some(object) = matching.iter().find(|o| o["metadata"]["name"] == name) {
            return Response::json(200, object);
        }
        let qualified = if group.is_empty() {
            resource.plural.to_owned()
        } else {
            format!("{}.{group}", resource.plural)
        };
        return Response::json(
            404,
            &status_body(
                404,
                "NotFound",
                &format!("{qualified} \"{name}\" not found"),
                Some(json!({ "name": name, "group": group, "kind": resource.plural })),
            ),
        );
    }
    if resource.plural == "pods" {
        let index = state.pod_lists.fetch_add(1, Ordering::SeqCst);
        if let Some(&status) = state.options.fail_first_pod_lists.get(index) {
            let (reason, message) = match status {
                429 => (
                    "TooManyRequests",
                    "Too many requests, please try again later.",
                ),
                503 => (
                    "ServiceUnavailable",
                    "the server is currently unable to handle the request",
                ),
                _ => (
                    "InternalError",
                    "Internal error occurred: etcdserver: request timed out",
                ),
            };
            return Response::json(status, &status_body(status, reason, message, None));
        }
    }
    list(state, resource, &api_version, namespace, &matching, query)
}

fn not_found_path() -> Response {
    Response::json(
        404,
        &status_body(
            404,
            "NotFound",
            "the server could not find the requested resource",
            Some(json!({})),
        ),
    )
}

/// The continue token of the API server: base64 of
/// `{"v":"meta.k8s.io/v1","rv":RV,"start":"LAST-KEY\u0000"}` (the next
/// page starts right after the last key returned).
fn continue_token(last: &str) -> String {
    let json = json!({ "v": "meta.k8s.io/v1", "rv": KUBE_LIST_RESOURCE_VERSION.parse::<u64>().expect("number"), "start": format!("{last}\u{0}") });
    base64::engine::general_purpose::STANDARD.encode(json.to_string())
}

fn list(
    state: &State,
    resource: &Resource,
    api_version: &str,
    namespace: Option<&str>,
    items: &[&Value],
    query: &[(String, String)],
) -> Response {
    let get = |key: &str| {
        query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let key_of = |o: &Value| {
        let name = o["metadata"]["name"].as_str().unwrap_or("");
        match namespace {
            Some(_) => name.to_owned(),
            None => format!(
                "{}/{name}",
                o["metadata"]["namespace"].as_str().unwrap_or("")
            ),
        }
    };
    let mut start = 0;
    if let Some(token) = get("continue").filter(|t| !t.is_empty()) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(token)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .filter(|v| v["v"] == "meta.k8s.io/v1")
            .and_then(|v| v["start"].as_str().map(str::to_owned));
        let Some(key) = decoded else {
            return Response::json(
                400,
                &status_body(
                    400,
                    "BadRequest",
                    "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
                    None,
                ),
            );
        };
        if state.options.expire_first_continue
            && !state.continue_expired.swap(true, Ordering::SeqCst)
        {
            let mut body = status_body(
                410,
                "Expired",
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
                None,
            );
            body["metadata"] = json!({ "continue": token });
            return Response::json(410, &body);
        }
        start = items
            .iter()
            .position(|o| key_of(o) >= key)
            .unwrap_or(items.len());
    }
    let limit = get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0);
    let end = limit.map_or(items.len(), |l| (start + l).min(items.len()));
    let page = &items[start..end];
    let mut metadata = json!({ "resourceVersion": KUBE_LIST_RESOURCE_VERSION });
    if end < items.len() {
        metadata["continue"] = json!(continue_token(&key_of(items[end - 1])));
        metadata["remainingItemCount"] = json!(items.len() - end);
    }
    Response::json(
        200,
        &json!({
            "kind": format!("{}List", resource.kind),
            "apiVersion": api_version,
            "metadata": metadata,
            "items": page,
        }),
    )
}

/// The `kubectl` to test against: `$DRYDOCK_TEST_KUBECTL` when set (e.g.
/// Debian's `kubernetes-client` unpacked beside another kubectl), else
/// `kubectl` on `PATH` (Debian's package `kubernetes-client` in CI). `None`
/// after a loud skip (a failure under CI) when there is none.
pub fn kubectl() -> Option<PathBuf> {
    if let Some(path) = crate::env_var_os("DRYDOCK_TEST_KUBECTL") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "DRYDOCK_TEST_KUBECTL `{}` does not exist",
            path.display()
        );
        return Some(path);
    }
    crate::require_tool("kubectl").then(|| PathBuf::from("kubectl"))
}

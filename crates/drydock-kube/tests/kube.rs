//! drydock-kube against the fake API server of drydock-test: every
//! kubeconfig auth and TLS form, errors, pagination, owner resolution, and
//! the realism proof: the real `kubectl` reads the same server and agrees.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use drydock_kube::{Client, ContainerKind, KubeConfig, KubeError, RunningContainer, Workload};
use drydock_test::{
    FakeApiServer, FakeContainer, FakeOptions, KUBE_LIMITED_TOKEN, KUBE_TOKEN, KubeObjects,
    RequestAuth, fake_digest, realistic_cluster,
};
use serde_json::Value;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn b64_file(path: &Path) -> String {
    b64(&std::fs::read(path).expect("read"))
}

/// Write `yaml` as `dir/config` and load it.
fn load(dir: &Path, yaml: &str) -> KubeConfig {
    let path = dir.join("config");
    std::fs::write(&path, yaml).expect("write kubeconfig");
    KubeConfig::load(&path).expect("load kubeconfig")
}

fn client_for(server: &FakeApiServer, dir: &Path, user_yaml: &str) -> Client {
    let config = load(dir, &server.kubeconfig(user_yaml));
    Client::from_kubeconfig(&config, None).expect("client")
}

fn token_user() -> String {
    format!("token: {KUBE_TOKEN}")
}

#[expect(
    clippy::unnecessary_wraps,
    reason = "compared with `RunningContainer::workload`"
)]
fn workload(kind: &str, name: &str) -> Option<Workload> {
    Some(Workload {
        kind: kind.into(),
        name: name.into(),
    })
}

fn find<'a>(
    containers: &'a [RunningContainer],
    pod_prefix: &str,
    container: &str,
) -> Vec<&'a RunningContainer> {
    containers
        .iter()
        .filter(|c| c.pod.starts_with(pod_prefix) && c.container == container)
        .collect()
}

fn pod_list_requests(server: &FakeApiServer) -> Vec<drydock_test::RecordedRequest> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/pods"))
        .collect()
}

#[test]
fn token_and_ca_data_list_every_container_with_its_workload() {
    let server = FakeApiServer::start(&realistic_cluster());
    let dir = tempfile::tempdir().expect("temp dir");
    let client = client_for(&server, dir.path(), &token_user());
    assert_eq!(client.server(), server.url());
    assert_eq!(client.context_name(), Some("fake"));
    let containers = client.list_containers(None).expect("list");
    assert_eq!(containers.len(), 19, "{containers:#?}");
    // The context's namespace (`shop`) is not a filter.
    let namespaces: BTreeSet<&str> = containers.iter().map(|c| c.namespace.as_str()).collect();
    assert_eq!(
        namespaces,
        BTreeSet::from(["default", "kube-system", "ops", "shop"])
    );

    let nginx = find(&containers, "web-", "nginx");
    assert_eq!(nginx.len(), 3);
    for c in &nginx {
        assert_eq!(c.kind, ContainerKind::Container);
        assert_eq!(c.image, "nginx:1.27");
        let digest = fake_digest("nginx:1.27");
        assert_eq!(
            c.image_id.as_deref(),
            Some(format!("docker.io/library/nginx@{digest}").as_str())
        );
        assert_eq!(c.digest.as_deref(), Some(digest.as_str()));
        assert_eq!(c.workload, workload("Deployment", "web"));
        assert_eq!(c.phase.as_deref(), Some("Running"));
        assert!(c.node.as_deref().is_some_and(|n| n.starts_with("node-")));
        assert_eq!(c.pod_uid.len(), 36);
    }
    let migrate = find(&containers, "web-", "migrate");
    assert_eq!(migrate.len(), 3);
    assert!(migrate.iter().all(|c| c.kind == ContainerKind::Init
        && c.digest.as_deref() == Some(fake_digest("migrate:3").as_str())
        && c.workload == workload("Deployment", "web")));

    let api = find(&containers, "api-", "api");
    assert_eq!(api.len(), 2);
    assert!(
        api.iter()
            .all(|c| c.digest.as_deref() == Some(fake_digest("api:pinned").as_str()))
    );

    let redis = find(&containers, "redis-", "redis");
    assert_eq!(
        redis
            .iter()
            .map(|c| c.pod.as_str())
            .collect::<BTreeSet<_>>(),
        BTreeSet::from(["redis-0", "redis-1"])
    );
    for c in &redis {
        let digest = fake_digest("redis:7.2");
        assert_eq!(
            c.image_id.as_deref(),
            Some(format!("docker-pullable://redis@{digest}").as_str())
        );
        assert_eq!(c.digest.as_deref(), Some(digest.as_str()));
        assert_eq!(c.workload, workload("StatefulSet", "redis"));
    }

    let fluent = find(&containers, "fluent-bit-", "fluent-bit");
    assert_eq!(fluent.len(), 3);
    assert!(
        fluent
            .iter()
            .all(|c| c.workload == workload("DaemonSet", "fluent-bit")
                && c.namespace == "kube-system")
    );
    assert_eq!(
        fluent
            .iter()
            .filter_map(|c| c.node.as_deref())
            .collect::<BTreeSet<_>>(),
        BTreeSet::from(["node-1", "node-2", "node-3"])
    );

    let backup = find(&containers, "backup-", "backup");
    assert_eq!(backup.len(), 1);
    assert_eq!(backup[0].workload, workload("CronJob", "backup"));
    assert_eq!(backup[0].phase.as_deref(), Some("Succeeded"));
    let reindex = find(&containers, "reindex-", "reindex");
    assert_eq!(reindex.len(), 1);
    assert_eq!(reindex[0].workload, workload("Job", "reindex"));

    let shell = find(&containers, "debug-shell", "shell");
    assert_eq!(shell.len(), 1);
    assert_eq!(shell[0].workload, None);
    let debugger = find(&containers, "debug-shell", "debugger-x7k2p");
    assert_eq!(debugger.len(), 1);
    assert_eq!(debugger[0].kind, ContainerKind::Ephemeral);
    assert_eq!(
        debugger[0].digest.as_deref(),
        Some(fake_digest("busybox:1.36").as_str())
    );

    let pulling = find(&containers, "pulling", "app");
    assert_eq!(pulling.len(), 1);
    assert_eq!(
        (pulling[0].image_id.as_deref(), pulling[0].digest.as_deref()),
        (None, None)
    );
    assert_eq!(pulling[0].phase.as_deref(), Some("Pending"));

    // A bare `sha256:` image ID is a local image ID, not a manifest digest.
    let local = find(&containers, "local-build", "app");
    assert_eq!(
        local[0].image_id.as_deref(),
        Some(fake_digest("app:dev local config").as_str())
    );
    assert_eq!(local[0].digest, None);

    // Every request carried the token.
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.auth == RequestAuth::Token("drydock-reader".into()))
    );
}

#[test]
fn owners_are_fetched_once_each_per_pass() {
    let server = FakeApiServer::start(&realistic_cluster());
    let dir = tempfile::tempdir().expect("temp dir");
    let client = client_for(&server, dir.path(), &token_user());
    client.list_containers(None).expect("list");
    let owner_gets: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/apis/"))
        .map(|r| r.path)
        .collect();
    let unique: BTreeSet<&String> = owner_gets.iter().collect();
    assert_eq!(owner_gets.len(), unique.len(), "{owner_gets:#?}");
    for kind in [
        "replicasets",
        "deployments",
        "statefulsets",
        "daemonsets",
        "jobs",
        "cronjobs",
    ] {
        assert!(
            owner_gets.iter().any(|p| p.contains(&format!("/{kind}/"))),
            "{kind}: {owner_gets:#?}"
        );
    }
    // web and api: two ReplicaSets and two Deployments.
    assert_eq!(
        owner_gets
            .iter()
            .filter(|p| p.contains("/replicasets/"))
            .count(),
        2
    );
}

#[test]
fn pagination_follows_continue_over_several_pages() {
    let server = FakeApiServer::start(&realistic_cluster());
    let dir = tempfile::tempdir().expect("temp dir");
    let all = client_for(&server, dir.path(), &token_user())
        .list_containers(None)
        .expect("list");
    server.clear_requests();
    let paged = client_for(&server, dir.path(), &token_user())
        .with_page_size(4)
        .list_containers(None)
        .expect("list in pages");
    assert_eq!(paged, all);
    let pages = pod_list_requests(&server);
    // 15 pods in pages of 4.
    assert_eq!(pages.len(), 4, "{pages:#?}");
    assert!(
        pages
            .iter()
            .all(|r| r.path == "/api/v1/pods" && r.query_value("limit") == Some("4"))
    );
    assert_eq!(pages[0].query_value("continue"), None);
    let tokens: BTreeSet<&str> = pages[1..]
        .iter()
        .filter_map(|r| r.query_value("continue"))
        .collect();
    assert_eq!(
        tokens.len(),
        3,
        "each later page carries a new continue token: {pages:#?}"
    );
}

#[test]
fn an_expired_continue_token_restarts_the_list() {
    let server = FakeApiServer::start_with(
        &realistic_cluster(),
        FakeOptions {
            expire_first_continue: true,
            ..FakeOptions::default()
        },
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let containers = client_for(&server, dir.path(), &token_user())
        .with_page_size(5)
        .list_containers(None)
        .expect("list");
    assert_eq!(containers.len(), 19);
    let pages = pod_list_requests(&server);
    assert_eq!(
        pages.iter().filter(|r| r.status == 410).count(),
        1,
        "{pages:#?}"
    );
    assert_eq!(
        pages
            .iter()
            .filter(|r| r.query_value("continue").is_none())
            .count(),
        2
    );
}

#[test]
fn one_namespace_is_listed_through_its_own_path() {
    let server = FakeApiServer::start(&realistic_cluster());
    let dir = tempfile::tempdir().expect("temp dir");
    let containers = client_for(&server, dir.path(), &token_user())
        .with_page_size(3)
        .list_containers(Some("shop"))
        .expect("list");
    assert_eq!(containers.len(), 10);
    assert!(containers.iter().all(|c| c.namespace == "shop"));
    let pages = pod_list_requests(&server);
    assert!(
        pages
            .iter()
            .all(|r| r.path == "/api/v1/namespaces/shop/pods")
    );
    assert_eq!(pages.len(), 3);
}

#[test]
fn certificate_authority_file_relative_to_the_kubeconfig() {
    let server = FakeApiServer::start(&realistic_cluster());
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("pki")).expect("mkdir");
    std::fs::copy(server.pki.ca(), dir.path().join("pki/ca.crt")).expect("copy CA");
    let yaml = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {}\n    certificate-authority: pki/ca.crt\nusers:\n- name: u\n  user:\n    token: {KUBE_TOKEN}\ncontexts:\n- name: ctx\n  context: {{cluster: c, user: u}}\ncurrent-context: ctx\n",
        server.url()
    );
    let config = load(dir.path(), &yaml);
    let client = Client::from_kubeconfig(&config, None).expect("client");
    assert_eq!(client.list_containers(None).expect("list").len(), 19);
}

#[test]
fn client_certificate_data_with_an_ec_key() {
    let server = FakeApiServer::start(&realistic_cluster());
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key) = server.pki.client();
    let user = format!(
        "client-certificate-data: {}\nclient-key-data: {}",
        b64_file(&cert),
        b64_file(&key)
    );
    let containers = client_for(&server, dir.path(), &user)
        .list_containers(None)
        .expect("list");
    assert_eq!(containers.len(), 19);
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.auth == RequestAuth::ClientCert("drydock-admin".into()))
    );
}

#[test]
fn client_certificate_files_with_an_rsa_pkcs1_key() {
    let server = FakeApiServer::start(&realistic_cluster());
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key) = server.pki.client_rsa();
    assert!(
        std::fs::read_to_string(&key)
            .expect("key")
            .contains("BEGIN RSA PRIVATE KEY")
    );
    std::fs::copy(&cert, dir.path().join("me.crt")).expect("copy");
    std::fs::copy(&key, dir.path().join("me.key")).expect("copy");
    let containers = client_for(
        &server,
        dir.path(),
        "client-certificate: me.crt\nclient-key: me.key",
    )
    .list_containers(None)
    .expect("list");
    assert_eq!(containers.len(), 19);
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.auth == RequestAuth::ClientCert("drydock-rsa".into()))
    );
}

#[test]
fn expired_or_unknown_client_certificates_are_rejected() {
    let server = FakeApiServer::start(&realistic_cluster());
    for (cert, key) in [server.pki.client_expired(), server.pki.client_unknown()] {
        let dir = tempfile::tempdir().expect("temp dir");
        let user = format!(
            "client-certificate: {}\nclient-key: {}",
            cert.display(),
            key.display()
        );
        let err = client_for(&server, dir.path(), &user)
            .list_containers(None)
            .expect_err("rejected");
        assert!(matches!(err, KubeError::Unauthorized { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains(&server.url()) && message.contains("401 Unauthorized"),
            "{message}"
        );
    }
    assert!(
        server
            .requests()
            .iter()
            .all(|r| matches!(r.auth, RequestAuth::Rejected(_)))
    );
}

#[test]
fn token_file_relative_to_the_kubeconfig_is_reread_per_pass() {
    let server = FakeApiServer::start(&realistic_cluster());
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("token"), format!("{KUBE_TOKEN}\n")).expect("write token");
    let client = client_for(&server, dir.path(), "tokenFile: token");
    assert_eq!(client.list_containers(None).expect("list").len(), 19);
    // A rotated (here: revoked) token is picked up by the next pass.
    std::fs::write(dir.path().join("token"), "revoked").expect("write token");
    let err = client.list_containers(None).expect_err("revoked");
    assert!(matches!(err, KubeError::Unauthorized { .. }), "{err:?}");
}

#[test]
fn a_wrong_token_is_a_401_naming_the_cluster() {
    let server = FakeApiServer::start(&realistic_cluster());
    let dir = tempfile::tempdir().expect("temp dir");
    let err = client_for(&server, dir.path(), "token: not-a-valid-token")
        .list_containers(None)
        .expect_err("401");
    assert_eq!(
        err.to_string(),
        format!(
            "cluster `{}`: 401 Unauthorized (token rejected or expired, or client certificate not accepted)",
            server.url()
        )
    );
}

#[test]
fn missing_rbac_is_a_403_with_the_servers_reason() {
    let server = FakeApiServer::start(&realistic_cluster());
    let dir = tempfile::tempdir().expect("temp dir");
    let client = client_for(&server, dir.path(), &format!("token: {KUBE_LIMITED_TOKEN}"));
    let err = client.list_containers(None).expect_err("403");
    assert!(matches!(err, KubeError::Forbidden { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("cannot list resource \\\"pods\\\"")
            || message.contains("cannot list resource \"pods\""),
        "{message}"
    );
    assert!(message.contains("at the cluster scope"), "{message}");
    // Namespace `default` holds only bare pods: no owner to look up.
    let containers = client
        .list_containers(Some("default"))
        .expect("list default");
    assert_eq!(containers.len(), 4);
}

#[test]
fn anonymous_requests_are_forbidden() {
    let server = FakeApiServer::start(&realistic_cluster());
    let dir = tempfile::tempdir().expect("temp dir");
    let yaml = server.kubeconfig("{}").replace("    user: fake-user\n", "");
    let config = load(dir.path(), &yaml);
    let err = Client::from_kubeconfig(&config, None)
        .expect("client")
        .list_containers(None)
        .expect_err("403");
    assert!(err.to_string().contains("system:anonymous"), "{err}");
}

#[test]
fn insecure_skip_tls_verify_needs_no_ca() {
    let server = FakeApiServer::start(&realistic_cluster());
    let dir = tempfile::tempdir().expect("temp dir");
    let yaml = format!(
        "apiVersion: v1\nclusters:\n- name: c\n  cluster:\n    server: {}\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: {KUBE_TOKEN}\ncontexts:\n- name: ctx\n  context:\n    cluster: c\n    user: u\ncurrent-context: ctx\n",
        server.url()
    );
    let config = load(dir.path(), &yaml);
    let containers = Client::from_kubeconfig(&config, None)
        .expect("client")
        .list_containers(None)
        .expect("list");
    assert_eq!(containers.len(), 19);
    // Without the flag, the system roots do not trust the test CA.
    let config = load(
        dir.path(),
        &yaml.replace("    insecure-skip-tls-verify: true\n", ""),
    );
    let err = Client::from_kubeconfig(&config, None)
        .expect("client")
        .list_containers(None)
        .expect_err("TLS");
    assert!(matches!(err, KubeError::Tls { .. }), "{err:?}");
}

#[test]
fn a_wrong_ca_is_a_tls_error_naming_the_server() {
    let server = FakeApiServer::start(&realistic_cluster());
    let dir = tempfile::tempdir().expect("temp dir");
    let yaml = server.kubeconfig(&token_user()).replace(
        &b64_file(&server.pki.ca()),
        &b64_file(&server.pki.other_ca()),
    );
    let config = load(dir.path(), &yaml);
    let err = Client::from_kubeconfig(&config, None)
        .expect("client")
        .list_containers(None)
        .expect_err("TLS");
    assert!(matches!(err, KubeError::Tls { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with(&format!("cluster `{}`: TLS", server.url())),
        "{err}"
    );
    assert!(server.requests().is_empty());
}

#[test]
fn an_unreachable_cluster_is_named() {
    let port = drydock_test::free_port();
    let dir = tempfile::tempdir().expect("temp dir");
    let yaml = format!(
        "apiVersion: v1\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:{port}\n    insecure-skip-tls-verify: true\ncontexts:\n- name: ctx\n  context:\n    cluster: c\ncurrent-context: ctx\n"
    );
    let config = load(dir.path(), &yaml);
    let err = Client::from_kubeconfig(&config, None)
        .expect("client")
        .list_containers(None)
        .expect_err("unreachable");
    assert!(matches!(err, KubeError::Unreachable { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("cannot reach cluster `https://127.0.0.1:{port}`")
    );
}

#[test]
fn explicit_context_overrides_current_context() {
    let server = FakeApiServer::start(&realistic_cluster());
    let dir = tempfile::tempdir().expect("temp dir");
    let yaml = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: good\n  cluster:\n    server: {url}\n    certificate-authority-data: {ca}\n- name: bad\n  cluster:\n    server: https://127.0.0.1:1\nusers:\n- name: u\n  user:\n    token: {KUBE_TOKEN}\ncontexts:\n- name: broken\n  context: {{cluster: bad, user: u}}\n- name: working\n  context: {{cluster: good, user: u, namespace: ops}}\ncurrent-context: broken\n",
        url = server.url(),
        ca = b64_file(&server.pki.ca())
    );
    let config = load(dir.path(), &yaml);
    assert_eq!(
        config.contexts(),
        vec!["broken".to_owned(), "working".to_owned()]
    );
    let current = Client::from_kubeconfig(&config, None).expect("client");
    assert_eq!(current.context_name(), Some("broken"));
    assert_eq!(current.server(), "https://127.0.0.1:1");
    let working = Client::from_kubeconfig(&config, Some("working")).expect("client");
    assert_eq!(working.context_name(), Some("working"));
    assert_eq!(working.list_containers(None).expect("list").len(), 19);
}

/// Write an exec plugin script; it logs its arguments, the env var `EXTRA`
/// and `KUBERNETES_EXEC_INFO` into `dir/plugin.log`.
fn write_plugin(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    let script = format!(
        "#!/bin/sh\nprintf '%s\\n' \"args=$*\" \"extra=$EXTRA\" \"$KUBERNETES_EXEC_INFO\" > \"$(dirname \"$0\")/plugin.log\"\n{body}\n"
    );
    std::fs::write(&path, script).expect("write plugin");
    let status = Command::new("chmod")
        .arg("+x")
        .arg(&path)
        .status()
        .expect("chmod");
    assert!(status.success());
    path
}

#[test]
fn exec_plugin_v1_returns_a_token() {
    let server = FakeApiServer::start(&realistic_cluster());
    let dir = tempfile::tempdir().expect("temp dir");
    write_plugin(
        dir.path(),
        "get-token",
        "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"%s\",\"expirationTimestamp\":\"2099-01-01T00:00:00Z\"}}' \"$EXTRA\"",
    );
    let user = format!(
        "exec:\n  apiVersion: client.authentication.k8s.io/v1\n  command: ./get-token\n  args: [--cluster, fake]\n  env:\n  - name: EXTRA\n    value: {KUBE_TOKEN}\n  interactiveMode: Never\n  provideClusterInfo: true"
    );
    let client = client_for(&server, dir.path(), &user);
    assert_eq!(client.list_containers(None).expect("list").len(), 19);
    let log = std::fs::read_to_string(dir.path().join("plugin.log")).expect("plugin log");
    let mut lines = log.lines();
    assert_eq!(lines.next(), Some("args=--cluster fake"));
    assert_eq!(lines.next(), Some(format!("extra={KUBE_TOKEN}").as_str()));
    let info: Value =
        serde_json::from_str(lines.next().expect("exec info")).expect("exec info JSON");
    assert_eq!(info["apiVersion"], "client.authentication.k8s.io/v1");
    assert_eq!(info["kind"], "ExecCredential");
    assert_eq!(info["spec"]["interactive"], false);
    assert_eq!(info["spec"]["cluster"]["server"], server.url());
    assert_eq!(
        info["spec"]["cluster"]["certificate-authority-data"],
        b64_file(&server.pki.ca())
    );
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.auth == RequestAuth::Token("drydock-reader".into()))
    );
}

#[test]
fn exec_plugin_v1beta1_returns_a_client_certificate() {
    let server = FakeApiServer::start(&realistic_cluster());
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key) = server.pki.client();
    let credential = serde_json::json!({
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "kind": "ExecCredential",
        "status": {
            "clientCertificateData": std::fs::read_to_string(cert).expect("cert"),
            "clientKeyData": std::fs::read_to_string(key).expect("key"),
        }
    });
    std::fs::write(dir.path().join("credential.json"), credential.to_string()).expect("write");
    let plugin = write_plugin(
        dir.path(),
        "get-cert",
        "cat \"$(dirname \"$0\")/credential.json\"",
    );
    let user = format!(
        "exec:\n  apiVersion: client.authentication.k8s.io/v1beta1\n  command: {}",
        plugin.display()
    );
    let client = client_for(&server, dir.path(), &user);
    assert_eq!(client.list_containers(None).expect("list").len(), 19);
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.auth == RequestAuth::ClientCert("drydock-admin".into()))
    );
    let log = std::fs::read_to_string(dir.path().join("plugin.log")).expect("plugin log");
    assert!(
        !log.contains("\"cluster\""),
        "no cluster info unless asked: {log}"
    );
}

#[test]
fn failing_exec_plugins_are_clear_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = FakeApiServer::start(&KubeObjects::new());
    write_plugin(
        dir.path(),
        "fails",
        "echo 'error: SSO session expired, run `login`' >&2; exit 3",
    );
    write_plugin(dir.path(), "garbage", "echo 'not json'");
    write_plugin(
        dir.path(),
        "wrong-version",
        "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"x\"}}'",
    );
    write_plugin(
        dir.path(),
        "empty",
        "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{}}'",
    );
    let cases = [
        (
            "./fails",
            "client.authentication.k8s.io/v1",
            "failed (exit status: 3): error: SSO session expired, run `login`",
        ),
        (
            "./garbage",
            "client.authentication.k8s.io/v1",
            "printed no ExecCredential JSON",
        ),
        (
            "./wrong-version",
            "client.authentication.k8s.io/v1",
            "answered with apiVersion `client.authentication.k8s.io/v1beta1`",
        ),
        (
            "./empty",
            "client.authentication.k8s.io/v1",
            "returned neither a `token`",
        ),
        (
            "./missing-plugin",
            "client.authentication.k8s.io/v1",
            "cannot be started: No such file or directory (os error 2) (install it)",
        ),
        (
            "./fails",
            "client.authentication.k8s.io/v1alpha1",
            "asks for apiVersion `client.authentication.k8s.io/v1alpha1`",
        ),
        (
            "./fails",
            "client.authentication.k8s.io/v1\n  interactiveMode: Always",
            "needs an interactive terminal",
        ),
    ];
    for (command, version, expected) in cases {
        let user = format!(
            "exec:\n  apiVersion: {version}\n  command: {command}\n  installHint: install it"
        );
        let config = load(dir.path(), &server.kubeconfig(&user));
        let err = Client::from_kubeconfig(&config, None).expect_err("plugin error");
        let message = err.to_string();
        assert!(matches!(err, KubeError::Exec { .. }), "{err:?}");
        assert!(
            message.starts_with(&format!(
                "kubeconfig `{}`, user `fake-user`: exec plugin `{command}` ",
                dir.path().join("config").display()
            )),
            "{message}"
        );
        assert!(message.contains(expected), "{command}: {message}");
    }
}

#[test]
fn in_cluster_service_account() {
    let server = FakeApiServer::start(&realistic_cluster());
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("token"), KUBE_TOKEN).expect("token");
    std::fs::copy(server.pki.ca(), dir.path().join("ca.crt")).expect("ca");
    std::fs::write(dir.path().join("namespace"), "ops").expect("namespace");
    let client =
        Client::in_cluster("127.0.0.1", &server.port.to_string(), dir.path()).expect("client");
    assert_eq!(client.server(), server.url());
    assert_eq!(client.context_name(), None);
    assert_eq!(client.list_containers(None).expect("list").len(), 19);

    let err = Client::in_cluster("", "", dir.path()).expect_err("not in a pod");
    assert!(err.to_string().contains("KUBERNETES_SERVICE_HOST"), "{err}");
    let empty = tempfile::tempdir().expect("temp dir");
    let err = Client::in_cluster("127.0.0.1", "443", empty.path()).expect_err("no token");
    assert!(err.to_string().contains("cannot read token file"), "{err}");
    let ipv6 = Client::in_cluster("fd00::1", "443", dir.path()).expect("client");
    assert_eq!(ipv6.server(), "https://[fd00::1]:443");
}

fn load_err(yaml: &str) -> (PathBuf, String) {
    let dir = tempfile::tempdir().expect("temp dir").keep();
    let path = dir.join("config");
    std::fs::write(&path, yaml).expect("write");
    let message = match KubeConfig::load(&path) {
        Err(e) => e.to_string(),
        Ok(config) => Client::from_kubeconfig(&config, None)
            .expect_err("an error")
            .to_string(),
    };
    (path, message)
}

#[test]
fn malformed_kubeconfigs_are_clear_errors() {
    let good_cluster = "clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443\n";
    let cases: Vec<(String, String)> = vec![
        ("clusters: [unclosed\n".into(), "not a valid kubeconfig".into()),
        ("clusters: 5\n".into(), "not a valid kubeconfig".into()),
        (String::new(), "no context given and no `current-context` set".into()),
        (format!("{good_cluster}current-context: nope\n"), "context `nope` not found".into()),
        (
            "contexts:\n- name: x\n  context:\n    cluster: gone\ncurrent-context: x\n".into(),
            "context `x` names cluster `gone`, which is not defined".into(),
        ),
        (
            format!("{good_cluster}contexts:\n- name: x\n  context:\n    cluster: c\n    user: ghost\ncurrent-context: x\n"),
            "context `x` names user `ghost`, which is not defined".into(),
        ),
        (
            "clusters:\n- name: c\n  cluster:\n    certificate-authority: ca.pem\ncontexts:\n- name: x\n  context: {cluster: c}\ncurrent-context: x\n".into(),
            "context `x`: cluster `c` has no `server`".into(),
        ),
        (
            "clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443\n    certificate-authority: missing-ca.pem\ncontexts:\n- name: x\n  context: {cluster: c}\ncurrent-context: x\n".into(),
            "cannot read certificate-authority `".into(),
        ),
        (
            "clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443\n    certificate-authority-data: '%%%'\ncontexts:\n- name: x\n  context: {cluster: c}\ncurrent-context: x\n".into(),
            "`certificate-authority-data` is not valid base64".into(),
        ),
        (
            format!("clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443\n    certificate-authority-data: {}\ncontexts:\n- name: x\n  context: {{cluster: c}}\ncurrent-context: x\n", b64(b"hello")),
            "certificate-authority holds no PEM certificate".into(),
        ),
        (
            format!("{good_cluster}users:\n- name: u\n  user:\n    client-certificate-data: {}\ncontexts:\n- name: x\n  context: {{cluster: c, user: u}}\ncurrent-context: x\n", b64(b"x")),
            "user `u` has a client certificate but no client key".into(),
        ),
        (
            format!("{good_cluster}users:\n- name: u\n  user:\n    auth-provider:\n      name: gcp\ncontexts:\n- name: x\n  context: {{cluster: c, user: u}}\ncurrent-context: x\n"),
            "`auth-provider` plugins are not supported".into(),
        ),
        (
            format!("{good_cluster}users:\n- name: u\n  user:\n    tokenFile: /nonexistent/token\ncontexts:\n- name: x\n  context: {{cluster: c, user: u}}\ncurrent-context: x\n"),
            "cannot read token file `/nonexistent/token`".into(),
        ),
        (
            "clusters:\n- name: c\n  cluster:\n    server: 127.0.0.1:6443\ncontexts:\n- name: x\n  context: {cluster: c}\ncurrent-context: x\n".into(),
            "server `127.0.0.1:6443` is not an http(s) URL".into(),
        ),
        (
            "clusters:\n- name: c\n  cluster:\n    server: https://10.0.0.1\n    tls-server-name: api.internal\ncontexts:\n- name: x\n  context: {cluster: c}\ncurrent-context: x\n".into(),
            "cluster `c`: `tls-server-name` is not supported".into(),
        ),
        (
            "clusters:\n- name: c\n  cluster:\n    server: https://10.0.0.1\n    proxy-url: socks5://127.0.0.1:1080\ncontexts:\n- name: x\n  context: {cluster: c}\ncurrent-context: x\n".into(),
            "cluster `c`: `proxy-url` is not supported".into(),
        ),
    ];
    for (yaml, expected) in cases {
        let (path, message) = load_err(&yaml);
        assert!(
            message.starts_with(&format!("kubeconfig `{}`", path.display())),
            "{yaml}\n→ {message}"
        );
        assert!(
            message.contains(&expected),
            "{yaml}\n→ {message}\nexpected: {expected}"
        );
        let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
    }
    let err = KubeConfig::load(Path::new("/nonexistent/kubeconfig")).expect_err("missing");
    assert_eq!(
        err.to_string(),
        "kubeconfig `/nonexistent/kubeconfig`: cannot read it"
    );
}

#[test]
fn malformed_api_json_is_an_error_not_a_panic() {
    let bodies = [
        ("/api/v1/pods", "{\"kind\":\"PodList\",\"items\":[{"),
        ("/api/v1/pods", "{\"kind\":\"PodList\",\"items\":5}"),
        (
            "/api/v1/pods",
            "{\"kind\":\"PodList\",\"items\":[{\"metadata\":{\"namespace\":\"x\"}}]}",
        ),
        ("/api/v1/pods", "<html>proxy error</html>"),
        (
            "/api/v1/pods",
            "{\"kind\":\"PodList\",\"items\":[{\"metadata\":{\"name\":\"p\",\"namespace\":\"x\"},\"spec\":{\"containers\":[{\"image\":7}]}}]}",
        ),
    ];
    for (path, body) in bodies {
        let server = FakeApiServer::start_with(
            &realistic_cluster(),
            FakeOptions {
                broken_paths: vec![(path.to_owned(), body.to_owned())],
                ..FakeOptions::default()
            },
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let err = client_for(&server, dir.path(), &token_user())
            .list_containers(None)
            .expect_err("malformed");
        assert!(matches!(err, KubeError::Json { .. }), "{body}: {err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "cluster `{}`: GET `{path}` returned malformed JSON",
                server.url()
            )
        );
    }
    // A malformed owner object.
    let objects = realistic_cluster();
    let rs = objects
        .objects()
        .iter()
        .find(|o| o["kind"] == "ReplicaSet")
        .expect("a ReplicaSet");
    let rs_path = format!(
        "/apis/apps/v1/namespaces/{}/replicasets/{}",
        rs["metadata"]["namespace"].as_str().expect("ns"),
        rs["metadata"]["name"].as_str().expect("name")
    );
    let server = FakeApiServer::start_with(
        &objects,
        FakeOptions {
            broken_paths: vec![(
                rs_path.clone(),
                "{\"metadata\":{\"ownerReferences\":{}}}".into(),
            )],
            ..FakeOptions::default()
        },
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let err = client_for(&server, dir.path(), &token_user())
        .list_containers(None)
        .expect_err("malformed owner");
    assert!(err.to_string().contains(&rs_path), "{err}");
}

#[test]
fn owners_that_are_gone_or_unknown_kinds_are_the_workload() {
    let mut objects = KubeObjects::new();
    let image = FakeContainer::running("app", "app:1", &format!("app@{}", fake_digest("app:1")));
    objects
        .pod(
            "default",
            "orphan-7c9d8f6b5-abcde",
            Some("node-1"),
            &serde_json::json!({}),
            Some(serde_json::json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "orphan-7c9d8f6b5", "uid": "1", "controller": true})),
            std::slice::from_ref(&image),
        )
        .pod(
            "default",
            "widget-0",
            Some("node-1"),
            &serde_json::json!({}),
            Some(serde_json::json!({"apiVersion": "example.com/v1", "kind": "Widget", "name": "widget", "uid": "2", "controller": true})),
            std::slice::from_ref(&image),
        );
    let server = FakeApiServer::start(&objects);
    let dir = tempfile::tempdir().expect("temp dir");
    let containers = client_for(&server, dir.path(), &token_user())
        .list_containers(None)
        .expect("list");
    let by_pod = |pod: &str| {
        containers
            .iter()
            .find(|c| c.pod == pod)
            .and_then(|c| c.workload.clone())
    };
    assert_eq!(
        by_pod("orphan-7c9d8f6b5-abcde"),
        workload("ReplicaSet", "orphan-7c9d8f6b5")
    );
    assert_eq!(by_pod("widget-0"), workload("Widget", "widget"));
    // The missing ReplicaSet was asked for (404); the unknown kind was not.
    let gets: Vec<(String, u16)> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/apis/"))
        .map(|r| (r.path, r.status))
        .collect();
    assert_eq!(
        gets,
        vec![(
            "/apis/apps/v1/namespaces/default/replicasets/orphan-7c9d8f6b5".to_owned(),
            404
        )]
    );
}

// ---------------------------------------------------------------------------
// The realism proof: the real kubectl against the same server.

/// `kubectl --kubeconfig K ARGS…` with a throwaway HOME and cache; its JSON output.
fn run_kubectl(kubectl: &Path, kubeconfig: &Path, args: &[&str]) -> Value {
    let home = tempfile::tempdir().expect("temp dir");
    let out = Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(home.path().join("cache"))
        .arg("--request-timeout=30s")
        .args(args)
        .env("HOME", home.path())
        .env_remove("KUBECONFIG")
        .output()
        .expect("run kubectl");
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).expect("kubectl printed JSON")
}

type Row = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    ContainerKind,
    String,
    Option<String>,
);

fn our_rows(containers: &[RunningContainer]) -> BTreeSet<Row> {
    containers
        .iter()
        .map(|c| {
            (
                c.namespace.clone(),
                c.pod.clone(),
                c.pod_uid.clone(),
                c.node.clone(),
                c.phase.clone(),
                c.container.clone(),
                c.kind,
                c.image.clone(),
                c.image_id.clone(),
            )
        })
        .collect()
}

fn kubectl_rows(list: &Value) -> BTreeSet<Row> {
    let mut rows = BTreeSet::new();
    assert_eq!(list["kind"], "List", "kubectl joins pages into a List");
    for pod in list["items"].as_array().expect("items") {
        let meta = &pod["metadata"];
        for (kind, spec_key, status_key) in [
            (ContainerKind::Container, "containers", "containerStatuses"),
            (
                ContainerKind::Init,
                "initContainers",
                "initContainerStatuses",
            ),
            (
                ContainerKind::Ephemeral,
                "ephemeralContainers",
                "ephemeralContainerStatuses",
            ),
        ] {
            for container in pod["spec"][spec_key].as_array().into_iter().flatten() {
                let name = container["name"].as_str().expect("name");
                let image_id = pod["status"][status_key]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|s| s["name"] == name)
                    .and_then(|s| s["imageID"].as_str())
                    .filter(|id| !id.is_empty())
                    .map(str::to_owned);
                rows.insert((
                    meta["namespace"].as_str().expect("namespace").to_owned(),
                    meta["name"].as_str().expect("name").to_owned(),
                    meta["uid"].as_str().expect("uid").to_owned(),
                    pod["spec"]["nodeName"].as_str().map(str::to_owned),
                    pod["status"]["phase"].as_str().map(str::to_owned),
                    name.to_owned(),
                    kind,
                    container["image"].as_str().expect("image").to_owned(),
                    image_id,
                ));
            }
        }
    }
    rows
}

/// kubectl lists the same pods, containers, images and image IDs as drydock
/// (in pages of 4, so kubectl follows `continue` too), and walking the
/// owner references with `kubectl get KIND NAME` reaches the same workloads.
fn assert_kubectl_agrees(
    kubectl: &Path,
    server: &FakeApiServer,
    kubeconfig: &Path,
    follow_owners: bool,
) {
    let config = KubeConfig::load(kubeconfig).expect("load");
    let ours = Client::from_kubeconfig(&config, None)
        .expect("client")
        .list_containers(None)
        .expect("list");
    server.clear_requests();
    let list = run_kubectl(
        kubectl,
        kubeconfig,
        &["get", "pods", "-A", "-o", "json", "--chunk-size=4"],
    );
    let theirs = kubectl_rows(&list);
    assert_eq!(theirs.len(), 19);
    assert_eq!(our_rows(&ours), theirs);
    let kubectl_pages: Vec<_> = pod_list_requests(server);
    assert_eq!(
        kubectl_pages.len(),
        4,
        "kubectl paginated: {kubectl_pages:#?}"
    );
    assert!(
        kubectl_pages[1..]
            .iter()
            .all(|r| r.query_value("continue").is_some())
    );
    if !follow_owners {
        return;
    }
    for pod in list["items"].as_array().expect("items") {
        let namespace = pod["metadata"]["namespace"].as_str().expect("namespace");
        let name = pod["metadata"]["name"].as_str().expect("name");
        let mut owner = pod["metadata"]["ownerReferences"]
            .as_array()
            .and_then(|refs| refs.iter().find(|r| r["controller"] == true))
            .cloned();
        let mut top = None;
        while let Some(reference) = owner {
            let kind = reference["kind"].as_str().expect("kind").to_owned();
            let owner_name = reference["name"].as_str().expect("name").to_owned();
            let object = run_kubectl(
                kubectl,
                kubeconfig,
                &[
                    "get",
                    &kind.to_lowercase(),
                    &owner_name,
                    "-n",
                    namespace,
                    "-o",
                    "json",
                ],
            );
            assert_eq!(object["metadata"]["name"], owner_name.as_str());
            owner = object["metadata"]["ownerReferences"]
                .as_array()
                .and_then(|refs| refs.iter().find(|r| r["controller"] == true))
                .cloned();
            top = Some(Workload {
                kind,
                name: owner_name,
            });
        }
        for ours in ours
            .iter()
            .filter(|c| c.namespace == namespace && c.pod == name)
        {
            assert_eq!(ours.workload, top, "{namespace}/{name}");
        }
    }
}

#[test]
fn kubectl_agrees_with_token_auth() {
    let Some(kubectl) = drydock_test::kubectl() else {
        return;
    };
    let server = FakeApiServer::start(&realistic_cluster());
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config");
    std::fs::write(&path, server.kubeconfig(&token_user())).expect("write");
    assert_kubectl_agrees(&kubectl, &server, &path, true);
}

#[test]
fn kubectl_agrees_with_client_certificate_auth() {
    let Some(kubectl) = drydock_test::kubectl() else {
        return;
    };
    let server = FakeApiServer::start(&realistic_cluster());
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key) = server.pki.client_rsa();
    let path = dir.path().join("config");
    std::fs::write(
        &path,
        server.kubeconfig(&format!(
            "client-certificate: {}\nclient-key: {}",
            cert.display(),
            key.display()
        )),
    )
    .expect("write");
    assert_kubectl_agrees(&kubectl, &server, &path, false);
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.auth == RequestAuth::ClientCert("drydock-rsa".into()))
    );
}

#[test]
fn kubectl_agrees_with_an_exec_plugin() {
    let Some(kubectl) = drydock_test::kubectl() else {
        return;
    };
    let server = FakeApiServer::start(&realistic_cluster());
    let dir = tempfile::tempdir().expect("temp dir");
    // v1beta1: the oldest kubectl we test (Debian 12's 1.20) knows no v1.
    let plugin = write_plugin(
        dir.path(),
        "get-token",
        "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"%s\"}}' \"$EXTRA\"",
    );
    let path = dir.path().join("config");
    std::fs::write(
        &path,
        server.kubeconfig(&format!(
            "exec:\n  apiVersion: client.authentication.k8s.io/v1beta1\n  command: {}\n  env:\n  - name: EXTRA\n    value: {KUBE_TOKEN}",
            plugin.display()
        )),
    )
    .expect("write");
    assert_kubectl_agrees(&kubectl, &server, &path, false);
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.auth == RequestAuth::Token("drydock-reader".into()))
    );
}

#[test]
fn a_large_cluster_is_listed_in_default_pages_with_each_owner_fetched_once() {
    let mut objects = KubeObjects::new();
    for team in 0..100 {
        let image = format!("registry.example.com/team-{team}/app:1");
        let id = format!(
            "registry.example.com/team-{team}/app@{}",
            fake_digest(&image)
        );
        objects.deployment(
            &format!("team-{}", team % 10),
            &format!("app-{team}"),
            10,
            &[FakeContainer::running("app", &image, &id)],
        );
    }
    let server = FakeApiServer::start(&objects);
    let dir = tempfile::tempdir().expect("temp dir");
    let started = std::time::Instant::now();
    let containers = client_for(&server, dir.path(), &token_user())
        .list_containers(None)
        .expect("list");
    eprintln!(
        "1,000 pods listed and owners resolved in {:?}",
        started.elapsed()
    );
    assert_eq!(containers.len(), 1000);
    for c in &containers {
        let team = c
            .image
            .split('/')
            .nth(1)
            .expect("team")
            .trim_start_matches("team-");
        assert_eq!(c.workload, workload("Deployment", &format!("app-{team}")));
        assert_eq!(c.digest.as_deref(), Some(fake_digest(&c.image).as_str()));
    }
    let requests = server.requests();
    let pages: Vec<_> = requests
        .iter()
        .filter(|r| r.path == "/api/v1/pods")
        .collect();
    assert_eq!(pages.len(), 2, "1,000 pods in pages of 500");
    assert!(pages.iter().all(|r| r.query_value("limit") == Some("500")));
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.path.contains("/replicasets/"))
            .count(),
        100
    );
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.path.contains("/deployments/"))
            .count(),
        100
    );
}

#[test]
fn basic_auth_is_sent_and_its_rejection_reported() {
    let server = FakeApiServer::start(&realistic_cluster());
    let dir = tempfile::tempdir().expect("temp dir");
    let err = client_for(&server, dir.path(), "username: admin\npassword: s3cret:x")
        .list_containers(None)
        .expect_err("modern servers reject basic auth");
    assert!(matches!(err, KubeError::Unauthorized { .. }), "{err:?}");
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].auth,
        RequestAuth::Rejected("basic auth `admin:s3cret:x`".into())
    );
}

#[test]
fn fuzz_seeds_parse_into_records() {
    let seeds = drydock_test::workspace_root().join("fuzz/seeds/kube");
    let page = std::fs::read(seeds.join("pod-list.json")).expect("seed");
    let containers = drydock_kube::fuzzing::pod_list(&page).expect("a PodList");
    let kinds: Vec<(&str, ContainerKind, Option<&str>)> = containers
        .iter()
        .map(|c| (c.container.as_str(), c.kind, c.digest.as_deref()))
        .collect();
    let digest = format!("sha256:{}", drydock_test::sha256_hex(b"nginx"));
    assert_eq!(
        kinds,
        vec![
            ("migrate", ContainerKind::Init, Some(digest.as_str())),
            ("nginx", ContainerKind::Container, Some(digest.as_str())),
            ("debugger", ContainerKind::Ephemeral, Some(digest.as_str())),
            ("app", ContainerKind::Container, None),
        ]
    );
    let owner = std::fs::read(seeds.join("replicaset.json")).expect("seed");
    assert_eq!(
        drydock_kube::fuzzing::owner_object(&owner).as_deref(),
        Some("web")
    );
    let text = std::fs::read_to_string(seeds.join("kubeconfig.yaml")).expect("seed");
    let config = KubeConfig::parse(&seeds.join("kubeconfig.yaml"), &text).expect("kubeconfig");
    assert_eq!(config.contexts(), vec!["prod".to_owned()]);
    assert_eq!(config.current_context(), Some("prod"));
}

#[test]
fn throttling_and_server_errors_are_retried_then_reported() {
    let server = FakeApiServer::start_with(
        &realistic_cluster(),
        FakeOptions {
            fail_first_pod_lists: vec![429, 503],
            ..FakeOptions::default()
        },
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let containers = client_for(&server, dir.path(), &token_user())
        .list_containers(None)
        .expect("list after retries");
    assert_eq!(containers.len(), 19);
    let statuses: Vec<u16> = pod_list_requests(&server)
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![429, 503, 200]);

    // Four failures in a row: the last answer is the error.
    let server = FakeApiServer::start_with(
        &realistic_cluster(),
        FakeOptions {
            fail_first_pod_lists: vec![503, 503, 503, 500],
            ..FakeOptions::default()
        },
    );
    let err = client_for(&server, dir.path(), &token_user())
        .list_containers(None)
        .expect_err("gave up");
    assert_eq!(
        err.to_string(),
        format!(
            "cluster `{}`: GET `/api/v1/pods`: 500 Internal error occurred: etcdserver: request timed out (InternalError)",
            server.url()
        )
    );
    assert_eq!(pod_list_requests(&server).len(), 4);
}

#[test]
fn impersonation_headers_follow_as_and_as_groups() {
    let server = FakeApiServer::start(&realistic_cluster());
    let dir = tempfile::tempdir().expect("temp dir");
    // Acting as the limited user: its RBAC applies.
    let limited = client_for(
        &server,
        dir.path(),
        &format!("token: {KUBE_TOKEN}\nas: drydock-limited"),
    );
    let err = limited.list_containers(None).expect_err("403");
    assert!(
        err.to_string()
            .contains("User \"drydock-limited\" cannot list resource \"pods\""),
        "{err}"
    );
    assert_eq!(
        limited
            .list_containers(Some("default"))
            .expect("default")
            .len(),
        4
    );
    // Acting as an unknown user in system:masters: everything.
    server.clear_requests();
    let user = format!(
        "token: {KUBE_TOKEN}\nas: jane\nas-uid: \"1042\"\nas-groups: [system:masters, ops]\nas-user-extra:\n  reason: [inventory]"
    );
    let containers = client_for(&server, dir.path(), &user)
        .list_containers(None)
        .expect("list");
    assert_eq!(containers.len(), 19);
    assert!(
        server.requests().iter().all(|r| r.impersonated
            == Some(("jane".into(), vec!["system:masters".into(), "ops".into()])))
    );
    // The same user without the group has no rights.
    let user = format!("token: {KUBE_TOKEN}\nas: jane");
    let err = client_for(&server, dir.path(), &user)
        .list_containers(None)
        .expect_err("403");
    assert!(err.to_string().contains("User \"jane\""), "{err}");
    // Groups without a user are refused before any request.
    let config = load(dir.path(), &server.kubeconfig("token: x\nas-groups: [ops]"));
    let err = Client::from_kubeconfig(&config, None).expect_err("invalid");
    assert!(err.to_string().contains("without `as`"), "{err}");
}

#[test]
fn a_rejected_exec_credential_is_renewed_once() {
    let server = FakeApiServer::start(&realistic_cluster());
    let dir = tempfile::tempdir().expect("temp dir");
    // The first run hands out an expired token, later runs the valid one.
    write_plugin(
        dir.path(),
        "rotating",
        "cd \"$(dirname \"$0\")\"; echo run >> runs\nif [ \"$(wc -l < runs)\" -eq 1 ]; then t=expired; else t=\"$EXTRA\"; fi\nprintf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"%s\"}}' \"$t\"",
    );
    let user = format!(
        "exec:\n  apiVersion: client.authentication.k8s.io/v1\n  command: ./rotating\n  interactiveMode: Never\n  env: [{{name: EXTRA, value: {KUBE_TOKEN}}}]"
    );
    let client = client_for(&server, dir.path(), &user);
    assert_eq!(client.list_containers(None).expect("list").len(), 19);
    let runs = std::fs::read_to_string(dir.path().join("runs")).expect("runs");
    assert_eq!(runs.lines().count(), 2);
    let statuses: Vec<u16> = pod_list_requests(&server)
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, vec![401, 200]);

    // A plugin whose every token is rejected: one renewal, then the 401.
    write_plugin(
        dir.path(),
        "always-bad",
        "printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"bad\"}}'",
    );
    server.clear_requests();
    let user = "exec:\n  apiVersion: client.authentication.k8s.io/v1\n  command: ./always-bad\n  interactiveMode: Never";
    let err = client_for(&server, dir.path(), user)
        .list_containers(None)
        .expect_err("401");
    assert!(matches!(err, KubeError::Unauthorized { .. }), "{err:?}");
    assert_eq!(pod_list_requests(&server).len(), 2);
}

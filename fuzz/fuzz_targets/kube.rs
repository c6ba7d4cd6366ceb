//! Kubernetes input drydock-kube reads: the same bytes as a `PodList` page
//! (records built, owners taken as workloads), as an owner object, and as a
//! kubeconfig (parsed and its contexts listed; nothing is resolved, so no
//! file is read and no exec plugin runs). None of it may panic.
#![no_main]
use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(containers) = drydock_kube::fuzzing::pod_list(data) {
        for container in containers {
            let _ = serde_json::to_string(&container);
        }
    }
    let _ = drydock_kube::fuzzing::owner_object(data);
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(config) = drydock_kube::KubeConfig::parse(Path::new("fuzz/kubeconfig"), text)
    {
        let _ = (config.contexts(), config.current_context());
    }
});

//! Docker `config.json` (`auths` with base64 `auth`, `credHelpers`,
//! `credsStore`), read for two registries without running any helper:
//! never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for registry in ["docker.io", "registry.example:5000"] {
        let _ = drydock_registry::fuzzing::docker_config(data, registry);
    }
});

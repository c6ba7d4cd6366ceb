//! `WWW-Authenticate` headers a registry (or anything posing as one) sends:
//! the challenge parser never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = drydock_registry::fuzzing::www_authenticate(text);
});

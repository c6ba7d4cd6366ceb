//! Image references (`registry:5000/ns/name:tag@sha256:…`):
//! `drydock_registry::Reference::parse` never panics, and an accepted
//! reference prints to text that parses back to the same reference.
#![no_main]
use drydock_registry::Reference;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(reference) = Reference::parse(text) else {
        return;
    };
    let printed = reference.to_string();
    let again = Reference::parse(&printed)
        .unwrap_or_else(|error| panic!("`{text}` prints as `{printed}`, which fails: {error}"));
    assert_eq!(again.to_string(), printed, "`{text}`");
    let _ = reference.api_host();
    let _ = reference.object();
});

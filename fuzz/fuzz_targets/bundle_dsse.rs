//! Sigstore bundles (v0.3, DSSE envelope) and the in-toto statement inside:
//! parsing, the payload's base64, the statement, and verification against a
//! fixed key never panic; an accepted bundle serialises and parses again.
#![no_main]
use std::sync::OnceLock;

use drydock_sign::formats::{Bundle, parse_simple_signing};
use drydock_sign::{PrivateKey, PublicKey};
use libfuzzer_sys::fuzz_target;

fn key() -> &'static PublicKey {
    static KEY: OnceLock<PublicKey> = OnceLock::new();
    KEY.get_or_init(|| PrivateKey::generate().public_key())
}

fuzz_target!(|data: &[u8]| {
    let _ = parse_simple_signing(data);
    let Ok(bundle) = Bundle::parse(data) else {
        return;
    };
    let json = bundle.to_json();
    assert!(Bundle::parse(&json).is_ok(), "a parsed bundle serialises to a parsable one");
    if let Some(envelope) = &bundle.dsse_envelope {
        let _ = envelope.payload_bytes();
        let _ = envelope.statement();
        assert!(envelope.verify(key()).is_err(), "no fuzz input is signed by a fresh key");
    }
});

//! Release files, cleartext-signed InRelease messages and OpenPGP keyrings
//! over arbitrary bytes: nothing may panic; unsigned input never verifies.
#![no_main]
use drydock_build::release::{Keyring, Release};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(release) = Release::parse(&text) {
        for (hash, _) in release.sha256.values() {
            assert_eq!(hash.len(), 64);
        }
    }
    if let Ok(keyring) = Keyring::parse(data) {
        let _ = keyring.verify_cleartext(&text);
        assert!(
            keyring
                .verify_cleartext("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nx\n")
                .is_err()
        );
    }
});

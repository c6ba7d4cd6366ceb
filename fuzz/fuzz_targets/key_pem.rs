//! Keys in cosign's formats: a PKIX public key PEM and an encrypted private
//! key PEM (scrypt + nacl/secretbox, the password `fuzz`). Never panics; an
//! accepted public key prints to PEM that reads back to the same key.
#![no_main]
use drydock_sign::{PrivateKey, PublicKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(key) = PublicKey::from_pem(text) {
        let pem = key.to_pem().expect("an accepted key prints as PEM");
        let again = PublicKey::from_pem(&pem).expect("printed PEM reads back");
        assert_eq!(again.to_der().ok(), key.to_der().ok());
    }
    if let Ok(key) = PrivateKey::from_encrypted_pem(text, b"fuzz") {
        let signature = key.sign(b"message");
        assert!(key.public_key().verify(b"message", &signature));
    }
});

//! ECDSA P-256 key pairs in cosign's formats: the private key as PKCS#8 DER
//! encrypted with scrypt + NaCl secretbox, wrapped in JSON and PEM
//! (`ENCRYPTED SIGSTORE PRIVATE KEY`); the public key as PKIX PEM.
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use crypto_secretbox::XSalsa20Poly1305;
use crypto_secretbox::aead::{Aead, KeyInit};
use p256::ecdsa::{
    Signature, SigningKey, VerifyingKey, signature::Signer as _, signature::Verifier as _,
};
use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use crate::error::SignError;

/// The PEM label cosign writes (older releases wrote `ENCRYPTED COSIGN PRIVATE KEY`).
pub const PRIVATE_KEY_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
const LEGACY_PRIVATE_KEY_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";

/// scrypt work factor as cosign writes it: N = 2^15, r = 8, p = 1.
const SCRYPT_LOG_N: u8 = 15;
const SCRYPT_R: u32 = 8;
const SCRYPT_P: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Envelope {
    kdf: Kdf,
    cipher: Cipher,
    #[serde(with = "b64")]
    ciphertext: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    name: String,
    params: KdfParams,
    #[serde(with = "b64")]
    salt: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct KdfParams {
    #[serde(rename = "N")]
    n: u64,
    r: u32,
    p: u32,
}

#[derive(Serialize, Deserialize)]
struct Cipher {
    name: String,
    #[serde(with = "b64")]
    nonce: Vec<u8>,
}

mod b64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// A private key, decrypted.
pub struct PrivateKey {
    key: SigningKey,
}

/// A public key.
#[derive(Clone, Debug)]
pub struct PublicKey {
    key: VerifyingKey,
}

/// PEM: `-----BEGIN label-----`, base64 in 64-column lines, `-----END label-----`.
fn pem_encode(label: &str, der: &[u8]) -> String {
    let encoded = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in encoded.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// The label and body of the first PEM block in `text`.
fn pem_decode(text: &str) -> Option<(String, Vec<u8>)> {
    let begin = text.find("-----BEGIN ")?;
    let rest = text.get(begin + 11..)?;
    let label_end = rest.find("-----")?;
    let label = rest.get(..label_end)?.to_owned();
    let body_start = label_end + 5;
    let end_marker = format!("-----END {label}-----");
    let body_end = rest.find(&end_marker)?;
    let body: String = rest
        .get(body_start..body_end)?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    Some((label, STANDARD.decode(body).ok()?))
}

impl PrivateKey {
    pub fn generate() -> PrivateKey {
        PrivateKey {
            key: SigningKey::random(&mut OsRng),
        }
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            key: *self.key.verifying_key(),
        }
    }

    /// ECDSA P-256 over SHA-256 of `message`, ASN.1 DER.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let signature: Signature = self.key.sign(message);
        signature.to_der().as_bytes().to_vec()
    }

    /// The encrypted PEM `cosign generate-key-pair` writes.
    pub fn to_encrypted_pem(&self, password: &[u8]) -> Result<String, SignError> {
        let der = self
            .key
            .to_pkcs8_der()
            .map_err(|e| SignError::Key(e.to_string()))?;
        let mut salt = [0u8; 32];
        OsRng.fill_bytes(&mut salt);
        let mut nonce = [0u8; 24];
        OsRng.fill_bytes(&mut nonce);
        let params = KdfParams {
            n: 1 << SCRYPT_LOG_N,
            r: SCRYPT_R,
            p: SCRYPT_P,
        };
        let secret = derive(password, &salt, &params)?;
        let cipher = XSalsa20Poly1305::new(&secret.into());
        let ciphertext = cipher
            .encrypt(&nonce.into(), der.as_bytes())
            .map_err(|_| SignError::Key("encryption failed".into()))?;
        let envelope = Envelope {
            kdf: Kdf {
                name: "scrypt".into(),
                params,
                salt: salt.to_vec(),
            },
            cipher: Cipher {
                name: "nacl/secretbox".into(),
                nonce: nonce.to_vec(),
            },
            ciphertext,
        };
        let json = serde_json::to_vec(&envelope).map_err(|e| SignError::Key(e.to_string()))?;
        Ok(pem_encode(PRIVATE_KEY_LABEL, &json))
    }

    /// Read cosign's encrypted PEM.
    pub fn from_encrypted_pem(text: &str, password: &[u8]) -> Result<PrivateKey, SignError> {
        let Some((label, body)) = pem_decode(text) else {
            return Err(SignError::Key("not a PEM file".into()));
        };
        if label != PRIVATE_KEY_LABEL && label != LEGACY_PRIVATE_KEY_LABEL {
            return Err(SignError::Key(format!(
                "a `{label}` PEM block, expected `{PRIVATE_KEY_LABEL}`"
            )));
        }
        let envelope: Envelope = serde_json::from_slice(&body)
            .map_err(|e| SignError::Key(format!("unreadable key envelope ({e})")))?;
        if envelope.kdf.name != "scrypt" || envelope.cipher.name != "nacl/secretbox" {
            return Err(SignError::Key(format!(
                "unsupported encryption `{}` + `{}`",
                envelope.kdf.name, envelope.cipher.name
            )));
        }
        let nonce: [u8; 24] = envelope
            .cipher
            .nonce
            .as_slice()
            .try_into()
            .map_err(|_| SignError::Key("the nonce is not 24 bytes".into()))?;
        let secret = derive(password, &envelope.kdf.salt, &envelope.kdf.params)?;
        let cipher = XSalsa20Poly1305::new(&secret.into());
        let der = cipher
            .decrypt(&nonce.into(), envelope.ciphertext.as_slice())
            .map_err(|_| SignError::WrongPassword)?;
        let key = SigningKey::from_pkcs8_der(&der)
            .map_err(|e| SignError::Key(format!("not an ECDSA P-256 PKCS#8 key ({e})")))?;
        Ok(PrivateKey { key })
    }
}

fn derive(password: &[u8], salt: &[u8], params: &KdfParams) -> Result<[u8; 32], SignError> {
    // Bounded work: N up to 2^20, r up to 32, p up to 16, and scrypt's
    // memory (128·N·r bytes) at most 256 MiB — 8 times cosign's default
    // (N=32768, r=8) — so a hostile key file cannot ask for gigabytes.
    if !params.n.is_power_of_two()
        || params.n < 2
        || params.n > 1 << 20
        || params.r == 0
        || params.r > 32
        || params.p == 0
        || params.p > 16
        || params.n.saturating_mul(u64::from(params.r)) > 1 << 21
    {
        return Err(SignError::Key(format!(
            "scrypt parameters N={} r={} p={} are out of range",
            params.n, params.r, params.p
        )));
    }
    let log_n = params.n.trailing_zeros() as u8;
    let scrypt_params = scrypt::Params::new(log_n, params.r, params.p, 32)
        .map_err(|e| SignError::Key(format!("scrypt parameters ({e})")))?;
    let mut out = [0u8; 32];
    scrypt::scrypt(password, salt, &scrypt_params, &mut out)
        .map_err(|e| SignError::Key(format!("scrypt ({e})")))?;
    Ok(out)
}

impl PublicKey {
    pub fn from_pem(text: &str) -> Result<PublicKey, SignError> {
        let key = VerifyingKey::from_public_key_pem(text.trim())
            .map_err(|e| SignError::Key(format!("not an ECDSA P-256 public key PEM ({e})")))?;
        Ok(PublicKey { key })
    }

    pub fn to_pem(&self) -> Result<String, SignError> {
        self.key
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| SignError::Key(e.to_string()))
    }

    /// SubjectPublicKeyInfo DER.
    pub fn to_der(&self) -> Result<Vec<u8>, SignError> {
        self.key
            .to_public_key_der()
            .map(|d| d.as_bytes().to_vec())
            .map_err(|e| SignError::Key(e.to_string()))
    }

    /// The key hint of a Sigstore bundle: base64 of SHA-256 over the DER key.
    pub fn hint(&self) -> Result<String, SignError> {
        Ok(STANDARD.encode(sha2::Sha256::digest(self.to_der()?)))
    }

    /// Check a DER (or raw r‖s) ECDSA signature over `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let parsed = Signature::from_der(signature).or_else(|_| Signature::from_slice(signature));
        parsed.is_ok_and(|signature| self.key.verify(message, &signature).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// N=2^20 with r=32 would make scrypt allocate 4 GiB.
    #[test]
    fn scrypt_memory_is_bounded() {
        let error = derive(
            b"pw",
            b"salt",
            &KdfParams {
                n: 1 << 20,
                r: 32,
                p: 1,
            },
        )
        .unwrap_err();
        assert!(error.to_string().contains("out of range"), "{error}");
    }

    #[test]
    fn encrypted_pem_round_trip() {
        let key = PrivateKey::generate();
        let pem = key.to_encrypted_pem(b"hunter2").unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
        let back = PrivateKey::from_encrypted_pem(&pem, b"hunter2").unwrap();
        let signature = back.sign(b"payload");
        assert!(key.public_key().verify(b"payload", &signature));
        assert!(!key.public_key().verify(b"other", &signature));
        assert!(matches!(
            PrivateKey::from_encrypted_pem(&pem, b"wrong"),
            Err(SignError::WrongPassword)
        ));
        let public = PublicKey::from_pem(&key.public_key().to_pem().unwrap()).unwrap();
        assert!(public.verify(b"payload", &signature));
    }
}

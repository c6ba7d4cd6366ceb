//! The documents cosign signs and stores: the simple-signing payload, in-toto
//! Statement v1, DSSE envelopes (signed over PAE) and Sigstore bundle v0.3.
use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::error::SignError;
use crate::keys::{PrivateKey, PublicKey};

/// Layer media type of a legacy signature (`.sig` tag).
pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// Layer annotation carrying the base64 signature.
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
/// Layer media type of a legacy attestation (`.att` tag).
pub const DSSE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
/// Layer annotation naming an attestation's predicate type (legacy form).
pub const PREDICATE_TYPE_ANNOTATION: &str = "predicateType";
/// The Sigstore bundle media type (and referrer artifact type).
pub const BUNDLE_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The predicate type of a cosign v3 image signature.
pub const SIGN_PREDICATE_TYPE: &str = "https://sigstore.dev/cosign/sign/v1";
pub const SIMPLE_SIGNING_TYPE: &str = "cosign container image signature";

#[derive(Debug, Serialize, Deserialize)]
pub struct SimpleSigning {
    pub critical: Critical,
    pub optional: Option<BTreeMap<String, serde_json::Value>>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Critical {
    pub identity: Identity,
    pub image: ImageDigest,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Identity {
    #[serde(rename = "docker-reference")]
    pub docker_reference: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ImageDigest {
    #[serde(rename = "docker-manifest-digest")]
    pub docker_manifest_digest: String,
}

/// The simple-signing payload, field for field as cosign marshals it.
pub fn simple_signing_payload(docker_reference: &str, manifest_digest: &str) -> Vec<u8> {
    let payload = SimpleSigning {
        critical: Critical {
            identity: Identity {
                docker_reference: docker_reference.to_owned(),
            },
            image: ImageDigest {
                docker_manifest_digest: manifest_digest.to_owned(),
            },
            kind: SIMPLE_SIGNING_TYPE.to_owned(),
        },
        optional: None,
    };
    serde_json::to_vec(&payload).unwrap_or_default()
}

pub fn parse_simple_signing(bytes: &[u8]) -> Result<SimpleSigning, SignError> {
    serde_json::from_slice(bytes).map_err(|source| SignError::Json {
        what: "simple-signing payload".into(),
        source,
    })
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Subject {
    pub name: String,
    pub digest: BTreeMap<String, String>,
}

/// An in-toto Statement v1.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Statement {
    #[serde(rename = "_type")]
    pub kind: String,
    pub subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    pub predicate: serde_json::Value,
}

impl Statement {
    /// A statement about one image (`name`, `sha256:<hex>`).
    pub fn new(
        name: &str,
        algorithm: &str,
        hex: &str,
        predicate_type: &str,
        predicate: serde_json::Value,
    ) -> Statement {
        Statement {
            kind: STATEMENT_TYPE.to_owned(),
            subject: vec![Subject {
                name: name.to_owned(),
                digest: BTreeMap::from([(algorithm.to_owned(), hex.to_owned())]),
            }],
            predicate_type: predicate_type.to_owned(),
            predicate,
        }
    }
}

/// DSSE pre-authentication encoding: `DSSEv1 <len> <type> <len> <body>`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Envelope {
    pub payload: String,
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    pub signatures: Vec<EnvelopeSignature>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub keyid: String,
    pub sig: String,
}

impl Envelope {
    /// Sign `payload` of `payload_type` with `key` over the PAE bytes.
    pub fn sign(payload_type: &str, payload: &[u8], key: &PrivateKey) -> Envelope {
        let signature = key.sign(&pae(payload_type, payload));
        Envelope {
            payload: STANDARD.encode(payload),
            payload_type: payload_type.to_owned(),
            signatures: vec![EnvelopeSignature {
                keyid: String::new(),
                sig: STANDARD.encode(signature),
            }],
        }
    }

    pub fn payload_bytes(&self) -> Result<Vec<u8>, SignError> {
        STANDARD
            .decode(&self.payload)
            .map_err(|_| SignError::Format("the DSSE payload is not base64".into()))
    }

    /// Is any signature valid for `key`?
    pub fn verify(&self, key: &PublicKey) -> Result<Vec<u8>, SignError> {
        let payload = self.payload_bytes()?;
        let message = pae(&self.payload_type, &payload);
        let ok = self.signatures.iter().any(|s| {
            STANDARD
                .decode(&s.sig)
                .is_ok_and(|sig| key.verify(&message, &sig))
        });
        if ok {
            Ok(payload)
        } else {
            Err(SignError::Format(
                "no DSSE signature verifies with the given key".into(),
            ))
        }
    }

    /// The statement inside, when the payload is in-toto.
    pub fn statement(&self) -> Result<Statement, SignError> {
        if self.payload_type != IN_TOTO_PAYLOAD_TYPE {
            return Err(SignError::Format(format!(
                "payload type `{}` is not in-toto",
                self.payload_type
            )));
        }
        serde_json::from_slice(&self.payload_bytes()?).map_err(|source| SignError::Json {
            what: "in-toto statement".into(),
            source,
        })
    }
}

/// A Sigstore bundle v0.3 holding a DSSE envelope, verified by a public key.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    pub media_type: String,
    pub verification_material: VerificationMaterial,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dsse_envelope: Option<Envelope>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_signature: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerificationMaterial {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<PublicKeyHint>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tlog_entries: Vec<serde_json::Value>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PublicKeyHint {
    pub hint: String,
}

impl Bundle {
    pub fn new(envelope: Envelope, key: &PublicKey) -> Result<Bundle, SignError> {
        Ok(Bundle {
            media_type: BUNDLE_MEDIA_TYPE.to_owned(),
            verification_material: VerificationMaterial {
                public_key: Some(PublicKeyHint { hint: key.hint()? }),
                tlog_entries: Vec::new(),
            },
            dsse_envelope: Some(envelope),
            message_signature: None,
        })
    }

    pub fn parse(bytes: &[u8]) -> Result<Bundle, SignError> {
        serde_json::from_slice(bytes).map_err(|source| SignError::Json {
            what: "Sigstore bundle".into(),
            source,
        })
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_signing_bytes_follow_cosign_field_order() {
        let bytes = simple_signing_payload("r.example/a", "sha256:00");
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            r#"{"critical":{"identity":{"docker-reference":"r.example/a"},"image":{"docker-manifest-digest":"sha256:00"},"type":"cosign container image signature"},"optional":null}"#
        );
    }

    #[test]
    fn pae_matches_the_dsse_spec_example() {
        // The DSSE specification's test vector.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn envelope_round_trip_and_tamper() {
        let key = PrivateKey::generate();
        let envelope = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, b"{}", &key);
        assert!(envelope.verify(&key.public_key()).is_ok());
        let mut tampered = envelope.clone();
        tampered.payload = STANDARD.encode(b"{ }");
        assert!(tampered.verify(&key.public_key()).is_err());
        assert!(
            envelope
                .verify(&PrivateKey::generate().public_key())
                .is_err()
        );
    }
}

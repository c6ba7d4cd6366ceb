//! Keys, signatures and attestations in the formats cosign and the Sigstore
//! ecosystem use: cosign's encrypted P-256 key PEM, the simple-signing
//! payload, in-toto Statement v1, DSSE envelopes and Sigstore bundle v0.3.
//! Pure formats and crypto: no I/O (drydock-ops stores what this makes).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod error;
pub mod formats;
mod keys;

pub use error::SignError;
pub use keys::{PRIVATE_KEY_LABEL, PrivateKey, PublicKey};

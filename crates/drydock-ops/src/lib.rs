//! The operations drydock performs. Front ends (the CLI, later the server)
//! turn their input into settings and call exactly one function here.
mod env;
mod key;
mod push;
mod registry;
mod sbom;
mod scan;
mod sign;
mod time;

pub use drydock_oci::{NoProgress, Progress};
pub use env::EnvVars;
pub use key::{KeyError, key_generate};
pub use push::{CopyError, CopyReport, CopySettings, copy};
pub use registry::RegistrySettings;
pub use sbom::{SbomError, SbomSettings, sbom};
pub use scan::{ScanError, ScanOutcome, ScanSettings, resolve_db_dir, scan};
pub use sign::{
    AttestSettings, SignSettings, SignatureError, SignatureFormat, Signed, Verified, VerifyReport,
    VerifySettings, attest, predicate_type_uri, sign, verify, verify_attestation,
};
pub use time::created_timestamp;

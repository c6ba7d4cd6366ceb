//! The operations drydock performs. Front ends (the CLI, later the server)
//! turn their input into settings and call exactly one function here.
mod build;
mod db;
mod env;
pub mod fleet;
mod golden;
mod key;
mod patch;
mod policy;
mod push;
mod registry;
mod sbom;
mod scan;
mod sign;
mod stale;
mod time;

pub use build::{
    GoldenError, GoldenReport, GoldenSettings, LockChange, golden_build, golden_cache_dir,
    golden_mirror,
};
pub use db::{
    DEFAULT_SOURCES, DbOpsError, DbUpdateReport, DbUpdateSettings, SOURCES_FILE, db_dir, db_import,
    db_sources, db_status, db_status_json, db_update,
};
pub use drydock_build::Mirrored;
pub use drydock_oci::{NoProgress, Progress};
pub use drydock_vuln::{ImportReport, Status as DbStatus};
pub use env::EnvVars;
pub use golden::{
    GoldenOpsError, GoldenSubmitSettings, GoldenTransitionSettings, golden_catalog, golden_enforce,
    golden_list, golden_log, golden_set_timeline, golden_submit, golden_transition,
};
pub use key::{KeyError, key_generate};
pub use patch::{
    PATCH_CREATED_BY, PATCHED_ANNOTATION, PatchError, PatchReport, PatchSettings, patch,
};
pub use policy::{
    PolicyCheck, PolicyOpsError, PolicySettings, check_with_policy, load_policy, policy_check,
};
pub use push::{CopyError, CopyReport, CopySettings, copy};
pub use registry::RegistrySettings;
pub use sbom::{SbomError, SbomSettings, sbom};
pub use scan::{ScanError, ScanOutcome, ScanSettings, resolve_db_dir, scan};
pub use sign::{
    AttestSettings, SignSettings, SignatureError, SignatureFormat, Signed, Verified, VerifyReport,
    VerifySettings, attest, predicate_type_uri, sign, verify, verify_attestation,
};
pub use stale::{
    StaleInputError, StaleReference, StaleReport, StaleSettings, Verdict, golden_stale,
};
pub use time::created_timestamp;

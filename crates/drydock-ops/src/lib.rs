//! The operations drydock performs. Front ends (the CLI, later the server)
//! turn their input into settings and call exactly one function here.
mod env;
mod sbom;
mod time;

pub use drydock_oci::{NoProgress, Progress};
pub use env::EnvVars;
pub use sbom::{SbomError, SbomSettings, sbom};
pub use time::created_timestamp;

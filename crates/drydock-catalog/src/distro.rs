//! Distro identification. (Stub: being written.)
use drydock_core::Distro;

use crate::Files;

/// The files distro detection reads.
pub(crate) const CLAIMS: &[&str] = &[
    "etc/os-release",
    "usr/lib/os-release",
    "etc/debian_version",
    "etc/alpine-release",
    "etc/redhat-release",
];

/// Identify the distribution from the claimed files.
pub fn detect(_files: &Files<'_>) -> Option<Distro> {
    None
}

pub(crate) mod sbom;
pub(crate) mod vercmp;

pub(crate) mod sbom;

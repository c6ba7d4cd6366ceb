use crate::{Digest, Layer};

/// What an SBOM was made from: the user's source and, for images, the image's identity.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SourceMetadata {
    /// The source as the user named it, e.g. `oci-dir:/tmp/img`.
    pub name: String,
    /// `docker-archive`, `oci-archive`, `oci-dir`, `dir`, `registry`, `sbom`, `file`.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageMetadata>,
}

/// The identity of a container image.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImageMetadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest_digest: Option<Digest>,
    pub config_digest: Option<Digest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub os: String,
    pub architecture: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    pub layers: Vec<LayerMetadata>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LayerMetadata {
    #[serde(flatten)]
    pub layer: Layer,
    pub media_type: String,
    pub size: u64,
}

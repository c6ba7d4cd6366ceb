use std::path::PathBuf;

use drydock_core::{Digest, PathError};

/// Errors opening or walking an image. Variants name the input; causes are
/// kept as `source`.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    #[error("cannot read `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{}` does not exist", .0.display())]
    NotFound(PathBuf),
    #[error(
        "`{0}` is not a known source (expected docker-archive:, oci-archive:, oci-dir:, dir:, file: or registry:)"
    )]
    UnknownScheme(String),
    #[error("`registry:{0}` can only be opened by a front end with a registry client")]
    NeedsRegistryClient(String),
    #[error("`{}` is not an image: {reason}", path.display())]
    NotAnImage { path: PathBuf, reason: String },
    #[error("{what} is not valid JSON")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("blob {0} is missing from the image")]
    MissingBlob(Digest),
    #[error("blob {digest}")]
    Blob {
        digest: Digest,
        #[source]
        source: BlobError,
    },
    #[error("no image for platform {wanted} (available: {available})")]
    NoMatchingPlatform { wanted: String, available: String },
    #[error("unsupported media type `{media_type}` for {what}")]
    UnsupportedMediaType { what: String, media_type: String },
    #[error("index nesting deeper than {0} levels")]
    IndexTooDeep(usize),
    #[error("the image has {layers} layers but its config lists {diff_ids} diff_ids")]
    DiffIdCount { layers: usize, diff_ids: usize },
    #[error("layer {index} ({digest})")]
    Layer {
        index: usize,
        digest: String,
        #[source]
        source: LayerError,
    },
    #[error("`{}`", path.display())]
    Dir {
        path: PathBuf,
        #[source]
        source: LayerError,
    },
    #[error("{path}: {reason}")]
    Resolve { path: String, reason: String },
}

/// A blob whose bytes are not what its descriptor says.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("digest mismatch: the content hashes to {actual}")]
    DigestMismatch { actual: Digest },
    #[error("size mismatch: descriptor says {expected} bytes, read {actual}")]
    SizeMismatch { expected: u64, actual: u64 },
    #[error("read failed")]
    Io(#[source] std::io::Error),
}

/// Errors inside one layer's tar stream.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("entry `{entry}`")]
    Path {
        entry: String,
        #[source]
        source: PathError,
    },
    #[error("entry `{entry}`: hard link target `{target}`")]
    HardLink {
        entry: String,
        target: String,
        #[source]
        source: PathError,
    },
    #[error("corrupt or truncated {format} stream")]
    Decompress {
        format: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("corrupt or truncated tar stream")]
    Tar(#[source] std::io::Error),
    #[error("entry `{entry}`: cannot read content")]
    Content {
        entry: String,
        #[source]
        source: std::io::Error,
    },
    #[error("uncompressed content hashes to {actual}, the config's diff_id is {expected}")]
    DiffIdMismatch { expected: Digest, actual: Digest },
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error("cannot read `{}`", path.display())]
    DirIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

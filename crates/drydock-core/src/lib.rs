//! Shared types for drydock. No I/O lives here.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod digest;
mod distro;
mod image;
mod package;
mod path;
mod purl;
pub mod time;

pub use digest::{Algorithm, Digest, DigestError, Hasher, to_hex};
pub use distro::Distro;
pub use image::{ImageMetadata, LayerMetadata, SourceMetadata};
pub use package::{
    Ecosystem, Layer, Location, OwnedFile, Package, PackageKind, Problem, Relationship,
    SourcePackage,
};
pub use path::{ImagePath, PathError};
pub use purl::Purl;

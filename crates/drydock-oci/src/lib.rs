//! Container images: sources (OCI layouts and archives, docker archives,
//! directories), blob verification, and the single streaming pass over
//! layers that feeds a [`Visitor`].
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod dir;
mod error;
mod image;
mod layer;
mod parts;
mod spec;
mod store;
mod walk;

pub use error::{BlobError, LayerError, OciError};
pub use image::{NoProgress, Progress, Source, SourceRef};
pub use parts::{MAX_HELD, Need, Parts, reduce_streamed};
pub use spec::Platform;
pub use store::Store;
pub use walk::{Content, Entry, EntryKind, View, Visitor, Walk, walk_layers};

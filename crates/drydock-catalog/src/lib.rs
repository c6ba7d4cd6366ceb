//! Catalogers turn the files they claimed during the single pass over an
//! image into packages. Each declares its claims up front; the
//! [`Dispatcher`] compiles all claims into one matcher and runs the
//! catalogers whose files changed after every layer.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod apk;
mod binary;
mod dispatch;
mod distro;
mod dotnet;
mod dpkg;
mod files;
mod golang;
mod java;
mod javascript;
mod php;
mod python;
mod rpm;
mod ruby;
mod rust;

pub use dispatch::{Catalog, Dispatcher, catalog_source};
pub use distro::detect as detect_distro;
pub use files::{FileRef, Files};

/// Parser entry points, for fuzz targets and differential tests.
pub mod parsers {
    pub use crate::dpkg::parse_status;
}

pub use drydock_core::Problem;
use drydock_core::{Distro, ImagePath, Package, Relationship};

/// The files a cataloger wants to read. Paths and globs are relative to the
/// image root (no leading `/`); globs use `globset` syntax where `*` does not
/// cross `/`.
#[derive(Clone, Debug, Default)]
pub struct Claims {
    pub paths: Vec<&'static str>,
    pub globs: Vec<&'static str>,
    /// Files larger than this are not read; a problem is reported instead.
    pub max_bytes: u64,
    /// Also claim every regular file with an execute bit (binaries that
    /// carry build metadata). Pair with [`Cataloger::reduce`] to keep only
    /// the metadata, not the binary.
    pub executables: bool,
}

/// What the catalogers may know about the image beyond their own files.
#[derive(Clone, Debug, Default)]
pub struct Context {
    pub distro: Option<Distro>,
}

/// What a cataloger found.
#[derive(Clone, Debug, Default)]
pub struct Found {
    pub packages: Vec<Package>,
    pub relationships: Vec<Relationship>,
    pub problems: Vec<Problem>,
}

impl Found {
    pub(crate) fn problem(
        &mut self,
        cataloger: &'static str,
        file: &FileRef<'_>,
        reason: impl Into<String>,
    ) {
        self.problems.push(Problem {
            cataloger: cataloger.to_owned(),
            path: file.path.clone(),
            layer: file.layer.clone(),
            reason: reason.into(),
        });
    }
}

/// A plug-in that reads claimed files and reports packages. Catalogers never
/// walk the image themselves and never panic on input.
pub trait Cataloger: Send + Sync {
    /// A stable identifier, e.g. `dpkg-db`.
    fn id(&self) -> &'static str;
    /// Bumped when the cataloger's output changes for the same input.
    fn version(&self) -> u32;
    fn claims(&self) -> Claims;
    /// Catalog the files this cataloger claimed, as the image looks now.
    fn catalog(&self, files: &Files<'_>, context: &Context) -> Found;
    /// Shrink a claimed file's content as it streams by; what is returned is
    /// what [`Cataloger::catalog`] later sees as the file's bytes. Only called
    /// when this cataloger is the file's sole claimant.
    fn reduce(&self, _path: &ImagePath, bytes: Vec<u8>) -> Vec<u8> {
        bytes
    }
    /// Whether this cataloger reads the executables it alone claims in
    /// parts, through [`Cataloger::reduce_parts`], instead of whole.
    fn reads_parts(&self) -> bool {
        false
    }
    /// [`Cataloger::reduce`] over the parts of a file fetched so far: a pure
    /// function of `parts`, run again whenever it asked for a range `parts`
    /// lacked (see [`drydock_oci::Parts`]). Only called when
    /// [`Cataloger::reads_parts`] says so.
    fn reduce_parts(&self, _path: &ImagePath, _parts: &drydock_oci::Parts) -> Vec<u8> {
        Vec::new()
    }
}

/// The built-in catalogers, in the order they run.
pub fn builtin() -> Vec<Box<dyn Cataloger>> {
    vec![
        Box::new(dpkg::DpkgCataloger),
        Box::new(apk::ApkCataloger),
        Box::new(rpm::RpmCataloger),
        Box::new(java::JavaCataloger),
        Box::new(dotnet::DotnetDepsCataloger),
        Box::new(ruby::RubyCataloger),
        Box::new(php::ComposerCataloger),
        Box::new(binary::metadata::BinaryMetadataCataloger),
        Box::new(rust::CargoLockCataloger),
        Box::new(python::PythonInstalledCataloger),
        Box::new(python::CondaCataloger),
        Box::new(python::PythonLockCataloger),
        Box::new(javascript::JavascriptInstalledCataloger),
        Box::new(javascript::JavascriptLockCataloger),
    ]
}

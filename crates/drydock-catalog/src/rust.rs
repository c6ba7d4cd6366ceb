//! Rust: the dependency list cargo-auditable embeds in binaries, and
//! `Cargo.lock` files.
//!
//! **cargo-auditable** stores zlib-compressed JSON in a section named
//! `.dep-v0` (ELF, PE; `__DATA,.dep-v0` in Mach-O):
//! `{"packages":[{"name","version","source","kind","dependencies","root"}]}`.
//! Every package is reported, build dependencies (`"kind":"build"`) and the
//! root crate included (cargo-audit audits all of them too): purl
//! `pkg:cargo/<name>@<version>`, installed, located at the binary. The
//! decompressed JSON is capped at [`MAX_DEP_JSON`] bytes: more is a problem
//! (a zlib bomb), not an allocation.
//!
//! **Cargo.lock** (versions 1 to 4): every `[[package]]` with its `name`
//! and `version` is reported as declared (not installed), including the
//! workspace's own crates (no `source`): the lock file lists exactly what
//! the workspace builds with, and its members are part of that.
use std::io::Read;

use drydock_core::{Location, Package, PackageKind, Purl};

use crate::binary::{Binary, Format};
use crate::{Cataloger, Claims, Context, FileRef, Files, Found};

/// Largest decompressed `.dep-v0` accepted.
pub(crate) const MAX_DEP_JSON: u64 = 64 << 20;
const SECTION: &str = ".dep-v0";

/// The decompressed `.dep-v0` JSON of a binary: `Ok(None)` when it has none.
pub(crate) fn extract(binary: &Binary<'_>) -> Result<Option<Vec<u8>>, String> {
    let section = match binary.format {
        Format::MachO => binary
            .section_in("__DATA", SECTION)
            .or_else(|| binary.section(SECTION)),
        Format::Elf | Format::Pe => binary.section(SECTION),
    };
    let Some(section) = section else {
        return Ok(None);
    };
    let compressed = binary.section_data(section).map_err(|e| e.to_string())?;
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(compressed)
        .take(MAX_DEP_JSON + 1)
        .read_to_end(&mut json)
        .map_err(|e| format!("cargo-auditable `.dep-v0` section does not decompress: {e}"))?;
    if json.len() as u64 > MAX_DEP_JSON {
        return Err(format!(
            "cargo-auditable `.dep-v0` section decompresses to more than {MAX_DEP_JSON} bytes"
        ));
    }
    Ok(Some(json))
}

#[derive(serde::Deserialize)]
struct DepInfo {
    packages: Vec<DepPackage>,
}

#[derive(serde::Deserialize)]
struct DepPackage {
    name: String,
    version: String,
}

/// The packages listed in cargo-auditable JSON.
pub(crate) fn dep_v0_packages(json: &[u8], file: &FileRef<'_>) -> Result<Vec<Package>, String> {
    let info: DepInfo = serde_json::from_slice(json)
        .map_err(|e| format!("cargo-auditable dependency list is not valid: {e}"))?;
    Ok(info
        .packages
        .into_iter()
        .map(|p| package(p.name, p.version, true, file))
        .collect())
}

fn package(name: String, version: String, installed: bool, file: &FileRef<'_>) -> Package {
    Package {
        purl: Purl::new("cargo", &name).with_version(&version),
        name,
        version,
        kind: PackageKind::Cargo,
        arch: None,
        source: None,
        licenses: Vec::new(),
        maintainer: None,
        installed_size: None,
        checksum: None,
        installed,
        locations: vec![Location {
            path: file.path.clone(),
            layer: file.layer.clone(),
        }],
        layer: None,
        files: Vec::new(),
    }
}

pub(crate) struct CargoLockCataloger;

const LOCK_ID: &str = "cargo-lock";

#[derive(serde::Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<LockPackage>,
}

#[derive(serde::Deserialize)]
struct LockPackage {
    name: String,
    version: String,
}

impl Cataloger for CargoLockCataloger {
    fn id(&self) -> &'static str {
        LOCK_ID
    }
    fn version(&self) -> u32 {
        1
    }
    fn claims(&self) -> Claims {
        Claims {
            paths: vec![],
            globs: vec!["**/Cargo.lock"],
            max_bytes: 64 << 20,
            executables: false,
        }
    }
    fn catalog(&self, files: &Files<'_>, _context: &Context) -> Found {
        let mut found = Found::default();
        for file in files.iter() {
            if file.path.file_name() != b"Cargo.lock" {
                continue;
            }
            let lock = std::str::from_utf8(file.bytes)
                .map_err(|e| format!("Cargo.lock is not UTF-8: {e}"))
                .and_then(|text| {
                    toml::from_str::<Lock>(text)
                        .map_err(|e| format!("Cargo.lock does not parse: {}", e.message()))
                });
            match lock {
                Ok(lock) => found.packages.extend(
                    lock.package
                        .into_iter()
                        .map(|p| package(p.name, p.version, false, file)),
                ),
                Err(reason) => found.problem(LOCK_ID, file, reason),
            }
        }
        found
    }
}

//! The `binary-metadata` cataloger: claims every executable, keeps only the
//! build metadata embedded in it (Go build info, cargo-auditable's
//! `.dep-v0`) as the file streams by, and reports Go modules and Rust
//! crates from it.
//!
//! One cataloger for both, because [`Cataloger::reduce`] runs only for a
//! file's sole claimant. Executables are read in parts
//! ([`Cataloger::reduce_parts`]): the headers, the section table and the
//! metadata sections, never the whole file, so there is no size limit. The reduced form is private to this module:
//! [`REDUCED_MAGIC`], then records `tag (1 byte) | length (u32 LE) | bytes`.
//! An executable with no metadata and no problem reduces to nothing.
use drydock_core::ImagePath;
use drydock_oci::Parts;

use crate::binary::{self, Data, Parsed};
use crate::{Cataloger, Claims, Context, FileRef, Files, Found, golang, rust};

pub(crate) struct BinaryMetadataCataloger;

const ID: &str = "binary-metadata";
/// Starts with a NUL so no ELF, PE, Mach-O or script begins this way.
const REDUCED_MAGIC: &[u8; 16] = b"\0drydock-binmeta";
const TAG_GO_VERSION: u8 = 1;
const TAG_GO_MODULES: u8 = 2;
const TAG_CARGO_JSON: u8 = 3;
const TAG_PROBLEM: u8 = 4;

/// What one executable carries.
#[derive(Debug, Default, PartialEq, Eq)]
struct Metadata {
    go: Option<golang::BuildInfo>,
    cargo: Option<Vec<u8>>,
    problems: Vec<String>,
}

impl Metadata {
    fn is_empty(&self) -> bool {
        self.go.is_none() && self.cargo.is_none() && self.problems.is_empty()
    }
}

fn extract(data: Data<'_>) -> Metadata {
    let mut metadata = Metadata::default();
    let images = match binary::parse(data) {
        Ok(Parsed::NotBinary) => return metadata,
        Ok(Parsed::Binaries(images)) => images,
        Err(error) => {
            metadata
                .problems
                .push(format!("malformed executable: {error}"));
            return metadata;
        }
    };
    // The images of a fat Mach-O: the first one that has each kind wins.
    for image in &images {
        if metadata.go.is_none() {
            match golang::extract(image) {
                Ok(info) => metadata.go = info,
                Err(reason) => metadata.problems.push(reason),
            }
        }
        if metadata.cargo.is_none() {
            match rust::extract(image) {
                Ok(json) => metadata.cargo = json,
                Err(reason) => metadata.problems.push(reason),
            }
        }
    }
    metadata
}

fn push_record(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    // Records are bounded by the capped inputs (1 MiB strings, 64 MiB JSON).
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.push(tag);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(bytes.get(..len as usize).unwrap_or(bytes));
}

fn encode(metadata: &Metadata) -> Vec<u8> {
    if metadata.is_empty() {
        return Vec::new();
    }
    let mut out = REDUCED_MAGIC.to_vec();
    if let Some(go) = &metadata.go {
        push_record(&mut out, TAG_GO_VERSION, go.go_version.as_bytes());
        push_record(&mut out, TAG_GO_MODULES, go.modules.as_bytes());
    }
    if let Some(json) = &metadata.cargo {
        push_record(&mut out, TAG_CARGO_JSON, json);
    }
    for problem in &metadata.problems {
        push_record(&mut out, TAG_PROBLEM, problem.as_bytes());
    }
    out
}

fn decode(mut bytes: &[u8]) -> Metadata {
    let mut metadata = Metadata::default();
    let mut go_version = None;
    while !bytes.is_empty() {
        let record = bytes.split_first().and_then(|(&tag, rest)| {
            let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
            let body = rest.get(4..4usize.checked_add(len)?)?;
            Some((tag, body, rest.get(4 + len..)?))
        });
        let Some((tag, body, rest)) = record else {
            metadata
                .problems
                .push("reduced binary metadata is truncated".to_owned());
            break;
        };
        bytes = rest;
        let text = || String::from_utf8_lossy(body).into_owned();
        match tag {
            TAG_GO_VERSION => go_version = Some(text()),
            TAG_GO_MODULES => {
                metadata.go = Some(golang::BuildInfo {
                    go_version: go_version.take().unwrap_or_default(),
                    modules: text(),
                });
            }
            TAG_CARGO_JSON => metadata.cargo = Some(body.to_vec()),
            TAG_PROBLEM => metadata.problems.push(text()),
            other => metadata.problems.push(format!(
                "reduced binary metadata has unknown record {other}"
            )),
        }
    }
    metadata
}

impl Cataloger for BinaryMetadataCataloger {
    fn id(&self) -> &'static str {
        ID
    }
    fn version(&self) -> u32 {
        1
    }
    fn claims(&self) -> Claims {
        Claims {
            paths: vec![],
            globs: vec![],
            // Executables are read in parts; this caps a whole read, when
            // another cataloger claims the same file by its path.
            max_bytes: 1 << 30,
            executables: true,
        }
    }
    fn reduce(&self, _path: &ImagePath, bytes: Vec<u8>) -> Vec<u8> {
        if bytes.starts_with(REDUCED_MAGIC) {
            // Not a binary; keep it from being decoded as our own encoding.
            return Vec::new();
        }
        encode(&extract(Data::bytes(&bytes)))
    }
    fn reads_parts(&self) -> bool {
        true
    }
    fn reduce_parts(&self, _path: &ImagePath, parts: &Parts) -> Vec<u8> {
        encode(&extract(Data::parts(parts)))
    }
    fn catalog(&self, files: &Files<'_>, _context: &Context) -> Found {
        let mut found = Found::default();
        for file in files.iter() {
            catalog_file(file, &mut found);
        }
        found
    }
}

fn catalog_file(file: &FileRef<'_>, found: &mut Found) {
    let metadata = match file.bytes.strip_prefix(REDUCED_MAGIC.as_slice()) {
        Some(records) => decode(records),
        None => extract(Data::bytes(file.bytes)),
    };
    let mut problems = metadata.problems;
    if let Some(go) = &metadata.go {
        found
            .packages
            .extend(golang::packages(go, file, &mut problems));
    }
    if let Some(json) = &metadata.cargo {
        match rust::dep_v0_packages(json, file) {
            Ok(packages) => found.packages.extend(packages),
            Err(reason) => problems.push(reason),
        }
    }
    for reason in problems {
        found.problem(ID, file, reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reduced_form_round_trips() {
        let metadata = Metadata {
            go: Some(golang::BuildInfo {
                go_version: "go1.19.8".to_owned(),
                modules: "mod\tx\t(devel)\t\n".to_owned(),
            }),
            cargo: Some(b"{\"packages\":[]}".to_vec()),
            problems: vec!["one".to_owned()],
        };
        let encoded = encode(&metadata);
        let records = encoded.strip_prefix(REDUCED_MAGIC.as_slice()).unwrap();
        assert_eq!(decode(records), metadata);
        assert!(encode(&Metadata::default()).is_empty());
    }

    #[test]
    fn truncated_reduced_records_are_a_problem() {
        let decoded = decode(&[TAG_PROBLEM, 9, 0, 0, 0, b'x']);
        assert_eq!(decoded.problems, ["reduced binary metadata is truncated"]);
    }
}

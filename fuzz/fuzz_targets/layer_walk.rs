//! The single pass over one or two arbitrary layers (tar, gzip or zstd):
//! decompression, tar parsing, whiteouts, symlinks and hard links, the
//! fix-up pass for link targets, and (with the dispatcher) every built-in
//! cataloger and distro detection. Nothing may panic.
//!
//! Input layout: byte 0 is a mode byte. Bit 0 set: two layers, the first
//! one's length in the next 4 bytes (little-endian u32, clamped to what is
//! left); clear: the rest is one layer. Bit 1 set: a visitor that claims
//! every path (with a small cap) and then reads every path back; clear: the
//! dispatcher with every built-in cataloger.
#![no_main]
use drydock_core::{ImagePath, Layer};
use drydock_oci::{Content, View, Visitor, walk_layers};
use libfuzzer_sys::fuzz_target;

/// Byte cap of the claim-everything visitor: small, so the too-large path
/// is exercised as well.
const CAP: u64 = 4096;

struct ClaimAll {
    exact: Vec<ImagePath>,
}

impl Visitor for ClaimAll {
    fn claim(&self, _path: &ImagePath) -> Option<u64> {
        Some(CAP)
    }

    fn exact_claims(&self) -> Vec<ImagePath> {
        self.exact.clone()
    }

    fn layer_done(&mut self, view: &View<'_>, _layer: &Layer, changed: &[ImagePath]) {
        for path in changed {
            check_read(view, path);
        }
    }
}

fn check_read(view: &View<'_>, path: &ImagePath) {
    if let Content::File { bytes, .. } = view.read(path) {
        assert!(
            bytes.len() as u64 <= CAP,
            "{path}: {} bytes captured over the {CAP} cap",
            bytes.len()
        );
    }
}

fn split(data: &[u8]) -> Option<(u8, Vec<&[u8]>)> {
    let (&mode, rest) = data.split_first()?;
    if mode & 1 == 0 {
        return Some((mode, vec![rest]));
    }
    let (length, rest) = rest.split_at_checked(4)?;
    let length = u32::from_le_bytes(length.try_into().ok()?) as usize;
    let (first, second) = rest.split_at(length.min(rest.len()));
    Some((mode, vec![first, second]))
}

fn claim_all(layers: &[&[u8]]) {
    let exact = [
        "var/lib/dpkg/status",
        "lib/apk/db/installed",
        "etc/os-release",
    ]
    .into_iter()
    .filter_map(|p| ImagePath::new(p).ok())
    .collect();
    let mut visitor = ClaimAll { exact };
    let Ok(walk) = walk_layers(layers, &mut visitor) else {
        return;
    };
    let view = walk.view();
    // Every path was claimed, so this is every entry of the image.
    let paths: Vec<ImagePath> = view.claimed_paths().collect();
    for path in &paths {
        check_read(&view, path);
    }
}

fn dispatch(layers: &[&[u8]]) {
    let mut dispatcher = drydock_catalog::Dispatcher::new(drydock_catalog::builtin());
    let Ok(walk) = walk_layers(layers, &mut dispatcher) else {
        return;
    };
    let catalog = dispatcher.finish(&walk.view());
    for package in &catalog.packages {
        let _ = package.purl.to_string();
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((mode, layers)) = split(data) else {
        return;
    };
    if mode & 2 == 0 {
        dispatch(&layers);
    } else {
        claim_all(&layers);
    }
});

//! Opening an OCI image layout built from arbitrary bytes, then walking it
//! with every built-in cataloger. There is no in-memory entry point to the
//! layout parser, so the input is written into a scratch directory that is
//! reused across runs.
//!
//! Input layout: parts separated by 0xFF (a byte that never occurs in UTF-8
//! JSON). Part 0 is `index.json`; every further part is stored as a blob
//! under its own sha256, so seeds can chain index → manifest → config →
//! (uncompressed tar) layers with valid digests, and the fuzzer mutates the
//! JSON around them.
#![no_main]
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use drydock_core::Digest;
use drydock_oci::{Source, SourceRef};
use libfuzzer_sys::fuzz_target;

fn scratch() -> &'static Path {
    static DIR: OnceLock<Option<tempfile::TempDir>> = OnceLock::new();
    match DIR.get_or_init(|| tempfile::tempdir().ok()) {
        Some(dir) => dir.path(),
        None => panic!("cannot create a scratch directory"),
    }
}

fn layout(data: &[u8]) -> std::io::Result<PathBuf> {
    let root = scratch().join("layout");
    if root.exists() {
        std::fs::remove_dir_all(&root)?;
    }
    let blobs = root.join("blobs").join("sha256");
    std::fs::create_dir_all(&blobs)?;
    std::fs::write(
        root.join("oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )?;
    let mut parts = data.split(|&b| b == 0xFF);
    std::fs::write(root.join("index.json"), parts.next().unwrap_or_default())?;
    for part in parts {
        std::fs::write(blobs.join(Digest::sha256_of(part).hex()), part)?;
    }
    Ok(root)
}

fuzz_target!(|data: &[u8]| {
    let Ok(root) = layout(data) else {
        return;
    };
    let Ok(source) = Source::open(SourceRef::OciDir(root), None) else {
        return;
    };
    let _ = source.metadata();
    let mut dispatcher = drydock_catalog::Dispatcher::new(drydock_catalog::builtin());
    let Ok(walk) = source.walk(&mut dispatcher) else {
        return;
    };
    let _ = dispatcher.finish(&walk.view());
});

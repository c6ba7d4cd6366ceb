//! Copying an image (manifest, index and all blobs) between targets, blobs
//! in parallel with a bound; manifests go last so a destination never names
//! content it does not hold.
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::client::MANIFEST_LIMIT;
use crate::error::RegistryError;
use crate::remote::Fetched;
use crate::spec::{Descriptor, Index, Manifest};
use crate::target::Target;

/// What a copy moved.
#[derive(Clone, Debug, Default)]
pub struct Copied {
    pub manifests: usize,
    pub blobs: usize,
    pub skipped: usize,
    pub bytes: u64,
}

/// Copy what `source` resolves to into `destination`, tagged `tag`.
pub fn copy(
    source: &dyn Target,
    destination: &dyn Target,
    tag: Option<&str>,
    parallel: usize,
) -> Result<(Fetched, Copied), RegistryError> {
    let root = source.resolve()?;
    let mut copied = Copied::default();
    copy_tree(source, destination, &root, parallel, &mut copied, 0)?;
    destination.put_manifest(&root, tag)?;
    copied.manifests += 1;
    Ok((root, copied))
}

fn copy_tree(
    source: &dyn Target,
    destination: &dyn Target,
    manifest: &Fetched,
    parallel: usize,
    copied: &mut Copied,
    depth: usize,
) -> Result<(), RegistryError> {
    if depth > 8 {
        return Err(RegistryError::Layout {
            path: source.name().into(),
            reason: "index nesting deeper than 8 levels".into(),
        });
    }
    let json = |source| RegistryError::Json {
        what: format!("manifest {}", manifest.digest),
        source,
    };
    if manifest.descriptor().is_index() {
        let index: Index = serde_json::from_slice(&manifest.bytes).map_err(json)?;
        for child in &index.manifests {
            let Some(fetched) = source.manifest(&child.digest.to_string())? else {
                return Err(RegistryError::NotFound {
                    reference: format!("{}@{}", source.name(), child.digest),
                });
            };
            copy_tree(source, destination, &fetched, parallel, copied, depth + 1)?;
            destination.put_manifest(&fetched, None)?;
            copied.manifests += 1;
        }
        return Ok(());
    }
    let parsed: Manifest = serde_json::from_slice(&manifest.bytes).map_err(json)?;
    let mut blobs: Vec<Descriptor> = vec![parsed.config.clone()];
    blobs.extend(parsed.layers.iter().cloned());
    let (moved, skipped, bytes) = copy_blobs(source, destination, &blobs, parallel)?;
    copied.blobs += moved;
    copied.skipped += skipped;
    copied.bytes += bytes;
    Ok(())
}

/// Copy `blobs` with at most `parallel` transfers at once.
pub fn copy_blobs(
    source: &dyn Target,
    destination: &dyn Target,
    blobs: &[Descriptor],
    parallel: usize,
) -> Result<(usize, usize, u64), RegistryError> {
    let queue = Mutex::new(blobs.iter());
    let failed = AtomicBool::new(false);
    let results = Mutex::new(Vec::new());
    let mount = source.mount_source();
    std::thread::scope(|scope| {
        for _ in 0..parallel.clamp(1, 16).min(blobs.len().max(1)) {
            scope.spawn(|| {
                loop {
                    if failed.load(Ordering::Relaxed) {
                        break;
                    }
                    let next = queue.lock().map(|mut q| q.next().cloned()).ok().flatten();
                    let Some(blob) = next else {
                        break;
                    };
                    let outcome = transfer(source, destination, &blob, mount.as_ref());
                    if outcome.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    if let Ok(mut r) = results.lock() {
                        r.push((blob.size, outcome));
                    }
                }
            });
        }
    });
    let mut moved = 0;
    let mut skipped = 0;
    let mut bytes = 0;
    for (size, outcome) in results.into_inner().unwrap_or_default() {
        if outcome? {
            moved += 1;
            bytes += size;
        } else {
            skipped += 1;
        }
    }
    Ok((moved, skipped, bytes))
}

/// One blob; `false` when the destination already had it.
fn transfer(
    source: &dyn Target,
    destination: &dyn Target,
    blob: &Descriptor,
    mount: Option<&(String, String)>,
) -> Result<bool, RegistryError> {
    if destination.has_blob(&blob.digest)? {
        return Ok(false);
    }
    if blob.size > 0 && blob.size < 4096 && blob.media_type.ends_with("json") {
        let bytes = source.blob_bytes(blob, MANIFEST_LIMIT)?;
        destination.put_blob(&blob.digest, blob.size, mount, &move || {
            Ok(Box::new(std::io::Cursor::new(bytes.clone())))
        })?;
        return Ok(true);
    }
    destination.put_blob(&blob.digest, blob.size, mount, &|| source.open_blob(blob))?;
    Ok(true)
}

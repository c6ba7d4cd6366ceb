//! Reading one layer blob: digest checked while reading (on its own thread),
//! decompressed as a stream, tar entries applied to the walk.
use std::collections::HashSet;
use std::io::{self, BufRead, BufReader, Read};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use drydock_core::{Algorithm, Digest, Hasher, ImagePath};

use crate::error::{BlobError, LayerError};
use crate::walk::{EntryKind, Input, RawEntry, Visitor, Walk};

const CHUNK: usize = 256 << 10;

/// What the layer's bytes are checked against.
#[derive(Clone, Debug, Default)]
pub(crate) struct Expect {
    /// Digest and size of the blob as stored.
    pub(crate) digest: Option<Digest>,
    pub(crate) size: Option<u64>,
    /// Digest of the uncompressed tar (the config's diff_id), checked when
    /// the stored digest is unknown.
    pub(crate) diff_id: Option<Digest>,
}

/// Reads chunks from the hashing thread.
struct ChannelReader {
    rx: Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.chunk.len() {
            match self.rx.recv() {
                Ok(chunk) => {
                    self.chunk = chunk;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let available = self.chunk.get(self.pos..).unwrap_or_default();
        let n = available.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), available.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.pos += n;
        Ok(n)
    }
}

/// Hashes what it passes along.
struct HashingReader<R> {
    inner: R,
    hasher: Option<Hasher>,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let (Some(hasher), Some(read)) = (self.hasher.as_mut(), buf.get(..n)) {
            hasher.update(read);
        }
        Ok(n)
    }
}

fn pump(
    mut raw: Box<dyn Read + Send>,
    tx: &SyncSender<Vec<u8>>,
    expect: &Expect,
) -> Result<(), BlobError> {
    let algorithm = expect
        .digest
        .as_ref()
        .map_or(Algorithm::Sha256, Digest::algorithm);
    let mut hasher = Hasher::new(algorithm);
    let mut total: u64 = 0;
    let mut receiver_alive = true;
    loop {
        let mut chunk = vec![0u8; CHUNK];
        let n = match raw.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(BlobError::Io(e)),
        };
        chunk.truncate(n);
        hasher.update(&chunk);
        total += n as u64;
        if let Some(expected) = expect.size
            && expected > 0
            && total > expected
        {
            return Err(BlobError::SizeMismatch {
                expected,
                actual: total,
            });
        }
        if receiver_alive && tx.send(chunk).is_err() {
            receiver_alive = false;
        }
    }
    if let Some(expected) = expect.size
        && expected > 0
        && total != expected
    {
        return Err(BlobError::SizeMismatch {
            expected,
            actual: total,
        });
    }
    let actual = hasher.finish();
    if let Some(expected) = &expect.digest
        && &actual != expected
    {
        return Err(BlobError::DigestMismatch { actual });
    }
    Ok(())
}

fn decoder<'r>(
    mut reader: BufReader<Box<dyn Read + 'r>>,
) -> Result<(Box<dyn Read + 'r>, &'static str), LayerError> {
    let head = reader.fill_buf().map_err(LayerError::Tar)?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok((
            Box::new(flate2::bufread::MultiGzDecoder::new(reader)),
            "gzip",
        ))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let zstd = ruzstd::decoding::StreamingDecoder::new(reader).map_err(|e| {
            LayerError::Decompress {
                format: "zstd",
                source: io::Error::new(io::ErrorKind::InvalidData, e.to_string()),
            }
        })?;
        Ok((Box::new(zstd), "zstd"))
    } else {
        Ok((Box::new(reader), "tar"))
    }
}

/// What to do with the entries of a layer.
pub(crate) enum Mode<'a> {
    /// Apply every entry to the walk.
    Apply(&'a dyn Visitor),
    /// Only capture the content of these paths of this layer (the fix-up
    /// pass), going on with files read in parts.
    Capture(&'a HashSet<Vec<u8>>, usize, &'a dyn Visitor),
}

/// Read one layer from `raw`, checking it against `expect`.
pub(crate) fn read_layer(
    raw: Box<dyn Read + Send>,
    expect: &Expect,
    walk: &mut Walk,
    mode: &Mode<'_>,
) -> Result<(), LayerError> {
    let (tx, rx) = sync_channel::<Vec<u8>>(8);
    std::thread::scope(|scope| {
        let pumper = scope.spawn(move || pump(raw, &tx, expect));
        let channel: Box<dyn Read> = Box::new(ChannelReader {
            rx,
            chunk: Vec::new(),
            pos: 0,
        });
        let result = decode_and_apply(channel, expect, walk, mode);
        // The pump thread ends when the file does; its verdict on the bytes
        // comes first: a corrupt blob explains a broken stream.
        let verdict = pumper
            .join()
            .unwrap_or_else(|_| Err(BlobError::Io(io::Error::other("reader thread failed"))));
        verdict?;
        result
    })
}

fn decode_and_apply(
    channel: Box<dyn Read>,
    expect: &Expect,
    walk: &mut Walk,
    mode: &Mode<'_>,
) -> Result<(), LayerError> {
    let (stream, format) = decoder(BufReader::with_capacity(CHUNK, channel))?;
    let want_diff_id = expect.digest.is_none() && expect.diff_id.is_some();
    let mut hashing = HashingReader {
        inner: stream,
        hasher: want_diff_id.then(|| Hasher::new(Algorithm::Sha256)),
    };
    let applied = apply_tar(&mut hashing, walk, mode);
    // Read to the end so the whole stream is checked (gzip CRC, trailing data).
    let drained = io::copy(&mut hashing, &mut io::sink());
    let result = match (applied, drained) {
        (Err(e), _) => Err(e),
        (Ok(()), Err(source)) if format == "tar" => Err(LayerError::Tar(source)),
        (Ok(()), Err(source)) => Err(LayerError::Decompress { format, source }),
        (Ok(()), Ok(_)) => Ok(()),
    };
    let result = result.map_err(|e| match e {
        LayerError::Tar(source)
            if format != "tar" && source.kind() != io::ErrorKind::UnexpectedEof =>
        {
            LayerError::Decompress { format, source }
        }
        other => other,
    });
    // Drop the decoder before waiting for the pump: the pump may be blocked on a full channel.
    let hasher = hashing.hasher.take();
    drop(hashing);
    result?;
    if let (Some(hasher), Some(expected)) = (hasher, &expect.diff_id) {
        let actual = hasher.finish();
        if &actual != expected {
            return Err(LayerError::DiffIdMismatch {
                expected: expected.clone(),
                actual,
            });
        }
    }
    Ok(())
}

fn apply_tar(stream: &mut dyn Read, walk: &mut Walk, mode: &Mode<'_>) -> Result<(), LayerError> {
    let mut archive = tar::Archive::new(stream);
    for entry in archive.entries().map_err(LayerError::Tar)? {
        let mut entry = entry.map_err(LayerError::Tar)?;
        let raw_path = entry.path_bytes().into_owned();
        let path = ImagePath::from_tar(&raw_path).map_err(|source| LayerError::Path {
            entry: String::from_utf8_lossy(&raw_path).into_owned(),
            source,
        })?;
        let header = entry.header();
        let entry_type = header.entry_type();
        let mode_bits = header.mode().unwrap_or(0o644);
        let uid = header.uid().unwrap_or(0);
        let gid = header.gid().unwrap_or(0);
        let size = entry.size();
        let kind = if entry_type.is_file() || entry_type.is_gnu_sparse() {
            EntryKind::File
        } else if entry_type.is_dir() {
            EntryKind::Dir
        } else if entry_type.is_symlink() {
            EntryKind::Symlink(
                entry
                    .link_name_bytes()
                    .map(std::borrow::Cow::into_owned)
                    .unwrap_or_default()
                    .into(),
            )
        } else if entry_type.is_hard_link() {
            let target_raw = entry
                .link_name_bytes()
                .map(std::borrow::Cow::into_owned)
                .unwrap_or_default();
            let target =
                ImagePath::from_tar(&target_raw).map_err(|source| LayerError::HardLink {
                    entry: path.to_display(),
                    target: String::from_utf8_lossy(&target_raw).into_owned(),
                    source,
                })?;
            EntryKind::HardLink {
                target,
                target_layer: 0,
            }
        } else if entry_type.is_pax_global_extensions() || entry_type.is_pax_local_extensions() {
            continue;
        } else {
            EntryKind::Other
        };
        match mode {
            Mode::Apply(visitor) => {
                let content = if kind == EntryKind::File {
                    Some(Input::Stream(&mut entry))
                } else {
                    None
                };
                walk.apply(
                    *visitor,
                    RawEntry {
                        path,
                        kind,
                        mode: mode_bits,
                        uid,
                        gid,
                        size,
                        content,
                    },
                )?;
            }
            Mode::Capture(paths, layer, visitor) => {
                if kind == EntryKind::File
                    && paths.contains(path.as_bytes())
                    && !walk.continue_parts(*visitor, &path, *layer, &mut entry)?
                {
                    let mut bytes = Vec::new();
                    entry
                        .read_to_end(&mut bytes)
                        .map_err(|source| LayerError::Content {
                            entry: path.to_display(),
                            source,
                        })?;
                    walk.store_late(path.as_bytes().to_vec(), *layer, bytes);
                }
            }
        }
    }
    Ok(())
}

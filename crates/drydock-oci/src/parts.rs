//! Reading a claimed file in parts: a claimant that needs only a binary's
//! headers and a few sections says which byte ranges it needs, and the walk
//! fetches just those — seeking in a `dir:` source, skipping forward through
//! the stream in a layer — so memory never grows with the size of the file.
//!
//! The claimant's reducer runs over [`Parts`], the ranges fetched so far.
//! When it asks for a range that is not there, `Parts` records the first
//! such request and answers `None`; the walk fetches the range and runs the
//! reducer again from the start. Reducers are pure functions of the parts
//! (headers are small, so a few re-runs cost nothing).
//!
//! In a stream a range behind the current position cannot be had any more;
//! the file is then finished by the fix-up pass, which reads the layer again
//! and fetches the pending range on its way (at most [`MAX_ROUNDS`] passes).
//! A request may ask to keep some bytes before it when the stream has to
//! skip to it ([`Parts::get_keeping`]): an ELF section header table sits at
//! the end of the file, usually just after the small sections it names.
use std::cell::Cell;
use std::collections::BTreeMap;
use std::io::{self, Read, Seek, SeekFrom};

/// Most bytes of one file held at once while reading it in parts.
pub const MAX_HELD: u64 = 32 << 20;
/// Smallest fetch: headers are read field by field, so fetch ahead.
const READ_AHEAD: u64 = 64 << 10;
/// Passes over a layer (the first one included) to finish one file.
pub(crate) const MAX_ROUNDS: usize = 4;

/// A range a reducer asked for that was not fetched yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Need {
    pub offset: u64,
    pub len: u64,
    /// Bytes before `offset` worth keeping when the stream skips to it.
    pub keep_before: u64,
}

/// The ranges of one file fetched so far.
#[derive(Debug, Default)]
pub struct Parts {
    size: u64,
    /// Disjoint, non-adjacent pieces by start offset.
    pieces: BTreeMap<u64, Vec<u8>>,
    held: u64,
    /// The most bytes held at once (for tests and the curious).
    peak: u64,
    miss: Cell<Option<Need>>,
}

impl Parts {
    /// Nothing fetched yet of a `size`-byte file.
    pub fn new(size: u64) -> Parts {
        Parts {
            size,
            ..Parts::default()
        }
    }

    /// The size of the whole file.
    pub fn len(&self) -> u64 {
        self.size
    }

    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Bytes held now.
    pub fn held(&self) -> u64 {
        self.held
    }

    /// The most bytes held at once.
    pub fn peak(&self) -> u64 {
        self.peak
    }

    /// `len` bytes at `offset`: `None` when the range is not inside the
    /// file, or when it was not fetched yet (the first such request is
    /// recorded for the walk).
    pub fn get(&self, offset: u64, len: u64) -> Option<&[u8]> {
        self.get_keeping(offset, len, 0)
    }

    /// [`Parts::get`], asking a stream that must skip to `offset` to keep
    /// the `keep_before` bytes before it.
    pub fn get_keeping(&self, offset: u64, len: u64, keep_before: u64) -> Option<&[u8]> {
        let end = offset.checked_add(len)?;
        if end > self.size {
            return None;
        }
        if len == 0 {
            return Some(&[]);
        }
        if let Some((&start, piece)) = self.pieces.range(..=offset).next_back() {
            let from = usize::try_from(offset - start).ok()?;
            let to = usize::try_from(end - start).ok()?;
            if let Some(bytes) = piece.get(from..to) {
                return Some(bytes);
            }
        }
        if self.miss.get().is_none() {
            self.miss.set(Some(Need {
                offset,
                len,
                keep_before,
            }));
        }
        None
    }

    pub(crate) fn take_miss(&self) -> Option<Need> {
        self.miss.take()
    }

    /// Add fetched bytes at `offset`, merging with pieces they touch.
    pub(crate) fn insert(&mut self, offset: u64, bytes: Vec<u8>) {
        if bytes.is_empty() {
            return;
        }
        let mut start = offset;
        let mut end = offset + bytes.len() as u64;
        let touching: Vec<u64> = self
            .pieces
            .range(..=end)
            .filter(|(s, p)| **s + p.len() as u64 >= start)
            .map(|(s, _)| *s)
            .collect();
        if touching.is_empty() {
            self.held += bytes.len() as u64;
            self.pieces.insert(offset, bytes);
        } else {
            let mut pieces: Vec<(u64, Vec<u8>)> = touching
                .iter()
                .filter_map(|s| self.pieces.remove(s).map(|p| (*s, p)))
                .collect();
            for (s, p) in &pieces {
                self.held -= p.len() as u64;
                start = start.min(*s);
                end = end.max(*s + p.len() as u64);
            }
            pieces.push((offset, bytes));
            let mut merged = vec![0u8; usize::try_from(end - start).unwrap_or(0)];
            for (s, p) in pieces {
                let at = usize::try_from(s - start).unwrap_or(0);
                if let Some(slot) = merged.get_mut(at..at + p.len()) {
                    slot.copy_from_slice(&p);
                }
            }
            self.held += merged.len() as u64;
            self.pieces.insert(start, merged);
        }
        self.peak = self.peak.max(self.held);
    }
}

/// How reading a file in parts ended.
pub(crate) enum Outcome {
    /// The reducer's answer.
    Done(Vec<u8>),
    /// A stream passed a range the reducer needs: finish in the next pass.
    Behind,
    /// The file cannot be read this way; the reason says why.
    Unreadable(String),
}

/// Where parts come from.
pub(crate) enum Body<'a> {
    /// A forward-only stream (a tar entry), now at `position`.
    Stream {
        reader: &'a mut dyn Read,
        position: u64,
    },
    /// A file that can seek (`dir:` sources, single files).
    File(&'a mut dyn ReadSeek),
}

pub(crate) trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

/// Run `reduce` over `parts`, fetching what it asks for from `body`, until
/// it asks for nothing more.
pub(crate) fn drive(
    parts: &mut Parts,
    body: &mut Body<'_>,
    reduce: &dyn Fn(&Parts) -> Vec<u8>,
) -> io::Result<Outcome> {
    loop {
        let out = reduce(parts);
        let Some(need) = parts.take_miss() else {
            return Ok(Outcome::Done(out));
        };
        // Read ahead, but never past the end of the file.
        let len = need.len.max(READ_AHEAD).min(parts.size - need.offset);
        let keep = match body {
            Body::Stream { position, .. } if need.offset < *position => {
                return Ok(Outcome::Behind);
            }
            Body::Stream { position, .. } => need.keep_before.min(need.offset - *position),
            Body::File(_) => 0,
        };
        if parts.held + len + keep > MAX_HELD {
            return Ok(Outcome::Unreadable(format!(
                "reading its metadata needs more than {MAX_HELD} bytes of it (range at offset {}, {} bytes)",
                need.offset, need.len
            )));
        }
        let start = need.offset - keep;
        let bytes = match body {
            Body::Stream { reader, position } => {
                skip(reader, start - *position)?;
                let bytes = read_exact(reader, keep + len)?;
                *position = start + keep + len;
                bytes
            }
            Body::File(file) => {
                file.seek(SeekFrom::Start(start))?;
                read_exact(file, len)?
            }
        };
        parts.insert(start, bytes);
    }
}

/// Reduce a file held in memory as the walk would in a layer: passes over
/// it as a stream, at most [`MAX_ROUNDS`]; `None` when that is not enough
/// or the reducer asks for more than [`MAX_HELD`] bytes. For tests and
/// fuzzing: reading in parts must say what reading whole says.
pub fn reduce_streamed(bytes: &[u8], reduce: &dyn Fn(&Parts) -> Vec<u8>) -> Option<Vec<u8>> {
    let mut parts = Parts::new(bytes.len() as u64);
    for _ in 0..MAX_ROUNDS {
        let mut reader = bytes;
        let mut body = Body::Stream {
            reader: &mut reader,
            position: 0,
        };
        match drive(&mut parts, &mut body, reduce).ok()? {
            Outcome::Done(out) => return Some(out),
            Outcome::Behind => {}
            Outcome::Unreadable(_) => return None,
        }
    }
    None
}

fn skip(reader: &mut dyn Read, count: u64) -> io::Result<()> {
    let skipped = io::copy(&mut reader.take(count), &mut io::sink())?;
    if skipped < count {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

fn read_exact(reader: &mut dyn Read, len: u64) -> io::Result<Vec<u8>> {
    let mut bytes = vec![0u8; usize::try_from(len).map_err(io::Error::other)?];
    reader.read_exact(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_merge_and_answer_across_their_joins() {
        let mut parts = Parts::new(100);
        parts.insert(10, vec![1; 10]);
        parts.insert(30, vec![3; 10]);
        assert!(parts.get(15, 20).is_none());
        assert_eq!(
            parts.take_miss(),
            Some(Need {
                offset: 15,
                len: 20,
                keep_before: 0
            })
        );
        parts.insert(20, vec![2; 10]);
        assert_eq!(parts.pieces.len(), 1);
        assert_eq!(parts.held(), 30);
        let got = parts.get(15, 20).unwrap();
        assert_eq!(&got[..5], &[1; 5]);
        assert_eq!(&got[5..15], &[2; 10]);
        assert_eq!(&got[15..], &[3; 5]);
        assert!(parts.take_miss().is_none());
        // Outside the file: no miss, just no answer.
        assert!(parts.get(95, 10).is_none());
        assert!(parts.take_miss().is_none());
    }

    #[test]
    fn a_stream_fetches_forward_and_reports_a_range_behind() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
        let mut reader = std::io::Cursor::new(data.clone());
        let mut body = Body::Stream {
            reader: &mut reader,
            position: 0,
        };
        let mut parts = Parts::new(data.len() as u64);
        // Wants the last 8 bytes, then byte 0.
        let reduce = |parts: &Parts| {
            let tail = parts.get(parts.len() - 8, 8).map(<[u8]>::to_vec);
            let head = tail.as_ref().and_then(|_| parts.get(0, 1));
            head.map(<[u8]>::to_vec).unwrap_or_default()
        };
        let outcome = drive(&mut parts, &mut body, &reduce).unwrap();
        assert!(matches!(outcome, Outcome::Behind));
        assert_eq!(parts.held(), 8);
        // The next pass starts at 0 again and gets both.
        let mut reader = std::io::Cursor::new(data);
        let mut body = Body::Stream {
            reader: &mut reader,
            position: 0,
        };
        let Outcome::Done(out) = drive(&mut parts, &mut body, &reduce).unwrap() else {
            panic!("second pass finishes");
        };
        assert_eq!(out, [0]);
        assert!(parts.peak() < (200 << 10), "peak {}", parts.peak());
    }
}

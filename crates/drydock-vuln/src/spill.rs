//! An external sort for imports: items (sort keys and a payload) are kept
//! in memory up to a byte budget, then sorted and spilled as a run file;
//! the sorted items come back by merging the runs. Memory stays within the
//! budget (plus one read buffer per run) whatever the number of items.
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// Bytes counted for an item beyond its keys and payload (its vectors).
const ITEM_OVERHEAD: usize = 96;
const RUN_BUFFER: usize = 128 << 10;

/// One item: ordered by its keys (compared in turn, as bytes).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Item {
    pub(crate) keys: Vec<Vec<u8>>,
    pub(crate) payload: Vec<u8>,
}

impl Ord for Item {
    fn cmp(&self, other: &Item) -> Ordering {
        self.keys.cmp(&other.keys)
    }
}

impl PartialOrd for Item {
    fn partial_cmp(&self, other: &Item) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Item {
    fn size(&self) -> usize {
        ITEM_OVERHEAD
            + self.payload.len()
            + self.keys.iter().map(|key| key.len() + 24).sum::<usize>()
    }
}

pub(crate) struct Sorter {
    dir: PathBuf,
    name: String,
    budget: usize,
    items: Vec<Item>,
    bytes: usize,
    runs: Vec<PathBuf>,
}

impl Sorter {
    /// A sorter spilling runs named after `name` into `dir` once its items
    /// take more than `budget` bytes.
    pub(crate) fn new(dir: &Path, name: &str, budget: usize) -> Sorter {
        Sorter {
            dir: dir.to_owned(),
            name: name.to_owned(),
            budget,
            items: Vec::new(),
            bytes: 0,
            runs: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, item: Item) -> io::Result<()> {
        self.bytes += item.size();
        self.items.push(item);
        if self.bytes > self.budget {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> io::Result<()> {
        self.items.sort_unstable();
        let path = self
            .dir
            .join(format!("{}-{}.run", self.name, self.runs.len()));
        let file = fs_err::File::create(&path)?;
        let mut out = BufWriter::with_capacity(RUN_BUFFER, file);
        for item in self.items.drain(..) {
            write_item(&mut out, &item)?;
        }
        out.flush()?;
        self.bytes = 0;
        self.items.shrink_to(1024);
        self.runs.push(path);
        Ok(())
    }

    /// The items in order.
    pub(crate) fn finish(mut self) -> io::Result<Sorted> {
        if self.runs.is_empty() {
            self.items.sort_unstable();
            return Ok(Sorted::Memory(self.items.into_iter()));
        }
        if !self.items.is_empty() {
            self.spill()?;
        }
        let mut readers = Vec::with_capacity(self.runs.len());
        let mut heap = BinaryHeap::with_capacity(self.runs.len());
        for (index, path) in self.runs.iter().enumerate() {
            let mut reader = BufReader::with_capacity(RUN_BUFFER, fs_err::File::open(path)?);
            if let Some(item) = read_item(&mut reader)? {
                heap.push(Reverse(Head { item, run: index }));
            }
            readers.push(reader);
        }
        Ok(Sorted::Runs {
            readers,
            heap,
            paths: self.runs,
        })
    }
}

pub(crate) struct Head {
    item: Item,
    run: usize,
}

impl PartialEq for Head {
    fn eq(&self, other: &Head) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Head {}
impl Ord for Head {
    fn cmp(&self, other: &Head) -> Ordering {
        // Equal keys come out in run order (runs are spilled in push order).
        self.item
            .cmp(&other.item)
            .then_with(|| self.run.cmp(&other.run))
    }
}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Head) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Sorted items: from memory, or merged from run files (removed when done).
pub(crate) enum Sorted {
    Memory(std::vec::IntoIter<Item>),
    Runs {
        readers: Vec<BufReader<fs_err::File>>,
        heap: BinaryHeap<Reverse<Head>>,
        paths: Vec<PathBuf>,
    },
}

impl Iterator for Sorted {
    type Item = io::Result<Item>;

    fn next(&mut self) -> Option<io::Result<Item>> {
        match self {
            Sorted::Memory(items) => items.next().map(Ok),
            Sorted::Runs { readers, heap, .. } => {
                let Reverse(Head { item, run }) = heap.pop()?;
                match readers.get_mut(run).map(read_item) {
                    Some(Ok(Some(next))) => heap.push(Reverse(Head { item: next, run })),
                    Some(Err(error)) => return Some(Err(error)),
                    Some(Ok(None)) | None => {}
                }
                Some(Ok(item))
            }
        }
    }
}

impl Drop for Sorted {
    fn drop(&mut self) {
        if let Sorted::Runs { paths, .. } = self {
            for path in paths {
                // The whole staging directory goes anyway; this frees disk early.
                let _ = fs_err::remove_file(path);
            }
        }
    }
}

fn write_bytes(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    let len = u32::try_from(bytes.len()).map_err(io::Error::other)?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(bytes)
}

fn write_item(out: &mut impl Write, item: &Item) -> io::Result<()> {
    let count = u8::try_from(item.keys.len()).map_err(io::Error::other)?;
    out.write_all(&[count])?;
    for key in &item.keys {
        write_bytes(out, key)?;
    }
    write_bytes(out, &item.payload)
}

fn read_bytes(reader: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    reader.read_exact(&mut len)?;
    let mut bytes = vec![0u8; u32::from_le_bytes(len) as usize];
    reader.read_exact(&mut bytes)?;
    Ok(bytes)
}

fn read_item(reader: &mut impl Read) -> io::Result<Option<Item>> {
    let mut count = [0u8; 1];
    if reader.read(&mut count)? == 0 {
        return Ok(None);
    }
    let mut keys = Vec::with_capacity(usize::from(count[0]));
    for _ in 0..count[0] {
        keys.push(read_bytes(reader)?);
    }
    let payload = read_bytes(reader)?;
    Ok(Some(Item { keys, payload }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_come_back_sorted_from_many_runs() {
        let dir = tempfile::tempdir().unwrap();
        // A budget of a few items: many runs.
        let mut sorter = Sorter::new(dir.path(), "t", 1000);
        let mut expected = Vec::new();
        for n in 0..2000u32 {
            let key = (n.wrapping_mul(2_654_435_761) % 997).to_be_bytes().to_vec();
            let second = n.to_be_bytes().to_vec();
            expected.push((key.clone(), second.clone()));
            sorter
                .push(Item {
                    keys: vec![key, second],
                    payload: n.to_le_bytes().to_vec(),
                })
                .unwrap();
        }
        assert!(sorter.runs.len() > 10);
        expected.sort();
        let sorted: Vec<Item> = sorter.finish().unwrap().map(Result::unwrap).collect();
        let got: Vec<(Vec<u8>, Vec<u8>)> = sorted
            .iter()
            .map(|item| (item.keys[0].clone(), item.keys[1].clone()))
            .collect();
        assert_eq!(got, expected);
        assert!(
            std::fs::read_dir(dir.path()).unwrap().next().is_none(),
            "runs removed"
        );
    }
}

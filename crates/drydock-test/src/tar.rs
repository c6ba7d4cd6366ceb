//! A tar writer that writes whatever header you ask for, including the hostile
//! ones (`../` names, absolute paths, sizes larger than the stream, dangling hard
//! links) that the `tar` crate refuses to produce. ustar format (POSIX.1-1988):
//! 512-byte headers, octal numeric fields, checksum over the header with the
//! checksum field read as spaces, content padded to 512 bytes, two zero blocks
//! at the end.

use std::io::Write as _;

const BLOCK: usize = 512;

/// One tar entry. `declared_size` overrides the size field (the content written
/// is still `content`), which is how a header lies about its size.
#[derive(Clone, Debug)]
pub struct TarEntry {
    pub name: Vec<u8>,
    /// ustar typeflag: `b'0'` file, `b'1'` hard link, `b'2'` symlink, `b'5'` directory, …
    pub typeflag: u8,
    pub mode: u32,
    pub content: Vec<u8>,
    pub link: Vec<u8>,
    pub declared_size: Option<u64>,
    /// Owner and group ids (0 unless set).
    pub uid: u64,
    pub gid: u64,
}

impl TarEntry {
    pub fn file(name: impl AsRef<[u8]>, content: impl AsRef<[u8]>) -> Self {
        Self {
            name: name.as_ref().to_vec(),
            typeflag: b'0',
            mode: 0o644,
            content: content.as_ref().to_vec(),
            link: Vec::new(),
            declared_size: None,
            uid: 0,
            gid: 0,
        }
    }
}

/// Builds a tar stream entry by entry.
#[derive(Clone, Debug, Default)]
pub struct RawTar {
    bytes: Vec<u8>,
}

impl RawTar {
    pub fn new() -> Self {
        Self::default()
    }

    #[must_use]
    pub fn file(self, name: impl AsRef<[u8]>, content: impl AsRef<[u8]>) -> Self {
        self.entry(&TarEntry::file(name, content))
    }

    /// A regular file with the given mode and owner.
    #[must_use]
    pub fn file_owned(
        self,
        name: impl AsRef<[u8]>,
        content: impl AsRef<[u8]>,
        mode: u32,
        uid: u64,
        gid: u64,
    ) -> Self {
        let mut entry = TarEntry::file(name, content);
        entry.mode = mode;
        entry.uid = uid;
        entry.gid = gid;
        self.entry(&entry)
    }

    #[must_use]
    pub fn dir(self, name: impl AsRef<[u8]>) -> Self {
        let mut entry = TarEntry::file(name, b"");
        entry.typeflag = b'5';
        entry.mode = 0o755;
        self.entry(&entry)
    }

    #[must_use]
    pub fn symlink(self, name: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> Self {
        let mut entry = TarEntry::file(name, b"");
        entry.typeflag = b'2';
        entry.mode = 0o777;
        entry.link = target.as_ref().to_vec();
        self.entry(&entry)
    }

    #[must_use]
    pub fn hardlink(self, name: impl AsRef<[u8]>, target: impl AsRef<[u8]>) -> Self {
        let mut entry = TarEntry::file(name, b"");
        entry.typeflag = b'1';
        entry.link = target.as_ref().to_vec();
        self.entry(&entry)
    }

    /// `parent/.wh.name`: removes `parent/name` of the layers below.
    #[must_use]
    pub fn whiteout(self, path: &str) -> Self {
        let (parent, name) = path
            .rsplit_once('/')
            .map_or(("", path), |(parent, name)| (parent, name));
        let whiteout = if parent.is_empty() {
            format!(".wh.{name}")
        } else {
            format!("{parent}/.wh.{name}")
        };
        self.file(whiteout, b"")
    }

    /// `dir/.wh..wh..opq`: hides everything the layers below put in `dir`.
    #[must_use]
    pub fn opaque(self, dir: &str) -> Self {
        self.file(format!("{}/.wh..wh..opq", dir.trim_end_matches('/')), b"")
    }

    /// Appends one entry: header, content, padding.
    #[must_use]
    pub fn entry(mut self, entry: &TarEntry) -> Self {
        self.bytes.extend_from_slice(&header(entry));
        self.bytes.extend_from_slice(&entry.content);
        self.bytes
            .resize(self.bytes.len().next_multiple_of(BLOCK), 0);
        self
    }

    /// Appends raw bytes (e.g. garbage instead of a header).
    #[must_use]
    pub fn raw(mut self, bytes: &[u8]) -> Self {
        self.bytes.extend_from_slice(bytes);
        self
    }

    /// The stream with its end-of-archive marker (two zero blocks).
    pub fn finish(mut self) -> Vec<u8> {
        self.bytes.resize(self.bytes.len() + 2 * BLOCK, 0);
        self.bytes
    }

    /// The stream without an end-of-archive marker, as a cut-off download would be.
    pub fn unterminated(self) -> Vec<u8> {
        self.bytes
    }
}

/// Writes `value` as a NUL-terminated octal number filling `field`, or in
/// GNU base-256 form when it does not fit.
fn numeric(field: &mut [u8], value: u64) {
    let digits = field.len() - 1;
    let octal = format!("{value:0digits$o}");
    if octal.len() <= digits {
        field[..digits].copy_from_slice(octal.as_bytes());
        field[digits] = 0;
    } else {
        field.fill(0);
        let be = value.to_be_bytes();
        let start = field.len() - be.len();
        field[start..].copy_from_slice(&be);
        field[0] |= 0x80;
    }
}

/// The 512-byte ustar header for `entry` (content not included), for callers
/// that stream large contents themselves (set `declared_size`).
pub fn header(entry: &TarEntry) -> [u8; BLOCK] {
    let mut header = [0u8; BLOCK];
    let (prefix, name) = split_name(&entry.name);
    header[..name.len()].copy_from_slice(name);
    numeric(&mut header[100..108], u64::from(entry.mode));
    numeric(&mut header[108..116], entry.uid);
    numeric(&mut header[116..124], entry.gid);
    numeric(
        &mut header[124..136],
        entry.declared_size.unwrap_or(entry.content.len() as u64),
    );
    numeric(&mut header[136..148], 1_700_000_000);
    header[156] = entry.typeflag;
    assert!(entry.link.len() <= 100, "link target longer than 100 bytes");
    header[157..157 + entry.link.len()].copy_from_slice(&entry.link);
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    header[265..269].copy_from_slice(b"root");
    header[297..301].copy_from_slice(b"root");
    header[345..345 + prefix.len()].copy_from_slice(prefix);
    header[148..156].fill(b' ');
    let sum: u32 = header.iter().map(|&byte| u32::from(byte)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    header
}

/// Splits a long name into ustar's prefix (≤155 bytes) and name (≤100 bytes) at a `/`.
fn split_name(name: &[u8]) -> (&[u8], &[u8]) {
    if name.len() <= 100 {
        return (&[], name);
    }
    let split = name
        .iter()
        .enumerate()
        .filter(|&(index, &byte)| byte == b'/' && index <= 155 && name.len() - index - 1 <= 100)
        .map(|(index, _)| index)
        .next()
        .expect("name too long for a ustar header");
    (&name[..split], &name[split + 1..])
}

/// gzip-compresses `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder
        .write_all(bytes)
        .expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// GNU tar reads what we write, names, links and contents included.
    #[test]
    fn gnu_tar_lists_raw_tar() {
        if !crate::require_tool("tar") {
            return;
        }
        let bytes = RawTar::new()
            .dir("etc/")
            .file("etc/os-release", "ID=debian\n")
            .symlink("etc/link", "os-release")
            .hardlink("etc/hard", "etc/os-release")
            .file(format!("{}/{}", "d".repeat(120), "f".repeat(90)), "long")
            .finish();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.tar");
        std::fs::write(&path, &bytes).unwrap();
        let out = Command::new("tar").arg("-tvf").arg(&path).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listing = String::from_utf8(out.stdout).unwrap();
        assert!(listing.contains("etc/os-release"), "{listing}");
        assert!(listing.contains("etc/link -> os-release"), "{listing}");
        assert!(
            listing.contains("etc/hard link to etc/os-release"),
            "{listing}"
        );
        assert!(listing.contains(&"f".repeat(90)), "{listing}");
        let out = Command::new("tar")
            .arg("-xOf")
            .arg(&path)
            .arg("etc/os-release")
            .output()
            .unwrap();
        assert_eq!(out.stdout, b"ID=debian\n");
    }

    /// A header declaring 8 GiB over a tiny body: GNU tar sees a truncated archive.
    #[test]
    fn huge_declared_size_is_truncated_for_gnu_tar() {
        if !crate::require_tool("tar") {
            return;
        }
        let mut entry = TarEntry::file("big", "tiny");
        entry.declared_size = Some(8 << 30);
        let bytes = RawTar::new().entry(&entry).finish();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.tar");
        std::fs::write(&path, &bytes).unwrap();
        let out = Command::new("tar").arg("-tvf").arg(&path).output().unwrap();
        let listing = String::from_utf8_lossy(&out.stdout);
        assert!(listing.contains("8589934592"), "{listing}");
        assert!(!out.status.success());
    }
}

//! `.deb` files: an `ar` archive holding `debian-binary`, `control.tar.*`
//! and `data.tar.*` (deb(5)). The reader is bounded and never panics.
use std::io::Read;

#[derive(Debug, thiserror::Error)]
pub enum DebError {
    #[error("not an ar archive")]
    Magic,
    #[error("ar member header at offset {offset} is malformed")]
    Header { offset: usize },
    #[error("ar member `{name}` runs past the end of the archive")]
    Truncated { name: String },
    #[error("no `{0}` member")]
    Missing(&'static str),
    #[error("member `{name}`: unsupported compression")]
    Compression { name: String },
    #[error("member `{name}`: cannot decompress")]
    Decompress {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("member `{name}`: decompressed size above {limit} bytes")]
    TooLarge { name: String, limit: u64 },
}

/// One member of an ar archive, borrowed from the input.
#[derive(Debug)]
pub struct Member<'a> {
    pub name: String,
    pub data: &'a [u8],
}

const AR_MAGIC: &[u8] = b"!<arch>\n";
const HEADER_LEN: usize = 60;

/// The members of a (System V / GNU, no long names needed by deb) ar archive.
pub fn ar_members(bytes: &[u8]) -> Result<Vec<Member<'_>>, DebError> {
    let mut rest = bytes.strip_prefix(AR_MAGIC).ok_or(DebError::Magic)?;
    let mut offset = AR_MAGIC.len();
    let mut members = Vec::new();
    while !rest.is_empty() {
        if rest == b"\n" {
            break;
        }
        let header = rest.get(..HEADER_LEN).ok_or(DebError::Header { offset })?;
        if header.get(58..60) != Some(b"`\n") {
            return Err(DebError::Header { offset });
        }
        let field = |range: std::ops::Range<usize>| {
            header
                .get(range)
                .and_then(|b| std::str::from_utf8(b).ok())
                .map(str::trim_end)
        };
        let name = field(0..16)
            .ok_or(DebError::Header { offset })?
            .trim_end_matches('/')
            .to_owned();
        let size: usize = field(48..58)
            .and_then(|s| s.parse().ok())
            .ok_or(DebError::Header { offset })?;
        let body = rest.get(HEADER_LEN..).unwrap_or_default();
        let data = body
            .get(..size)
            .ok_or_else(|| DebError::Truncated { name: name.clone() })?;
        let padded = size
            .checked_add(size % 2)
            .ok_or(DebError::Header { offset })?;
        rest = body.get(padded..).unwrap_or_default();
        offset = offset.saturating_add(HEADER_LEN).saturating_add(padded);
        members.push(Member { name, data });
    }
    Ok(members)
}

/// Decompress a tar member by its suffix, within `limit` bytes.
pub fn decompress(name: &str, data: &[u8], limit: u64) -> Result<Vec<u8>, DebError> {
    let error = |source| DebError::Decompress {
        name: name.to_owned(),
        source,
    };
    let mut out = Vec::new();
    if name.ends_with(".xz") {
        let mut limited = LimitedWriter {
            out: &mut out,
            limit,
        };
        lzma_rs::xz_decompress(&mut std::io::BufReader::new(data), &mut limited)
            .map_err(|e| error(std::io::Error::other(e.to_string())))?;
    } else {
        let reader: Box<dyn Read + '_> = if name.ends_with(".gz") {
            Box::new(flate2::read::MultiGzDecoder::new(data))
        } else if name.ends_with(".zst") {
            Box::new(
                ruzstd::decoding::StreamingDecoder::new(data)
                    .map_err(|e| error(std::io::Error::other(e.to_string())))?,
            )
        } else if name.ends_with(".tar") || !name.contains(".tar") && !name.contains('.') {
            Box::new(data)
        } else {
            return Err(DebError::Compression {
                name: name.to_owned(),
            });
        };
        reader
            .take(limit.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(error)?;
    }
    if out.len() as u64 > limit {
        return Err(DebError::TooLarge {
            name: name.to_owned(),
            limit,
        });
    }
    Ok(out)
}

struct LimitedWriter<'a> {
    out: &'a mut Vec<u8>,
    limit: u64,
}

impl std::io::Write for LimitedWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if (self.out.len() as u64).saturating_add(buf.len() as u64) > self.limit {
            return Err(std::io::Error::other("decompressed size above the limit"));
        }
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A .deb's control and data tarballs, decompressed.
pub struct Deb {
    pub control_tar: Vec<u8>,
    pub data_tar: Vec<u8>,
}

/// Largest decompressed control.tar / data.tar drydock accepts.
pub const MEMBER_LIMIT: u64 = 2 << 30;

pub fn open_deb(bytes: &[u8]) -> Result<Deb, DebError> {
    let members = ar_members(bytes)?;
    if members.first().map(|m| m.name.as_str()) != Some("debian-binary") {
        return Err(DebError::Missing("debian-binary"));
    }
    let find = |prefix: &'static str| {
        members
            .iter()
            .find(|m| m.name.starts_with(prefix))
            .ok_or(DebError::Missing(prefix))
    };
    let control = find("control.tar")?;
    let data = find("data.tar")?;
    Ok(Deb {
        control_tar: decompress(&control.name, control.data, MEMBER_LIMIT)?,
        data_tar: decompress(&data.name, data.data, MEMBER_LIMIT)?,
    })
}

/// `./control` and `./md5sums` from a control tarball.
pub fn control_files(control_tar: &[u8]) -> std::io::Result<(Option<String>, Option<Vec<u8>>)> {
    let mut archive = tar::Archive::new(control_tar);
    let (mut control, mut md5sums) = (None, None);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path_bytes().into_owned();
        let name = path.strip_prefix(b"./").unwrap_or(&path);
        if name == b"control" || name == b"md5sums" {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes)?;
            if name == b"control" {
                control = Some(String::from_utf8_lossy(&bytes).into_owned());
            } else {
                md5sums = Some(bytes);
            }
        }
    }
    Ok((control, md5sums))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ar(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = AR_MAGIC.to_vec();
        for (name, data) in members {
            out.extend(
                format!(
                    "{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
                    0,
                    0,
                    0,
                    100_644,
                    data.len()
                )
                .bytes(),
            );
            out.extend_from_slice(data);
            if data.len() % 2 == 1 {
                out.push(b'\n');
            }
        }
        out
    }

    #[test]
    fn members_and_padding() {
        let bytes = ar(&[("debian-binary", b"2.0\n"), ("odd", b"abc"), ("x/", b"z")]);
        let members = ar_members(&bytes).unwrap();
        assert_eq!(members.len(), 3);
        assert_eq!(members[1].data, b"abc");
        assert_eq!(members[2].name, "x");
    }

    #[test]
    fn hostile_archives_are_errors() {
        assert!(matches!(ar_members(b"nope"), Err(DebError::Magic)));
        let mut bytes = ar(&[("a", b"abcd")]);
        bytes.truncate(bytes.len() - 2);
        assert!(matches!(
            ar_members(&bytes),
            Err(DebError::Truncated { .. })
        ));
        let mut bad = ar(&[("a", b"ab")]);
        bad[AR_MAGIC.len() + 48] = b'x';
        assert!(matches!(ar_members(&bad), Err(DebError::Header { .. })));
        assert!(open_deb(&ar(&[("debian-binary", b"2.0\n")])).is_err());
    }

    #[test]
    fn decompression_limit() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut encoder, &[0u8; 4096]).unwrap();
        let gz = encoder.finish().unwrap();
        assert!(matches!(
            decompress("data.tar.gz", &gz, 100),
            Err(DebError::TooLarge { .. })
        ));
        assert_eq!(decompress("data.tar.gz", &gz, 4096).unwrap().len(), 4096);
        assert!(matches!(
            decompress("data.tar.bz2", &gz, 100),
            Err(DebError::Compression { .. })
        ));
    }
}

//! Mach-O: 32- and 64-bit images in either byte order, and fat (universal)
//! files holding several images. Sections are named by segment and section
//! (`__DATA`, `__go_buildinfo`); segments give the address mapping.
use super::{Binary, BinaryError, Data, Fields, Format, Mapping, Section};

const LC_SEGMENT: u32 = 0x1;
const LC_SEGMENT_64: u32 = 0x19;
const VM_PROT_WRITE: u32 = 0x2;
const ZEROFILL_TYPES: [u32; 3] = [0x1, 0xc, 0x12];
/// Fat headers and Java class files share their magic; a class file's
/// version (read where the fat header's count is) is at least 45.
const MAX_FAT_ARCHES: u32 = 44;

#[derive(Clone, Copy, Debug)]
pub(super) enum Kind {
    Thin { wide: bool, big_endian: bool },
    Fat { wide: bool },
}

fn error(reason: impl Into<String>) -> BinaryError {
    BinaryError::new(Format::MachO, reason)
}

pub(super) fn sniff(data: Data<'_>) -> Option<Kind> {
    let bytes = data.get(0, 8.min(data.len()))?;
    match bytes.get(..4)? {
        [0xce, 0xfa, 0xed, 0xfe] => Some(Kind::Thin {
            wide: false,
            big_endian: false,
        }),
        [0xcf, 0xfa, 0xed, 0xfe] => Some(Kind::Thin {
            wide: true,
            big_endian: false,
        }),
        [0xfe, 0xed, 0xfa, 0xce] => Some(Kind::Thin {
            wide: false,
            big_endian: true,
        }),
        [0xfe, 0xed, 0xfa, 0xcf] => Some(Kind::Thin {
            wide: true,
            big_endian: true,
        }),
        [0xca, 0xfe, 0xba, 0xbe | 0xbf] => {
            let count = Fields {
                bytes,
                big_endian: true,
            }
            .u32(4)?;
            (count <= MAX_FAT_ARCHES).then_some(Kind::Fat {
                wide: bytes.get(3) == Some(&0xbf),
            })
        }
        _ => None,
    }
}

pub(super) fn parse(data: Data<'_>, kind: Kind) -> Result<Vec<Binary<'_>>, BinaryError> {
    match kind {
        Kind::Thin { wide, big_endian } => Ok(vec![thin(data, wide, big_endian)?]),
        Kind::Fat { wide } => fat(data, wide),
    }
}

fn fat(data: Data<'_>, wide: bool) -> Result<Vec<Binary<'_>>, BinaryError> {
    let f = Fields {
        bytes: data.get(0, 8).unwrap_or_default(),
        big_endian: true,
    };
    let count = f.u32(4).ok_or_else(|| error("truncated fat header"))?;
    let entry_size: u64 = if wide { 32 } else { 20 };
    let mut images = Vec::new();
    for index in 0..u64::from(count) {
        let at = 8 + index * entry_size;
        let entry = data.get(at, entry_size).ok_or_else(|| {
            error(format!(
                "fat architecture {index} extends past the end of the file"
            ))
        })?;
        let e = Fields {
            bytes: entry,
            big_endian: true,
        };
        let (offset, size) = if wide {
            (e.u64(8), e.u64(16))
        } else {
            (e.u32(8).map(u64::from), e.u32(12).map(u64::from))
        };
        let (Some(offset), Some(size)) = (offset, size) else {
            return Err(error(format!("truncated fat architecture {index}")));
        };
        let slice = data.slice(offset, size).ok_or_else(|| {
            error(format!(
                "fat architecture {index} (offset {offset}, {size} bytes) extends past the end of the file ({} bytes)",
                data.len()
            ))
        })?;
        match sniff(slice) {
            Some(Kind::Thin { wide, big_endian }) => images.push(thin(slice, wide, big_endian)?),
            _ => {
                return Err(error(format!(
                    "fat architecture {index} is not a Mach-O image"
                )));
            }
        }
    }
    Ok(images)
}

fn thin(data: Data<'_>, wide: bool, big_endian: bool) -> Result<Binary<'_>, BinaryError> {
    let header_size: u64 = if wide { 32 } else { 28 };
    let Some(bytes) = data.get(0, header_size) else {
        return Err(error(format!(
            "truncated Mach-O header: {} of {header_size} bytes",
            data.len()
        )));
    };
    let f = Fields { bytes, big_endian };
    let ncmds = f.u32(16).ok_or_else(|| error("truncated Mach-O header"))?;
    let sizeofcmds = u64::from(f.u32(20).ok_or_else(|| error("truncated Mach-O header"))?);
    let commands = data.get(header_size, sizeofcmds).ok_or_else(|| {
        error(format!(
            "load commands ({sizeofcmds} bytes) extend past the end of the file ({} bytes)",
            data.len()
        ))
    })?;
    let mut sections = Vec::new();
    let mut mappings = Vec::new();
    let mut at = 0usize;
    for index in 0..ncmds {
        let c = Fields {
            bytes: commands.get(at..).unwrap_or_default(),
            big_endian,
        };
        let (Some(cmd), Some(size)) = (c.u32(0), c.u32(4)) else {
            return Err(error(format!(
                "load command {index} extends past the load command area"
            )));
        };
        let size = size as usize;
        let command = commands
            .get(at..at.saturating_add(size))
            .filter(|_| size >= 8)
            .ok_or_else(|| error(format!("load command {index} has a bad size {size}")))?;
        if cmd == LC_SEGMENT || cmd == LC_SEGMENT_64 {
            segment(
                command,
                cmd == LC_SEGMENT_64,
                big_endian,
                &mut sections,
                &mut mappings,
            )
            .ok_or_else(|| error(format!("segment command {index} is truncated")))?;
        }
        at = at.saturating_add(size);
    }
    Ok(Binary {
        format: Format::MachO,
        data,
        sections,
        mappings,
    })
}

fn segment(
    command: &[u8],
    wide: bool,
    big_endian: bool,
    sections: &mut Vec<Section>,
    mappings: &mut Vec<Mapping>,
) -> Option<()> {
    let f = Fields {
        bytes: command,
        big_endian,
    };
    let (address, offset, file_size, protection, count, header, entry) = if wide {
        (
            f.u64(24)?,
            f.u64(40)?,
            f.u64(48)?,
            f.u32(60)?,
            f.u32(64)?,
            72usize,
            80usize,
        )
    } else {
        (
            u64::from(f.u32(24)?),
            u64::from(f.u32(32)?),
            u64::from(f.u32(36)?),
            f.u32(44)?,
            f.u32(48)?,
            56,
            68,
        )
    };
    let writable = protection & VM_PROT_WRITE != 0;
    mappings.push(Mapping {
        address,
        offset,
        file_size,
        writable,
    });
    for index in 0..count as usize {
        let at = header.checked_add(index.checked_mul(entry)?)?;
        let raw = command.get(at..at.checked_add(entry)?)?;
        let s = Fields {
            bytes: raw,
            big_endian,
        };
        let (address, size, offset, flags) = if wide {
            (s.u64(32)?, s.u64(40)?, u64::from(s.u32(48)?), s.u32(64)?)
        } else {
            (
                u64::from(s.u32(32)?),
                u64::from(s.u32(36)?),
                u64::from(s.u32(40)?),
                s.u32(56)?,
            )
        };
        let zerofill = ZEROFILL_TYPES.contains(&(flags & 0xff));
        sections.push(Section {
            segment: super::fixed_name(raw.get(16..32)?),
            name: super::fixed_name(raw.get(..16)?),
            address,
            offset,
            file_size: if zerofill { 0 } else { size },
            writable_data: writable && !zerofill,
        });
    }
    Some(())
}

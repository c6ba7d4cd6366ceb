//! apk (Alpine, Wolfi, Chainguard): the installed database
//! `lib/apk/db/installed`.
//!
//! The database is a list of stanzas separated by blank lines; each line is
//! `X:value` with a one-character key. The keys read here:
//!
//! | key | meaning | becomes |
//! |---|---|---|
//! | `P` | name | `name` |
//! | `V` | version | `version` |
//! | `A` | architecture | `arch`, purl `arch` |
//! | `I` | installed size in bytes | `installed_size` |
//! | `L` | licence expression | `licenses` (one string, kept whole) |
//! | `o` | origin (the source package) | `source` with the binary's version |
//! | `m` | maintainer | `maintainer` |
//! | `C` | checksum of the control section (`Q1` + base64 SHA-1) | `checksum`, verbatim |
//! | `F` | a directory, relative to the root | the directory of the `R` lines after it |
//! | `R` | a file in the current directory | an entry of `files` |
//! | `Z` | the checksum of the last `R` file | its digest: `sha1:<hex>` from `Q1` + base64, `sha256:<hex>` from `Q2`, `md5:`/`sha1:`/`sha256:` from plain hex by length |
//!
//! Every other key (`S`, `T`, `U`, `t`, `c`, `D`, `p`, `i`, `r`, `q`, `k`,
//! `M`, `a`, `s`, …) is accepted and ignored. Directories (`F`) are not
//! listed among a package's files, only the `R` entries are.
//!
//! Problems are reported with the line number and never stop the parse: a
//! stanza without `P` or `V` is dropped, a line that is not `X:value` is
//! skipped, a checksum that does not decode leaves the file without a
//! digest. CR before a newline is tolerated (apk never writes one).
//!
//! The purl is `pkg:apk/<namespace>/<name>@<version>?arch=<A>&distro=<id>-<version_id>`.
//! The namespace is the image's distro `ID` (`alpine`, `wolfi`,
//! `chainguard`, …); when the distro is unknown it is `alpine`, the origin of
//! the format and by far its most common user, and the `distro` qualifier is
//! left out.
//!
//! Each package's location is the database file and the layer it came from;
//! its `layer` (the layer that introduced it) is left unset for the
//! dispatcher, which sees every layer, to fill.
use drydock_core::{
    ImagePath, Location, OwnedFile, Package, PackageKind, PathError, Purl, SourcePackage,
};

use crate::{Cataloger, Claims, Context, FileRef, Files, Found};

pub(crate) struct ApkCataloger;

const ID: &str = "apk-db";
const DB_PATH: &str = "lib/apk/db/installed";
/// At most this many problems are reported per database file; the rest are
/// counted in one last problem.
const MAX_PROBLEMS: usize = 100;
/// The namespace when the image's distro is unknown.
const DEFAULT_NAMESPACE: &str = "alpine";

impl Cataloger for ApkCataloger {
    fn id(&self) -> &'static str {
        ID
    }
    fn version(&self) -> u32 {
        1
    }
    fn claims(&self) -> Claims {
        Claims {
            paths: vec![DB_PATH],
            globs: vec![],
            max_bytes: 256 << 20,
            executables: false,
        }
    }
    fn catalog(&self, files: &Files<'_>, context: &Context) -> Found {
        // Unreadable claimed files are reported by the dispatcher.
        let mut found = Found::default();
        if let Some(file) = files.get(DB_PATH) {
            catalog_database(file, context, &mut found);
        }
        found
    }
}

fn catalog_database(file: &FileRef<'_>, context: &Context, found: &mut Found) {
    let (records, problems) = parse_installed(file.bytes);
    let namespace = context
        .distro
        .as_ref()
        .map_or(DEFAULT_NAMESPACE, |distro| distro.id.as_str());
    let distro_qualifier = context
        .distro
        .as_ref()
        .map(drydock_core::Distro::purl_qualifier)
        .unwrap_or_default();
    for record in records {
        let purl = Purl::new("apk", &record.name)
            .with_namespace(namespace)
            .with_version(&record.version)
            .with_qualifier("arch", record.arch.as_deref().unwrap_or_default())
            .with_qualifier("distro", &distro_qualifier);
        let source = record.origin.map(|origin| SourcePackage {
            name: origin,
            version: record.version.clone(),
        });
        found.packages.push(Package {
            name: record.name,
            version: record.version,
            kind: PackageKind::Apk,
            purl,
            arch: record.arch,
            source,
            licenses: record.license.into_iter().collect(),
            maintainer: record.maintainer,
            installed_size: record.installed_size,
            checksum: record.checksum,
            installed: true,
            locations: vec![Location {
                path: file.path.clone(),
                layer: file.layer.clone(),
            }],
            // Left to the dispatcher, which sees which layer introduced it.
            layer: None,
            files: record.files,
        });
    }
    for reason in problems.kept {
        found.problem(ID, file, reason);
    }
    if problems.dropped > 0 {
        found.problem(
            ID,
            file,
            format!("{} more problems not shown", problems.dropped),
        );
    }
}

/// Problem reasons of one file: the first [`MAX_PROBLEMS`] kept, the rest
/// counted, so hostile input cannot grow the list without bound.
#[derive(Default)]
struct Problems {
    kept: Vec<String>,
    dropped: usize,
}

impl Problems {
    fn push(&mut self, reason: String) {
        if self.kept.len() < MAX_PROBLEMS {
            self.kept.push(reason);
        } else {
            self.dropped = self.dropped.saturating_add(1);
        }
    }
}

/// One stanza of the database, before it becomes a [`Package`].
#[derive(Default)]
struct Record {
    name: String,
    version: String,
    arch: Option<String>,
    origin: Option<String>,
    license: Option<String>,
    maintainer: Option<String>,
    installed_size: Option<u64>,
    checksum: Option<String>,
    files: Vec<OwnedFile>,
}

/// The stanza being read: the record, where it started, and the `F`
/// directory the following `R` lines are in (`None` after an `F` that is
/// not a valid path, so its files are skipped rather than misplaced). A
/// stanza of nothing but malformed lines is not reported a second time as
/// lacking `P:` and `V:`.
struct Stanza {
    record: Record,
    first_line: usize,
    directory: Option<ImagePath>,
    has_fields: bool,
}

impl Stanza {
    fn new(first_line: usize) -> Stanza {
        Stanza {
            record: Record::default(),
            first_line,
            directory: Some(ImagePath::root()),
            has_fields: false,
        }
    }
}

/// Parse an installed database into records and problem reasons (each
/// starting with the line it is about).
fn parse_installed(bytes: &[u8]) -> (Vec<Record>, Problems) {
    let mut records = Vec::new();
    let mut problems = Problems::default();
    let mut stanza = Stanza::new(1);
    for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let number = index + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            finish(stanza, &mut records, &mut problems);
            stanza = Stanza::new(number + 1);
            continue;
        }
        let [key, b':', value @ ..] = line else {
            problems.push(format!(
                "line {number}: `{}` is not a `X:value` field",
                shown(line)
            ));
            continue;
        };
        stanza.has_fields = true;
        read_field(&mut stanza, *key, value, number, &mut problems);
    }
    finish(stanza, &mut records, &mut problems);
    (records, problems)
}

fn read_field(stanza: &mut Stanza, key: u8, value: &[u8], number: usize, problems: &mut Problems) {
    let record = &mut stanza.record;
    match key {
        b'P' => record.name = lossy(value),
        b'V' => record.version = lossy(value),
        b'A' => record.arch = non_empty(value),
        b'o' => record.origin = non_empty(value),
        b'L' => record.license = non_empty(value),
        b'm' => record.maintainer = non_empty(value),
        b'C' => record.checksum = non_empty(value),
        b'I' => match std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()) {
            Some(size) => record.installed_size = Some(size),
            None => problems.push(format!(
                "line {number}: installed size `I:{}` is not a number",
                shown(value)
            )),
        },
        b'F' => match ImagePath::new(value) {
            Ok(directory) => stanza.directory = Some(directory),
            Err(error) => {
                stanza.directory = None;
                problems.push(format!(
                    "line {number}: directory `F:{}`: {}; its files are skipped",
                    shown(value),
                    path_reason(&error)
                ));
            }
        },
        b'R' => {
            let Some(directory) = &stanza.directory else {
                return;
            };
            let mut full = directory.as_bytes().to_vec();
            full.push(b'/');
            full.extend_from_slice(value);
            match ImagePath::new(&full) {
                Ok(path) if !value.is_empty() && path != *directory => {
                    record.files.push(OwnedFile { path, digest: None });
                }
                Ok(_) => problems.push(format!(
                    "line {number}: file `R:{}` names no file",
                    shown(value)
                )),
                Err(error) => {
                    problems.push(format!(
                        "line {number}: file `R:{}`: {}",
                        shown(value),
                        path_reason(&error)
                    ));
                }
            }
        }
        b'Z' => {
            let Some(file) = record.files.last_mut() else {
                problems.push(format!(
                    "line {number}: checksum `Z:{}` before any file",
                    shown(value)
                ));
                return;
            };
            match decode_checksum(value) {
                Some(digest) => file.digest = Some(digest),
                None => problems.push(format!(
                    "line {number}: checksum `Z:{}` of `{}` is not `Q1`/`Q2` base64 or hex",
                    shown(value),
                    file.path
                )),
            }
        }
        _ => {}
    }
}

fn finish(stanza: Stanza, records: &mut Vec<Record>, problems: &mut Problems) {
    if !stanza.has_fields {
        return;
    }
    let record = stanza.record;
    let missing: Vec<&str> = [
        (record.name.is_empty(), "`P:` (name)"),
        (record.version.is_empty(), "`V:` (version)"),
    ]
    .into_iter()
    .filter_map(|(missing, what)| missing.then_some(what))
    .collect();
    if missing.is_empty() {
        records.push(record);
    } else {
        let which = if record.name.is_empty() {
            String::new()
        } else {
            format!(" `{}`", record.name)
        };
        problems.push(format!(
            "line {}: package stanza{which} without {}; skipped",
            stanza.first_line,
            missing.join(" and ")
        ));
    }
}

fn non_empty(value: &[u8]) -> Option<String> {
    (!value.is_empty()).then(|| lossy(value))
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Why a path was refused, without repeating the (possibly long) path.
fn path_reason(error: &PathError) -> &'static str {
    match error {
        PathError::Absolute(_) => "the path is absolute",
        PathError::Traversal(_) => "the path climbs out of the root with `..`",
        PathError::Nul(_) => "the path contains a NUL byte",
    }
}

/// A value quoted in a problem: at most 80 bytes of it.
fn shown(bytes: &[u8]) -> String {
    const MAX: usize = 80;
    match bytes.get(..MAX) {
        Some(head) if bytes.len() > MAX => format!("{}…", String::from_utf8_lossy(head)),
        _ => lossy(bytes),
    }
}

/// An apk checksum as `algorithm:hex`: `Q1` + base64 is SHA-1, `Q2` + base64
/// is SHA-256; plain hex is MD5, SHA-1 or SHA-256 by its length.
fn decode_checksum(value: &[u8]) -> Option<String> {
    let (algorithm, raw) = match value {
        [b'Q', b'1', rest @ ..] => ("sha1", decode_base64(rest)?),
        [b'Q', b'2', rest @ ..] => ("sha256", decode_base64(rest)?),
        hex => {
            let algorithm = match hex.len() {
                32 => "md5",
                40 => "sha1",
                64 => "sha256",
                _ => return None,
            };
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            return Some(format!(
                "{algorithm}:{}",
                String::from_utf8_lossy(hex).to_ascii_lowercase()
            ));
        }
    };
    let expected = if algorithm == "sha1" { 20 } else { 32 };
    (raw.len() == expected).then(|| format!("{algorithm}:{}", drydock_core::to_hex(&raw)))
}

/// Standard base64 (RFC 4648 §4), padding optional. `None` on any other
/// character, on data after padding, or on a length no encoder produces.
fn decode_base64(text: &[u8]) -> Option<Vec<u8>> {
    fn sextet(c: u8) -> Option<u32> {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        Some(u32::from(value))
    }
    let data_len = text.iter().position(|&c| c == b'=').unwrap_or(text.len());
    let (data, padding) = text.split_at_checked(data_len)?;
    if padding.len() > 2 || padding.iter().any(|&c| c != b'=') {
        return None;
    }
    if data.len() % 4 == 1 || (!padding.is_empty() && (data.len() + padding.len()) % 4 != 0) {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() / 4 * 3 + 2);
    for chunk in data.chunks(4) {
        let mut bits = 0u32;
        for &c in chunk {
            bits = (bits << 6) | sextet(c)?;
        }
        // A chunk of n sextets carries n*6 bits: 4 → 3 bytes, 3 → 2, 2 → 1.
        let (kept, shift) = match chunk.len() {
            4 => (3, 0),
            3 => (2, 2),
            _ => (1, 4),
        };
        let value = (bits >> shift).to_be_bytes();
        out.extend(value.iter().skip(4 - kept));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_rfc4648_vectors() {
        // RFC 4648 §10.
        for (encoded, decoded) in [
            ("", ""),
            ("Zg==", "f"),
            ("Zm8=", "fo"),
            ("Zm9v", "foo"),
            ("Zm9vYg==", "foob"),
            ("Zm9vYmE=", "fooba"),
            ("Zm9vYmFy", "foobar"),
            ("Zm9vYg", "foob"),
        ] {
            assert_eq!(
                decode_base64(encoded.as_bytes()).as_deref(),
                Some(decoded.as_bytes()),
                "{encoded}"
            );
        }
        for bad in ["Z", "Zg=", "Zg==Zg==", "Zm9v!", "Zg===", "Z==="] {
            assert_eq!(decode_base64(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn hex_checksums_by_length() {
        assert_eq!(
            decode_checksum(b"D41D8CD98F00B204E9800998ECF8427E").as_deref(),
            Some("md5:d41d8cd98f00b204e9800998ecf8427e")
        );
        assert_eq!(decode_checksum(b"abc"), None);
        assert_eq!(decode_checksum(b"Q1AAAA"), None);
    }
}

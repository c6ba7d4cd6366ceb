//! rpm: the rpmdb, in all three formats rpm has written.
//!
//! - `rpmdb.sqlite` (rpm ≥ 4.16, Fedora ≥ 33, RHEL ≥ 9): SQLite, read by [`sqlite`].
//! - `Packages.db` (rpm ≥ 4.16 "ndb", openSUSE): rpm's own format, read by [`ndb`].
//! - `Packages` (rpm < 4.16, RHEL ≤ 8, CentOS): Berkeley DB hash, read by [`bdb`].
//!
//! Each holds one header blob per installed package ([`header`]). The
//! databases live in `var/lib/rpm/` or, on Fedora ≥ 36 and openSUSE,
//! `usr/lib/sysimage/rpm/` (where `var/lib/rpm` is often a link to it).
//! When more than one is present (a converted database leaves the old one
//! behind) only the first that opens is read, in the order sqlite, ndb, bdb,
//! so no package is counted twice.

mod bdb;
mod header;
mod ndb;
mod sqlite;

use std::borrow::Cow;

use drydock_core::{ImagePath, Location, OwnedFile, Package, PackageKind, Purl, SourcePackage};

use crate::{Cataloger, Claims, Context, FileRef, Files, Found};
use header::{
    Header, HeaderError, TAG_ARCH, TAG_BASENAMES, TAG_DIRINDEXES, TAG_DIRNAMES, TAG_EPOCH,
    TAG_FILEDIGESTALGO, TAG_FILEDIGESTS, TAG_LICENSE, TAG_LONGSIZE, TAG_NAME, TAG_OLDFILENAMES,
    TAG_PACKAGER, TAG_RELEASE, TAG_SIZE, TAG_SOURCERPM, TAG_VENDOR, TAG_VERSION,
};

const ID: &str = "rpm-db";

/// The header blobs one database holds, each labelled for problem messages
/// (`hnum 3`, `package 3`, `header 3`), and problems with single records.
#[derive(Debug, Default)]
pub(crate) struct Blobs<'a> {
    pub(crate) blobs: Vec<(String, Cow<'a, [u8]>)>,
    pub(crate) problems: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Sqlite,
    Ndb,
    Bdb,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Sqlite => "sqlite",
            Format::Ndb => "ndb",
            Format::Bdb => "Berkeley DB",
        }
    }

    fn read(self, bytes: &[u8]) -> Result<Blobs<'_>, String> {
        match self {
            Format::Sqlite => sqlite::read(bytes).map_err(|error| error.to_string()),
            Format::Ndb => ndb::read(bytes).map_err(|error| error.to_string()),
            Format::Bdb => bdb::read(bytes).map_err(|error| error.to_string()),
        }
    }
}

/// The database files, in order of preference.
const DATABASES: &[(&str, Format)] = &[
    ("usr/lib/sysimage/rpm/rpmdb.sqlite", Format::Sqlite),
    ("var/lib/rpm/rpmdb.sqlite", Format::Sqlite),
    ("usr/lib/sysimage/rpm/Packages.db", Format::Ndb),
    ("var/lib/rpm/Packages.db", Format::Ndb),
    ("usr/lib/sysimage/rpm/Packages", Format::Bdb),
    ("var/lib/rpm/Packages", Format::Bdb),
];

pub(crate) struct RpmCataloger;

impl Cataloger for RpmCataloger {
    fn id(&self) -> &'static str {
        ID
    }
    fn version(&self) -> u32 {
        1
    }
    fn claims(&self) -> Claims {
        Claims {
            paths: DATABASES.iter().map(|&(path, _)| path).collect(),
            globs: vec![],
            max_bytes: 512 << 20,
            executables: false,
        }
    }
    fn catalog(&self, files: &Files<'_>, context: &Context) -> Found {
        // Unreadable claimed files (too large, dangling links) are reported by
        // the dispatcher.
        let mut found = Found::default();
        for &(path, format) in DATABASES {
            let Some(file) = files.get(path) else {
                continue;
            };
            // A database that cannot be opened at all is reported and the next
            // one tried; the first that opens is the answer.
            match format.read(file.bytes) {
                Ok(blobs) => {
                    catalog_blobs(&blobs, file, context, &mut found);
                    break;
                }
                Err(reason) => {
                    found.problem(ID, file, format!("{} rpmdb: {reason}", format.name()));
                }
            }
        }
        found
    }
}

/// At most this many problems are reported per database file; the rest are
/// counted in one last problem.
const MAX_PROBLEMS: usize = 100;

fn catalog_blobs(blobs: &Blobs<'_>, file: &FileRef<'_>, context: &Context, found: &mut Found) {
    let mut problems: Vec<String> = blobs.problems.clone();
    for (label, blob) in &blobs.blobs {
        match package(blob, file, context) {
            Ok(Some((package, bad_paths))) => {
                if bad_paths > 0 {
                    problems.push(format!(
                        "{label}: package `{}`: {bad_paths} file paths are not valid image paths and are left out",
                        package.name
                    ));
                }
                found.packages.push(package);
            }
            Ok(None) => {}
            Err(reason) => problems.push(format!("{label}: {reason}")),
        }
    }
    let dropped = problems.len().saturating_sub(MAX_PROBLEMS);
    for reason in problems.into_iter().take(MAX_PROBLEMS) {
        found.problem(ID, file, reason);
    }
    if dropped > 0 {
        found.problem(ID, file, format!("{dropped} more problems not shown"));
    }
}

/// A package's files: absolute paths as rpm records them, with
/// `algorithm:hex` digests (none for directories and links).
pub(crate) type FileList = Vec<(Vec<u8>, Option<String>)>;

/// What the cataloger reads from one header.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) name: String,
    pub(crate) epoch: Option<u64>,
    pub(crate) version: String,
    pub(crate) release: String,
    pub(crate) arch: Option<String>,
    pub(crate) source_rpm: Option<String>,
    pub(crate) license: Option<String>,
    pub(crate) size: Option<u64>,
    pub(crate) maintainer: Option<String>,
    pub(crate) files: FileList,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum RecordError {
    #[error("header: {0}")]
    Header(#[from] HeaderError),
    #[error("header has no {0}")]
    Missing(&'static str),
    #[error("header file lists disagree: {0}")]
    Files(&'static str),
}

/// The name of a file digest algorithm (`FILEDIGESTALGO`, OpenPGP hash
/// algorithm numbers, RFC 4880 §9.4).
fn digest_algorithm(number: u64) -> Cow<'static, str> {
    Cow::Borrowed(match number {
        1 => "md5",
        2 => "sha1",
        3 => "ripemd160",
        8 => "sha256",
        9 => "sha384",
        10 => "sha512",
        11 => "sha224",
        other => return Cow::Owned(format!("pgp-hash-{other}")),
    })
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|value| !value.is_empty())
}

impl Record {
    pub(crate) fn from_header(header: &Header<'_>) -> Result<Record, RecordError> {
        let name = non_empty(header.string(TAG_NAME)?).ok_or(RecordError::Missing("NAME"))?;
        let version =
            non_empty(header.string(TAG_VERSION)?).ok_or(RecordError::Missing("VERSION"))?;
        let release = header
            .string(TAG_RELEASE)?
            .ok_or(RecordError::Missing("RELEASE"))?;
        let size = match header.integer(TAG_LONGSIZE)? {
            Some(size) => Some(size),
            None => header.integer(TAG_SIZE)?,
        };
        let maintainer = match non_empty(header.string(TAG_PACKAGER)?) {
            Some(packager) => Some(packager),
            None => non_empty(header.string(TAG_VENDOR)?),
        };
        Ok(Record {
            name,
            epoch: header.integer(TAG_EPOCH)?,
            version,
            release,
            arch: non_empty(header.string(TAG_ARCH)?),
            source_rpm: non_empty(header.string(TAG_SOURCERPM)?),
            license: non_empty(header.string(TAG_LICENSE)?),
            size,
            maintainer,
            files: files(header)?,
        })
    }

    /// `[epoch:]version-release`, as `rpm -q --qf '%{EVR}'` prints it.
    pub(crate) fn evr(&self) -> String {
        match self.epoch {
            Some(epoch) => format!("{epoch}:{}-{}", self.version, self.release),
            None => format!("{}-{}", self.version, self.release),
        }
    }
}

fn files(header: &Header<'_>) -> Result<FileList, RecordError> {
    let basenames = header.string_array(TAG_BASENAMES)?;
    let paths: Vec<Vec<u8>> = if basenames.is_empty() {
        // Headers older than rpm 4.0 list whole paths.
        header
            .string_array(TAG_OLDFILENAMES)?
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect()
    } else {
        let dirnames = header.string_array(TAG_DIRNAMES)?;
        let indexes = header.integers(TAG_DIRINDEXES)?;
        if indexes.len() != basenames.len() {
            return Err(RecordError::Files(
                "BASENAMES and DIRINDEXES differ in length",
            ));
        }
        basenames
            .iter()
            .zip(&indexes)
            .map(|(base, &index)| {
                let dir = usize::try_from(index)
                    .ok()
                    .and_then(|index| dirnames.get(index))
                    .ok_or(RecordError::Files("a DIRINDEXES entry is past DIRNAMES"))?;
                Ok([*dir, *base].concat())
            })
            .collect::<Result<_, RecordError>>()?
    };
    let digests = header.string_array(TAG_FILEDIGESTS)?;
    if !digests.is_empty() && digests.len() != paths.len() {
        return Err(RecordError::Files(
            "FILEDIGESTS and the file names differ in length",
        ));
    }
    // rpm < 4.6 wrote no FILEDIGESTALGO: its digests are MD5.
    let algorithm = digest_algorithm(header.integer(TAG_FILEDIGESTALGO)?.unwrap_or(1));
    Ok(paths
        .into_iter()
        .enumerate()
        .map(|(i, path)| {
            let digest = digests
                .get(i)
                .filter(|digest| !digest.is_empty())
                .map(|digest| format!("{algorithm}:{}", String::from_utf8_lossy(digest)));
            (path, digest)
        })
        .collect())
}

/// `name-version-release.src.rpm` → (name, `version-release`), split from the
/// right since names may contain `-`.
fn source_package(source_rpm: &str) -> Option<SourcePackage> {
    let stem = source_rpm
        .strip_suffix(".src.rpm")
        .or_else(|| source_rpm.strip_suffix(".nosrc.rpm"))?;
    let (rest, release) = stem.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() {
        return None;
    }
    Some(SourcePackage {
        name: name.to_owned(),
        version: format!("{version}-{release}"),
    })
}

/// The package a header blob describes (`None` for `gpg-pubkey`), and how many
/// of its file paths could not be made image paths.
fn package(
    blob: &[u8],
    file: &FileRef<'_>,
    context: &Context,
) -> Result<Option<(Package, usize)>, RecordError> {
    let header = Header::parse(blob)?;
    let record = Record::from_header(&header)?;
    // `gpg-pubkey` entries are how rpm stores the OpenPGP keys imported with
    // `rpm --import`: pseudo-packages with no files, no source and a version
    // made from the key id. They are not installed software and match no
    // advisory, so they are not reported as packages.
    if record.name == "gpg-pubkey" {
        return Ok(None);
    }
    let mut purl = Purl::new("rpm", &record.name)
        .with_version(&format!("{}-{}", record.version, record.release))
        .with_qualifier("arch", record.arch.as_deref().unwrap_or_default())
        .with_qualifier(
            "epoch",
            &record
                .epoch
                .map(|epoch| epoch.to_string())
                .unwrap_or_default(),
        );
    if let Some(distro) = &context.distro {
        purl = purl
            .with_namespace(&distro.id)
            .with_qualifier("distro", &distro.purl_qualifier());
    }
    let version = record.evr();
    let mut files = Vec::with_capacity(record.files.len());
    let mut bad_paths = 0;
    for (path, digest) in record.files {
        match ImagePath::new(&path) {
            Ok(path) => files.push(OwnedFile { path, digest }),
            Err(_) => bad_paths += 1,
        }
    }
    let package = Package {
        version,
        kind: PackageKind::Rpm,
        purl,
        arch: record.arch,
        source: record.source_rpm.as_deref().and_then(source_package),
        licenses: record.license.into_iter().collect(),
        maintainer: record.maintainer,
        installed_size: record.size,
        checksum: None,
        installed: true,
        locations: vec![Location {
            path: file.path.clone(),
            layer: file.layer.clone(),
        }],
        layer: None,
        files,
        name: record.name,
    };
    Ok(Some((package, bad_paths)))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test code: a panic is a failed test"
)]
mod tests {
    use super::header::{TYPE_INT32, TYPE_STRING, TYPE_STRING_ARRAY, build};
    use super::*;

    #[test]
    fn source_rpm_names_split_from_the_right() {
        let source = source_package("python3-dateutil-2.8.2-5.fc38.src.rpm").unwrap();
        assert_eq!(source.name, "python3-dateutil");
        assert_eq!(source.version, "2.8.2-5.fc38");
        assert_eq!(source_package("x-1-2.nosrc.rpm").unwrap().version, "1-2");
        assert_eq!(source_package("no-release.src.rpm"), None);
        assert_eq!(source_package("not-a-source-1-2.rpm"), None);
    }

    /// An ndb file (see [`ndb`]) holding `blobs`: the test's way to put a
    /// hand-made header blob into a database the cataloger reads.
    fn ndb_with(blobs: &[Vec<u8>]) -> Vec<u8> {
        let mut db = vec![0u8; 4096];
        db[..4].copy_from_slice(b"RpmP");
        db[12..16].copy_from_slice(&1u32.to_le_bytes());
        for slot in db[32..].chunks_exact_mut(16) {
            slot[..4].copy_from_slice(b"Slot");
        }
        for (i, blob) in blobs.iter().enumerate() {
            let pkgidx = i as u32 + 1;
            let blocks = (16 + blob.len() + 12).div_ceil(16);
            let start = db.len();
            let mut area = Vec::new();
            area.extend_from_slice(b"BlbS");
            area.extend_from_slice(&pkgidx.to_le_bytes());
            area.extend_from_slice(&1u32.to_le_bytes());
            area.extend_from_slice(&(blob.len() as u32).to_le_bytes());
            area.extend_from_slice(blob);
            area.resize(blocks * 16 - 12, 0);
            let adler = {
                let (mut a, mut b) = (1u32, 0u32);
                for &byte in &area {
                    a = (a + u32::from(byte)) % 65521;
                    b = (b + a) % 65521;
                }
                b << 16 | a
            };
            area.extend_from_slice(&adler.to_le_bytes());
            area.extend_from_slice(&(blob.len() as u32).to_le_bytes());
            area.extend_from_slice(b"BlbE");
            db.extend_from_slice(&area);
            let slot = &mut db[32 + 16 * i..48 + 16 * i];
            slot[4..8].copy_from_slice(&pkgidx.to_le_bytes());
            slot[8..12].copy_from_slice(&((start / 16) as u32).to_le_bytes());
            slot[12..16].copy_from_slice(&(blocks as u32).to_le_bytes());
        }
        db
    }

    fn catalog_ndb(db: &[u8]) -> Found {
        let file = FileRef {
            path: ImagePath::new("var/lib/rpm/Packages.db").unwrap(),
            bytes: db,
            layer: None,
        };
        RpmCataloger.catalog(&Files::new(vec![file]), &Context::default())
    }

    fn minimal(name: &str) -> Vec<u8> {
        let name = format!("{name}\0");
        build(&[
            (TAG_NAME, TYPE_STRING, name.as_bytes(), 1),
            (TAG_VERSION, TYPE_STRING, b"1\0", 1),
            (TAG_RELEASE, TYPE_STRING, b"2\0", 1),
        ])
    }

    #[test]
    fn hand_made_blobs_are_read_and_gpg_pubkey_is_skipped() {
        let found = catalog_ndb(&ndb_with(&[minimal("tiny"), minimal("gpg-pubkey")]));
        assert!(found.problems.is_empty(), "{:?}", found.problems);
        assert_eq!(found.packages.len(), 1);
        let tiny = &found.packages[0];
        assert_eq!((tiny.name.as_str(), tiny.version.as_str()), ("tiny", "1-2"));
        assert_eq!(tiny.purl.to_string(), "pkg:rpm/tiny@1-2");
        assert_eq!((tiny.arch.clone(), tiny.source.clone()), (None, None));
    }

    #[test]
    fn a_header_claiming_more_entries_than_it_holds_is_a_problem() {
        let mut lying = minimal("liar");
        lying[3] = 100; // 100 index entries; the blob holds 3
        let found = catalog_ndb(&ndb_with(&[minimal("honest"), lying]));
        assert_eq!(found.packages.len(), 1);
        assert_eq!(found.problems.len(), 1, "{:?}", found.problems);
        assert!(
            found.problems[0]
                .reason
                .starts_with("package 2: header: header blob claims"),
            "{}",
            found.problems[0].reason
        );
    }

    #[test]
    fn problems_are_capped_per_database() {
        let mut lying = minimal("liar");
        lying[3] = 100;
        let found = catalog_ndb(&ndb_with(&vec![lying; 150]));
        assert_eq!(found.problems.len(), MAX_PROBLEMS + 1);
        assert_eq!(
            found.problems[MAX_PROBLEMS].reason,
            "50 more problems not shown"
        );
    }

    #[test]
    fn inconsistent_file_lists_and_missing_names_are_problems() {
        let mismatched = build(&[
            (TAG_NAME, TYPE_STRING, b"files\0", 1),
            (TAG_VERSION, TYPE_STRING, b"1\0", 1),
            (TAG_RELEASE, TYPE_STRING, b"1\0", 1),
            (TAG_BASENAMES, TYPE_STRING_ARRAY, b"a\0b\0", 2),
            (TAG_DIRNAMES, TYPE_STRING_ARRAY, b"/x/\0", 1),
            (TAG_DIRINDEXES, TYPE_INT32, &[0, 0, 0, 0, 0, 0, 0, 7], 2),
        ]);
        let nameless = build(&[(TAG_VERSION, TYPE_STRING, b"1\0", 1)]);
        let found = catalog_ndb(&ndb_with(&[mismatched, nameless]));
        assert!(found.packages.is_empty());
        let reasons: Vec<&str> = found.problems.iter().map(|p| p.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "package 1: header file lists disagree: a DIRINDEXES entry is past DIRNAMES",
                "package 2: header has no NAME",
            ]
        );
    }

    #[test]
    fn unsafe_file_paths_are_counted_as_a_problem() {
        let blob = build(&[
            (TAG_NAME, TYPE_STRING, b"climber\0", 1),
            (TAG_VERSION, TYPE_STRING, b"1\0", 1),
            (TAG_RELEASE, TYPE_STRING, b"1\0", 1),
            (
                TAG_OLDFILENAMES,
                TYPE_STRING_ARRAY,
                b"/etc/ok\0/../../escape\0",
                2,
            ),
        ]);
        let found = catalog_ndb(&ndb_with(&[blob]));
        assert_eq!(found.packages[0].files.len(), 1);
        assert_eq!(found.packages[0].files[0].path.to_string(), "/etc/ok");
        assert_eq!(found.problems.len(), 1, "{:?}", found.problems);
    }
}

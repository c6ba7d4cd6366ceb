//! dpkg: `var/lib/dpkg/status`, distroless `var/lib/dpkg/status.d/*`, owned
//! files from `var/lib/dpkg/info/*.list` and `*.md5sums`, licenses from
//! machine-readable `usr/share/doc/*/copyright` files.
use std::collections::{BTreeSet, HashMap};

use drydock_core::{ImagePath, Location, OwnedFile, Package, PackageKind, Purl, SourcePackage};

use crate::{Cataloger, Claims, Context, FileRef, Files, Found};

pub(crate) struct DpkgCataloger;

const ID: &str = "dpkg-db";
const STATUS: &str = "var/lib/dpkg/status";
const STATUS_D: &str = "var/lib/dpkg/status.d";
const INFO: &str = "var/lib/dpkg/info";

impl Cataloger for DpkgCataloger {
    fn id(&self) -> &'static str {
        ID
    }

    fn version(&self) -> u32 {
        1
    }

    fn claims(&self) -> Claims {
        Claims {
            paths: vec![STATUS],
            globs: vec![
                "var/lib/dpkg/status.d/*",
                "var/lib/dpkg/info/*.list",
                "var/lib/dpkg/info/*.md5sums",
                "usr/share/doc/*/copyright",
            ],
            max_bytes: 256 << 20,
            executables: false,
        }
    }

    fn catalog(&self, files: &Files<'_>, context: &Context) -> Found {
        let mut found = Found::default();
        let mut stanzas: Vec<(Stanza, &FileRef<'_>)> = Vec::new();
        if let Some(status) = files.get(STATUS) {
            read_stanzas(status, &mut stanzas, &mut found);
        }
        for file in files.in_dir(STATUS_D, "") {
            let name = file.path.file_name();
            if name.ends_with(b".md5sums") || name.starts_with(b".") {
                continue;
            }
            read_stanzas(file, &mut stanzas, &mut found);
        }
        let namespace = context.distro.as_ref().map_or("debian", |d| d.id.as_str());
        let distro = context
            .distro
            .as_ref()
            .map(drydock_core::Distro::purl_qualifier);
        for (stanza, file) in stanzas {
            if !stanza.has_files_on_disk() {
                continue;
            }
            let (Some(name), Some(version)) = (stanza.get("Package"), stanza.get("Version")) else {
                found.problem(ID, file, "a package stanza without Package or Version");
                continue;
            };
            let arch = stanza.get("Architecture").filter(|a| !a.is_empty());
            let source = source_of(&stanza, name, version);
            let mut purl = Purl::new("deb", name)
                .with_namespace(namespace)
                .with_version(version)
                .with_qualifier("arch", arch.unwrap_or(""));
            if let Some(distro) = &distro {
                purl = purl.with_qualifier("distro", distro);
            }
            let owned = owned_files(files, name, arch, file.path.parent().as_ref(), &mut found);
            let licenses = files
                .get(&format!("usr/share/doc/{name}/copyright"))
                .map(|f| copyright_licenses(f.bytes))
                .unwrap_or_default();
            found.packages.push(Package {
                name: name.to_owned(),
                version: version.to_owned(),
                kind: PackageKind::Deb,
                purl,
                arch: arch.map(str::to_owned),
                source: Some(source),
                licenses,
                maintainer: stanza.get("Maintainer").map(str::to_owned),
                installed_size: stanza
                    .get("Installed-Size")
                    .and_then(|s| s.trim().parse::<u64>().ok())
                    .map(|kib| kib.saturating_mul(1024)),
                checksum: None,
                installed: true,
                locations: vec![Location {
                    path: file.path.clone(),
                    layer: file.layer.clone(),
                }],
                layer: None,
                files: owned,
            });
        }
        found
    }
}

/// One control stanza: field names are case-insensitive, values keep their
/// continuation lines.
struct Stanza {
    fields: Vec<(String, String)>,
}

impl Stanza {
    fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// dpkg's package states from `unpacked` up to `installed` have their
    /// files on disk; `not-installed`, `config-files` and `half-installed`
    /// do not (fully). Distroless status.d entries carry no Status field and
    /// describe installed packages.
    fn has_files_on_disk(&self) -> bool {
        let Some(status) = self.get("Status") else {
            return true;
        };
        matches!(
            status.split_whitespace().nth(2),
            Some(
                "installed"
                    | "triggers-pending"
                    | "triggers-awaited"
                    | "half-configured"
                    | "unpacked"
            )
        )
    }
}

fn read_stanzas<'f>(
    file: &'f FileRef<'f>,
    out: &mut Vec<(Stanza, &'f FileRef<'f>)>,
    found: &mut Found,
) {
    if std::str::from_utf8(file.bytes).is_err() {
        // dpkg writes UTF-8; tolerate stray bytes rather than lose the database.
        found.problem(ID, file, "not valid UTF-8; invalid bytes replaced");
    }
    for stanza in parse_stanzas(&String::from_utf8_lossy(file.bytes)) {
        out.push((stanza, file));
    }
}

/// Split a control file into stanzas.
fn parse_stanzas(text: &str) -> Vec<Stanza> {
    let mut stanzas = Vec::new();
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            if !fields.is_empty() {
                stanzas.push(Stanza {
                    fields: std::mem::take(&mut fields),
                });
            }
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some((_, value)) = fields.last_mut() {
                value.push('\n');
                value.push_str(line.trim_start());
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            fields.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    if !fields.is_empty() {
        stanzas.push(Stanza { fields });
    }
    stanzas
}

/// `Source: name` or `Source: name (version)`; absent means the package is
/// its own source, at its own version.
fn source_of(stanza: &Stanza, name: &str, version: &str) -> SourcePackage {
    let Some(source) = stanza
        .get("Source")
        .map(str::trim)
        .filter(|s| !s.is_empty())
    else {
        return SourcePackage {
            name: name.to_owned(),
            version: version.to_owned(),
        };
    };
    match source.split_once('(') {
        Some((source_name, rest)) => SourcePackage {
            name: source_name.trim().to_owned(),
            version: rest.trim_end().trim_end_matches(')').trim().to_owned(),
        },
        None => SourcePackage {
            name: source.to_owned(),
            version: version.to_owned(),
        },
    }
}

/// Files from `info/<name>.list` or `info/<name>:<arch>.list`, with digests
/// from the matching `.md5sums`. Distroless keeps `status.d/<name>.md5sums`.
fn owned_files(
    files: &Files<'_>,
    name: &str,
    arch: Option<&str>,
    db_dir: Option<&ImagePath>,
    found: &mut Found,
) -> Vec<OwnedFile> {
    let stems: Vec<String> = match arch {
        Some(arch) => vec![format!("{name}:{arch}"), name.to_owned()],
        None => vec![name.to_owned()],
    };
    let find = |suffix: &str| {
        stems
            .iter()
            .find_map(|stem| files.get(&format!("{INFO}/{stem}.{suffix}")))
            .or_else(|| {
                let dir = db_dir?;
                if dir.as_bytes() == STATUS_D.as_bytes() {
                    stems
                        .iter()
                        .find_map(|stem| files.get(&format!("{STATUS_D}/{stem}.{suffix}")))
                } else {
                    None
                }
            })
    };
    let mut digests: HashMap<ImagePath, String> = HashMap::new();
    if let Some(md5sums) = find("md5sums") {
        for line in String::from_utf8_lossy(md5sums.bytes).lines() {
            let Some((digest, path)) = line.split_once(char::is_whitespace) else {
                continue;
            };
            match ImagePath::new(path.trim_start()) {
                Ok(path) => {
                    digests.insert(path, format!("md5:{digest}"));
                }
                Err(e) => found.problem(ID, md5sums, format!("bad path: {e}")),
            }
        }
    }
    let mut owned: BTreeSet<OwnedFile> = BTreeSet::new();
    if let Some(list) = find("list") {
        for line in String::from_utf8_lossy(list.bytes).lines() {
            if line.is_empty() || line == "/." {
                continue;
            }
            match ImagePath::new(line) {
                Ok(path) => {
                    let digest = digests.remove(&path);
                    owned.insert(OwnedFile { path, digest });
                }
                Err(e) => found.problem(ID, list, format!("bad path: {e}")),
            }
        }
    }
    for (path, digest) in digests {
        owned.insert(OwnedFile {
            path,
            digest: Some(digest),
        });
    }
    owned.into_iter().collect()
}

/// License short names from a machine-readable (DEP-5) copyright file: the
/// first line of every `License:` field, in order of first appearance.
fn copyright_licenses(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut licenses: Vec<String> = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("License:") else {
            continue;
        };
        let name = rest.trim();
        if !name.is_empty() && !licenses.iter().any(|l| l == name) {
            licenses.push(name.to_owned());
        }
    }
    licenses
}

/// Parse a status file and return (package, version, source name, source
/// version) of the packages with files on disk. For fuzzing and tests.
pub fn parse_status(bytes: &[u8]) -> Vec<(String, String, String, String)> {
    let text = String::from_utf8_lossy(bytes);
    parse_stanzas(&text)
        .iter()
        .filter(|s| s.has_files_on_disk())
        .filter_map(|s| {
            let name = s.get("Package")?;
            let version = s.get("Version")?;
            let source = source_of(s, name, version);
            Some((
                name.to_owned(),
                version.to_owned(),
                source.name,
                source.version,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS_TEXT: &str = "Package: libssl3\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\nMulti-Arch: same\nMaintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>\nInstalled-Size: 6200\nSource: openssl\nVersion: 3.0.11-1~deb12u2\nDescription: Secure Sockets Layer toolkit\n shared libraries\n\nPackage: removed\nStatus: deinstall ok config-files\nVersion: 1.0\n\nPackage: libgcc-s1\nStatus: install ok installed\nArchitecture: amd64\nSource: gcc-12 (12.2.0-14)\nVersion: 12.2.0-14\n\nPackage: tzdata\nStatus: install ok installed\nArchitecture: all\nVersion: 2024a-0+deb12u1\n";

    fn image_path(s: &str) -> ImagePath {
        ImagePath::new(s).unwrap_or_default()
    }

    #[test]
    fn status_fields_sources_and_states() {
        let parsed = parse_status(STATUS_TEXT.as_bytes());
        assert_eq!(
            parsed,
            vec![
                (
                    "libssl3".into(),
                    "3.0.11-1~deb12u2".into(),
                    "openssl".into(),
                    "3.0.11-1~deb12u2".into()
                ),
                (
                    "libgcc-s1".into(),
                    "12.2.0-14".into(),
                    "gcc-12".into(),
                    "12.2.0-14".into()
                ),
                (
                    "tzdata".into(),
                    "2024a-0+deb12u1".into(),
                    "tzdata".into(),
                    "2024a-0+deb12u1".into()
                ),
            ]
        );
    }

    #[test]
    fn catalog_builds_purls_files_and_sizes() {
        let list = b"/.\n/usr\n/usr/lib/x86_64-linux-gnu/libssl.so.3\n";
        let md5 = b"0123456789abcdef0123456789abcdef  usr/lib/x86_64-linux-gnu/libssl.so.3\n";
        let files = Files::new(vec![
            FileRef {
                path: image_path(STATUS),
                bytes: STATUS_TEXT.as_bytes(),
                layer: None,
            },
            FileRef {
                path: image_path("var/lib/dpkg/info/libssl3:amd64.list"),
                bytes: list,
                layer: None,
            },
            FileRef {
                path: image_path("var/lib/dpkg/info/libssl3:amd64.md5sums"),
                bytes: md5,
                layer: None,
            },
        ]);
        let context = Context {
            distro: Some(drydock_core::Distro {
                id: "debian".into(),
                version_id: "12".into(),
                ..Default::default()
            }),
        };
        let found = DpkgCataloger.catalog(&files, &context);
        assert_eq!(found.packages.len(), 3);
        let ssl = found.packages.iter().find(|p| p.name == "libssl3");
        let Some(ssl) = ssl else {
            panic!("libssl3 missing");
        };
        assert_eq!(
            ssl.purl.to_string(),
            "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12"
        );
        assert_eq!(ssl.installed_size, Some(6200 * 1024));
        assert_eq!(ssl.files.len(), 2);
        let lib = ssl
            .files
            .iter()
            .find(|f| f.path.as_bytes().ends_with(b"libssl.so.3"));
        assert_eq!(
            lib.and_then(|f| f.digest.as_deref()),
            Some("md5:0123456789abcdef0123456789abcdef")
        );
    }

    #[test]
    fn copyright_license_fields() {
        let text = b"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: Apache-2.0\n\nFiles: debian/*\nLicense: GPL-2+\n text\n\nLicense: Apache-2.0\n full text\n";
        assert_eq!(copyright_licenses(text), vec!["Apache-2.0", "GPL-2+"]);
    }
}

//! Java archives: `.jar`, `.war`, `.ear`, Jenkins plug-ins (`.jpi`,
//! `.hpi`) and the rarer `.par`, `.sar`, `.kar`, anywhere in the image, with
//! the archives nested in them (Spring Boot `BOOT-INF/lib/*.jar`, a war's
//! `WEB-INF/lib/*.jar`, an ear's modules, shaded jars' own jars).
//!
//! While the layer streams by, [`JavaCataloger::reduce`] reads the archive
//! (a bounded zip reader, [`zip`]) into a small summary ([`archive`]): per
//! archive its SHA-1, the naming attributes of its `META-INF/MANIFEST.MF`
//! main section and every `META-INF/maven/**/pom.properties`; nested
//! archives are read recursively, at most [`archive::MAX_DEPTH`] deep, each
//! at most 256 MiB uncompressed and 1 GiB in all per top archive. Anything
//! past a limit, a truncated archive or a bad central directory is a
//! located problem.
//!
//! ## Naming (one package per archive, plus shaded ones)
//! 1. The archive's own identity is the `pom.properties` whose `artifactId`
//!    equals the name part of the archive's file name (`commons-lang3` for
//!    `commons-lang3-3.12.0.jar` and for `commons-lang3.jar`); failing
//!    that, the only `pom.properties` when there is exactly one. A
//!    `pom.properties` needs `artifactId` and `version` to count.
//! 2. Without one, the name is the file name's name part (else
//!    `Bundle-SymbolicName` without its parameters, `Automatic-Module-Name`,
//!    `Implementation-Title`), the version the manifest's
//!    `Implementation-Version`, else `Bundle-Version`, else
//!    `Specification-Version`, else the file name's version part; the group
//!    is unknown. An archive with no name at all is a problem; one with no
//!    version is still reported, with an empty version.
//! 3. Every other `pom.properties` in the archive (classes shaded into it)
//!    is a package of its own, located at the `pom.properties` entry.
//!
//! The file name splits into name and version at the first `-` followed by
//! a digit, after the extension is removed (`guava-31.1-jre.jar` is `guava`,
//! `31.1-jre`).
//!
//! The package name is `groupId:artifactId` when the group is known, else
//! the artifact id; the purl is `pkg:maven/<groupId>/<artifactId>@<version>`
//! (no namespace when the group is unknown). Archive packages carry
//! `checksum: sha1:<hex>` of the archive's bytes (for a nested archive, its
//! bytes inside the outer one, inflated); shaded packages carry none.
//!
//! ## Locations
//! A nested archive or entry is located by the outer file's path, `!`, and
//! the entry name, as Java's `jar:` URLs write it:
//! `app/app.jar!/BOOT-INF/lib/x.jar!/META-INF/maven/g/a/pom.properties`.
//! (An [`ImagePath`] is only a display form here: `app.jar!` is a path
//! component.) `.`/`..`/empty components of entry names are dropped.
//!
//! The same package in several files (Debian's `commons-lang3.jar` symlink
//! next to `commons-lang3-3.12.0.jar`, or the same jar in two wars) is one
//! package with several locations: packages are merged when name, version
//! and checksum agree.
pub(crate) mod archive;
pub(crate) mod zip;

use drydock_core::{ImagePath, Location, Package, PackageKind, Purl};

use crate::{Cataloger, Claims, Context, FileRef, Files, Found};
use archive::{ArchiveFacts, PomProperties, Summary};

pub(crate) struct JavaCataloger;

const ID: &str = "java-archive";
/// Archives larger than this are not read.
const MAX_ARCHIVE_BYTES: u64 = 512 << 20;

impl Cataloger for JavaCataloger {
    fn id(&self) -> &'static str {
        ID
    }
    fn version(&self) -> u32 {
        1
    }
    fn claims(&self) -> Claims {
        Claims {
            paths: vec![],
            globs: vec![
                "**/*.jar", "**/*.war", "**/*.ear", "**/*.jpi", "**/*.hpi", "**/*.par", "**/*.sar",
                "**/*.kar",
            ],
            max_bytes: MAX_ARCHIVE_BYTES,
            executables: false,
        }
    }
    fn catalog(&self, files: &Files<'_>, _context: &Context) -> Found {
        let mut found = Found::default();
        for file in files.iter() {
            catalog_file(file, &mut found);
        }
        merge(&mut found.packages);
        found
    }
    fn reduce(&self, _path: &ImagePath, bytes: Vec<u8>) -> Vec<u8> {
        if bytes.starts_with(archive::MAGIC) {
            // Already a summary (or pretending to be one): keep as is.
            return bytes;
        }
        match archive::summarize(&bytes) {
            Ok(summary) => summary.encode(),
            // Keep the archive; `catalog` reports why it cannot be read.
            Err(_) => bytes,
        }
    }
}

fn catalog_file(file: &FileRef<'_>, found: &mut Found) {
    let summary = match Summary::decode(file.bytes) {
        Some(Ok(summary)) => summary,
        Some(Err(reason)) => {
            found.problem(ID, file, reason);
            return;
        }
        None => match archive::summarize(file.bytes) {
            Ok(summary) => summary,
            Err(error) => {
                found.problem(ID, file, error.to_string());
                return;
            }
        },
    };
    for reason in summary.problems {
        found.problem(ID, file, reason);
    }
    for facts in &summary.archives {
        let location = nested_path(&file.path, &facts.nesting);
        let file_name = facts.nesting.last().map_or_else(
            || String::from_utf8_lossy(file.path.file_name()).into_owned(),
            |n| n.rsplit('/').next().unwrap_or_default().to_owned(),
        );
        let (stem_name, stem_version) = split_file_name(&file_name);
        let own = own_pom(&facts.poms, &stem_name);
        let identity = match own {
            Some(pom) => Some((
                pom.group_id.clone(),
                pom.artifact_id.clone(),
                pom.version.clone(),
            )),
            None => manifest_identity(facts, &stem_name, &stem_version),
        };
        match identity {
            Some((group, artifact, version)) => {
                let mut package = package(&group, &artifact, &version, &location, file);
                package.checksum = Some(format!("sha1:{}", facts.sha1));
                found.packages.push(package);
            }
            None => found.problem(
                ID,
                file,
                format!(
                    "{}: no name in pom.properties, MANIFEST.MF or the file name",
                    location.to_display()
                ),
            ),
        }
        for pom in facts
            .poms
            .iter()
            .filter(|pom| usable(pom) && Some(*pom) != own)
        {
            let pom_location = location_in(&location, &pom.path);
            found.packages.push(package(
                &pom.group_id,
                &pom.artifact_id,
                &pom.version,
                &pom_location,
                file,
            ));
        }
    }
}

fn usable(pom: &PomProperties) -> bool {
    !pom.artifact_id.is_empty() && !pom.version.is_empty()
}

/// Rule 1: the pom.properties naming the archive itself.
fn own_pom<'f>(poms: &'f [PomProperties], stem_name: &str) -> Option<&'f PomProperties> {
    let mut candidates = poms.iter().filter(|pom| usable(pom));
    if let Some(pom) = poms
        .iter()
        .find(|pom| usable(pom) && pom.artifact_id == stem_name)
    {
        return Some(pom);
    }
    match (candidates.next(), candidates.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

/// Rule 2: name and version from the file name and the manifest.
fn manifest_identity(
    facts: &ArchiveFacts,
    stem_name: &str,
    stem_version: &str,
) -> Option<(String, String, String)> {
    let attribute = |key: &str| {
        facts
            .manifest
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let symbolic_name =
        attribute("Bundle-SymbolicName").map(|v| v.split(';').next().unwrap_or(v).trim());
    let name = Some(stem_name)
        .filter(|n| !n.is_empty())
        .or(symbolic_name.filter(|n| !n.is_empty()))
        .or(attribute("Automatic-Module-Name"))
        .or(attribute("Implementation-Title"))?;
    let version = attribute("Implementation-Version")
        .or(attribute("Bundle-Version"))
        .or(attribute("Specification-Version"))
        .unwrap_or(stem_version);
    Some((String::new(), name.to_owned(), version.to_owned()))
}

/// `name-1.2.3.jar` → (`name`, `1.2.3`): the split is at the first `-`
/// followed by a digit, after the extension is removed.
pub(crate) fn split_file_name(file_name: &str) -> (String, String) {
    let stem = match file_name.rsplit_once('.') {
        Some((stem, extension))
            if archive::is_archive_name(file_name.as_bytes()) && !extension.is_empty() =>
        {
            stem
        }
        _ => file_name,
    };
    let bytes = stem.as_bytes();
    let split = (0..bytes.len())
        .find(|&i| bytes.get(i) == Some(&b'-') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit));
    match split {
        Some(i) => (
            stem.get(..i).unwrap_or_default().to_owned(),
            stem.get(i + 1..).unwrap_or_default().to_owned(),
        ),
        None => (stem.to_owned(), String::new()),
    }
}

fn package(
    group: &str,
    artifact: &str,
    version: &str,
    location: &ImagePath,
    file: &FileRef<'_>,
) -> Package {
    let name = if group.is_empty() {
        artifact.to_owned()
    } else {
        format!("{group}:{artifact}")
    };
    Package {
        name,
        version: version.to_owned(),
        kind: PackageKind::Maven,
        purl: Purl::new("maven", artifact)
            .with_namespace(group)
            .with_version(version),
        arch: None,
        source: None,
        licenses: Vec::new(),
        maintainer: None,
        installed_size: None,
        checksum: None,
        installed: true,
        locations: vec![Location {
            path: location.clone(),
            layer: file.layer.clone(),
        }],
        layer: None,
        files: Vec::new(),
    }
}

/// `outer!/entry` for an entry of the archive at `archive`.
fn location_in(archive: &ImagePath, entry: &str) -> ImagePath {
    let mut bang = archive.file_name().to_vec();
    bang.push(b'!');
    archive
        .parent()
        .unwrap_or_default()
        .join(&bang)
        .join(entry.as_bytes())
}

fn nested_path(outer: &ImagePath, nesting: &[String]) -> ImagePath {
    nesting
        .iter()
        .fold(outer.clone(), |path, entry| location_in(&path, entry))
}

/// One package per (name, version, checksum), with every location.
fn merge(packages: &mut Vec<Package>) {
    let mut merged: Vec<Package> = Vec::with_capacity(packages.len());
    let mut index: std::collections::HashMap<(String, String, Option<String>, String), usize> =
        std::collections::HashMap::new();
    for package in packages.drain(..) {
        let key = (
            package.name.clone(),
            package.version.clone(),
            package.checksum.clone(),
            package.purl.to_string(),
        );
        if let Some(existing) = index.get(&key).and_then(|&i| merged.get_mut(i)) {
            for location in package.locations {
                if !existing.locations.contains(&location) {
                    existing.locations.push(location);
                }
            }
        } else {
            index.insert(key, merged.len());
            merged.push(package);
        }
    }
    *packages = merged;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_split_at_the_first_dash_digit() {
        let cases = [
            ("commons-lang3-3.12.0.jar", "commons-lang3", "3.12.0"),
            ("commons-lang3.jar", "commons-lang3", ""),
            ("guava-31.1-jre.jar", "guava", "31.1-jre"),
            (
                "spring-boot-3.1.0-SNAPSHOT.war",
                "spring-boot",
                "3.1.0-SNAPSHOT",
            ),
            ("noext", "noext", ""),
            (".jar", "", ""),
        ];
        for (file, name, version) in cases {
            assert_eq!(
                split_file_name(file),
                (name.to_owned(), version.to_owned()),
                "{file}"
            );
        }
    }

    #[test]
    fn nested_locations_use_bang_slash() {
        let outer = ImagePath::new("app/app.jar").unwrap();
        let path = nested_path(
            &outer,
            &["BOOT-INF/lib/x.jar".to_owned(), "../../y.jar".to_owned()],
        );
        assert_eq!(path.to_display(), "/app/app.jar!/BOOT-INF/lib/x.jar!/y.jar");
    }
}

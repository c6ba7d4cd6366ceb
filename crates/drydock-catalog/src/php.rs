//! PHP: Composer's record of installed packages,
//! `**/vendor/composer/installed.json` (Composer 1: a top-level array of
//! packages; Composer 2: `{"packages": [...], "dev": …,
//! "dev-package-names": [...]}`), and Composer lock files,
//! `**/composer.lock` (`packages` and `packages-dev`, reported as declared).
//!
//! Per package: `name` (`vendor/package`) becomes purl
//! `pkg:composer/<vendor>/<package>@<version>`; `version` is kept as
//! written (`v5.4.21` stays `v5.4.21`: Composer's own `show` prints it so,
//! and the normalised form is a separate field, `version_normalized`);
//! `license` (an array, or a single string) becomes `licenses`; `authors[].name`
//! joined with `, ` the maintainer; `dist.shasum`, when it is 40 hex digits,
//! `checksum: sha1:<hex>`. Development packages are reported like the
//! others (they are installed or locked all the same). A package without a
//! `name` or `version` is a problem, as is a file that is not JSON of
//! either shape.
use drydock_core::{Location, Package, PackageKind, Purl};
use serde_json::Value;

use crate::{Cataloger, Claims, Context, FileRef, Files, Found};

pub(crate) struct ComposerCataloger;

const ID: &str = "php-composer";

impl Cataloger for ComposerCataloger {
    fn id(&self) -> &'static str {
        ID
    }
    fn version(&self) -> u32 {
        1
    }
    fn claims(&self) -> Claims {
        Claims {
            paths: vec![],
            globs: vec!["**/vendor/composer/installed.json", "**/composer.lock"],
            max_bytes: 64 << 20,
            executables: false,
        }
    }
    fn catalog(&self, files: &Files<'_>, _context: &Context) -> Found {
        let mut found = Found::default();
        for file in files.iter() {
            let installed = file.path.file_name() == b"installed.json";
            catalog_file(file, installed, &mut found);
        }
        found
    }
}

fn catalog_file(file: &FileRef<'_>, installed: bool, found: &mut Found) {
    let bytes = file
        .bytes
        .strip_prefix(b"\xef\xbb\xbf")
        .unwrap_or(file.bytes);
    let document: Value = match serde_json::from_slice(bytes) {
        Ok(document) => document,
        Err(error) => {
            found.problem(ID, file, format!("not JSON: {error}"));
            return;
        }
    };
    let lists: Vec<&Value> = match (&document, installed) {
        (Value::Array(_), true) => vec![&document],
        (Value::Object(object), true) => object.get("packages").into_iter().collect(),
        (Value::Object(object), false) => ["packages", "packages-dev"]
            .iter()
            .filter_map(|key| object.get(*key))
            .filter(|v| !v.is_null())
            .collect(),
        _ => Vec::new(),
    };
    if lists.is_empty() {
        let expected = if installed {
            "an array or an object with `packages`"
        } else {
            "an object with `packages`"
        };
        found.problem(ID, file, format!("not {expected}"));
        return;
    }
    for list in lists {
        let Some(entries) = list.as_array() else {
            found.problem(ID, file, "a package list is not an array");
            continue;
        };
        for (index, entry) in entries.iter().enumerate() {
            match package(entry, file, installed) {
                Some(package) => found.packages.push(package),
                None => found.problem(
                    ID,
                    file,
                    format!("package #{} has no string `name` and `version`", index + 1),
                ),
            }
        }
    }
}

fn package(entry: &Value, file: &FileRef<'_>, installed: bool) -> Option<Package> {
    let name = entry.get("name")?.as_str().filter(|n| !n.is_empty())?;
    let version = entry.get("version")?.as_str().filter(|v| !v.is_empty())?;
    let purl = match name.split_once('/') {
        Some((vendor, package)) => Purl::new("composer", package).with_namespace(vendor),
        None => Purl::new("composer", name),
    }
    .with_version(version);
    let licenses = match entry.get("license") {
        Some(Value::String(license)) => vec![license.clone()],
        Some(Value::Array(licenses)) => licenses
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    let authors: Vec<&str> = entry
        .get("authors")
        .and_then(Value::as_array)
        .map(|authors| {
            authors
                .iter()
                .filter_map(|a| a.get("name").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    let checksum = entry
        .pointer("/dist/shasum")
        .and_then(Value::as_str)
        .filter(|s| s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(|s| format!("sha1:{}", s.to_ascii_lowercase()));
    Some(Package {
        name: name.to_owned(),
        version: version.to_owned(),
        kind: PackageKind::Composer,
        purl,
        arch: None,
        source: None,
        licenses,
        maintainer: (!authors.is_empty()).then(|| authors.join(", ")),
        installed_size: None,
        checksum,
        installed,
        locations: vec![Location {
            path: file.path.clone(),
            layer: file.layer.clone(),
        }],
        layer: None,
        files: Vec::new(),
    })
}

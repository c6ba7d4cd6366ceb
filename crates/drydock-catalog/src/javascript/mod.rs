//! JavaScript: packages installed under `node_modules`, and lock files.
//!
//! Two catalogers:
//!
//! - `javascript-installed` reads the `package.json` at the root of every
//!   package installed in a `node_modules` directory, hoisted or nested,
//!   scoped or not: `…/node_modules/<name>/package.json` and
//!   `…/node_modules/@scope/<name>/package.json`. A `package.json` deeper
//!   inside a package's own tree (`node_modules/x/lib/package.json`) is not
//!   a package and is not claimed; bundled dependencies are nested
//!   `node_modules` and are found as such; pnpm's store
//!   (`node_modules/.pnpm/<id>/node_modules/<name>`) is a nested
//!   `node_modules` too. The project's own `package.json` (outside
//!   `node_modules`) is not an installed package. Fields: `name` (the
//!   directory's name when absent, as npm does), `version`, the licence
//!   (`license` string, the legacy `license: {type}` object or `licenses`
//!   array), `author` (string or `{name, email}`). A `package.json` that is
//!   not JSON, or has no `version`, is a problem at that file, not a
//!   package: npm itself never installs a package without a version. Only
//!   those fields are kept while the image streams by.
//! - `javascript-lock` reports what `package-lock.json`,
//!   `npm-shrinkwrap.json`, `yarn.lock` (v1 and Berry) and `pnpm-lock.yaml`
//!   declare (see [`locks`]) as `installed: false`. Lock files inside
//!   `node_modules` belong to installed packages, which npm ignores there,
//!   and are not read; neither is npm's hidden `node_modules/.package-lock.json`
//!   (it repeats what is installed).
//!
//! Purls are `pkg:npm/<name>@<version>`, scoped names with the scope as the
//! namespace (`pkg:npm/%40babel/highlight@7.10.4`), lowercased as the purl
//! spec asks.
pub(crate) mod locks;
pub(crate) mod yaml;

use drydock_core::{ImagePath, Location, Package, PackageKind, Purl};
use serde_json::{Map, Value};

use crate::{Cataloger, Claims, Context, FileRef, Files, Found};

const INSTALLED_ID: &str = "javascript-installed";
const LOCK_ID: &str = "javascript-lock";

pub(crate) struct JavascriptInstalledCataloger;
pub(crate) struct JavascriptLockCataloger;

impl Cataloger for JavascriptInstalledCataloger {
    fn id(&self) -> &'static str {
        INSTALLED_ID
    }
    fn version(&self) -> u32 {
        1
    }
    fn claims(&self) -> Claims {
        Claims {
            paths: vec![],
            globs: vec![
                "**/node_modules/*/package.json",
                "**/node_modules/@*/*/package.json",
            ],
            max_bytes: 8 << 20,
            executables: false,
        }
    }
    fn catalog(&self, files: &Files<'_>, _context: &Context) -> Found {
        let mut found = Found::default();
        for file in files.iter() {
            let Some(directory_name) = package_directory_name(&file.path) else {
                continue;
            };
            installed_package(file, &directory_name, &mut found);
        }
        found
    }
    fn reduce(&self, _path: &ImagePath, bytes: Vec<u8>) -> Vec<u8> {
        // Keep the fields `catalog` reads; leave anything unparsable whole
        // so `catalog` reports it.
        let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(&bytes) else {
            return bytes;
        };
        let kept: Map<String, Value> = object
            .into_iter()
            .filter(|(key, _)| {
                matches!(
                    key.as_str(),
                    "name" | "version" | "license" | "licenses" | "author"
                )
            })
            .collect();
        serde_json::to_vec(&Value::Object(kept)).unwrap_or(bytes)
    }
}

/// The installed package's directory name (`lodash`, `@babel/highlight`)
/// when `path` is the root `package.json` of a package in `node_modules`.
fn package_directory_name(path: &ImagePath) -> Option<String> {
    let mut components = path.components().rev();
    if components.next()? != b"package.json" {
        return None;
    }
    let name = components.next()?;
    let parent = components.next()?;
    let valid = |c: &[u8]| !c.is_empty() && !c.starts_with(b".") && !c.starts_with(b"@");
    if parent == b"node_modules" {
        return valid(name).then(|| String::from_utf8_lossy(name).into_owned());
    }
    if parent.starts_with(b"@") && parent.len() > 1 && components.next()? == b"node_modules" {
        return valid(name).then(|| {
            format!(
                "{}/{}",
                String::from_utf8_lossy(parent),
                String::from_utf8_lossy(name)
            )
        });
    }
    None
}

fn installed_package(file: &FileRef<'_>, directory_name: &str, found: &mut Found) {
    let object = match serde_json::from_slice::<Value>(file.bytes) {
        Ok(Value::Object(object)) => object,
        Ok(_) => {
            found.problem(INSTALLED_ID, file, "package.json is not a JSON object");
            return;
        }
        Err(error) => {
            found.problem(
                INSTALLED_ID,
                file,
                format!("package.json is not valid JSON: {error}"),
            );
            return;
        }
    };
    let name = object
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .unwrap_or(directory_name);
    let Some(version) = object
        .get("version")
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
    else {
        found.problem(
            INSTALLED_ID,
            file,
            format!("package `{name}` has no `version`"),
        );
        return;
    };
    found.packages.push(Package {
        name: name.to_owned(),
        version: version.to_owned(),
        kind: PackageKind::Npm,
        purl: npm_purl(name, version),
        arch: None,
        source: None,
        licenses: licenses(&object),
        maintainer: object.get("author").and_then(person),
        installed_size: None,
        checksum: None,
        installed: true,
        locations: vec![Location {
            path: file.path.clone(),
            layer: file.layer.clone(),
        }],
        layer: None,
        files: Vec::new(),
    });
}

/// `pkg:npm/[%40scope/]name@version`.
pub(crate) fn npm_purl(name: &str, version: &str) -> Purl {
    let lower = name.to_ascii_lowercase();
    let purl = match lower.split_once('/') {
        Some((scope, rest)) if scope.starts_with('@') => {
            Purl::new("npm", rest).with_namespace(scope)
        }
        _ => Purl::new("npm", &lower),
    };
    purl.with_version(version)
}

/// `license: "MIT"`, `license: {type: "MIT"}`, `licenses: [{type}|"MIT", …]`.
fn licenses(object: &Map<String, Value>) -> Vec<String> {
    let one = |value: &Value| -> Option<String> {
        match value {
            Value::String(text) => Some(text.trim().to_owned()),
            Value::Object(object) => object
                .get("type")
                .and_then(Value::as_str)
                .map(|t| t.trim().to_owned()),
            _ => None,
        }
        .filter(|l| !l.is_empty())
    };
    if let Some(license) = object.get("license").and_then(one) {
        return vec![license];
    }
    object
        .get("licenses")
        .and_then(Value::as_array)
        .map(|list| list.iter().filter_map(one).collect())
        .unwrap_or_default()
}

/// `"Name <email> (url)"` as written, or `{name, email}` → `Name <email>`.
fn person(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.trim().to_owned()).filter(|t| !t.is_empty()),
        Value::Object(object) => {
            let name = object.get("name").and_then(Value::as_str).map(str::trim);
            let email = object.get("email").and_then(Value::as_str).map(str::trim);
            match (
                name.filter(|n| !n.is_empty()),
                email.filter(|e| !e.is_empty()),
            ) {
                (Some(name), Some(email)) => Some(format!("{name} <{email}>")),
                (Some(name), None) => Some(name.to_owned()),
                (None, Some(email)) => Some(email.to_owned()),
                (None, None) => None,
            }
        }
        _ => None,
    }
}

impl Cataloger for JavascriptLockCataloger {
    fn id(&self) -> &'static str {
        LOCK_ID
    }
    fn version(&self) -> u32 {
        1
    }
    fn claims(&self) -> Claims {
        Claims {
            paths: vec![],
            globs: vec![
                "**/package-lock.json",
                "**/npm-shrinkwrap.json",
                "**/yarn.lock",
                "**/pnpm-lock.yaml",
            ],
            max_bytes: 128 << 20,
            executables: false,
        }
    }
    fn catalog(&self, files: &Files<'_>, _context: &Context) -> Found {
        let mut found = Found::default();
        for file in files.iter() {
            if file.path.components().any(|c| c == b"node_modules") {
                continue;
            }
            let Some(kind) = locks::LockKind::of(file.path.file_name()) else {
                continue;
            };
            match locks::parse(kind, file.bytes) {
                Ok(declared) => {
                    for package in declared {
                        found.packages.push(Package {
                            purl: npm_purl(&package.name, &package.version),
                            name: package.name,
                            version: package.version,
                            kind: PackageKind::Npm,
                            arch: None,
                            source: None,
                            licenses: Vec::new(),
                            maintainer: None,
                            installed_size: None,
                            checksum: None,
                            installed: false,
                            locations: vec![Location {
                                path: file.path.clone(),
                                layer: file.layer.clone(),
                            }],
                            layer: None,
                            files: Vec::new(),
                        });
                    }
                }
                Err(locks::LockError(reason)) => found.problem(LOCK_ID, file, reason),
            }
        }
        found
    }
}

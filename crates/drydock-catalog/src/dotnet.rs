//! .NET: the `<app>.deps.json` file the SDK writes next to a built or
//! published application (dotnet/runtime's "dependency manifest").
//!
//! Its `libraries` object maps `Name/Version` to `{type, serviceable,
//! sha512, path, hashPath}`. Reported, as installed packages (the file
//! describes what the application runs with, deployed beside it):
//!
//! | `type` | reported as |
//! |---|---|
//! | `package` | `pkg:nuget/<Name>@<Version>` |
//! | `runtimepack` | the runtime pack a self-contained app carries: the key is `runtimepack.<NuGet id>/<version>`, reported as `pkg:nuget/<NuGet id>@<version>` (e.g. `Microsoft.NETCore.App.Runtime.linux-x64`) |
//! | `project` | not reported: the application itself or a project reference, built from source, with no NuGet identity to match |
//! | `reference`, anything else | not reported: assemblies referenced by path |
//!
//! `sha512` (`sha512-<base64>`, the nupkg's hash) becomes `checksum:
//! sha512:<hex>`. The name keeps the case the file gives (NuGet ids are
//! case-insensitive; purl keeps the id as written). The `targets` section
//! repeats the same `Name/Version` keys per framework and is not needed.
//! A file that is not JSON, or whose `libraries` is missing or not an
//! object, is a problem; a key without `/` is a problem for that entry.
use std::collections::BTreeMap;

use drydock_core::{Location, Package, PackageKind, Purl};
use serde::Deserialize;

use crate::{Cataloger, Claims, Context, FileRef, Files, Found};

pub(crate) struct DotnetDepsCataloger;

const ID: &str = "dotnet-deps";
const RUNTIME_PACK_PREFIX: &str = "runtimepack.";

impl Cataloger for DotnetDepsCataloger {
    fn id(&self) -> &'static str {
        ID
    }
    fn version(&self) -> u32 {
        1
    }
    fn claims(&self) -> Claims {
        Claims {
            paths: vec![],
            globs: vec!["**/*.deps.json"],
            max_bytes: 64 << 20,
            executables: false,
        }
    }
    fn catalog(&self, files: &Files<'_>, _context: &Context) -> Found {
        let mut found = Found::default();
        for file in files.iter() {
            catalog_file(file, &mut found);
        }
        found
    }
}

#[derive(Deserialize)]
struct DepsFile {
    libraries: Option<BTreeMap<String, Library>>,
}

#[derive(Deserialize)]
struct Library {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    sha512: Option<String>,
}

fn catalog_file(file: &FileRef<'_>, found: &mut Found) {
    let bytes = file
        .bytes
        .strip_prefix(b"\xef\xbb\xbf")
        .unwrap_or(file.bytes);
    let deps: DepsFile = match serde_json::from_slice(bytes) {
        Ok(deps) => deps,
        Err(error) => {
            found.problem(ID, file, format!("not a deps.json file: {error}"));
            return;
        }
    };
    let Some(libraries) = deps.libraries else {
        found.problem(ID, file, "no `libraries` object");
        return;
    };
    for (key, library) in libraries {
        let name = match library.kind.as_str() {
            "package" => key.as_str(),
            "runtimepack" => key.strip_prefix(RUNTIME_PACK_PREFIX).unwrap_or(&key),
            _ => continue,
        };
        let Some((name, version)) = name
            .split_once('/')
            .filter(|(n, v)| !n.is_empty() && !v.is_empty())
        else {
            found.problem(ID, file, format!("library `{key}` is not `Name/Version`"));
            continue;
        };
        let checksum = library
            .sha512
            .as_deref()
            .and_then(|value| value.strip_prefix("sha512-"))
            .and_then(decode_base64)
            .map(|digest| format!("sha512:{}", crate::java::archive::hex(&digest)));
        found.packages.push(Package {
            name: name.to_owned(),
            version: version.to_owned(),
            kind: PackageKind::Nuget,
            purl: Purl::new("nuget", name).with_version(version),
            arch: None,
            source: None,
            licenses: Vec::new(),
            maintainer: None,
            installed_size: None,
            checksum,
            installed: true,
            locations: vec![Location {
                path: file.path.clone(),
                layer: file.layer.clone(),
            }],
            layer: None,
            files: Vec::new(),
        });
    }
}

/// Standard base64 (RFC 4648 §4), padding optional; `None` on anything else.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for byte in text.bytes() {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_rfc4648_vectors() {
        for (text, plain) in [
            ("", ""),
            ("Zg==", "f"),
            ("Zm8=", "fo"),
            ("Zm9v", "foo"),
            ("Zm9vYg==", "foob"),
            ("Zm9vYmE=", "fooba"),
            ("Zm9vYmFy", "foobar"),
        ] {
            assert_eq!(decode_base64(text).unwrap(), plain.as_bytes());
        }
        assert!(decode_base64("Zm9v!").is_none());
    }
}

//! JavaScript lock files: what a project declares, not what is installed.
//!
//! | file | format | read |
//! |---|---|---|
//! | `package-lock.json`, `npm-shrinkwrap.json` v2/v3 | JSON `packages` map keyed by install path | every entry under a `node_modules/` path; the name is the path's last `node_modules/` segment unless `name` is set (aliases); `link: true` entries and the project's own (`""`, workspace folders) left out |
//! | `package-lock.json` v1 | JSON `dependencies` tree | every entry, recursively; `npm:name@version` aliases resolved; git/file/URL versions left out |
//! | `yarn.lock` v1 | yarn's own format: `"a@^1", a@^1.1:` headers, indented `version "x"` (or `"version" "x"`) | every entry; the name from the first descriptor (the target of an `npm:` alias) |
//! | `yarn.lock` Berry (v2+) | YAML with `__metadata`; `resolution: "a@npm:1.2.3"`, `version: 1.2.3` | every entry but `workspace:` and `patch:` resolutions (a patch repeats the package it patches) |
//! | `pnpm-lock.yaml` v5, v6, v9 | YAML `packages:` keyed `/name/1.2.3` or `host/name/1.2.3` (v5, the host dropped), `/name@1.2.3` (v6), `name@1.2.3` (v9) | every entry; peer suffixes (`(react@18.0.0)`, v5 `_react@18.0.0`) stripped; `name:`/`version:` fields win over the key (tarball, git and file entries) |
use serde_json::Value;

use super::yaml;

/// One declared package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Declared {
    pub(crate) name: String,
    pub(crate) version: String,
}

/// A lock file that could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LockError(pub(crate) String);

/// The lock formats, by file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockKind {
    Npm,
    Yarn,
    Pnpm,
}

impl LockKind {
    pub(crate) fn of(file_name: &[u8]) -> Option<LockKind> {
        match file_name {
            b"package-lock.json" | b"npm-shrinkwrap.json" => Some(LockKind::Npm),
            b"yarn.lock" => Some(LockKind::Yarn),
            b"pnpm-lock.yaml" => Some(LockKind::Pnpm),
            _ => None,
        }
    }
}

pub(crate) fn parse(kind: LockKind, bytes: &[u8]) -> Result<Vec<Declared>, LockError> {
    match kind {
        LockKind::Npm => parse_package_lock(bytes),
        LockKind::Yarn => {
            let text = String::from_utf8_lossy(bytes);
            if is_berry(&text) {
                Ok(parse_yarn_berry(&text))
            } else {
                parse_yarn_v1(&text)
            }
        }
        LockKind::Pnpm => parse_pnpm(&String::from_utf8_lossy(bytes)),
    }
}

/// A version as lock files write registry versions: no protocol, no path.
fn plain_version(version: &str) -> bool {
    !version.is_empty()
        && !version.contains([':', '/', ' ', '#'])
        && version.starts_with(|c: char| c.is_ascii_alphanumeric())
}

/// `npm:real-name@1.2.3` (an alias) → (`real-name`, `1.2.3`).
fn alias(spec: &str) -> Option<(&str, &str)> {
    let spec = spec.strip_prefix("npm:")?;
    split_name(spec)
}

/// `name@rest` or `@scope/name@rest` → (name, rest), at the first `@` that
/// is not the scope's.
pub(crate) fn split_name(spec: &str) -> Option<(&str, &str)> {
    let at = spec.get(1..)?.find('@')? + 1;
    Some((spec.get(..at)?, spec.get(at + 1..)?))
}

fn parse_package_lock(bytes: &[u8]) -> Result<Vec<Declared>, LockError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| LockError(format!("not valid JSON: {e}")))?;
    let Some(object) = value.as_object() else {
        return Err(LockError("not a JSON object".to_owned()));
    };
    let mut out = Vec::new();
    if let Some(packages) = object.get("packages").and_then(Value::as_object) {
        for (path, entry) in packages {
            let Some(index) = path.rfind("node_modules/") else {
                // "" is the project; other keys are workspace folders.
                continue;
            };
            if entry.get("link").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let from_path = path
                .get(index + "node_modules/".len()..)
                .unwrap_or_default();
            let name = entry
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or(from_path);
            let Some(version) = entry.get("version").and_then(Value::as_str) else {
                continue;
            };
            if name.is_empty() || !plain_version(version) {
                continue;
            }
            out.push(Declared {
                name: name.to_owned(),
                version: version.to_owned(),
            });
        }
        return Ok(out);
    }
    if let Some(dependencies) = object.get("dependencies").and_then(Value::as_object) {
        walk_v1(dependencies, &mut out);
        return Ok(out);
    }
    Err(LockError(
        "neither a `packages` map (lockfileVersion 2, 3) nor a `dependencies` tree (1)".to_owned(),
    ))
}

/// The v1 tree: `name → {version, dependencies: {…}}`, as deep as the JSON
/// parser allowed (128 levels).
fn walk_v1(dependencies: &serde_json::Map<String, Value>, out: &mut Vec<Declared>) {
    for (name, entry) in dependencies {
        if let Some(version) = entry.get("version").and_then(Value::as_str) {
            if let Some((real, version)) = alias(version) {
                if plain_version(version) {
                    out.push(Declared {
                        name: real.to_owned(),
                        version: version.to_owned(),
                    });
                }
            } else if plain_version(version) && !name.is_empty() {
                out.push(Declared {
                    name: name.clone(),
                    version: version.to_owned(),
                });
            }
        }
        if let Some(nested) = entry.get("dependencies").and_then(Value::as_object) {
            walk_v1(nested, out);
        }
    }
}

fn is_berry(text: &str) -> bool {
    text.lines().any(|line| line.starts_with("__metadata:"))
}

/// The first descriptor of an entry's header, unquoted.
fn first_descriptor(header: &str) -> String {
    let first = header.split(", ").next().unwrap_or_default().trim();
    first
        .strip_prefix('"')
        .and_then(|f| f.strip_suffix('"'))
        .unwrap_or(first)
        .to_owned()
}

/// The package name a descriptor (`name@range`) is about, following an
/// `npm:` alias to its target.
fn descriptor_name(descriptor: &str) -> Option<String> {
    let (name, range) = split_name(descriptor)?;
    if let Some((real, _)) = alias(range) {
        return Some(real.to_owned());
    }
    (!name.is_empty()).then(|| name.to_owned())
}

fn parse_yarn_v1(text: &str) -> Result<Vec<Declared>, LockError> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    let mut headers: usize = 0;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') {
            current = line
                .strip_suffix(':')
                .and_then(|header| descriptor_name(&first_descriptor(header)));
            headers = headers.saturating_add(1);
            continue;
        }
        // Fields of the entry are indented two spaces; deeper lines belong
        // to `dependencies:` blocks.
        let Some(field) = line.strip_prefix("  ").filter(|f| !f.starts_with(' ')) else {
            continue;
        };
        // `version "1.0.0"`, and `"version" "1.0.0"` as some yarn 1
        // releases quote every key.
        let Some(version) = field
            .strip_prefix("version ")
            .or_else(|| field.strip_prefix("\"version\" "))
            .or_else(|| field.strip_prefix("version: "))
        else {
            continue;
        };
        let version = version.trim().trim_matches('"');
        if let Some(name) = current.take()
            && plain_version(version)
        {
            out.push(Declared {
                name,
                version: version.to_owned(),
            });
        }
    }
    if out.is_empty() && headers > 0 && !text.contains("version") {
        return Err(LockError(
            "no entry has a `version`: not a yarn lock file".to_owned(),
        ));
    }
    Ok(out)
}

fn parse_yarn_berry(text: &str) -> Vec<Declared> {
    let mut out = Vec::new();
    let lines = yaml::mapping_lines(text);
    let mut index = 0;
    while let Some(line) = lines.get(index) {
        index += 1;
        if line.indent != 0 || line.key == "__metadata" {
            continue;
        }
        let mut version = None;
        let mut resolution = None;
        while let Some(child) = lines.get(index).filter(|l| l.indent > 0) {
            index += 1;
            match child.key.as_str() {
                "version" => version.clone_from(&child.value),
                "resolution" => resolution.clone_from(&child.value),
                _ => {}
            }
        }
        let descriptor = resolution.unwrap_or_else(|| first_descriptor(&line.key));
        let Some((name, reference)) = split_name(&descriptor) else {
            continue;
        };
        if reference.starts_with("workspace:") || reference.starts_with("patch:") {
            continue;
        }
        let Some(version) = version.filter(|v| plain_version(v) && v != "0.0.0-use.local") else {
            continue;
        };
        out.push(Declared {
            name: name.to_owned(),
            version,
        });
    }
    out
}

fn parse_pnpm(text: &str) -> Result<Vec<Declared>, LockError> {
    let lines = yaml::mapping_lines(text);
    let lockfile_version = lines
        .iter()
        .find(|l| l.indent == 0 && l.key == "lockfileVersion")
        .and_then(|l| l.value.clone())
        .ok_or_else(|| LockError("no `lockfileVersion`: not a pnpm lock file".to_owned()))?;
    let slash_keys = lockfile_version.starts_with('5') || lockfile_version.starts_with('4');
    let mut out = Vec::new();
    let mut in_packages = false;
    let mut index = 0;
    while let Some(line) = lines.get(index) {
        index += 1;
        if line.indent == 0 {
            in_packages = line.key == "packages";
            continue;
        }
        if !in_packages {
            continue;
        }
        let entry_indent = line.indent;
        let mut name = None;
        let mut version = None;
        while let Some(child) = lines.get(index).filter(|l| l.indent > entry_indent) {
            index += 1;
            match child.key.as_str() {
                "name" => name.clone_from(&child.value),
                "version" => version.clone_from(&child.value),
                _ => {}
            }
        }
        let from_key = pnpm_key(&line.key, slash_keys);
        let name = name.or_else(|| from_key.as_ref().map(|(n, _)| n.clone()));
        let version = version.or_else(|| from_key.map(|(_, v)| v));
        if let (Some(name), Some(version)) = (name, version)
            && !name.is_empty()
            && plain_version(&version)
        {
            out.push(Declared { name, version });
        }
    }
    Ok(out)
}

/// A `packages:` key → (name, version): `/name/1.2.3_peer@1` (v5, with a
/// registry host instead of the leading `/` for packages from another
/// registry: `registry.example.org/@scope/name/1.2.3`), `/name@1.2.3(peer@1)`
/// (v6), `name@1.2.3` (v9). `None` for keys that name no registry version
/// (git or tarball entries keyed by URL): their `name:`/`version:` fields,
/// when present, are used instead.
fn pnpm_key(key: &str, slash_keys: bool) -> Option<(String, String)> {
    if slash_keys {
        let (key, with_host) = match key.strip_prefix('/') {
            Some(key) => (key, false),
            None => (key, true),
        };
        let key = key.split('(').next().unwrap_or(key);
        let mut segments: Vec<&str> = key.split('/').collect();
        if with_host {
            // The first segment must be a host (`registry.npmjs.org`,
            // `localhost:4873`), not a package name.
            let host = segments.first().copied().unwrap_or_default();
            if !host.contains(['.', ':']) || host.starts_with('@') {
                return None;
            }
            segments.remove(0);
        }
        let (name, version) = match segments.as_slice() {
            [scope, name, version] if scope.starts_with('@') && scope.len() > 1 => {
                (format!("{scope}/{name}"), *version)
            }
            [name, version] if !name.starts_with('@') => ((*name).to_owned(), *version),
            _ => return None,
        };
        let version = version.split('_').next().unwrap_or(version);
        if name.is_empty() || !version.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        return Some((name, version.to_owned()));
    }
    let key = key.strip_prefix('/').unwrap_or(key);
    let key = key.split('(').next().unwrap_or(key);
    let at = key.rfind('@').filter(|&at| at > 0)?;
    Some((key.get(..at)?.to_owned(), key.get(at + 1..)?.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(declared: Vec<Declared>) -> Vec<(String, String)> {
        let mut out: Vec<_> = declared.into_iter().map(|d| (d.name, d.version)).collect();
        out.sort();
        out
    }

    fn pair(name: &str, version: &str) -> (String, String) {
        (name.to_owned(), version.to_owned())
    }

    #[test]
    fn pnpm_keys_of_each_version() {
        assert_eq!(
            pnpm_key("/@babel/core/7.0.0_react@18.0.0", true),
            Some(("@babel/core".to_owned(), "7.0.0".to_owned()))
        );
        assert_eq!(
            pnpm_key("/@babel/core@7.0.0(react@18.0.0)", false),
            Some(("@babel/core".to_owned(), "7.0.0".to_owned()))
        );
        assert_eq!(
            pnpm_key("lodash@4.17.15", false),
            Some(("lodash".to_owned(), "4.17.15".to_owned()))
        );
    }

    #[test]
    fn pnpm_v5_keys_drop_a_registry_host() {
        assert_eq!(
            pnpm_key("registry.example.org/@scope/name/1.2.3", true),
            Some(("@scope/name".to_owned(), "1.2.3".to_owned()))
        );
        assert_eq!(
            pnpm_key("localhost:4873/left-pad/1.3.0_react@18.0.0", true),
            Some(("left-pad".to_owned(), "1.3.0".to_owned()))
        );
    }

    #[test]
    fn pnpm_v5_keys_without_a_version_are_no_package() {
        for key in [
            "registry.example.org/name",
            "/name",
            "/@scope/name",
            "github.com/user/repo/0123abc",
            "example.org/tarball.tgz",
            "left-pad/1.3.0",
            "/name/latest",
        ] {
            assert_eq!(pnpm_key(key, true), None, "{key}");
        }
        let text = "lockfileVersion: 5.4\n\npackages:\n\n  /ms/2.1.3:\n    resolution: {integrity: sha512-x}\n\n  registry.example.org/@s/a/1.0.0:\n    resolution: {integrity: sha512-y}\n\n  github.com/user/repo/0123abc:\n    resolution: {tarball: https://codeload.github.com/user/repo/tar.gz/0123abc}\n\n  github.com/user/other/4567def:\n    resolution: {tarball: https://codeload.github.com/user/other/tar.gz/4567def}\n    name: other\n    version: 2.0.0\n";
        assert_eq!(
            pairs(parse(LockKind::Pnpm, text.as_bytes()).unwrap()),
            vec![
                pair("@s/a", "1.0.0"),
                pair("ms", "2.1.3"),
                pair("other", "2.0.0")
            ]
        );
    }

    #[test]
    fn yarn_v1_quoted_field_names() {
        let text = "# yarn lockfile v1\n\n\"left-pad@^1.0.0\":\n  \"version\" \"1.3.0\"\n  \"resolved\" \"https://registry.yarnpkg.com/left-pad/-/left-pad-1.3.0.tgz\"\n  \"dependencies\":\n    \"version\" \"9.9.9\"\n\n\"@s/b@1\":\n  \"version\" \"1.0.1\"\n";
        assert_eq!(
            pairs(parse(LockKind::Yarn, text.as_bytes()).unwrap()),
            vec![pair("@s/b", "1.0.1"), pair("left-pad", "1.3.0")]
        );
    }

    #[test]
    fn package_lock_v1_follows_aliases_and_nesting() {
        let text = br#"{"lockfileVersion":1,"dependencies":{
            "a":{"version":"1.0.0","dependencies":{"b":{"version":"2.0.0"}}},
            "c":{"version":"npm:@s/d@3.0.0"},
            "e":{"version":"git+https://example.org/e.git#abc"}}}"#;
        assert_eq!(
            pairs(parse(LockKind::Npm, text).unwrap()),
            vec![
                pair("@s/d", "3.0.0"),
                pair("a", "1.0.0"),
                pair("b", "2.0.0")
            ]
        );
    }

    #[test]
    fn package_lock_v3_names_from_paths() {
        let text = br#"{"lockfileVersion":3,"packages":{
            "":{"name":"root","version":"1.0.0"},
            "packages/ws":{"name":"ws","version":"0.1.0"},
            "node_modules/ws":{"resolved":"packages/ws","link":true},
            "node_modules/a":{"version":"1.0.0"},
            "node_modules/a/node_modules/@s/b":{"version":"2.0.0"},
            "node_modules/alias":{"name":"real","version":"3.0.0"}}}"#;
        assert_eq!(
            pairs(parse(LockKind::Npm, text).unwrap()),
            vec![
                pair("@s/b", "2.0.0"),
                pair("a", "1.0.0"),
                pair("real", "3.0.0")
            ]
        );
    }

    #[test]
    fn yarn_v1_entries() {
        let text = "# yarn lockfile v1\n\n\"@babel/code-frame@^7.0.0\", \"@babel/code-frame@^7.10.4\":\n  version \"7.10.4\"\n  dependencies:\n    \"@babel/highlight\" \"^7.10.4\"\n\nalias@npm:real@^1:\n  version \"1.2.0\"\n\nlodash@4.17.15:\n  version \"4.17.15\"\n";
        assert_eq!(
            pairs(parse(LockKind::Yarn, text.as_bytes()).unwrap()),
            vec![
                pair("@babel/code-frame", "7.10.4"),
                pair("lodash", "4.17.15"),
                pair("real", "1.2.0")
            ]
        );
    }

    #[test]
    fn yarn_berry_skips_workspaces_and_patches() {
        let text = "__metadata:\n  version: 8\n  cacheKey: 10c0\n\n\"app@workspace:.\":\n  version: 0.0.0-use.local\n  resolution: \"app@workspace:.\"\n\n\"@s/a@npm:^1.0.0\":\n  version: 1.2.3\n  resolution: \"@s/a@npm:1.2.3\"\n  dependencies:\n    b: \"npm:^2\"\n\n\"resolve@patch:resolve@npm%3A^1#~builtin<compat/resolve>\":\n  version: 1.22.0\n  resolution: \"resolve@patch:resolve@npm%3A1.22.0#~builtin<compat/resolve>::version=1.22.0\"\n";
        assert_eq!(
            pairs(parse(LockKind::Yarn, text.as_bytes()).unwrap()),
            vec![pair("@s/a", "1.2.3")]
        );
    }
}

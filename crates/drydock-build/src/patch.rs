//! Patching an installed Debian system in one layer (`drydock patch`): read
//! the image's dpkg database (`status` + `info/*.list`, or distroless
//! `status.d/`), choose the packages to update and what their new versions
//! need (the build's candidate universe: newest version across the suites),
//! and write the changes — new files, whiteouts for files the new versions
//! dropped, the updated dpkg database — as one reproducible tar. No
//! maintainer scripts run.
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use md5::{Digest as _, Md5};

use crate::control::{Relation, Relations, parse_paragraphs, parse_provides, parse_relations};
use crate::fetch::hex;
use crate::packages::IndexPackage;
use crate::resolve::Universe;
use crate::tree::{Kind, Node, Tree, normalize};
use crate::{BuildError, LockedPackage, spec};

/// Where the image keeps its dpkg database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbLayout {
    /// `var/lib/dpkg/status` (+ `info/*.list`, `info/*.md5sums`).
    Status,
    /// Distroless: one control file per package in `var/lib/dpkg/status.d/`.
    StatusD,
}

/// One installed package, as the dpkg database records it.
#[derive(Clone, Debug)]
pub struct Installed {
    pub name: String,
    pub version: String,
    pub architecture: String,
    pub multi_arch: Option<String>,
    /// Pre-Depends and Depends.
    pub depends: Relations,
    pub provides: Vec<(String, Option<String>)>,
    /// The `status.d/` file name (StatusD layout).
    pub entry: String,
    /// Whether the record carries a `Status:` field.
    pub has_status: bool,
}

/// The dpkg database of an image.
#[derive(Clone, Debug)]
pub struct DpkgState {
    pub layout: DbLayout,
    /// `var/lib/dpkg/status` (Status layout).
    pub status: String,
    /// Installed packages by name.
    pub packages: BTreeMap<String, Installed>,
    /// Files each package owns, as dpkg lists them (`/usr/bin/x`).
    pub files: BTreeMap<String, Vec<String>>,
    /// `info/` file stem per package (`libc6:amd64`), Status layout.
    pub info_stem: BTreeMap<String, String>,
    /// The image keeps `status.d/*.md5sums`.
    pub md5sums: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DpkgError {
    #[error("`{path}`")]
    Control {
        path: String,
        #[source]
        source: crate::control::ControlError,
    },
    #[error("`{path}`: package `{package}`: bad field `{field}`")]
    Field {
        path: String,
        package: String,
        field: &'static str,
    },
    #[error("`{path}`: a record without `{field}`")]
    Missing { path: String, field: &'static str },
    #[error("no dpkg database (`/var/lib/dpkg/status` or `/var/lib/dpkg/status.d/`)")]
    NoDatabase,
}

fn installed_from(
    path: &str,
    paragraph: &crate::control::Paragraph,
    entry: String,
) -> Result<Option<Installed>, DpkgError> {
    let get = |field: &'static str| {
        paragraph.get(field).ok_or_else(|| DpkgError::Missing {
            path: path.to_owned(),
            field,
        })
    };
    let name = get("Package")?.to_owned();
    let status = paragraph.get("Status");
    if let Some(status) = status
        && status.split_whitespace().nth(2) != Some("installed")
    {
        return Ok(None);
    }
    let bad = |field| DpkgError::Field {
        path: path.to_owned(),
        package: name.clone(),
        field,
    };
    let mut depends = parse_relations(paragraph.get("Pre-Depends").unwrap_or_default())
        .map_err(|_| bad("Pre-Depends"))?;
    depends.extend(
        parse_relations(paragraph.get("Depends").unwrap_or_default())
            .map_err(|_| bad("Depends"))?,
    );
    let provides = parse_provides(paragraph.get("Provides").unwrap_or_default())
        .map_err(|_| bad("Provides"))?;
    Ok(Some(Installed {
        version: get("Version")?.to_owned(),
        architecture: paragraph.get("Architecture").unwrap_or("all").to_owned(),
        multi_arch: paragraph.get("Multi-Arch").map(str::to_owned),
        depends,
        provides,
        entry,
        has_status: status.is_some(),
        name,
    }))
}

impl DpkgState {
    /// From the files of `var/lib/dpkg`: `status`, the `status.d/` entries
    /// (file name → content) and `info/*.list` (file stem → content).
    pub fn read(
        status: Option<&str>,
        status_d: &BTreeMap<String, String>,
        lists: &BTreeMap<String, String>,
    ) -> Result<Self, DpkgError> {
        let mut packages = BTreeMap::new();
        let mut files: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut info_stem = BTreeMap::new();
        if let Some(status) = status.filter(|s| !s.trim().is_empty()) {
            let path = "/var/lib/dpkg/status";
            let paragraphs = parse_paragraphs(status).map_err(|source| DpkgError::Control {
                path: path.into(),
                source,
            })?;
            for paragraph in &paragraphs {
                if let Some(installed) = installed_from(path, paragraph, String::new())? {
                    packages.insert(installed.name.clone(), installed);
                }
            }
            for (stem, content) in lists {
                let name = stem.split(':').next().unwrap_or(stem).to_owned();
                info_stem.insert(name.clone(), stem.clone());
                files.insert(
                    name,
                    content
                        .lines()
                        .filter(|l| !l.is_empty() && *l != "/.")
                        .map(str::to_owned)
                        .collect(),
                );
            }
            return Ok(Self {
                layout: DbLayout::Status,
                status: status.to_owned(),
                packages,
                files,
                info_stem,
                md5sums: false,
            });
        }
        if status_d.is_empty() {
            return Err(DpkgError::NoDatabase);
        }
        let mut md5sums = false;
        for (file, content) in status_d {
            if let Some(stem) = file.strip_suffix(".md5sums") {
                md5sums = true;
                let listed = content
                    .lines()
                    .filter_map(|l| l.split_once("  ").map(|(_, p)| format!("/{}", p.trim())))
                    .collect();
                files.insert(stem.to_owned(), listed);
                continue;
            }
            let path = format!("/var/lib/dpkg/status.d/{file}");
            let paragraphs = parse_paragraphs(content).map_err(|source| DpkgError::Control {
                path: path.clone(),
                source,
            })?;
            for paragraph in &paragraphs {
                if let Some(installed) = installed_from(&path, paragraph, file.clone())? {
                    packages.insert(installed.name.clone(), installed);
                }
            }
        }
        // md5sums are keyed by entry file name; re-key by package.
        let by_entry: BTreeMap<String, String> = packages
            .values()
            .map(|p| (p.entry.clone(), p.name.clone()))
            .collect();
        let files = files
            .into_iter()
            .map(|(entry, list)| (by_entry.get(&entry).cloned().unwrap_or(entry), list))
            .collect();
        Ok(Self {
            layout: DbLayout::StatusD,
            status: String::new(),
            packages,
            files,
            info_stem,
            md5sums,
        })
    }
}

/// A package the caller wants updated, with the version that fixes it.
#[derive(Clone, Debug, Default)]
pub struct Wanted {
    pub package: String,
    /// The lowest version fixing every listed vulnerability (`None`: any newer).
    pub fixed: Option<String>,
    pub ids: BTreeSet<String>,
}

/// One package the patch installs.
#[derive(Clone, Debug)]
pub struct Update {
    pub name: String,
    /// The installed version; `None` for a new dependency.
    pub old: Option<String>,
    pub new: LockedPackage,
    /// The vulnerabilities this update fixes (empty for dependencies).
    pub ids: BTreeSet<String>,
}

/// A wanted package the patch leaves alone, and why.
#[derive(Clone, Debug)]
pub struct Skipped {
    pub package: String,
    pub version: String,
    pub ids: BTreeSet<String>,
    pub reason: String,
}

#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub updates: Vec<Update>,
    pub skipped: Vec<Skipped>,
}

/// Every package of the configured suites, verified (the build's loader,
/// InRelease freshness included).
pub struct Loaded {
    pub universe: Universe,
    /// `(archive URL, suite)` in suite order.
    pub suites: Vec<(String, String)>,
    /// Trust exceptions the user allowed (`--allow-stale-release`).
    pub warnings: Vec<String>,
}

/// Load and verify every index of `archives` (see [`Loaded`]).
pub fn load_universe(
    keyring: &str,
    archives: &[spec::Archive],
    architecture: &str,
    fetcher: &crate::fetch::Fetcher,
    freshness: crate::Freshness,
) -> Result<Loaded, BuildError> {
    let indices = crate::load_indices(keyring, archives, architecture, fetcher, freshness)?;
    let suites = archives
        .iter()
        .flat_map(|a| a.suites.iter().map(|s| (a.url.clone(), s.clone())))
        .collect();
    Ok(Loaded {
        universe: Universe::new(indices.packages),
        suites,
        warnings: indices.warnings,
    })
}

/// What one name resolves to in the patched system.
#[derive(Clone, Copy)]
struct Final<'a> {
    version: &'a str,
    architecture: &'a str,
    multi_arch: Option<&'a str>,
    provides: &'a [(String, Option<String>)],
}

struct View<'a> {
    state: &'a DpkgState,
    chosen: &'a BTreeMap<String, IndexPackage>,
}

impl View<'_> {
    fn get(&self, name: &str) -> Option<Final<'_>> {
        if let Some(p) = self.chosen.get(name) {
            return Some(Final {
                version: &p.version,
                architecture: &p.architecture,
                multi_arch: p.multi_arch.as_deref(),
                provides: &p.provides,
            });
        }
        self.state.packages.get(name).map(|p| Final {
            version: &p.version,
            architecture: &p.architecture,
            multi_arch: p.multi_arch.as_deref(),
            provides: &p.provides,
        })
    }

    fn names(&self) -> BTreeSet<&str> {
        self.state
            .packages
            .keys()
            .chain(self.chosen.keys())
            .map(String::as_str)
            .collect()
    }

    fn satisfied(&self, relation: &Relation) -> bool {
        let arch_ok = |p: Final<'_>| match relation.arch.as_deref() {
            Some("any") => p.multi_arch == Some("allowed"),
            Some("native") | None => true,
            Some(arch) => p.architecture == arch || p.architecture == "all",
        };
        if let Some(p) = self.get(&relation.name)
            && arch_ok(p)
            && relation
                .constraint
                .as_ref()
                .is_none_or(|(operator, wanted)| operator.accepts(p.version, wanted))
        {
            return true;
        }
        self.names().into_iter().any(|name| {
            let Some(p) = self.get(name) else {
                return false;
            };
            arch_ok(p)
                && p.provides.iter().any(|(provided, version)| {
                    provided == &relation.name
                        && match (&relation.constraint, version) {
                            (None, _) => true,
                            (Some((operator, wanted)), Some(version)) => {
                                operator.accepts(version, wanted)
                            }
                            (Some(_), None) => false,
                        }
                })
        })
    }
}

fn group_names(group: &[Relation]) -> Vec<String> {
    group.iter().map(|r| r.name.clone()).collect()
}

fn group_text(group: &[Relation]) -> String {
    group
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Add what `chosen` needs until every dependency holds: newer versions of
/// installed packages and new packages, from the universe's candidates.
/// Dependencies the image already left unsatisfied (a distroless image's
/// excluded `debconf`) stay ignored.
fn close(
    universe: &Universe,
    state: &DpkgState,
    ignored: &BTreeSet<(String, Vec<String>)>,
    chosen: &mut BTreeMap<String, IndexPackage>,
) -> Result<(), String> {
    loop {
        let mut additions: Vec<IndexPackage> = Vec::new();
        {
            let view = View { state, chosen };
            for name in view.names() {
                let (version, groups): (&str, Vec<&Vec<Relation>>) = match chosen.get(name) {
                    Some(p) => (&p.version, p.pre_depends.iter().chain(&p.depends).collect()),
                    None => match state.packages.get(name) {
                        Some(p) => (&p.version, p.depends.iter().collect()),
                        None => continue,
                    },
                };
                for group in groups {
                    if ignored.contains(&(name.to_owned(), group_names(group))) {
                        continue;
                    }
                    if group.iter().any(|r| view.satisfied(r)) {
                        continue;
                    }
                    let choice = group.iter().find_map(|relation| {
                        universe.satisfiers(relation).into_iter().find(|candidate| {
                            state.packages.get(&candidate.name).is_none_or(|installed| {
                                drydock_version::dpkg::compare(
                                    &candidate.version,
                                    &installed.version,
                                )
                                .is_gt()
                            }) && !chosen.contains_key(&candidate.name)
                        })
                    });
                    let Some(choice) = choice else {
                        return Err(format!(
                            "`{name} {version}` needs `{}`, which neither the image nor the configured suites provide",
                            group_text(group)
                        ));
                    };
                    if !additions.iter().any(|a| a.name == choice.name) {
                        additions.push(choice.clone());
                    }
                }
            }
        }
        if additions.is_empty() {
            return Ok(());
        }
        for addition in additions {
            chosen.insert(addition.name.clone(), addition);
        }
    }
}

/// Which packages to update: each wanted package whose newest candidate
/// fixes it, with what that candidate needs. A wanted package that cannot
/// be updated is skipped with the reason.
pub fn plan(
    universe: &Universe,
    suites: &[(String, String)],
    state: &DpkgState,
    wanted: &[Wanted],
) -> Plan {
    let original = View {
        state,
        chosen: &BTreeMap::new(),
    };
    let mut ignored = BTreeSet::new();
    for package in state.packages.values() {
        for group in &package.depends {
            if !group.iter().any(|r| original.satisfied(r)) {
                ignored.insert((package.name.clone(), group_names(group)));
            }
        }
    }
    let mut chosen: BTreeMap<String, IndexPackage> = BTreeMap::new();
    let mut ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut skipped = Vec::new();
    let mut wanted = wanted.to_vec();
    wanted.sort_by(|a, b| a.package.cmp(&b.package));
    for want in wanted {
        let Some(installed) = state.packages.get(&want.package) else {
            skipped.push(Skipped {
                package: want.package.clone(),
                version: String::new(),
                ids: want.ids,
                reason: "not installed in the image".into(),
            });
            continue;
        };
        let skip = |reason: String| Skipped {
            package: want.package.clone(),
            version: installed.version.clone(),
            ids: want.ids.clone(),
            reason,
        };
        if let Some(already) = chosen.get(&want.package)
            && want
                .fixed
                .as_deref()
                .is_none_or(|f| drydock_version::dpkg::compare(&already.version, f).is_ge())
        {
            ids.entry(want.package.clone())
                .or_default()
                .extend(want.ids);
            continue;
        }
        let Some(candidate) = universe.get(&want.package) else {
            skipped.push(skip(
                "no fix in the archive: the package is not in the configured suites".into(),
            ));
            continue;
        };
        if drydock_version::dpkg::compare(&candidate.version, &installed.version).is_le() {
            skipped.push(skip(format!(
                "no fix in the archive: the newest version in the configured suites is {}",
                candidate.version
            )));
            continue;
        }
        if let Some(fixed) = &want.fixed
            && drydock_version::dpkg::compare(&candidate.version, fixed).is_lt()
        {
            skipped.push(skip(format!(
                "no fix in the archive: the fix is {fixed}, the newest version in the configured suites is {}",
                candidate.version
            )));
            continue;
        }
        let mut tentative = chosen.clone();
        tentative.insert(want.package.clone(), candidate.clone());
        match close(universe, state, &ignored, &mut tentative) {
            Ok(()) => {
                chosen = tentative;
                ids.entry(want.package.clone())
                    .or_default()
                    .extend(want.ids);
            }
            Err(reason) => skipped.push(skip(format!(
                "the fix needs a package the image does not have: {reason}"
            ))),
        }
    }
    let updates = chosen
        .into_values()
        .map(|p| {
            let (archive, suite) = suites.get(p.suite).cloned().unwrap_or_default();
            Update {
                old: state.packages.get(&p.name).map(|i| i.version.clone()),
                ids: ids.remove(&p.name).unwrap_or_default(),
                name: p.name.clone(),
                new: LockedPackage {
                    name: p.name,
                    version: p.version,
                    architecture: p.architecture,
                    suite,
                    archive,
                    filename: p.filename,
                    size: p.size,
                    sha256: p.sha256,
                },
            }
        })
        .collect();
    Plan { updates, skipped }
}

/// What the patch needs to know about the image's final filesystem.
pub trait ImageFs {
    /// `path` (relative) with every symlink among its parents followed
    /// inside the image; the last component is not followed.
    fn canonical(&self, path: &str) -> String;
    /// What is at a canonical path: `Some(true)` a directory (or a symlink
    /// to one), `Some(false)` anything else, `None` nothing.
    fn is_dir(&self, path: &str) -> Option<bool>;
}

/// The patch layer, uncompressed.
pub struct PatchLayer {
    pub tar: Vec<u8>,
    pub files: usize,
    pub whiteouts: usize,
}

enum Entry {
    Node(Node),
    Whiteout,
}

fn control_members(control_tar: &[u8]) -> std::io::Result<Vec<(String, u32, Vec<u8>)>> {
    use std::io::Read as _;
    let mut archive = tar::Archive::new(control_tar);
    let mut members = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let path = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(path.strip_prefix(b"./").unwrap_or(&path)).into_owned();
        if name.contains('/') || name.is_empty() {
            continue;
        }
        let mode = entry.header().mode()? & 0o7777;
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes)?;
        members.push((name, mode, bytes));
    }
    members.sort();
    Ok(members)
}

fn record(control: &str, status: bool, conffiles: &str) -> String {
    let mut out = String::new();
    for (index, line) in control.trim_end().lines().enumerate() {
        out.push_str(line);
        out.push('\n');
        if index == 0 && status {
            out.push_str("Status: install ok installed\n");
        }
    }
    if status && !conffiles.is_empty() {
        out.push_str("Conffiles:\n");
        out.push_str(conffiles);
    }
    out
}

/// Fetch, verify and unpack every update into one layer over `fs`.
pub fn patch_layer(
    plan: &Plan,
    state: &DpkgState,
    fetcher: &crate::fetch::Fetcher,
    fs: &dyn ImageFs,
    mtime: u64,
) -> Result<PatchLayer, BuildError> {
    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    let mut new_paths: BTreeSet<String> = BTreeSet::new();
    let mut records: BTreeMap<String, String> = BTreeMap::new();
    let file = |content: Vec<u8>| {
        Entry::Node(Node {
            kind: Kind::File(content),
            mode: 0o644,
            uid: 0,
            gid: 0,
        })
    };
    for update in &plan.updates {
        let package = &update.new;
        let bytes = crate::fetch_deb(fetcher, package)?;
        let deb_error = |source: Box<dyn std::error::Error + Send + Sync>| BuildError::Deb {
            package: package.name.clone(),
            filename: package.filename.clone(),
            source,
        };
        let deb = crate::deb::open_deb(&bytes).map_err(|e| deb_error(Box::new(e)))?;
        let members = control_members(&deb.control_tar).map_err(|e| deb_error(Box::new(e)))?;
        let member = |name: &str| {
            members
                .iter()
                .find(|(n, _, _)| n == name)
                .map(|(_, _, b)| b.as_slice())
        };
        let control = member("control")
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .ok_or_else(|| deb_error("no `control` file in control.tar".into()))?;
        let mut tree = Tree::default();
        let shipped = tree
            .unpack(&deb.data_tar)
            .map_err(|e| deb_error(Box::new(e)))?;
        let mut list = String::from("/.\n");
        for path in &shipped {
            let _ = writeln!(list, "/{path}");
            let Some(node) = tree.get(path) else {
                continue;
            };
            let canonical = fs.canonical(path);
            let mut node = node.clone();
            if let Kind::Hardlink(target) = &node.kind {
                node.kind = Kind::Hardlink(fs.canonical(target));
            }
            if node.kind == Kind::Directory {
                if fs.is_dir(&canonical) == Some(true)
                    || matches!(entries.get(&canonical), Some(Entry::Node(n)) if n.kind == Kind::Directory)
                {
                    continue;
                }
            } else {
                new_paths.insert(canonical.clone());
            }
            entries.insert(canonical, Entry::Node(node));
        }
        let mut conffiles = String::new();
        for path in member("conffiles")
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with('/'))
        {
            if let Some(Node {
                kind: Kind::File(content),
                ..
            }) = normalize(path).and_then(|p| tree.get(&p))
            {
                let _ = writeln!(conffiles, " {path} {}", hex(&Md5::digest(content)));
            }
        }
        let installed = state.packages.get(&update.name);
        match state.layout {
            DbLayout::Status => {
                records.insert(update.name.clone(), record(&control, true, &conffiles));
                let stem = state
                    .info_stem
                    .get(&update.name)
                    .cloned()
                    .unwrap_or_else(|| {
                        let same = control.lines().any(|l| l.trim() == "Multi-Arch: same");
                        if same {
                            format!("{}:{}", package.name, package.architecture)
                        } else {
                            package.name.clone()
                        }
                    });
                let info = fs.canonical("var/lib/dpkg/info");
                entries.insert(format!("{info}/{stem}.list"), file(list.into_bytes()));
                for (name, mode, bytes) in &members {
                    if name == "control" {
                        continue;
                    }
                    entries.insert(
                        format!("{info}/{stem}.{name}"),
                        Entry::Node(Node {
                            kind: Kind::File(bytes.clone()),
                            mode: *mode,
                            uid: 0,
                            gid: 0,
                        }),
                    );
                }
            }
            DbLayout::StatusD => {
                let entry = installed.map_or_else(|| package.name.clone(), |i| i.entry.clone());
                let has_status = installed.is_some_and(|i| i.has_status);
                let directory = fs.canonical("var/lib/dpkg/status.d");
                entries.insert(
                    format!("{directory}/{entry}"),
                    file(record(&control, has_status, &conffiles).into_bytes()),
                );
                if state.md5sums
                    && let Some(md5sums) = member("md5sums")
                {
                    entries.insert(
                        format!("{directory}/{entry}.md5sums"),
                        file(md5sums.to_vec()),
                    );
                }
            }
        }
    }
    // Files the old versions had and nobody has now.
    let updated: BTreeSet<&str> = plan.updates.iter().map(|u| u.name.as_str()).collect();
    let mut kept: BTreeSet<String> = BTreeSet::new();
    for (package, files) in &state.files {
        if !updated.contains(package.as_str()) {
            kept.extend(
                files
                    .iter()
                    .map(|f| fs.canonical(f.trim_start_matches('/'))),
            );
        }
    }
    let mut whiteouts = 0;
    for update in &plan.updates {
        for old in state.files.get(&update.name).into_iter().flatten() {
            let canonical = fs.canonical(old.trim_start_matches('/'));
            if canonical.is_empty()
                || new_paths.contains(&canonical)
                || kept.contains(&canonical)
                || entries.contains_key(&canonical)
                || fs.is_dir(&canonical) != Some(false)
            {
                continue;
            }
            let (parent, name) = canonical
                .rsplit_once('/')
                .map_or(("", canonical.as_str()), |(p, n)| (p, n));
            let whiteout = if parent.is_empty() {
                format!(".wh.{name}")
            } else {
                format!("{parent}/.wh.{name}")
            };
            entries.insert(whiteout, Entry::Whiteout);
            whiteouts += 1;
        }
    }
    if state.layout == DbLayout::Status {
        let status = rewrite_status(&state.status, &records);
        entries.insert(
            fs.canonical("var/lib/dpkg/status"),
            file(status.into_bytes()),
        );
    }
    let files = entries
        .values()
        .filter(|e| matches!(e, Entry::Node(n) if n.kind != Kind::Directory))
        .count();
    let tar = write_tar(&entries, mtime).map_err(|source| BuildError::Write {
        path: "patch layer".into(),
        source,
    })?;
    Ok(PatchLayer {
        tar,
        files,
        whiteouts,
    })
}

/// The status file with the records of `records` replaced (new packages
/// appended), every other byte kept.
fn rewrite_status(status: &str, records: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut done = BTreeSet::new();
    for chunk in status.split("\n\n") {
        if chunk.trim().is_empty() {
            continue;
        }
        let name = chunk
            .lines()
            .find_map(|l| l.strip_prefix("Package:"))
            .map(str::trim);
        if let Some((name, record)) = name.and_then(|n| records.get(n).map(|r| (n, r))) {
            out.push_str(record);
            done.insert(name.to_owned());
        } else {
            out.push_str(chunk.trim_end_matches('\n'));
            out.push('\n');
        }
        out.push('\n');
    }
    for (name, record) in records {
        if !done.contains(name) {
            out.push_str(record);
            out.push('\n');
        }
    }
    out
}

fn write_tar(entries: &BTreeMap<String, Entry>, mtime: u64) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    for (path, entry) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(mtime);
        header.set_size(0);
        let Entry::Node(node) = entry else {
            header.set_mode(0o644);
            header.set_uid(0);
            header.set_gid(0);
            header.set_entry_type(tar::EntryType::Regular);
            builder.append_data(&mut header, path, std::io::empty())?;
            continue;
        };
        crate::tree::append_node(&mut builder, &mut header, path, node)?;
    }
    builder.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packages::parse_packages;

    const SUM: &str = "0000000000000000000000000000000000000000000000000000000000000000";

    fn universe(entries: &[&str]) -> Universe {
        use std::fmt::Write as _;
        let text = entries.iter().fold(String::new(), |mut s, e| {
            let _ = write!(
                s,
                "{e}\nArchitecture: amd64\nFilename: pool/x.deb\nSize: 1\nSHA256: {SUM}\n\n"
            );
            s
        });
        Universe::new(parse_packages(&text, 0, &["amd64", "all"]).unwrap())
    }

    fn state(status: &str) -> DpkgState {
        DpkgState::read(Some(status), &BTreeMap::new(), &BTreeMap::new()).unwrap()
    }

    fn want(package: &str, fixed: &str) -> Wanted {
        Wanted {
            package: package.into(),
            fixed: Some(fixed.into()),
            ids: BTreeSet::from(["CVE-1".to_owned()]),
        }
    }

    const STATUS: &str = "Package: apt\nStatus: install ok installed\nVersion: 2.6.1\nArchitecture: amd64\nDepends: libapt-pkg6.0 (>= 2.6.1), debconf\n\nPackage: libapt-pkg6.0\nStatus: install ok installed\nVersion: 2.6.1\nArchitecture: amd64\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n\n";

    #[test]
    fn fix_pulls_the_newer_dependency_and_ignores_what_was_already_missing() {
        let universe = universe(&[
            "Package: apt\nVersion: 2.6.2\nDepends: libapt-pkg6.0 (>= 2.6.2), debconf",
            "Package: libapt-pkg6.0\nVersion: 2.6.2",
        ]);
        let state = state(STATUS);
        assert!(!state.packages.contains_key("gone"));
        let plan = plan(
            &universe,
            &[("http://a".into(), "bookworm-security".into())],
            &state,
            &[want("apt", "2.6.2")],
        );
        let updates: Vec<(&str, Option<&str>, &str)> = plan
            .updates
            .iter()
            .map(|u| (u.name.as_str(), u.old.as_deref(), u.new.version.as_str()))
            .collect();
        assert_eq!(
            updates,
            [
                ("apt", Some("2.6.1"), "2.6.2"),
                ("libapt-pkg6.0", Some("2.6.1"), "2.6.2")
            ]
        );
        assert_eq!(plan.updates[0].ids.len(), 1);
        assert!(plan.updates[1].ids.is_empty());
        assert_eq!(plan.updates[0].new.suite, "bookworm-security");
        assert!(plan.skipped.is_empty());
    }

    #[test]
    fn skips_name_the_reason() {
        let universe = universe(&[
            "Package: apt\nVersion: 2.6.2\nDepends: libnew (>= 1)",
            "Package: libapt-pkg6.0\nVersion: 2.6.1",
        ]);
        let state = state(STATUS);
        let plan = plan(
            &universe,
            &[],
            &state,
            &[
                want("apt", "2.6.2"),
                want("libapt-pkg6.0", "2.6.3"),
                want("zzz", "1"),
            ],
        );
        assert!(plan.updates.is_empty());
        let reasons: Vec<&str> = plan.skipped.iter().map(|s| s.reason.as_str()).collect();
        assert_eq!(
            reasons,
            [
                "the fix needs a package the image does not have: `apt 2.6.2` needs `libnew (>= 1)`, which neither the image nor the configured suites provide",
                "no fix in the archive: the newest version in the configured suites is 2.6.1",
                "not installed in the image",
            ]
        );
    }

    #[test]
    fn status_rewrite_keeps_other_records() {
        let records = BTreeMap::from([(
            "libapt-pkg6.0".to_owned(),
            "Package: libapt-pkg6.0\nStatus: install ok installed\nVersion: 2.6.2\n".to_owned(),
        )]);
        let out = rewrite_status(STATUS, &records);
        assert_eq!(
            out,
            STATUS.replace(
                "Version: 2.6.1\nArchitecture: amd64\n\nPackage: gone",
                "Version: 2.6.2\n\nPackage: gone"
            )
        );
    }

    #[test]
    fn status_d_records_and_md5sums() {
        let status_d = BTreeMap::from([
            (
                "libc6".to_owned(),
                "Package: libc6\nVersion: 2.36-9\nArchitecture: amd64\n".to_owned(),
            ),
            (
                "libc6.md5sums".to_owned(),
                "d41d8cd98f00b204e9800998ecf8427e  usr/lib/x.so\n".to_owned(),
            ),
        ]);
        let state = DpkgState::read(None, &status_d, &BTreeMap::new()).unwrap();
        assert_eq!(state.layout, DbLayout::StatusD);
        assert!(state.md5sums);
        assert_eq!(state.files["libc6"], ["/usr/lib/x.so"]);
        assert!(!state.packages["libc6"].has_status);
        assert!(matches!(
            DpkgState::read(None, &BTreeMap::new(), &BTreeMap::new()),
            Err(DpkgError::NoDatabase)
        ));
    }
}

//! Dependency resolution over merged Packages indices: Pre-Depends and
//! Depends, alternatives, versioned relations in dpkg order, virtual
//! packages through (versioned) Provides, Multi-Arch qualifiers, excludes,
//! Conflicts and Breaks, and apt's candidate versions by pin priority
//! (crate::pin).
use std::collections::{BTreeMap, BTreeSet};

use crate::control::Relation;
use crate::packages::IndexPackage;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResolveError {
    #[error("package `{0}` is not in any configured suite")]
    Unknown(String),
    #[error(
        "`{package}` depends on `{relation}`, which no package in the configured suites satisfies{excluded}"
    )]
    Unsatisfiable {
        package: String,
        relation: String,
        excluded: String,
    },
    #[error(
        "`{package}` and `{other}` cannot both be installed: `{declared_by}` has `{field}: {relation}`"
    )]
    Conflict {
        package: String,
        other: String,
        declared_by: String,
        field: &'static str,
        relation: String,
    },
}

/// The candidates: apt's candidate version of every package name across
/// the suites (highest pin priority, then newest), and who provides what.
pub struct Universe {
    candidates: BTreeMap<String, IndexPackage>,
    providers: BTreeMap<String, Vec<(String, Option<String>)>>,
}

impl Universe {
    /// Every suite at the default priority: the newest version wins.
    pub fn new(packages: impl IntoIterator<Item = IndexPackage>) -> Self {
        Self::with_priorities(packages, |_| crate::pin::DEFAULT)
    }

    /// Candidates by `priority` (crate::pin): the highest priority wins, then
    /// the newest version, then the first suite; a negative priority never
    /// installs that version.
    pub fn with_priorities(
        packages: impl IntoIterator<Item = IndexPackage>,
        priority: impl Fn(&IndexPackage) -> i32,
    ) -> Self {
        let mut ranked: BTreeMap<String, (i32, IndexPackage)> = BTreeMap::new();
        for package in packages {
            let rank = priority(&package);
            if rank < 0 {
                continue;
            }
            match ranked.get(&package.name) {
                Some((existing_rank, existing))
                    if *existing_rank > rank
                        || (*existing_rank == rank
                            && drydock_version::dpkg::compare(
                                &existing.version,
                                &package.version,
                            )
                            .is_ge()) => {}
                _ => {
                    ranked.insert(package.name.clone(), (rank, package));
                }
            }
        }
        let candidates: BTreeMap<String, IndexPackage> = ranked
            .into_iter()
            .map(|(name, (_, package))| (name, package))
            .collect();
        let mut providers: BTreeMap<String, Vec<(String, Option<String>)>> = BTreeMap::new();
        for package in candidates.values() {
            for (name, version) in &package.provides {
                providers
                    .entry(name.clone())
                    .or_default()
                    .push((package.name.clone(), version.clone()));
            }
        }
        Self {
            candidates,
            providers,
        }
    }

    pub fn get(&self, name: &str) -> Option<&IndexPackage> {
        self.candidates.get(name)
    }

    /// Real packages that can satisfy `relation`, in preference order.
    pub(crate) fn satisfiers(&self, relation: &Relation) -> Vec<&IndexPackage> {
        let mut out = Vec::new();
        if let Some(package) = self.candidates.get(&relation.name)
            && arch_ok(relation, package)
            && relation
                .constraint
                .as_ref()
                .is_none_or(|(operator, wanted)| operator.accepts(&package.version, wanted))
        {
            out.push(package);
        }
        for (provider, provided_version) in self.providers.get(&relation.name).into_iter().flatten()
        {
            let Some(package) = self.candidates.get(provider) else {
                continue;
            };
            // Policy §7.5: an unversioned Provides never satisfies a versioned relation.
            let version_ok = match (&relation.constraint, provided_version) {
                (None, _) => true,
                (Some((operator, wanted)), Some(version)) => operator.accepts(version, wanted),
                (Some(_), None) => false,
            };
            if version_ok
                && arch_ok(relation, package)
                && !out.iter().any(|p| p.name == package.name)
            {
                out.push(package);
            }
        }
        out
    }
}

/// Single-architecture builds: `:any` needs `Multi-Arch: allowed` (dpkg);
/// `:native` and the build architecture match any candidate, which is
/// already of the build architecture or `all`.
fn arch_ok(relation: &Relation, package: &IndexPackage) -> bool {
    match relation.arch.as_deref() {
        Some("any") => package.multi_arch.as_deref() == Some("allowed"),
        Some("native") | None => true,
        Some(arch) => package.architecture == arch || package.architecture == "all",
    }
}

/// The `Conflicts` or `Breaks` relation of `declarer` that `other` matches
/// (by name and version, or through its Provides; never itself).
fn clash<'a>(
    declarer: &'a IndexPackage,
    other: &IndexPackage,
) -> Option<(&'static str, &'a Relation)> {
    if declarer.name == other.name {
        return None;
    }
    let fields = [
        ("Conflicts", &declarer.conflicts),
        ("Breaks", &declarer.breaks),
    ];
    for (field, groups) in fields {
        for relation in groups.iter().flatten() {
            let by_name = relation.name == other.name
                && relation
                    .constraint
                    .as_ref()
                    .is_none_or(|(operator, wanted)| operator.accepts(&other.version, wanted));
            let by_provides = other.provides.iter().any(|(name, version)| {
                *name == relation.name
                    && match (&relation.constraint, version) {
                        (None, _) => true,
                        (Some((operator, wanted)), Some(version)) => {
                            operator.accepts(version, wanted)
                        }
                        (Some(_), None) => false,
                    }
            });
            if by_name || by_provides {
                return Some((field, relation));
            }
        }
    }
    None
}

/// The first conflict between `package` and a selected one, either way.
fn conflict_with(
    package: &IndexPackage,
    selected: &BTreeMap<String, IndexPackage>,
) -> Option<ResolveError> {
    selected.values().find_map(|other| {
        let (declared_by, (field, relation)) = clash(package, other)
            .map(|found| (package, found))
            .or_else(|| clash(other, package).map(|found| (other, found)))?;
        Some(ResolveError::Conflict {
            package: format!("{} {}", package.name, package.version),
            other: format!("{} {}", other.name, other.version),
            declared_by: declared_by.name.clone(),
            field,
            relation: relation.to_string(),
        })
    })
}

/// Resolve `roots` and their dependencies. Excluded names are never
/// selected; a relation naming an excluded package counts as satisfied.
pub fn resolve(
    universe: &Universe,
    roots: &[String],
    excludes: &BTreeSet<String>,
) -> Result<Vec<IndexPackage>, ResolveError> {
    let mut selected: BTreeMap<String, IndexPackage> = BTreeMap::new();
    let mut queue: Vec<String> = Vec::new();
    for root in roots {
        let package = universe
            .get(root)
            .ok_or_else(|| ResolveError::Unknown(root.clone()))?;
        if excludes.contains(root) {
            continue;
        }
        if let Some(conflict) = conflict_with(package, &selected) {
            return Err(conflict);
        }
        if selected.insert(root.clone(), package.clone()).is_none() {
            queue.push(root.clone());
        }
    }
    while let Some(name) = queue.pop() {
        let Some(package) = selected.get(&name).cloned() else {
            continue;
        };
        for group in package.pre_depends.iter().chain(&package.depends) {
            if group
                .iter()
                .any(|relation| excludes.contains(&relation.name))
            {
                continue;
            }
            let satisfied = group.iter().any(|relation| {
                universe
                    .satisfiers(relation)
                    .iter()
                    .any(|candidate| selected.contains_key(&candidate.name))
            });
            if satisfied {
                continue;
            }
            // The first alternative that conflicts with nothing selected.
            let mut first_conflict = None;
            let choice = group.iter().find_map(|relation| {
                universe
                    .satisfiers(relation)
                    .into_iter()
                    .filter(|candidate| !excludes.contains(&candidate.name))
                    .find(|candidate| match conflict_with(candidate, &selected) {
                        Some(conflict) => {
                            first_conflict.get_or_insert(conflict);
                            false
                        }
                        None => true,
                    })
            });
            if choice.is_none()
                && let Some(conflict) = first_conflict
            {
                return Err(conflict);
            }
            let Some(choice) = choice else {
                let excluded_providers: Vec<&str> = group
                    .iter()
                    .flat_map(|relation| universe.satisfiers(relation))
                    .filter(|candidate| excludes.contains(&candidate.name))
                    .map(|candidate| candidate.name.as_str())
                    .collect();
                return Err(ResolveError::Unsatisfiable {
                    package: format!("{} {}", package.name, package.version),
                    relation: group
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(" | "),
                    excluded: if excluded_providers.is_empty() {
                        String::new()
                    } else {
                        format!(" (excluded: {})", excluded_providers.join(", "))
                    },
                });
            };
            selected.insert(choice.name.clone(), choice.clone());
            queue.push(choice.name.clone());
        }
    }
    Ok(selected.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packages::parse_packages;

    fn universe(text: &str) -> Universe {
        Universe::new(parse_packages(text, 0, &["amd64", "all"]).unwrap())
    }

    const SUM: &str = "0000000000000000000000000000000000000000000000000000000000000000";

    #[allow(clippy::format_collect, reason = "test helper")]
    fn index(entries: &[&str]) -> String {
        entries
            .iter()
            .map(|e| {
                format!(
                    "{e}\nArchitecture: amd64\nFilename: pool/x.deb\nSize: 1\nSHA256: {SUM}\n\n"
                )
            })
            .collect()
    }

    fn names(packages: &[IndexPackage]) -> Vec<&str> {
        packages.iter().map(|p| p.name.as_str()).collect()
    }

    #[test]
    fn alternatives_versions_and_virtuals() {
        let text = index(&[
            "Package: app\nVersion: 1\nDepends: libc6 (>= 2.34), mail-transport-agent, missing | alt",
            "Package: libc6\nVersion: 2.36-9\nPre-Depends: libgcc-s1",
            "Package: libgcc-s1\nVersion: 12.2.0-14",
            "Package: exim4\nVersion: 4.96\nProvides: mail-transport-agent",
            "Package: alt\nVersion: 1",
        ]);
        let resolved = resolve(&universe(&text), &["app".into()], &BTreeSet::new()).unwrap();
        assert_eq!(
            names(&resolved),
            ["alt", "app", "exim4", "libc6", "libgcc-s1"]
        );
    }

    #[test]
    fn unsatisfiable_version_names_package_and_relation() {
        let text = index(&[
            "Package: app\nVersion: 1\nDepends: libc6 (>= 3)",
            "Package: libc6\nVersion: 2.36-9",
        ]);
        let error = resolve(&universe(&text), &["app".into()], &BTreeSet::new()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`app 1` depends on `libc6 (>= 3)`, which no package in the configured suites satisfies"
        );
    }

    #[test]
    fn versioned_provides_and_excludes() {
        let text = index(&[
            "Package: app\nVersion: 1\nDepends: virt (>= 2), debconf | debconf-2.0",
            "Package: unversioned\nVersion: 9\nProvides: virt",
            "Package: versioned\nVersion: 1\nProvides: virt (= 2.5)",
            "Package: debconf\nVersion: 1",
        ]);
        let excludes = BTreeSet::from(["debconf".to_owned()]);
        let resolved = resolve(&universe(&text), &["app".into()], &excludes).unwrap();
        assert_eq!(names(&resolved), ["app", "versioned"]);
    }

    #[test]
    fn conflicts_and_breaks_with_versions_and_provides() {
        let text = index(&[
            "Package: app\nVersion: 1\nDepends: mta-a | mta-b, lib",
            "Package: mta-a\nVersion: 1\nProvides: mail-transport-agent\nConflicts: mail-transport-agent",
            "Package: mta-b\nVersion: 1",
            "Package: lib\nVersion: 2\nBreaks: mta-a (<< 2)",
        ]);
        // mta-a is chosen first (first alternative), then lib breaks it.
        let error = resolve(&universe(&text), &["app".into()], &BTreeSet::new()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "`lib 2` and `mta-a 1` cannot both be installed: `lib` has `Breaks: mta-a (<< 2)`"
        );
        // A Provides of its own name does not make a package conflict with itself,
        // and a version outside the relation does not break.
        let text = index(&[
            "Package: app\nVersion: 1\nDepends: lib, mta-a | mta-b",
            "Package: mta-a\nVersion: 2\nProvides: mail-transport-agent\nConflicts: mail-transport-agent",
            "Package: mta-b\nVersion: 1\nProvides: mail-transport-agent",
            "Package: lib\nVersion: 2\nBreaks: mta-a (<< 2)",
        ]);
        let resolved = resolve(&universe(&text), &["app".into()], &BTreeSet::new()).unwrap();
        assert_eq!(names(&resolved), ["app", "lib", "mta-a"]);
        // With lib first, the alternative that lib breaks is skipped.
        let text = index(&[
            "Package: app\nVersion: 1\nDepends: lib, mta-a | mta-b",
            "Package: mta-a\nVersion: 1",
            "Package: mta-b\nVersion: 1",
            "Package: lib\nVersion: 2\nBreaks: mta-a (<< 2)",
        ]);
        let resolved = resolve(&universe(&text), &["app".into()], &BTreeSet::new()).unwrap();
        assert_eq!(names(&resolved), ["app", "lib", "mta-b"]);
        // Two roots that conflict through a virtual package.
        let text = index(&[
            "Package: exim4\nVersion: 1\nProvides: mail-transport-agent\nConflicts: mail-transport-agent",
            "Package: postfix\nVersion: 1\nProvides: mail-transport-agent\nConflicts: mail-transport-agent",
        ]);
        let error = resolve(
            &universe(&text),
            &["exim4".into(), "postfix".into()],
            &BTreeSet::new(),
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("`Conflicts: mail-transport-agent`"),
            "{error}"
        );
    }

    #[test]
    fn backports_do_not_win_by_default() {
        let mut packages = parse_packages(
            &index(&[
                "Package: app\nVersion: 1\nDepends: lib",
                "Package: lib\nVersion: 1",
            ]),
            0,
            &["amd64"],
        )
        .unwrap();
        packages.extend(
            parse_packages(
                &index(&[
                    "Package: lib\nVersion: 2~bpo12+1",
                    "Package: new\nVersion: 1~bpo12+1",
                ]),
                1,
                &["amd64"],
            )
            .unwrap(),
        );
        let priorities = |target: i32| {
            move |package: &IndexPackage| if package.suite == 1 { target } else { 500 }
        };
        let chosen = |target| {
            let universe = Universe::with_priorities(packages.clone(), priorities(target));
            let resolved =
                resolve(&universe, &["app".into(), "new".into()], &BTreeSet::new()).unwrap();
            resolved
                .iter()
                .map(|p| format!("{} {}", p.name, p.version))
                .collect::<Vec<_>>()
        };
        // Backports (100): lib stays at 1; `new`, only there, still installs.
        assert_eq!(chosen(100), ["app 1", "lib 1", "new 1~bpo12+1"]);
        // Target release (990): backports wins.
        assert_eq!(chosen(990), ["app 1", "lib 2~bpo12+1", "new 1~bpo12+1"]);
        // Negative: never installed.
        let universe = Universe::with_priorities(packages.clone(), priorities(-1));
        assert_eq!(
            resolve(&universe, &["new".into()], &BTreeSet::new()).unwrap_err(),
            ResolveError::Unknown("new".into())
        );
    }

    #[test]
    fn newest_version_across_suites_and_any_qualifier() {
        let mut packages = parse_packages(
            &index(&[
                "Package: app\nVersion: 1\nDepends: py:any",
                "Package: py\nVersion: 3.11.2-1\nMulti-Arch: allowed",
            ]),
            0,
            &["amd64"],
        )
        .unwrap();
        packages.extend(
            parse_packages(
                &index(&["Package: py\nVersion: 3.11.2-1+deb12u1\nMulti-Arch: allowed"]),
                1,
                &["amd64"],
            )
            .unwrap(),
        );
        let resolved =
            resolve(&Universe::new(packages), &["app".into()], &BTreeSet::new()).unwrap();
        assert_eq!(resolved[1].version, "3.11.2-1+deb12u1");
        assert_eq!(resolved[1].suite, 1);
        let text = index(&[
            "Package: app\nVersion: 1\nDepends: py:any",
            "Package: py\nVersion: 3",
        ]);
        assert!(resolve(&universe(&text), &["app".into()], &BTreeSet::new()).is_err());
    }
}

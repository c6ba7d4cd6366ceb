//! apt's pin priorities (apt_preferences(5)) for the versions in the spec's
//! suites. A version's priority is that of the first matching pin naming its
//! package, else of the first matching `*` pin, else the default: 990 for the
//! target release (`target_release`, apt's `-t`), 100 for a suite marked
//! `NotAutomatic: yes` and `ButAutomaticUpgrades: yes` (a backports suite),
//! 1 for `NotAutomatic: yes` alone (experimental), 500 otherwise. The
//! candidate of a package is its version of highest priority (then the
//! newest); a negative priority never installs that version.
use crate::packages::IndexPackage;
use crate::release::Release;
use crate::spec::Spec;

pub const DEFAULT: i32 = 500;
pub const TARGET_RELEASE: i32 = 990;
pub const NOT_AUTOMATIC: i32 = 1;
pub const BUT_AUTOMATIC_UPGRADES: i32 = 100;

/// The priorities of a spec's suites, in `Spec::suites` order.
pub struct Policy<'a> {
    spec: &'a Spec,
    suites: Vec<SuiteNames>,
    defaults: Vec<i32>,
}

struct SuiteNames {
    requested: String,
    suite: Option<String>,
    codename: Option<String>,
}

impl SuiteNames {
    /// apt's `a=` (suite) or `n=` (codename); the name in the spec counts too.
    fn matches(&self, name: &str) -> bool {
        self.requested == name
            || self.suite.as_deref() == Some(name)
            || self.codename.as_deref() == Some(name)
    }
}

impl<'a> Policy<'a> {
    /// `releases` are the verified Release files, in `Spec::suites` order.
    pub fn new(spec: &'a Spec, releases: &[Release]) -> Self {
        let suites: Vec<SuiteNames> = spec
            .suites()
            .into_iter()
            .zip(releases)
            .map(|((_, requested), release)| SuiteNames {
                requested: requested.to_owned(),
                suite: release.suite.clone(),
                codename: release.codename.clone(),
            })
            .collect();
        let defaults = suites
            .iter()
            .zip(releases)
            .map(|(names, release)| {
                default_priority(
                    release,
                    spec.target_release
                        .as_deref()
                        .is_some_and(|target| names.matches(target)),
                )
            })
            .collect();
        Self {
            spec,
            suites,
            defaults,
        }
    }

    /// The priority of one version (of the suite it was read from).
    pub fn priority(&self, package: &IndexPackage) -> i32 {
        let Some(names) = self.suites.get(package.suite) else {
            return DEFAULT;
        };
        let matching = |specific: bool| {
            self.spec.pins.iter().find(|pin| {
                (pin.package == package.name) == specific
                    && (specific || pin.package == "*")
                    && names.matches(&pin.release)
            })
        };
        matching(true)
            .or_else(|| matching(false))
            .map(|pin| pin.priority)
            .or_else(|| self.defaults.get(package.suite).copied())
            .unwrap_or(DEFAULT)
    }
}

/// apt's priority for a release without pins.
pub fn default_priority(release: &Release, target: bool) -> i32 {
    if target {
        TARGET_RELEASE
    } else if release.not_automatic && release.but_automatic_upgrades {
        BUT_AUTOMATIC_UPGRADES
    } else if release.not_automatic {
        NOT_AUTOMATIC
    } else {
        DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(extra: &str) -> Spec {
        Spec::parse(&format!(
            "name: x\narchives: [{{url: http://a, suites: [bookworm, bookworm-backports, experimental]}}]\n{extra}"
        ))
        .unwrap()
    }

    fn release(codename: &str, not_automatic: bool, upgrades: bool) -> Release {
        Release {
            codename: Some(codename.to_owned()),
            not_automatic,
            but_automatic_upgrades: upgrades,
            ..Release::default()
        }
    }

    fn package(name: &str, suite: usize) -> IndexPackage {
        IndexPackage {
            name: name.to_owned(),
            version: "1".into(),
            architecture: "amd64".into(),
            multi_arch: None,
            pre_depends: Vec::new(),
            depends: Vec::new(),
            conflicts: Vec::new(),
            breaks: Vec::new(),
            provides: Vec::new(),
            filename: "pool/x.deb".into(),
            sha256: String::new(),
            size: 0,
            suite,
        }
    }

    fn releases() -> Vec<Release> {
        vec![
            release("bookworm", false, false),
            release("bookworm-backports", true, true),
            release("experimental", true, false),
        ]
    }

    #[test]
    fn defaults_target_release_and_pins() {
        let plain = spec("");
        let policy = Policy::new(&plain, &releases());
        let priorities: Vec<i32> = (0..3).map(|s| policy.priority(&package("a", s))).collect();
        assert_eq!(priorities, [500, 100, 1]);

        let targeted = spec("target_release: bookworm-backports\n");
        let policy = Policy::new(&targeted, &releases());
        assert_eq!(policy.priority(&package("a", 1)), 990);
        assert_eq!(policy.priority(&package("a", 0)), 500);

        let pinned = spec(
            "pins:\n  - {package: '*', release: experimental, priority: 600}\n  - {package: a, release: experimental, priority: -1}\n",
        );
        let policy = Policy::new(&pinned, &releases());
        assert_eq!(
            policy.priority(&package("a", 2)),
            -1,
            "specific before general"
        );
        assert_eq!(policy.priority(&package("b", 2)), 600);
        assert_eq!(policy.priority(&package("b", 1)), 100);
    }
}

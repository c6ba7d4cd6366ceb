//! Distro identification from `os-release` and, for images without one, the
//! older per-family release files.
//!
//! Decisions:
//! - `etc/os-release` is used exclusively when present, `usr/lib/os-release`
//!   only when it is missing, as the freedesktop spec says. The dispatcher has
//!   already resolved links, so `etc/os-release -> ../usr/lib/os-release`
//!   arrives as content.
//! - Empty values (`VERSION_CODENAME=""` on Fedora) count as absent.
//! - An os-release without `ID` does not identify anything on its own: the
//!   legacy files are tried, and only if none identifies the distro is the
//!   spec's default `ID=linux` used.
//! - The legacy files (`etc/alpine-release`, `etc/redhat-release`,
//!   `etc/debian_version`, tried in that order because Debian derivatives
//!   carry a `debian_version` too) are turned into what that release's
//!   os-release says: Debian's `VERSION_ID` is the major version only,
//!   Alpine's the full `x.y.z`, CentOS's the major, RHEL's `major.minor`.
//! - For `ID=debian` only, fields missing from os-release (Debian testing and
//!   sid have no `VERSION_ID`; distroless images have no
//!   `VERSION_CODENAME`) are filled from `etc/debian_version`. Derivatives
//!   such as Ubuntu are not touched: their `debian_version` names the Debian
//!   release they branched from, not their own.
use drydock_core::Distro;

use crate::Files;

/// The files distro detection reads.
pub(crate) const CLAIMS: &[&str] = &[
    "etc/os-release",
    "usr/lib/os-release",
    "etc/debian_version",
    "etc/alpine-release",
    "etc/redhat-release",
];

/// Identify the distribution from the claimed files.
pub fn detect(files: &Files<'_>) -> Option<Distro> {
    let os_release = files
        .get("etc/os-release")
        .or_else(|| files.get("usr/lib/os-release"))
        .map(|file| from_os_release(&parse_os_release(file.bytes)));
    let debian_version = files
        .get("etc/debian_version")
        .map(|file| DebianVersion::parse(file.bytes));

    if let Some(mut distro) = os_release.clone().filter(|d| !d.id.is_empty()) {
        if distro.id == "debian"
            && let Some(debian) = &debian_version
        {
            debian.fill(&mut distro);
        }
        return Some(distro);
    }

    let legacy = files
        .get("etc/alpine-release")
        .and_then(|file| from_alpine_release(file.bytes))
        .or_else(|| {
            files
                .get("etc/redhat-release")
                .and_then(|file| from_redhat_release(file.bytes))
        })
        .or_else(|| debian_version.as_ref().and_then(DebianVersion::to_distro));
    legacy.or_else(|| {
        os_release.map(|mut distro| {
            "linux".clone_into(&mut distro.id);
            distro
        })
    })
}

/// The assignments of an os-release file, in file order, values unquoted.
///
/// The format is a restricted shell assignment list: `KEY=value` per line,
/// `#` comments, blank lines. Values may be unquoted (a backslash escapes the
/// next character), double-quoted (a backslash escapes only `"`, `\`, `$` and
/// `` ` ``) or single-quoted (no escapes); adjacent pieces concatenate as in
/// the shell. No variable expansion is done. Lines that are not an
/// assignment to a valid name are ignored; an unterminated quote ends at the
/// end of the line. Non-UTF-8 bytes are replaced.
fn parse_os_release(bytes: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        if !is_name(key) {
            continue;
        }
        out.push((key.to_owned(), unquote(raw)));
    }
    out
}

fn is_name(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Shell-style unquoting of one value; stops at unquoted whitespace (what
/// follows, e.g. a trailing comment, is not part of the value).
fn unquote(raw: &str) -> String {
    enum State {
        Bare,
        Double,
        Single,
    }
    let mut out = String::with_capacity(raw.len());
    let mut state = State::Bare;
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match state {
            State::Bare => match c {
                '"' => state = State::Double,
                '\'' => state = State::Single,
                '\\' => out.extend(chars.next()),
                c if c.is_whitespace() => break,
                c => out.push(c),
            },
            State::Double => match c {
                '"' => state = State::Bare,
                '\\' => match chars.next() {
                    Some(next @ ('"' | '\\' | '$' | '`')) => out.push(next),
                    Some(next) => {
                        out.push('\\');
                        out.push(next);
                    }
                    None => out.push('\\'),
                },
                c => out.push(c),
            },
            State::Single => match c {
                '\'' => state = State::Bare,
                c => out.push(c),
            },
        }
    }
    out
}

fn from_os_release(fields: &[(String, String)]) -> Distro {
    // Later assignments win, as they would when the file is sourced.
    let get = |key: &str| {
        fields
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    Distro {
        id: get("ID").unwrap_or_default().to_owned(),
        version_id: get("VERSION_ID").unwrap_or_default().to_owned(),
        version_codename: get("VERSION_CODENAME").map(str::to_owned),
        pretty_name: get("PRETTY_NAME").map(str::to_owned),
        id_like: get("ID_LIKE")
            .map(|v| v.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
    }
}

/// Debian's major versions and their codenames, as os-release's
/// `VERSION_CODENAME` spells them.
const DEBIAN_CODENAMES: &[(&str, &str)] = &[
    ("6", "squeeze"),
    ("7", "wheezy"),
    ("8", "jessie"),
    ("9", "stretch"),
    ("10", "buster"),
    ("11", "bullseye"),
    ("12", "bookworm"),
    ("13", "trixie"),
    ("14", "forky"),
    ("15", "duke"),
];

/// The content of `etc/debian_version`: `12.5` on a stable release,
/// `trixie/sid` on testing and unstable.
struct DebianVersion {
    /// The major version (`12`), empty on testing/unstable.
    major: String,
    codename: Option<String>,
    raw: String,
}

impl DebianVersion {
    fn parse(bytes: &[u8]) -> DebianVersion {
        let raw = String::from_utf8_lossy(bytes)
            .lines()
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        if raw.starts_with(|c: char| c.is_ascii_digit()) {
            let major: String = raw.chars().take_while(char::is_ascii_digit).collect();
            let codename = DEBIAN_CODENAMES
                .iter()
                .find(|(number, _)| *number == major)
                .map(|(_, name)| (*name).to_owned());
            DebianVersion {
                major,
                codename,
                raw,
            }
        } else {
            let codename = raw
                .split('/')
                .next()
                .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()))
                .map(str::to_owned);
            DebianVersion {
                major: String::new(),
                codename,
                raw,
            }
        }
    }

    fn fill(&self, distro: &mut Distro) {
        if distro.version_id.is_empty() {
            distro.version_id.clone_from(&self.major);
        }
        if distro.version_codename.is_none() {
            distro.version_codename.clone_from(&self.codename);
        }
    }

    /// The Debian os-release this file stands for; `None` when empty.
    fn to_distro(&self) -> Option<Distro> {
        if self.raw.is_empty() {
            return None;
        }
        let pretty_name = match (&self.major, &self.codename) {
            (major, Some(codename)) if !major.is_empty() => {
                format!("Debian GNU/Linux {major} ({codename})")
            }
            (major, None) if !major.is_empty() => format!("Debian GNU/Linux {major}"),
            _ => format!("Debian GNU/Linux {}", self.raw),
        };
        Some(Distro {
            id: "debian".to_owned(),
            version_id: self.major.clone(),
            version_codename: self.codename.clone(),
            pretty_name: Some(pretty_name),
            id_like: Vec::new(),
        })
    }
}

/// `etc/alpine-release`: `3.19.1`, which is also os-release's `VERSION_ID`.
/// The pretty name follows Alpine's os-release: `Alpine Linux v3.19`, or
/// `Alpine Linux edge` for a pre-release such as `3.20_alpha20240315`.
fn from_alpine_release(bytes: &[u8]) -> Option<Distro> {
    let text = String::from_utf8_lossy(bytes);
    let version = text.lines().next()?.trim();
    if version.is_empty() {
        return None;
    }
    let pretty_name = if version.contains('_') {
        "Alpine Linux edge".to_owned()
    } else {
        let major_minor: Vec<&str> = version.split('.').take(2).collect();
        format!("Alpine Linux v{}", major_minor.join("."))
    };
    Some(Distro {
        id: "alpine".to_owned(),
        version_id: version.to_owned(),
        version_codename: None,
        pretty_name: Some(pretty_name),
        id_like: Vec::new(),
    })
}

/// How much of the `release` number in `etc/redhat-release` os-release keeps
/// as `VERSION_ID`.
#[derive(Clone, Copy)]
enum VersionStyle {
    /// `7.9.2009` → `7` (CentOS, Fedora, Amazon Linux 2 and 2023).
    Major,
    /// `8.9` → `8.9` (RHEL, Rocky, AlmaLinux, the old Amazon Linux AMI).
    MajorMinor,
}

/// One family writing `etc/redhat-release`: the product name before
/// ` release `, checked as a prefix in table order (longest first where one
/// name extends another), the os-release `ID`, the version style and
/// `ID_LIKE`.
struct RedhatFamily {
    name_prefix: &'static str,
    id: &'static str,
    style: VersionStyle,
    id_like: &'static [&'static str],
}

const REDHAT_FAMILIES: &[RedhatFamily] = &[
    RedhatFamily {
        // "Red Hat Enterprise Linux Server release 7.9 (Maipo)",
        // "Red Hat Enterprise Linux release 9.3 (Plow)"
        name_prefix: "Red Hat Enterprise Linux",
        id: "rhel",
        style: VersionStyle::MajorMinor,
        id_like: &["fedora"],
    },
    RedhatFamily {
        // "CentOS Linux release 7.9.2009 (Core)", "CentOS Stream release 9",
        // "CentOS release 6.10 (Final)"
        name_prefix: "CentOS",
        id: "centos",
        style: VersionStyle::Major,
        id_like: &["rhel", "fedora"],
    },
    RedhatFamily {
        // "Fedora release 39 (Thirty Nine)"
        name_prefix: "Fedora",
        id: "fedora",
        style: VersionStyle::Major,
        id_like: &[],
    },
    RedhatFamily {
        // "Rocky Linux release 8.9 (Green Obsidian)"
        name_prefix: "Rocky Linux",
        id: "rocky",
        style: VersionStyle::MajorMinor,
        id_like: &["rhel", "centos", "fedora"],
    },
    RedhatFamily {
        // "AlmaLinux release 9.3 (Shamrock Pampas Cat)"
        name_prefix: "AlmaLinux",
        id: "almalinux",
        style: VersionStyle::MajorMinor,
        id_like: &["rhel", "centos", "fedora"],
    },
    RedhatFamily {
        // "Amazon Linux AMI release 2018.03"
        name_prefix: "Amazon Linux AMI",
        id: "amzn",
        style: VersionStyle::MajorMinor,
        id_like: &["rhel", "fedora"],
    },
    RedhatFamily {
        // "Amazon Linux release 2 (Karoo)",
        // "Amazon Linux release 2023.3.20240219 (Amazon Linux)"
        name_prefix: "Amazon Linux",
        id: "amzn",
        style: VersionStyle::Major,
        id_like: &["centos", "rhel", "fedora"],
    },
];

/// `etc/redhat-release`: `<product> release <version> (<codename>)`. The
/// whole line becomes the pretty name (it is the product's own name for
/// itself); os-release of these releases has no `VERSION_CODENAME`, so none
/// is set. Unknown products give `None`.
fn from_redhat_release(bytes: &[u8]) -> Option<Distro> {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().next()?.trim();
    let (product, rest) = line.split_once(" release ")?;
    let family = REDHAT_FAMILIES
        .iter()
        .find(|family| product.starts_with(family.name_prefix))?;
    let release = rest.split_whitespace().next().unwrap_or_default();
    let take = match family.style {
        VersionStyle::Major => 1,
        VersionStyle::MajorMinor => 2,
    };
    let version_id: Vec<&str> = release.split('.').take(take).collect();
    Some(Distro {
        id: family.id.to_owned(),
        version_id: version_id.join("."),
        version_codename: None,
        pretty_name: Some(line.to_owned()),
        id_like: family.id_like.iter().map(|&s| s.to_owned()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, key: &str) -> Option<String> {
        parse_os_release(text.as_bytes())
            .into_iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    #[test]
    fn quoting_follows_the_shell_rules_of_the_spec() {
        let text = concat!(
            "# comment\n",
            "\n",
            "A=\"say \\\"hi\\\" \\\\ \\$HOME \\`x\\` \\n\"\n",
            "B='single $HOME \\n'\n",
            "C=bare\\ word\n",
            "D=\"joined\"'pieces'\n",
            "E=plain # trailing comment\n",
            "  F=\"indented\"  \n",
            "not a line\n",
            "1BAD=x\n",
            "G=\"unterminated\n",
        );
        assert_eq!(
            value(text, "A").as_deref(),
            Some("say \"hi\" \\ $HOME `x` \\n")
        );
        assert_eq!(value(text, "B").as_deref(), Some("single $HOME \\n"));
        assert_eq!(value(text, "C").as_deref(), Some("bare word"));
        assert_eq!(value(text, "D").as_deref(), Some("joinedpieces"));
        assert_eq!(value(text, "E").as_deref(), Some("plain"));
        assert_eq!(value(text, "F").as_deref(), Some("indented"));
        assert_eq!(value(text, "1BAD"), None);
        assert_eq!(value(text, "G").as_deref(), Some("unterminated"));
        assert_eq!(parse_os_release(text.as_bytes()).len(), 7);
    }

    #[test]
    fn no_variable_expansion() {
        let text = "X=1\nY=\"$X\"\nZ=${X}\n";
        assert_eq!(value(text, "Y").as_deref(), Some("$X"));
        assert_eq!(value(text, "Z").as_deref(), Some("${X}"));
    }

    #[test]
    fn later_assignments_win_and_empty_values_are_absent() {
        let distro = from_os_release(&parse_os_release(
            b"ID=a\nID=b\nVERSION_CODENAME=\"\"\nID_LIKE=\"x  y\"\n",
        ));
        assert_eq!(distro.id, "b");
        assert_eq!(distro.version_codename, None);
        assert_eq!(distro.id_like, ["x", "y"]);
    }

    #[test]
    fn non_utf8_and_crlf_do_not_panic() {
        let distro = from_os_release(&parse_os_release(b"ID=deb\xffian\r\nVERSION_ID=\"1\"\r\n"));
        assert_eq!(distro.id, "deb\u{fffd}ian");
        assert_eq!(distro.version_id, "1");
    }
}

//! The real Debian InRelease files that the golden-image tests download
//! into `.cache/golden` (bookworm, bookworm-updates, bookworm-security) verify
//! against Debian's archive keyring, their dates parse, and the trust check
//! accepts each at its own `Date` and refuses it once its `Valid-Until` has
//! passed.
use std::path::Path;

use drydock_build::CLOCK_SKEW;
use drydock_build::release::{Keyring, Release, Staleness};
use drydock_test::{missing, workspace_root};

const KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";

#[test]
fn cached_debian_in_release_files_verify_and_expire() {
    let dists = workspace_root().join(".cache/golden/dists");
    if !Path::new(KEYRING).is_file() {
        missing("debian-archive-keyring");
        return;
    }
    let mut files = Vec::new();
    for archive in std::fs::read_dir(&dists).into_iter().flatten().flatten() {
        for suite in std::fs::read_dir(archive.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let path = suite.path().join("InRelease");
            // Other tests refresh these files while this one runs (an
            // online build forgets its InRelease and downloads it again):
            // read each once, and leave out one that is gone meanwhile.
            if let Ok(text) = std::fs::read_to_string(&path) {
                files.push((path, text));
            }
        }
    }
    if files.is_empty() {
        missing("Debian InRelease files in .cache/golden (run the golden build tests once)");
        return;
    }
    let keyring = Keyring::parse(&std::fs::read(KEYRING).unwrap()).unwrap();
    let mut with_valid_until = 0;
    for (path, text) in &files {
        let signed = keyring
            .verify_cleartext(text)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let release = Release::parse(&signed).unwrap();
        let date = release
            .date
            .unwrap_or_else(|| panic!("{}: no Date", path.display()));
        // Debian's Date line, as written, is the time we parsed.
        let written = signed
            .lines()
            .find_map(|l| l.strip_prefix("Date: "))
            .unwrap();
        assert!(written.ends_with("UTC"), "{written}");
        assert_eq!(
            &drydock_core::time::format_rfc3339(date)[..10],
            &date_of(written),
            "{}",
            path.display()
        );
        assert_eq!(
            release.staleness(date, CLOCK_SKEW),
            None,
            "{}",
            path.display()
        );
        assert_eq!(
            release.staleness(date - CLOCK_SKEW - 1, CLOCK_SKEW),
            Some(Staleness::Future { date })
        );
        if let Some(valid_until) = release.valid_until {
            with_valid_until += 1;
            assert!(valid_until > date);
            assert_eq!(release.staleness(valid_until, CLOCK_SKEW), None);
            assert_eq!(
                release.staleness(valid_until + 1, CLOCK_SKEW),
                Some(Staleness::Expired { valid_until })
            );
        }
        // Of Debian's suites only backports is NotAutomatic (with
        // ButAutomaticUpgrades: installed backports follow their updates).
        let backports = release
            .suite
            .as_deref()
            .is_some_and(|s| s.ends_with("-backports"));
        assert_eq!(release.not_automatic, backports, "{}", path.display());
        assert_eq!(
            release.but_automatic_upgrades,
            backports,
            "{}",
            path.display()
        );
    }
    // bookworm-security carries a Valid-Until (a week ahead).
    let security = files
        .iter()
        .any(|(p, _)| p.to_string_lossy().contains("-security"));
    assert!(!security || with_valid_until > 0);
}

/// `Tue, 01 Dec 2026 01:33:13 UTC` → `2026-12-01`.
fn date_of(written: &str) -> String {
    let words: Vec<&str> = written.split_whitespace().collect();
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == words[2])
    .unwrap()
        + 1;
    format!("{}-{month:02}-{:0>2}", words[3], words[1])
}

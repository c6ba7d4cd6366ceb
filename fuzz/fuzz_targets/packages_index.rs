//! Packages indices over arbitrary text, then resolution of every package
//! name they hold: nothing may panic, and a resolution holds each root.
#![no_main]
use std::collections::BTreeSet;

use drydock_build::{packages, resolve};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(parsed) = packages::parse_packages(&text, 0, &["amd64", "all"]) else {
        return;
    };
    let roots: Vec<String> = parsed.iter().take(8).map(|p| p.name.clone()).collect();
    let universe = resolve::Universe::new(parsed);
    if let Ok(resolved) = resolve::resolve(&universe, &roots, &BTreeSet::new()) {
        for root in &roots {
            assert!(resolved.iter().any(|p| &p.name == root));
        }
    }
});

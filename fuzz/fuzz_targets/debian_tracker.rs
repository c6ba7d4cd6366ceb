//! The Debian security tracker JSON: no panic; every record is scoped to a
//! Debian release and has a range.
#![no_main]
use drydock_vuln::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for advisory in fuzzing::debian_tracker(data) {
        assert!(advisory.id.starts_with("DEBIAN:"));
        for affected in &advisory.affected {
            assert!(affected.package.ecosystem.starts_with("Debian:"));
            assert!(!affected.ranges.is_empty());
        }
    }
});

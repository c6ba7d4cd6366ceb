//! Alpine / Wolfi secdb JSON: no panic; every record has a fixed version.
#![no_main]
use drydock_vuln::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for advisory in fuzzing::secdb(data) {
        for affected in &advisory.affected {
            assert_eq!(affected.fixed_versions().count(), 1);
        }
    }
});

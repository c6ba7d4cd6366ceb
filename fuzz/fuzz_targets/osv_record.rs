//! OSV records as `db import` reads them: no panic, and an accepted record
//! survives the database's own serialisation unchanged.
#![no_main]
use drydock_vuln::{Advisory, fuzzing};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(advisory) = fuzzing::osv(data) {
        let stored = serde_json::to_vec(&advisory).unwrap();
        let back: Advisory = serde_json::from_slice(&stored).unwrap();
        assert_eq!(back, advisory);
    }
    // Also every other input shape (zip, gzip, KEV, EPSS, …).
    let _ = fuzzing::any_input(data);
});

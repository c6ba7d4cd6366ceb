//! CVSS vectors: no panic; every accepted vector scores within 0..=10 with
//! one decimal.
#![no_main]
use drydock_vuln::cvss;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(score) = cvss::score(text) {
        assert!((0.0..=10.0).contains(&score.base_score));
        assert!(((score.base_score * 10.0).round() - score.base_score * 10.0).abs() < 1e-6);
    }
});

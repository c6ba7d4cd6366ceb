//! NVD CVE API 2.0 JSON and CVE JSON 5 records: no panic; every record has
//! a CVE id and every vector either scores in 0..=10 or is refused.
#![no_main]
use drydock_vuln::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for record in fuzzing::cve_records(data) {
        assert!(record.id.starts_with("CVE-"));
        for metric in &record.metrics {
            if let Ok(score) = drydock_vuln::cvss::score(&metric.vector) {
                assert!((0.0..=10.0).contains(&score.base_score));
            }
        }
    }
});

//! VEX documents (OpenVEX, CycloneDX VEX): `drydock_vuln::parse_vex` never
//! panics on any bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = drydock_vuln::parse_vex("fuzz.vex.json", data);
});

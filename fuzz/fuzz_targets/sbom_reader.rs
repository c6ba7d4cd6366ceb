//! SBOM input over arbitrary bytes: `drydock_sbom::read_sbom` (CycloneDX
//! JSON and XML, SPDX JSON and tag-value, Syft JSON, native JSON, detected
//! from the content). Nothing may panic; whatever is read can be written
//! back as CycloneDX, SPDX and native JSON, and drydock's own CycloneDX and
//! native JSON of it read again.
#![no_main]
use drydock_sbom::{Format, read_sbom};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok((sbom, _format)) = read_sbom(data, "sbom:fuzz") else {
        return;
    };
    for format in [Format::CycloneDxJson, Format::SpdxJson, Format::Json] {
        let mut out = Vec::new();
        format
            .write(&sbom, &mut out)
            .unwrap_or_else(|error| panic!("writing {format}: {error}"));
        if format != Format::SpdxJson {
            if let Err(error) = read_sbom(&out, "sbom:again") {
                panic!("drydock cannot read its own {format}: {error}");
            }
        }
    }
});

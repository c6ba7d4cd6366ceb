//! Package URLs as SBOMs carry them: `drydock_sbom::parse_purl` never panics,
//! and a purl it accepts prints (canonically) to text that parses back to
//! the same purl.
#![no_main]
use drydock_sbom::parse_purl;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(purl) = parse_purl(text) else {
        return;
    };
    let printed = purl.to_string();
    match parse_purl(&printed) {
        Ok(again) => assert_eq!(again, purl, "`{text}` → `{printed}`"),
        Err(error) => panic!("`{text}` prints as `{printed}`, which does not parse: {error}"),
    }
});

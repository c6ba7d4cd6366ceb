//! deb822 control paragraphs, their relation fields, and the .deb ar reader
//! over arbitrary bytes: nothing may panic; every member lies inside the input.
#![no_main]
use drydock_build::{control, deb};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(members) = deb::ar_members(data) {
        let total: usize = members.iter().map(|m| m.data.len()).sum();
        assert!(total <= data.len());
    }
    let text = String::from_utf8_lossy(data);
    if let Ok(paragraphs) = control::parse_paragraphs(&text) {
        for paragraph in &paragraphs {
            for (_, value) in paragraph.fields() {
                if let Ok(groups) = control::parse_relations(value) {
                    for relation in groups.iter().flatten() {
                        // Display round-trips through the parser.
                        let again = control::parse_relations(&relation.to_string());
                        assert!(again.is_ok(), "{relation}");
                    }
                }
                let _ = control::parse_provides(value);
            }
        }
    }
});

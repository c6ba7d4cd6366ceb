//! The dpkg status parser over arbitrary bytes, alone and through the dpkg
//! cataloger (as `var/lib/dpkg/status`, with Debian as the distro so purls
//! are built): nothing may panic, and every problem names the status file.
#![no_main]
use drydock_catalog::{Context, FileRef, Files, builtin};
use drydock_core::{Distro, ImagePath};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = drydock_catalog::parsers::parse_status(data);
    let Ok(path) = ImagePath::new("var/lib/dpkg/status") else {
        return;
    };
    let files = Files::new(vec![FileRef {
        path: path.clone(),
        bytes: data,
        layer: None,
    }]);
    let context = Context {
        distro: Some(Distro {
            id: "debian".to_owned(),
            version_id: "12".to_owned(),
            ..Distro::default()
        }),
    };
    for cataloger in builtin().iter().filter(|c| c.id() == "dpkg-db") {
        let found = cataloger.catalog(&files, &context);
        assert!(found.problems.iter().all(|p| p.path == path));
        // The cataloger reports exactly the installed stanzas the parser found.
        assert_eq!(found.packages.len(), parsed.len());
        for package in &found.packages {
            let _ = package.purl.to_string();
        }
    }
});

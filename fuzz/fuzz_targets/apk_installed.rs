//! The apk cataloger over arbitrary `lib/apk/db/installed` content: it must
//! not panic, and every problem must name the database file.
#![no_main]
use drydock_catalog::{Context, FileRef, Files, builtin};
use drydock_core::{Distro, ImagePath};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(path) = ImagePath::new("lib/apk/db/installed") else {
        return;
    };
    let files = Files::new(vec![FileRef {
        path: path.clone(),
        bytes: data,
        layer: None,
    }]);
    let context = Context {
        distro: Some(Distro {
            id: "alpine".to_owned(),
            version_id: "3.19.1".to_owned(),
            ..Distro::default()
        }),
    };
    for cataloger in builtin().iter().filter(|c| c.id() == "apk-db") {
        let found = cataloger.catalog(&files, &context);
        assert!(found.problems.iter().all(|p| p.path == path));
        // The purl of every package renders.
        for package in &found.packages {
            let _ = package.purl.to_string();
        }
    }
});

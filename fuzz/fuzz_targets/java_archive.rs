//! The Java archive cataloger over arbitrary archive bytes, both as the
//! walker hands them over (reduced to a summary while streaming) and raw:
//! no panic, every problem names the archive, and both paths agree.
#![no_main]
use drydock_catalog::{Context, FileRef, Files, builtin};
use drydock_core::ImagePath;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(path) = ImagePath::new("app/app.jar") else {
        return;
    };
    for cataloger in builtin().iter().filter(|c| c.id() == "java-archive") {
        let reduced = cataloger.reduce(&path, data.to_vec());
        let catalog = |bytes: &[u8]| {
            let files = Files::new(vec![FileRef {
                path: path.clone(),
                bytes,
                layer: None,
            }]);
            cataloger.catalog(&files, &Context::default())
        };
        let from_summary = catalog(&reduced);
        let from_raw = catalog(data);
        assert!(from_raw.problems.iter().all(|p| p.path == path));
        assert!(from_summary.problems.iter().all(|p| p.path == path));
        if !data.starts_with(b"drydock-java-summary") {
            assert_eq!(from_summary.packages, from_raw.packages);
        }
        for package in &from_raw.packages {
            let _ = package.purl.to_string();
        }
    }
});

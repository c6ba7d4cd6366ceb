//! The `php-composer` cataloger over arbitrary file content: no panic, and every
//! problem names the file.
#![no_main]
use drydock_catalog::{Context, FileRef, Files, builtin};
use drydock_core::ImagePath;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for path in ["app/composer.lock", "app/vendor/composer/installed.json"] {
        let Ok(path) = ImagePath::new(path) else {
            return;
        };
        let files = Files::new(vec![FileRef {
            path: path.clone(),
            bytes: data,
            layer: None,
        }]);
        for cataloger in builtin().iter().filter(|c| c.id() == "php-composer") {
            let found = cataloger.catalog(&files, &Context::default());
            assert!(found.problems.iter().all(|p| p.path == path));
            for package in &found.packages {
                let _ = package.purl.to_string();
            }
        }
    }
});

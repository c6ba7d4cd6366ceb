//! The rpm cataloger over arbitrary rpmdb content in each of its three
//! formats (the first byte picks sqlite, ndb or Berkeley DB): it must not
//! panic, and every problem must name the database file.
#![no_main]
use drydock_catalog::{Context, FileRef, Files, builtin};
use drydock_core::{Distro, ImagePath};
use libfuzzer_sys::fuzz_target;

const DATABASES: [&str; 3] = [
    "var/lib/rpm/rpmdb.sqlite",
    "var/lib/rpm/Packages.db",
    "var/lib/rpm/Packages",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let Some(database) = DATABASES.get(usize::from(selector) % DATABASES.len()) else {
        return;
    };
    let Ok(path) = ImagePath::new(database) else {
        return;
    };
    let files = Files::new(vec![FileRef {
        path: path.clone(),
        bytes,
        layer: None,
    }]);
    let context = Context {
        distro: Some(Distro {
            id: "fedora".to_owned(),
            version_id: "40".to_owned(),
            ..Distro::default()
        }),
    };
    for cataloger in builtin().iter().filter(|c| c.id() == "rpm-db") {
        let found = cataloger.catalog(&files, &context);
        assert!(found.problems.iter().all(|p| p.path == path));
        for package in &found.packages {
            let _ = package.purl.to_string();
        }
    }
});

//! Distro detection over arbitrary os-release content, and over the same
//! bytes as each legacy release file: it must not panic.
#![no_main]
use drydock_catalog::{FileRef, Files, detect_distro};
use drydock_core::ImagePath;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for name in [
        "etc/os-release",
        "etc/debian_version",
        "etc/alpine-release",
        "etc/redhat-release",
    ] {
        let Ok(path) = ImagePath::new(name) else {
            return;
        };
        let files = Files::new(vec![FileRef {
            path,
            bytes: data,
            layer: None,
        }]);
        if let Some(distro) = detect_distro(&files) {
            let _ = distro.purl_qualifier();
        }
    }
    // os-release naming Debian with the same bytes as `debian_version`, so
    // the filling path runs too.
    let (Ok(os_release), Ok(debian_version)) = (
        ImagePath::new("usr/lib/os-release"),
        ImagePath::new("etc/debian_version"),
    ) else {
        return;
    };
    let files = Files::new(vec![
        FileRef {
            path: os_release,
            bytes: b"ID=debian\n",
            layer: None,
        },
        FileRef {
            path: debian_version,
            bytes: data,
            layer: None,
        },
    ]);
    let _ = detect_distro(&files);
});

//! Binaries of any size: real Go (ELF, PE, Mach-O) and cargo-auditable
//! binaries, padded with zeros far past the size of the binary (sparse
//! files, so the tests stay cheap), give the same packages as the unpadded
//! file read whole — in a `dir:` source (seeking) and in an image layer
//! (skipping forward through the stream) — while the walk never holds more
//! than a few MiB of any of them (`Walk::file_peak`, which would be the
//! file's size if it were held whole).
#[path = "fixtures/golang/fixture.rs"]
mod golang_fixture;
#[path = "fixtures/rust/fixture.rs"]
mod rust_fixture;

use std::path::{Path, PathBuf};

use drydock_catalog::{Catalog, Cataloger, Context, Dispatcher, FileRef, Files};
use drydock_core::ImagePath;
use drydock_oci::{Source, SourceRef, Walk};
use drydock_test::{Blob, OciImage, RawTar};

const MIB: u64 = 1 << 20;

type Named = Vec<(String, String, String)>;

/// The binaries under test: image path and bytes.
fn binaries() -> Option<Vec<(String, Vec<u8>)>> {
    let go = golang_fixture::go_fixture()?;
    let rust = rust_fixture::rust_fixture()?;
    let read = |dir: &Path, name: &str| std::fs::read(dir.join(name)).expect("fixture binary");
    Some(vec![
        (
            "usr/local/bin/hello-elf".to_owned(),
            read(&go, "hello-linux-amd64"),
        ),
        (
            "usr/local/bin/hello-elf32-be".to_owned(),
            read(&go, "hello-linux-mips"),
        ),
        (
            "opt/win/hello.exe".to_owned(),
            read(&go, "hello-windows-amd64"),
        ),
        (
            "opt/mac/hello-arm64".to_owned(),
            read(&go, "hello-darwin-arm64"),
        ),
        ("usr/bin/app".to_owned(), read(&rust, "app")),
    ])
}

fn metadata_cataloger() -> Box<dyn Cataloger> {
    drydock_catalog::builtin()
        .into_iter()
        .find(|c| c.id() == "binary-metadata")
        .expect("binary-metadata is built in")
}

/// What the cataloger finds in the whole file, as before.
fn read_whole(path: &str, bytes: &[u8]) -> Named {
    let files = Files::new(vec![FileRef {
        path: ImagePath::new(path).unwrap(),
        bytes,
        layer: None,
    }]);
    let found = metadata_cataloger().catalog(&files, &Context::default());
    assert!(found.problems.is_empty(), "{path}: {:?}", found.problems);
    let mut named: Named = found
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone(), p.purl.to_string()))
        .collect();
    named.sort();
    assert!(
        named.len() > 2,
        "{path}: the fixture has modules: {named:?}"
    );
    named
}

fn walk(reference: &str) -> (Catalog, Walk) {
    let source = Source::open(SourceRef::parse(reference).unwrap(), None).unwrap();
    let mut dispatcher = Dispatcher::new(drydock_catalog::builtin());
    let walk = source.walk(&mut dispatcher).unwrap();
    let catalog = dispatcher.finish(&walk.view());
    (catalog, walk)
}

fn found_at(catalog: &Catalog, path: &str) -> Named {
    let problems: Vec<_> = catalog
        .problems
        .iter()
        .filter(|p| p.path.as_bytes() == path.as_bytes())
        .collect();
    assert!(problems.is_empty(), "{path}: {problems:?}");
    let mut named: Named = catalog
        .packages
        .iter()
        .filter(|p| {
            p.locations
                .iter()
                .any(|l| l.path.as_bytes() == path.as_bytes())
        })
        .map(|p| (p.name.clone(), p.version.clone(), p.purl.to_string()))
        .collect();
    named.sort();
    named
}

/// A root directory holding each binary padded (sparsely) to `size`.
fn padded_dir(root: &Path, binaries: &[(String, Vec<u8>)], size: u64) {
    use std::os::unix::fs::PermissionsExt;
    for (path, bytes) in binaries {
        let host = root.join(path);
        std::fs::create_dir_all(host.parent().unwrap()).unwrap();
        std::fs::write(&host, bytes).unwrap();
        let file = std::fs::OpenOptions::new().write(true).open(&host).unwrap();
        file.set_len(size).unwrap();
        std::fs::set_permissions(&host, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// An OCI layout with one gzip layer holding each binary padded to `size`.
fn padded_image(dir: &Path, binaries: &[(String, Vec<u8>)], size: usize) -> PathBuf {
    let mut tar = RawTar::new();
    for (path, bytes) in binaries {
        let mut padded = bytes.clone();
        padded.resize(size.max(bytes.len()), 0);
        tar = tar.file_owned(path, padded, 0o755, 0, 0);
    }
    let layout = dir.join("layout");
    OciImage::new()
        .layer(Blob::tar_gzip(&tar.finish()))
        .write(&layout);
    layout
}

#[test]
fn binaries_past_the_old_one_gib_limit_are_cataloged_from_a_few_parts_in_a_directory() {
    let Some(binaries) = binaries() else {
        return;
    };
    let temp = tempfile::tempdir().unwrap();
    let root = temp.path().join("root");
    // 3 GiB each: the old reader skipped anything over 1 GiB.
    padded_dir(&root, &binaries, 3 << 30);
    let (catalog, walk) = walk(&format!("dir:{}", root.display()));
    for (path, bytes) in &binaries {
        assert_eq!(found_at(&catalog, path), read_whole(path, bytes), "{path}");
    }
    assert!(
        walk.file_peak() <= 2 * MIB,
        "held {} bytes of one 3 GiB file",
        walk.file_peak()
    );
}

#[test]
fn binaries_in_a_layer_are_cataloged_by_skipping_through_the_stream() {
    let Some(binaries) = binaries() else {
        return;
    };
    let temp = tempfile::tempdir().unwrap();
    let size = 24 * MIB;
    let layout = padded_image(temp.path(), &binaries, size as usize);
    let (catalog, walk) = walk(&format!("oci-dir:{}", layout.display()));
    for (path, bytes) in &binaries {
        let found = found_at(&catalog, path);
        assert_eq!(found, read_whole(path, bytes), "{path}");
        // Found in the one pass, so the layer that introduced them is known.
        let introduced: Vec<_> = catalog
            .packages
            .iter()
            .filter(|p| {
                p.locations
                    .iter()
                    .any(|l| l.path.as_bytes() == path.as_bytes())
            })
            .map(|p| p.layer.as_ref().map(|l| l.index))
            .collect();
        assert!(introduced.iter().all(|l| *l == Some(0)), "{path}");
    }
    // The ELF section table sits at the end: what is kept before it (4 MiB
    // at most, here the tail of the binary) is the largest part.
    assert!(
        walk.file_peak() <= 5 * MIB,
        "held {} bytes of one {size}-byte file",
        walk.file_peak()
    );
}

/// The Rust fixture with `padding` bytes of zeros added as a section that
/// `objcopy` places after the others: `.dep-v0` and the section name table
/// are then far before the section header table at the end.
fn rust_with_a_big_section_last(dir: &Path, padding: u64) -> Option<(Vec<u8>, Vec<u8>)> {
    let rust = rust_fixture::rust_fixture()?;
    if !drydock_test::require_tool("objcopy") {
        return None;
    }
    let pad = dir.join("pad");
    let file = std::fs::File::create(&pad).unwrap();
    file.set_len(padding).unwrap();
    let out = dir.join("app-padded");
    let status = std::process::Command::new("objcopy")
        .arg("--add-section")
        .arg(format!(".pad={}", pad.display()))
        .arg(rust.join("app"))
        .arg(&out)
        .status()
        .expect("run objcopy");
    assert!(status.success(), "objcopy failed");
    Some((
        std::fs::read(rust.join("app")).unwrap(),
        std::fs::read(out).unwrap(),
    ))
}

#[test]
fn a_metadata_section_far_before_the_section_table_costs_a_pass_not_memory() {
    let temp = tempfile::tempdir().unwrap();
    let padding = 24 * MIB;
    let Some((original, padded)) = rust_with_a_big_section_last(temp.path(), padding) else {
        return;
    };
    // The layout this test is about: the section header table is after the
    // padding, `.dep-v0` before it.
    let shoff = u64::from_le_bytes(padded[0x28..0x30].try_into().unwrap());
    assert!(shoff > padding, "objcopy put the section table at {shoff}");
    let path = "usr/bin/app";
    let expected = read_whole(path, &original);
    assert_eq!(read_whole(path, &padded), expected);
    let binaries = vec![(path.to_owned(), padded)];
    let layout = padded_image(temp.path(), &binaries, 0);
    let (catalog, walk) = walk(&format!("oci-dir:{}", layout.display()));
    assert_eq!(found_at(&catalog, path), expected);
    assert!(
        walk.file_peak() <= 5 * MIB,
        "held {} bytes of a {padding}-byte file",
        walk.file_peak()
    );
}

#[test]
fn reading_in_parts_from_a_stream_says_what_reading_whole_says() {
    let Some(binaries) = binaries() else {
        return;
    };
    let cataloger = metadata_cataloger();
    assert!(cataloger.reads_parts());
    let mut inputs = binaries;
    inputs.push((
        "usr/bin/script".to_owned(),
        b"#!/bin/sh\necho hi\n".to_vec(),
    ));
    inputs.push(("usr/bin/empty".to_owned(), Vec::new()));
    for (path, bytes) in &inputs {
        let path = ImagePath::new(path).unwrap();
        let whole = cataloger.reduce(&path, bytes.clone());
        let streamed =
            drydock_oci::reduce_streamed(bytes, &|parts| cataloger.reduce_parts(&path, parts));
        assert_eq!(streamed.as_ref(), Some(&whole), "{path}");
    }
}

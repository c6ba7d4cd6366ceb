//! The single pass: whiteouts, opaque directories, links and late capture.
use drydock_core::{ImagePath, Layer};
use drydock_oci::{Content, View, Visitor, walk_layers};

/// Claims a fixed set of paths and records what changed per layer.
struct Claimer {
    paths: Vec<ImagePath>,
    changes: Vec<(usize, Vec<String>)>,
}

impl Claimer {
    fn new(paths: &[&str]) -> Claimer {
        Claimer {
            paths: paths.iter().map(|p| ImagePath::new(p).unwrap()).collect(),
            changes: Vec::new(),
        }
    }
}

impl Visitor for Claimer {
    fn claim(&self, path: &ImagePath) -> Option<u64> {
        self.paths.contains(path).then_some(1 << 20)
    }
    fn exact_claims(&self) -> Vec<ImagePath> {
        self.paths.clone()
    }
    fn layer_done(&mut self, _view: &View<'_>, layer: &Layer, changed: &[ImagePath]) {
        self.changes.push((
            layer.index,
            changed.iter().map(ToString::to_string).collect(),
        ));
    }
}

enum E<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    HardLink(&'a str, &'a str),
}

fn tar(entries: &[E<'_>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        match entry {
            E::File(path, bytes) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(bytes.len() as u64);
                builder.append_data(&mut header, path, *bytes).unwrap();
            }
            E::Dir(path) => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                builder.append_data(&mut header, path, &[][..]).unwrap();
            }
            E::Symlink(path, target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_size(0);
                builder.append_link(&mut header, path, target).unwrap();
            }
            E::HardLink(path, target) => {
                header.set_entry_type(tar::EntryType::Link);
                header.set_size(0);
                builder.append_link(&mut header, path, target).unwrap();
            }
        }
    }
    builder.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn read(view: &View<'_>, path: &str) -> Option<Vec<u8>> {
    match view.read(&ImagePath::new(path).unwrap()) {
        Content::File { bytes, .. } => Some(bytes.to_vec()),
        Content::Absent => None,
        Content::Unreadable(reason) => Some(format!("UNREADABLE: {reason}").into_bytes()),
    }
}

#[test]
fn whiteout_removes_a_lower_file_and_later_layers_win() {
    let lower = tar(&[
        E::Dir("etc"),
        E::File("etc/a", b"one"),
        E::File("etc/b", b"bee"),
    ]);
    let upper = tar(&[E::File("etc/.wh.a", b""), E::File("etc/b", b"two")]);
    let mut claimer = Claimer::new(&["etc/a", "etc/b"]);
    let walk = walk_layers(&[&lower, &gzip(&upper)], &mut claimer).unwrap();
    let view = walk.view();
    assert_eq!(read(&view, "etc/a"), None);
    assert_eq!(read(&view, "etc/b").as_deref(), Some(&b"two"[..]));
    assert!(view.entry(&ImagePath::new("etc/.wh.a").unwrap()).is_none());
    assert_eq!(
        claimer.changes[1],
        (1, vec!["/etc/a".to_string(), "/etc/b".to_string()])
    );
}

#[test]
fn opaque_whiteout_hides_lower_children_but_keeps_same_layer_ones() {
    let lower = tar(&[
        E::Dir("d"),
        E::File("d/old", b"x"),
        E::Dir("d/sub"),
        E::File("d/sub/deep", b"y"),
    ]);
    // The opaque marker comes after a new child: order inside a layer must not matter.
    let upper = tar(&[
        E::Dir("d"),
        E::File("d/new", b"z"),
        E::File("d/.wh..wh..opq", b""),
    ]);
    let mut claimer = Claimer::new(&["d/old", "d/new", "d/sub/deep"]);
    let walk = walk_layers(&[&lower, &upper], &mut claimer).unwrap();
    let view = walk.view();
    assert_eq!(read(&view, "d/old"), None);
    assert_eq!(read(&view, "d/sub/deep"), None);
    assert_eq!(read(&view, "d/new").as_deref(), Some(&b"z"[..]));
}

#[test]
fn whiteout_of_a_directory_removes_its_subtree() {
    let lower = tar(&[E::Dir("var/lib/x"), E::File("var/lib/x/f", b"1")]);
    let upper = tar(&[E::File("var/lib/.wh.x", b"")]);
    let mut claimer = Claimer::new(&["var/lib/x/f"]);
    let walk = walk_layers(&[&lower, &upper], &mut claimer).unwrap();
    assert_eq!(read(&walk.view(), "var/lib/x/f"), None);
    assert!(
        walk.view()
            .entry(&ImagePath::new("var/lib/x").unwrap())
            .is_none()
    );
}

#[test]
fn symlink_to_a_file_read_earlier_is_captured_by_the_fixup_pass() {
    // usr/lib/os-release streams by before anyone knows etc/os-release points at it.
    let layer = tar(&[
        E::File("usr/lib/os-release", b"ID=debian\n"),
        E::Symlink("etc/os-release", "../usr/lib/os-release"),
    ]);
    let mut claimer = Claimer::new(&["etc/os-release"]);
    let walk = walk_layers(&[&layer], &mut claimer).unwrap();
    assert_eq!(
        read(&walk.view(), "etc/os-release").as_deref(),
        Some(&b"ID=debian\n"[..])
    );
}

#[test]
fn symlink_to_a_later_file_is_captured_in_the_same_pass() {
    let layer = tar(&[
        E::Symlink("etc/os-release", "/usr/lib/os-release"),
        E::File("usr/lib/os-release", b"ID=alpine\n"),
    ]);
    let mut claimer = Claimer::new(&["etc/os-release"]);
    let walk = walk_layers(&[&layer], &mut claimer).unwrap();
    assert_eq!(
        read(&walk.view(), "etc/os-release").as_deref(),
        Some(&b"ID=alpine\n"[..])
    );
}

#[test]
fn claimed_path_behind_a_symlinked_directory_is_read() {
    // merged /usr: lib -> usr/lib, the database lives at usr/lib/apk/db/installed.
    let layer = tar(&[
        E::File("usr/lib/apk/db/installed", b"P:musl\n"),
        E::Symlink("lib", "usr/lib"),
    ]);
    let mut claimer = Claimer::new(&["lib/apk/db/installed"]);
    let walk = walk_layers(&[&layer], &mut claimer).unwrap();
    assert_eq!(
        read(&walk.view(), "lib/apk/db/installed").as_deref(),
        Some(&b"P:musl\n"[..])
    );
}

#[test]
fn symlinks_escaping_the_root_resolve_inside_it() {
    let layer = tar(&[
        E::File("etc/real", b"inside"),
        E::Symlink("etc/os-release", "../../../../../etc/real"),
    ]);
    let mut claimer = Claimer::new(&["etc/os-release"]);
    let walk = walk_layers(&[&layer], &mut claimer).unwrap();
    assert_eq!(
        read(&walk.view(), "etc/os-release").as_deref(),
        Some(&b"inside"[..])
    );
}

#[test]
fn symlink_loops_are_unreadable_not_fatal() {
    let layer = tar(&[E::Symlink("etc/a", "b"), E::Symlink("etc/b", "a")]);
    let mut claimer = Claimer::new(&["etc/a"]);
    let walk = walk_layers(&[&layer], &mut claimer).unwrap();
    let got = read(&walk.view(), "etc/a").unwrap();
    assert!(
        String::from_utf8_lossy(&got).contains("too many levels of symbolic links"),
        "{got:?}"
    );
}

#[test]
fn claimed_hard_link_to_an_unclaimed_file_is_read_by_the_fixup_pass() {
    // The decision: a hard link's content is its target's content at the time
    // the link was made; when the target was not claimed, the layer holding it
    // is read once more, for that file only.
    let layer = tar(&[
        E::File("opt/data", b"payload"),
        E::HardLink("var/lib/dpkg/status", "opt/data"),
    ]);
    let mut claimer = Claimer::new(&["var/lib/dpkg/status"]);
    let walk = walk_layers(&[&gzip(&layer)], &mut claimer).unwrap();
    assert_eq!(
        read(&walk.view(), "var/lib/dpkg/status").as_deref(),
        Some(&b"payload"[..])
    );
}

#[test]
fn hard_link_keeps_content_even_when_its_target_is_replaced_later() {
    let lower = tar(&[E::File("a", b"old"), E::HardLink("b", "a")]);
    let upper = tar(&[E::File("a", b"new")]);
    let mut claimer = Claimer::new(&["b"]);
    let walk = walk_layers(&[&lower, &upper], &mut claimer).unwrap();
    assert_eq!(read(&walk.view(), "b").as_deref(), Some(&b"old"[..]));
}

#[test]
fn hostile_paths_are_errors_naming_the_entry() {
    let mut raw = tar(&[E::File("xx/passwd", b"x")]);
    // Rewrite the name in the header to `../passwd` and fix the checksum.
    raw[..9].copy_from_slice(b"../passwd");
    let mut header = tar::Header::new_old();
    header.as_mut_bytes().copy_from_slice(&raw[..512]);
    header.set_cksum();
    raw[..512].copy_from_slice(header.as_bytes());
    let mut claimer = Claimer::new(&[]);
    let err = walk_layers(&[&raw], &mut claimer).err().expect("must fail");
    let message = format!("{err}");
    assert!(message.contains("../passwd"), "{message}");
}

#[test]
fn truncated_gzip_is_an_error() {
    let layer = gzip(&tar(&[E::File("etc/a", &vec![7u8; 40_000])]));
    let cut = &layer[..layer.len() / 2];
    let mut claimer = Claimer::new(&["etc/a"]);
    assert!(walk_layers(&[cut], &mut claimer).is_err());
}

#[test]
fn oversized_claimed_files_are_unreadable_with_a_reason() {
    struct Small;
    impl Visitor for Small {
        fn claim(&self, _path: &ImagePath) -> Option<u64> {
            Some(4)
        }
        fn exact_claims(&self) -> Vec<ImagePath> {
            Vec::new()
        }
        fn layer_done(&mut self, _: &View<'_>, _: &Layer, _: &[ImagePath]) {}
    }
    let layer = tar(&[E::File("big", b"0123456789")]);
    let walk = walk_layers(&[&layer], &mut Small).unwrap();
    let got = read(&walk.view(), "big").unwrap();
    assert!(String::from_utf8_lossy(&got).contains("limit"), "{got:?}");
}

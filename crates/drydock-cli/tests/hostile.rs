//! Hostile and broken images: `drydock sbom` fails with exit 2 and one
//! `drydock: ` line naming the input and the problem, never panics, never
//! hangs, leaves no output file behind and writes nothing outside; or, for
//! inputs that are legal but nasty (symlink tricks), succeeds without reading
//! anything outside the image root.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use drydock_test::{
    Blob, MEDIA_TYPE_LAYER_GZIP, MEDIA_TYPE_LAYER_ZSTD, OciImage, RawTar, TarEntry, WrittenImage,
    gzip,
};
use serde_json::Value;

const OS_RELEASE: &str =
    "ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
const STATUS: &str = "Package: hello\nStatus: install ok installed\nVersion: 2.10-3\nArchitecture: amd64\nMaintainer: nobody <nobody@example.invalid>\nDescription: test\n\n";

/// A small valid root: os-release and a one-package dpkg status.
fn base_tar() -> RawTar {
    RawTar::new()
        .dir("etc/")
        .file("etc/os-release", OS_RELEASE)
        .dir("var/")
        .dir("var/lib/")
        .dir("var/lib/dpkg/")
        .file("var/lib/dpkg/status", STATUS)
}

/// Runs `drydock sbom` with a time limit; a hang is a failure.
fn run_drydock(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_drydock"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn drydock");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("wait for drydock").is_some() {
            return child.wait_with_output().expect("collect drydock output");
        }
        if started.elapsed() > Duration::from_mins(1) {
            child.kill().expect("kill drydock");
            panic!("drydock {args:?} did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every path under `root` with its size (directories as `None`).
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Option<u64>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let metadata = entry.path().symlink_metadata().unwrap();
            if metadata.is_dir() {
                stack.push(entry.path());
                out.insert(entry.path(), None);
            } else {
                out.insert(entry.path(), Some(metadata.len()));
            }
        }
    }
    out
}

/// A scratch directory holding the image under `image/`.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn image_dir(&self) -> PathBuf {
        self.dir.path().join("deep").join("er").join("image")
    }

    fn oci(&self, image: &OciImage) -> WrittenImage {
        image.write(&self.image_dir())
    }
}

/// Asserts drydock rejects `source` properly; `keywords`: at least one must
/// appear (case-insensitively) in the message.
fn assert_rejected(scratch: &Scratch, source: &str, path_in_message: &Path, keywords: &[&str]) {
    // without -o: nothing on stdout, one line on stderr
    let before = snapshot(scratch.dir.path());
    let out = run_drydock(&["sbom", source, "-f", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(2),
        "`drydock sbom {source}`: expected exit 2, stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "expected exactly one stderr line, got: {stderr}"
    );
    let line = lines[0];
    assert!(line.starts_with("drydock: "), "{line}");
    let shown = path_in_message.display().to_string();
    let file_name = path_in_message
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        line.contains(&shown) || line.contains(&file_name),
        "message does not name the input `{shown}`: {line}"
    );
    let lower = line.to_lowercase();
    assert!(
        keywords
            .iter()
            .any(|keyword| lower.contains(&keyword.to_lowercase())),
        "message mentions none of {keywords:?}: {line}"
    );
    assert!(
        out.stdout.is_empty(),
        "stdout not empty: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    // with -o: no output file left behind, nothing else written
    let output = scratch.dir.path().join("sbom.json");
    let out = run_drydock(&["sbom", source, "-f", "json", "-o", output.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "with -o: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!output.exists(), "-o file left behind after an error");
    assert_eq!(
        before,
        snapshot(scratch.dir.path()),
        "drydock changed files in the scratch directory"
    );
    eprintln!("ok: {line}");
}

fn oci_source(written: &WrittenImage) -> String {
    format!("oci-dir:{}", written.dir.display())
}

#[test]
fn corrupt_blob_is_a_digest_error() {
    let scratch = Scratch::new();
    let image = scratch.oci(&OciImage::new().layer(Blob::tar_gzip(&base_tar().finish())));
    image.corrupt_blob(&image.layer_digests[0]);
    assert_rejected(&scratch, &oci_source(&image), &image.dir, &["digest"]);
}

#[test]
fn corrupt_config_is_a_digest_error() {
    let scratch = Scratch::new();
    let image = scratch.oci(&OciImage::new().layer(Blob::tar_gzip(&base_tar().finish())));
    image.corrupt_blob(&image.config_digest);
    assert_rejected(
        &scratch,
        &oci_source(&image),
        &image.dir,
        &["digest", "json"],
    );
}

#[test]
fn missing_blob_is_reported() {
    let scratch = Scratch::new();
    let image = scratch.oci(&OciImage::new().layer(Blob::tar_gzip(&base_tar().finish())));
    image.delete_blob(&image.layer_digests[0]);
    assert_rejected(
        &scratch,
        &oci_source(&image),
        &image.dir,
        &["missing", "not found", "does not exist"],
    );
}

#[test]
fn arm64_only_index_has_no_image_for_this_platform() {
    let scratch = Scratch::new();
    let image = scratch.oci(
        &OciImage::new()
            .platform("linux", "arm64", Some("v8"))
            .layer(Blob::tar_gzip(&base_tar().finish())),
    );
    let source = oci_source(&image);
    let platform = format!("linux/{}", drydock_test::host_oci_architecture());
    if platform != "linux/arm64" {
        let out = run_drydock(&["sbom", &source, "-f", "json", "--platform", &platform]);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("platform"));
    }
    assert_rejected(&scratch, &source, &image.dir, &["platform"]);
    // and asking for it works
    let out = run_drydock(&["sbom", &source, "-f", "json", "--platform", "linux/arm64"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn truncated_tar_is_reported() {
    let scratch = Scratch::new();
    let mut tar = base_tar().file("usr/big", vec![b'x'; 4096]).unterminated();
    tar.truncate(tar.len() - 3000);
    let image = scratch.oci(&OciImage::new().layer(Blob::tar(tar)));
    assert_rejected(
        &scratch,
        &oci_source(&image),
        &image.dir,
        &["truncated", "unexpected end", "corrupt", "eof"],
    );
}

#[test]
fn corrupt_gzip_is_reported() {
    let scratch = Scratch::new();
    let tar = base_tar().finish();
    let mut bytes = gzip(&tar);
    let len = bytes.len();
    for byte in &mut bytes[12..len - 8] {
        *byte ^= 0xa5;
    }
    let image = scratch.oci(&OciImage::new().layer(Blob::raw(MEDIA_TYPE_LAYER_GZIP, bytes, &tar)));
    assert_rejected(
        &scratch,
        &oci_source(&image),
        &image.dir,
        &["gzip", "corrupt", "deflate", "invalid"],
    );
}

#[test]
fn truncated_gzip_is_reported() {
    let scratch = Scratch::new();
    let tar = base_tar()
        .file(
            "usr/random",
            (0..20_000u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect::<Vec<_>>(),
        )
        .finish();
    let mut bytes = gzip(&tar);
    bytes.truncate(bytes.len() / 2);
    let image = scratch.oci(&OciImage::new().layer(Blob::raw(MEDIA_TYPE_LAYER_GZIP, bytes, &tar)));
    assert_rejected(
        &scratch,
        &oci_source(&image),
        &image.dir,
        &["truncated", "unexpected end", "corrupt", "eof"],
    );
}

#[test]
fn corrupt_zstd_is_reported() {
    let scratch = Scratch::new();
    let tar = base_tar().finish();
    let mut bytes = vec![0x28, 0xb5, 0x2f, 0xfd];
    bytes.extend((0..512u32).map(|i| (i * 37 % 251) as u8));
    let image = scratch.oci(&OciImage::new().layer(Blob::raw(MEDIA_TYPE_LAYER_ZSTD, bytes, &tar)));
    assert_rejected(
        &scratch,
        &oci_source(&image),
        &image.dir,
        &["zstd", "corrupt", "invalid"],
    );
}

#[test]
fn dot_dot_entry_escapes_the_root() {
    let scratch = Scratch::new();
    let tar = base_tar().file("../../../../evil", "boom").finish();
    let image = scratch.oci(&OciImage::new().layer(Blob::tar_gzip(&tar)));
    assert_rejected(
        &scratch,
        &oci_source(&image),
        &image.dir,
        &["escape", "..", "outside"],
    );
}

#[test]
fn nested_dot_dot_entry_escapes_the_root() {
    let scratch = Scratch::new();
    let tar = base_tar().file("etc/../../evil", "boom").finish();
    let image = scratch.oci(&OciImage::new().layer(Blob::tar(tar)));
    assert_rejected(
        &scratch,
        &oci_source(&image),
        &image.dir,
        &["escape", "..", "outside"],
    );
}

#[test]
fn absolute_entry_is_reported() {
    let scratch = Scratch::new();
    let tar = base_tar()
        .file("/tmp/drydock-absolute-evil", "boom")
        .finish();
    let image = scratch.oci(&OciImage::new().layer(Blob::tar(tar)));
    assert_rejected(
        &scratch,
        &oci_source(&image),
        &image.dir,
        &["absolute", "escape", "outside"],
    );
    assert!(!Path::new("/tmp/drydock-absolute-evil").exists());
}

#[test]
fn huge_declared_size_is_truncated_not_allocated() {
    let scratch = Scratch::new();
    let mut entry = TarEntry::file("var/lib/dpkg/status", STATUS);
    entry.declared_size = Some(8 << 30);
    let tar = RawTar::new()
        .file("etc/os-release", OS_RELEASE)
        .entry(&entry)
        .finish();
    let image = scratch.oci(&OciImage::new().layer(Blob::tar_gzip(&tar)));
    assert_rejected(
        &scratch,
        &oci_source(&image),
        &image.dir,
        &["truncated", "unexpected end", "corrupt", "eof", "size"],
    );
}

#[test]
fn unknown_layer_media_type_is_reported() {
    let scratch = Scratch::new();
    let tar = base_tar().finish();
    let image = scratch.oci(&OciImage::new().layer(Blob::raw(
        "application/vnd.example.mystery",
        tar.clone(),
        &tar,
    )));
    assert_rejected(
        &scratch,
        &oci_source(&image),
        &image.dir,
        &["media type", "mediatype", "unsupported", "unknown"],
    );
}

#[test]
fn corrupt_oci_archive_is_reported() {
    let scratch = Scratch::new();
    let image = OciImage::new()
        .layer(Blob::tar_gzip(&base_tar().finish()))
        .write(&scratch.dir.path().join("layout"));
    image.corrupt_blob(&image.layer_digests[0]);
    let archive = scratch.image_dir().with_extension("tar");
    std::fs::create_dir_all(archive.parent().unwrap()).unwrap();
    image.to_oci_archive(&archive);
    assert_rejected(
        &scratch,
        &format!("oci-archive:{}", archive.display()),
        &archive,
        &["digest"],
    );
}

#[test]
fn not_an_image_is_reported() {
    let scratch = Scratch::new();
    let path = scratch.dir.path().join("garbage.tar");
    std::fs::write(&path, b"this is not a tar file at all, just text").unwrap();
    assert_rejected(
        &scratch,
        &format!("docker-archive:{}", path.display()),
        &path,
        &["tar", "not", "corrupt", "manifest"],
    );
    let missing = scratch.dir.path().join("nope");
    assert_rejected(
        &scratch,
        missing.to_str().unwrap(),
        &missing,
        &["exist", "not found", "no such"],
    );
}

// ---- legal but nasty: must succeed (or fail cleanly) without leaving the root

/// Runs drydock; exit 0 → the JSON document; exit 2 → `None` after checking
/// the one-line error. Anything else fails.
fn run_tolerant(source: &str) -> Option<Value> {
    let out = run_drydock(&["sbom", source, "-f", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    match out.status.code() {
        Some(0) => Some(serde_json::from_slice(&out.stdout).expect("JSON on stdout")),
        Some(2) => {
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
            assert!(stderr.starts_with("drydock: "), "{stderr}");
            None
        }
        other => panic!("exit {other:?}: {stderr}"),
    }
}

const IMAGE_OS_RELEASE: &str = "ID=drydocktest\nVERSION_ID=\"7\"\n";

/// `etc/os-release -> ../../../../usr/lib/os-release`: inside the image
/// that is the image's own `usr/lib/os-release`; followed on the host it
/// would be the host's. drydock must report the image's.
#[test]
fn symlink_escaping_the_root_resolves_inside_it() {
    let scratch = Scratch::new();
    let tar = RawTar::new()
        .dir("etc/")
        .symlink("etc/os-release", "../../../../../../usr/lib/os-release")
        .dir("usr/")
        .dir("usr/lib/")
        .file("usr/lib/os-release", IMAGE_OS_RELEASE)
        .finish();
    let image = scratch.oci(&OciImage::new().layer(Blob::tar_gzip(&tar)));
    let document =
        run_tolerant(&oci_source(&image)).expect("a symlink pointing above the root is legal");
    assert_eq!(
        document["distro"]["id"], "drydocktest",
        "distro: {}",
        document["distro"]
    );
}

/// The same with `dir:` and a real symlink on disk, which the OS would
/// happily follow out of the root.
#[test]
fn dir_symlink_escaping_the_root_resolves_inside_it() {
    let scratch = Scratch::new();
    let root = scratch.image_dir();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::create_dir_all(root.join("usr/lib")).unwrap();
    std::fs::write(root.join("usr/lib/os-release"), IMAGE_OS_RELEASE).unwrap();
    std::os::unix::fs::symlink(
        "../../../../../../../../../usr/lib/os-release",
        root.join("etc/os-release"),
    )
    .unwrap();
    let document = run_tolerant(&format!("dir:{}", root.display())).expect("legal");
    assert_eq!(
        document["distro"]["id"], "drydocktest",
        "distro: {}",
        document["distro"]
    );
    // absolute symlink: also inside the root
    std::fs::remove_file(root.join("etc/os-release")).unwrap();
    std::os::unix::fs::symlink("/usr/lib/os-release", root.join("etc/os-release")).unwrap();
    let document = run_tolerant(&format!("dir:{}", root.display())).expect("legal");
    assert_eq!(
        document["distro"]["id"], "drydocktest",
        "distro: {}",
        document["distro"]
    );
}

fn assert_not_host_distro(document: Option<&Value>) {
    if let Some(document) = document {
        let distro = &document["distro"];
        assert!(
            distro.is_null() || distro["id"].is_null(),
            "a looping os-release yielded a distro: {distro}"
        );
    }
}

#[test]
fn symlink_loop_on_os_release_terminates() {
    let scratch = Scratch::new();
    let tar = RawTar::new()
        .dir("etc/")
        .symlink("etc/os-release", "os-release-b")
        .symlink("etc/os-release-b", "/etc/os-release")
        .dir("usr/")
        .dir("usr/lib/")
        .symlink("usr/lib/os-release", "os-release")
        .finish();
    let image = scratch.oci(&OciImage::new().layer(Blob::tar(tar)));
    assert_not_host_distro(run_tolerant(&oci_source(&image)).as_ref());
}

#[test]
fn hard_link_to_missing_or_outside_target_is_handled() {
    for target in [
        "../../../../etc/os-release",
        "etc/does-not-exist",
        "/etc/os-release",
    ] {
        let scratch = Scratch::new();
        let tar = RawTar::new()
            .dir("etc/")
            .hardlink("etc/os-release", target)
            .finish();
        let image = scratch.oci(&OciImage::new().layer(Blob::tar(tar)));
        let source = oci_source(&image);
        if let Some(document) = run_tolerant(&source) {
            assert_not_host_distro(Some(&document));
        }
    }
}

//! Where `-o` writes.
use std::os::unix::fs::FileTypeExt;
use std::process::Command;

fn drydock() -> Command {
    Command::new(env!("CARGO_BIN_EXE_drydock"))
}

/// Regression: `-o /dev/null` once renamed a temporary file over the device.
/// A FIFO stands in for any non-regular file: it must be written in place.
#[test]
fn output_to_a_fifo_writes_into_it_and_leaves_it_a_fifo() {
    if !drydock_test::require_tool("mkfifo") {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path().join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(
        root.join("etc/os-release"),
        "ID=debian\nVERSION_ID=\"12\"\n",
    )
    .unwrap();
    let fifo = scratch.path().join("out.fifo");
    let status = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    let out = drydock()
        .args([
            "sbom",
            &format!("dir:{}", root.display()),
            "-f",
            "json",
            "-o",
        ])
        .arg(&fifo)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Checked before joining the reader: had the FIFO been replaced, the
    // reader would wait forever.
    let meta = std::fs::symlink_metadata(&fifo).unwrap();
    assert!(
        meta.file_type().is_fifo(),
        "the FIFO was replaced by a regular file"
    );
    let written = reader.join().unwrap();
    assert!(written.contains("\"schema_version\""), "{written}");
    let leftovers: Vec<_> = std::fs::read_dir(scratch.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".drydock-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left behind");
}

#[test]
fn output_to_a_regular_file_is_atomic_and_complete() {
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    let target = scratch.path().join("sbom.json");
    std::fs::write(&target, "old").unwrap();
    let out = drydock()
        .args([
            "sbom",
            &format!("dir:{}", root.display()),
            "-f",
            "json",
            "-o",
        ])
        .arg(&target)
        .output()
        .unwrap();
    assert!(out.status.success());
    let written = std::fs::read_to_string(&target).unwrap();
    assert!(written.trim_end().ends_with('}'));
    // A failing run leaves the previous file untouched.
    let out = drydock()
        .args(["sbom", "dir:/nonexistent/drydock-test", "-f", "json", "-o"])
        .arg(&target)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), written);
}

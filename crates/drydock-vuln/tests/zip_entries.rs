//! OSV `all.zip` archives are inflated entry by entry with one reused
//! inflater: stored and deflated entries both import, and a damaged entry
//! (CRC-32 mismatch, truncated or corrupt deflate data) fails the import
//! with the entry's name instead of importing garbage or panicking.
use std::io::Write as _;

use drydock_vuln::Database;

fn record(id: &str) -> String {
    format!(
        r#"{{"id":"{id}","modified":"2024-05-01T00:00:00Z","affected":[{{"package":{{"ecosystem":"PyPI","name":"demo-pkg"}},"versions":["1.0"]}}],"details":"{}"}}"#,
        "padding text that compresses well ".repeat(40)
    )
}

/// A zip with one stored and two deflated entries.
fn archive() -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    writer.start_file("PYSEC-S-1.json", stored).unwrap();
    writer.write_all(record("PYSEC-S-1").as_bytes()).unwrap();
    for id in ["PYSEC-D-1", "PYSEC-D-2"] {
        writer.start_file(format!("{id}.json"), deflated).unwrap();
        writer.write_all(record(id).as_bytes()).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

fn import(bytes: &[u8]) -> Result<usize, String> {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("all.zip");
    std::fs::write(&file, bytes).unwrap();
    Database::import_at(&tmp.path().join("db"), &[file], 1)
        .map(|report| report.records_read)
        .map_err(|error| {
            // The whole chain: the entry's name, then the cause.
            let mut text = error.to_string();
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            text
        })
}

/// Where an entry's data starts: after its local header (30 bytes + name + extra).
fn data_start(bytes: &[u8], name: &str) -> usize {
    let header = bytes
        .windows(name.len())
        .position(|window| window == name.as_bytes())
        .unwrap()
        - 30;
    let name_len = u16::from_le_bytes([bytes[header + 26], bytes[header + 27]]) as usize;
    let extra_len = u16::from_le_bytes([bytes[header + 28], bytes[header + 29]]) as usize;
    header + 30 + name_len + extra_len
}

#[test]
fn stored_and_deflated_entries_import() {
    assert_eq!(import(&archive()), Ok(3));
}

#[test]
fn damaged_entries_fail_with_the_entry_name() {
    let good = archive();
    // A flipped byte inside the stored entry: only the CRC can tell.
    let mut stored = good.clone();
    let at = data_start(&stored, "PYSEC-S-1.json") + 40;
    stored[at] ^= 0x20;
    let error = import(&stored).unwrap_err();
    assert!(
        error.contains("PYSEC-S-1.json") && error.contains("CRC"),
        "{error}"
    );
    // Deflate data overwritten: corrupt stream or CRC mismatch, never Ok.
    for (offset, byte) in [(0, 0xff), (5, 0x00), (12, 0xaa)] {
        let mut damaged = good.clone();
        let at = data_start(&damaged, "PYSEC-D-2.json") + offset;
        for slot in &mut damaged[at..at + 4] {
            *slot = byte;
        }
        let error = import(&damaged).unwrap_err();
        assert!(error.contains("PYSEC-D-2.json"), "{offset}: {error}");
    }
}

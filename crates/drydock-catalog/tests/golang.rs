//! The `binary-metadata` cataloger on real Go binaries (ELF 32/64-bit in
//! both byte orders, PE32 and PE32+, 64-bit Mach-O, a fat Mach-O made of
//! two of them) against `go version -m`.
#[path = "fixtures/golang/fixture.rs"]
mod fixture;

use drydock_catalog::{Cataloger, Context, FileRef, Files, Found};
use drydock_core::{ImagePath, PackageKind};

fn cataloger() -> Box<dyn Cataloger> {
    drydock_catalog::builtin()
        .into_iter()
        .find(|c| c.id() == "binary-metadata")
        .expect("binary-metadata is built in")
}

fn catalog(path: &str, bytes: &[u8]) -> Found {
    let files = Files::new(vec![FileRef {
        path: ImagePath::new(path).unwrap(),
        bytes,
        layer: None,
    }]);
    cataloger().catalog(&files, &Context::default())
}

fn names(found: &Found) -> Vec<(String, String)> {
    let mut got: Vec<(String, String)> = found
        .packages
        .iter()
        .map(|p| (p.name.clone(), p.version.clone()))
        .collect();
    got.sort();
    got
}

#[test]
fn go_binaries_match_go_version_m_in_every_format() {
    let Some(dir) = fixture::go_fixture() else {
        return;
    };
    for target in fixture::TARGETS {
        let binary = std::fs::read(dir.join(format!("hello-{target}"))).unwrap();
        let version_m =
            std::fs::read_to_string(dir.join(format!("hello-{target}.version-m"))).unwrap();
        let expected = fixture::expected_from_version_m(&version_m);
        assert_eq!(
            expected.len(),
            5,
            "{target}: stdlib, the main module, three deps"
        );
        let path = format!("usr/local/bin/hello-{target}");

        // Straight from the bytes, and through the reduced form the walk keeps.
        let direct = catalog(&path, &binary);
        let reduced = cataloger().reduce(&ImagePath::new(&path).unwrap(), binary.clone());
        assert!(
            reduced.len() < 2048,
            "{target}: reduced to {} bytes",
            reduced.len()
        );
        let via_reduce = catalog(&path, &reduced);
        for found in [&direct, &via_reduce] {
            assert!(found.problems.is_empty(), "{target}: {:?}", found.problems);
            assert_eq!(names(found), expected, "{target}");
            for package in &found.packages {
                assert_eq!(package.kind, PackageKind::Golang);
                assert!(package.installed);
                assert_eq!(package.locations.len(), 1);
                assert_eq!(package.locations[0].path.to_string(), format!("/{path}"));
            }
        }
        let purls: Vec<String> = direct.packages.iter().map(|p| p.purl.to_string()).collect();
        for purl in [
            "pkg:golang/stdlib@v1.19.8",
            "pkg:golang/example.com/hello",
            "pkg:golang/example.com/dep@v1.2.3",
            "pkg:golang/example.com/new@v0.2.0",
        ] {
            assert!(
                purls.iter().any(|p| p == purl),
                "{target}: {purl} not in {purls:?}"
            );
        }
    }
}

/// A fat (universal) Mach-O with two slices, laid out as `lipo` does:
/// big-endian header, one `fat_arch` per slice, slices aligned to 2^14.
fn fat_macho(slices: &[(u32, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xcafe_babe_u32.to_be_bytes());
    out.extend_from_slice(&(slices.len() as u32).to_be_bytes());
    let mut offset = 1u32 << 14;
    let mut layout = Vec::new();
    for (cpu, slice) in slices {
        out.extend_from_slice(&cpu.to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes());
        out.extend_from_slice(&offset.to_be_bytes());
        out.extend_from_slice(&(slice.len() as u32).to_be_bytes());
        out.extend_from_slice(&14u32.to_be_bytes());
        layout.push(offset);
        offset = (offset + slice.len() as u32).next_multiple_of(1 << 14);
    }
    for ((_, slice), at) in slices.iter().zip(layout) {
        out.resize(at as usize, 0);
        out.extend_from_slice(slice);
    }
    out
}

#[test]
fn a_fat_macho_reports_the_modules_once() {
    let Some(dir) = fixture::go_fixture() else {
        return;
    };
    let amd64 = std::fs::read(dir.join("hello-darwin-amd64")).unwrap();
    let arm64 = std::fs::read(dir.join("hello-darwin-arm64")).unwrap();
    let expected = fixture::expected_from_version_m(
        &std::fs::read_to_string(dir.join("hello-darwin-amd64.version-m")).unwrap(),
    );
    assert_eq!(
        expected,
        fixture::expected_from_version_m(
            &std::fs::read_to_string(dir.join("hello-darwin-arm64.version-m")).unwrap()
        )
    );
    let fat = fat_macho(&[(0x0100_0007, &amd64), (0x0100_000c, &arm64)]);
    let found = catalog("Applications/hello", &fat);
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    assert_eq!(names(&found), expected);
}

#[test]
fn a_truncated_go_binary_is_a_located_problem() {
    let Some(dir) = fixture::go_fixture() else {
        return;
    };
    let binary = std::fs::read(dir.join("hello-linux-amd64")).unwrap();
    for len in [4, 40, 64, 4096, binary.len() / 2, binary.len() - 1] {
        let found = catalog("usr/bin/hello", &binary[..len]);
        assert!(found.packages.is_empty(), "{len}: {:?}", found.packages);
        assert_eq!(found.problems.len(), 1, "{len}: {:?}", found.problems);
        assert_eq!(found.problems[0].path.to_string(), "/usr/bin/hello");
        assert_eq!(found.problems[0].cataloger, "binary-metadata");
        assert!(
            found.problems[0].reason.contains("ELF"),
            "{}",
            found.problems[0].reason
        );
    }
}

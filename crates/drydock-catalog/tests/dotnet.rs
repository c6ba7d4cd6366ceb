//! The .NET cataloger over a hand-written `deps.json` in the shape the SDK
//! writes (a self-contained linux-x64 app: a project, a project reference,
//! a runtime pack, two NuGet packages, an assembly reference). The expected
//! list is read off the fixture by hand: `package` and `runtimepack`
//! libraries, not `project` or `reference` ones.
use std::path::PathBuf;

use drydock_catalog::{Context, FileRef, Files, Found, builtin};
use drydock_core::{ImagePath, PackageKind};

fn catalog(path: &str, bytes: &[u8]) -> Found {
    let cataloger = builtin()
        .into_iter()
        .find(|c| c.id() == "dotnet-deps")
        .expect("the .NET cataloger is built in");
    let files = Files::new(vec![FileRef {
        path: ImagePath::new(path).unwrap(),
        bytes,
        layer: None,
    }]);
    cataloger.catalog(&files, &Context::default())
}

#[test]
fn packages_and_runtime_packs_are_reported() {
    let fixture =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dotnet/app.deps.json");
    let found = catalog("app/app.deps.json", &std::fs::read(fixture).unwrap());
    assert_eq!(found.problems, vec![]);
    let mut got: Vec<(String, String, String, Option<String>)> = found
        .packages
        .iter()
        .map(|p| {
            assert_eq!(p.kind, PackageKind::Nuget);
            assert!(p.installed);
            assert_eq!(p.locations[0].path.to_display(), "/app/app.deps.json");
            (
                p.name.clone(),
                p.version.clone(),
                p.purl.to_string(),
                p.checksum.clone(),
            )
        })
        .collect();
    got.sort();
    // sha512 values: `base64 -d | xxd -p` of the fixture's strings.
    assert_eq!(
        got,
        [
            (
                "Microsoft.NETCore.App.Runtime.linux-x64".to_owned(),
                "8.0.0".to_owned(),
                "pkg:nuget/Microsoft.NETCore.App.Runtime.linux-x64@8.0.0".to_owned(),
                None
            ),
            (
                "Newtonsoft.Json".to_owned(),
                "13.0.1".to_owned(),
                "pkg:nuget/Newtonsoft.Json@13.0.1".to_owned(),
                Some(format!("sha512:{NEWTONSOFT_SHA512}"))
            ),
            (
                "Serilog".to_owned(),
                "2.12.0".to_owned(),
                "pkg:nuget/Serilog@2.12.0".to_owned(),
                Some(format!("sha512:{SERILOG_SHA512}"))
            ),
        ]
    );
}

#[test]
fn malformed_files_are_problems() {
    for (bytes, reason) in [
        (&b"{"[..], "not a deps.json file"),
        (b"{\"targets\": {}}", "no `libraries` object"),
        (b"{\"libraries\": []}", "not a deps.json file"),
        (
            b"{\"libraries\": {\"NoVersion\": {\"type\": \"package\"}}}",
            "library `NoVersion` is not `Name/Version`",
        ),
    ] {
        let found = catalog("x.deps.json", bytes);
        assert_eq!(found.packages, vec![]);
        assert_eq!(found.problems.len(), 1);
        assert!(
            found.problems[0].reason.starts_with(reason),
            "{:?}",
            found.problems[0]
        );
    }
}

const NEWTONSOFT_SHA512: &str = "a693c5a4172fc5db1f5289cd72f2132aa2e5ddbab159b0c2648cc3587ce3a5d0074457d97b40f0f47980d3ecdad7721dcab809c299034c303d7c76b13abb76d0";
const SERILOG_SHA512: &str = "c5a8892c876eeab60c29f40c6146604f2f182bb48c663078624e740bfbbffd9e0eb2fc6451f48f272e279277efc000b7e32af5deaee473287882b6f0852c7266";

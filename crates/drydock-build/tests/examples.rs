//! Every spec under examples/golden parses, and its profile resolves.
use std::path::Path;

#[test]
fn every_example_parses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/golden");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let spec = drydock_build::Spec::parse(&text)
            .unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
        assert!(!spec.roots().is_empty(), "{}", path.display());
        count += 1;
    }
    assert!(count >= 3);
}

#[test]
fn spec_errors_name_the_problem() {
    let base = "name: x\narchives: [{url: http://deb.debian.org/debian, suites: [bookworm]}]\n";
    assert!(drydock_build::Spec::parse(base).is_ok());
    let bad_profile = format!("{base}profile: fat\n");
    assert!(
        drydock_build::Spec::parse(&bad_profile)
            .unwrap_err()
            .to_string()
            .contains("unknown profile `fat`")
    );
    let escape = format!("{base}files: [{{path: /etc/../../x, content: a}}]\n");
    assert!(drydock_build::Spec::parse(&escape).is_err());
    let mode = format!("{base}directories: [{{path: /x, mode: \"0999\"}}]\n");
    assert!(drydock_build::Spec::parse(&mode).is_err());
    let unknown = format!("{base}pakages: [a]\n");
    assert!(drydock_build::Spec::parse(&unknown).is_err());
}

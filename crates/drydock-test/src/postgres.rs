//! A throwaway PostgreSQL cluster for tests: Debian's `postgresql` server
//! binaries, `initdb` into a temporary directory, `pg_ctl start` on a free
//! loopback port (as the `postgres` user when the tests run as root, since
//! PostgreSQL refuses to run as root), stopped and deleted on drop.
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::registry::free_port;

/// A running cluster.
pub struct Postgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    run_as_user: bool,
    pub port: u16,
}

/// `/usr/lib/postgresql/<newest>/bin`, if installed.
pub fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

impl Postgres {
    /// Starts a cluster, or `None` (after a loud skip, a failure under CI)
    /// when PostgreSQL is not installed.
    pub fn start() -> Option<Postgres> {
        let Some(bin) = postgres_bin() else {
            crate::missing("PostgreSQL server (apt-get install postgresql)");
            return None;
        };
        let dir = tempfile::Builder::new()
            .prefix("drydock-pg-")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let run_as_user = is_root();
        if run_as_user {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(status.success(), "chown the cluster directory");
        }
        let port = free_port();
        let data = dir.path().join("data");
        let pg = Postgres {
            bin,
            dir,
            run_as_user,
            port,
        };
        pg.run(
            "initdb",
            &[
                "-D",
                &data.display().to_string(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50",
            pg.dir.path().display()
        );
        pg.run(
            "pg_ctl",
            &[
                "-D",
                &data.display().to_string(),
                "-o",
                &options,
                "-l",
                &pg.dir.path().join("log").display().to_string(),
                "-w",
                "start",
            ],
        );
        Some(pg)
    }

    fn command(&self, tool: &str) -> Command {
        let path = self.bin.join(tool);
        if self.run_as_user {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let out = self
            .command(tool)
            .args(args)
            .current_dir("/tmp")
            .stdin(Stdio::null())
            .output()
            .expect("run a PostgreSQL tool");
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A new empty database; its `postgres://` URL.
    pub fn database(&self, name: &str) -> String {
        self.run(
            "createdb",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                name,
            ],
        );
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Runs one SQL statement in database `name` (psql), panicking on failure.
    pub fn execute(&self, name: &str, statement: &str) {
        self.run(
            "psql",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                name,
                "-c",
                statement,
            ],
        );
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data").display().to_string();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "stop"])
            .current_dir("/tmp")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

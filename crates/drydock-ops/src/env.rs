//! Every environment variable drydock reads, in one place.
pub struct EnvVars;

impl EnvVars {
    /// Seconds since the epoch used for every timestamp drydock writes.
    pub const SOURCE_DATE_EPOCH: &'static str = "SOURCE_DATE_EPOCH";
    /// Disable colour in terminal output.
    pub const NO_COLOR: &'static str = "NO_COLOR";
    /// The password of signing keys (`drydock key generate`, `sign`, `attest`); empty allowed.
    pub const DRYDOCK_PASSWORD: &'static str = "DRYDOCK_PASSWORD";
    /// Docker's configuration directory (`config.json` with registry credentials).
    pub const DOCKER_CONFIG: &'static str = "DOCKER_CONFIG";
    /// The home directory (for `~/.docker/config.json`).
    pub const HOME: &'static str = "HOME";
    /// The vulnerability database directory (overrides the XDG default).
    pub const DRYDOCK_DB_DIR: &'static str = "DRYDOCK_DB_DIR";
    /// XDG base directory for data (`$XDG_DATA_HOME/drydock/db`).
    pub const XDG_DATA_HOME: &'static str = "XDG_DATA_HOME";
    /// The golden-image download cache (overrides `$XDG_CACHE_HOME/drydock/golden`).
    pub const DRYDOCK_CACHE_DIR: &'static str = "DRYDOCK_CACHE_DIR";
    /// XDG base directory for caches (`$XDG_CACHE_HOME/drydock/golden`).
    pub const XDG_CACHE_HOME: &'static str = "XDG_CACHE_HOME";

    /// The fleet store URL (`sqlite:PATH` or `postgres://…`), else
    /// `$XDG_DATA_HOME/drydock/fleet.db`.
    pub const DRYDOCK_STORE: &'static str = "DRYDOCK_STORE";
    /// The current time for fleet commands (RFC 3339 or seconds since the
    /// epoch): replays, backfills and tests with a fixed clock.
    pub const DRYDOCK_NOW: &'static str = "DRYDOCK_NOW";

    /// In a pod: the API server's address (`fleet add cluster --in-cluster`).
    pub const KUBERNETES_SERVICE_HOST: &'static str = "KUBERNETES_SERVICE_HOST";
    pub const KUBERNETES_SERVICE_PORT: &'static str = "KUBERNETES_SERVICE_PORT";

    /// `1`: `drydock scan` prints the wall time of each phase to stderr.
    pub const DRYDOCK_TIMINGS: &'static str = "DRYDOCK_TIMINGS";

    pub fn get(name: &str) -> Option<String> {
        #[expect(
            clippy::disallowed_methods,
            reason = "this is the one gate for environment variables"
        )]
        std::env::var(name).ok()
    }
}

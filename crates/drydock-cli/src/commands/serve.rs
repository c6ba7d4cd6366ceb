//! `drydock serve`: the REST API and the web dashboard over the fleet store.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Subcommand};
use drydock_server::{Scope, ServeSettings};
use drydock_store::Deadlines;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct ServeArgs {
    /// The fleet store: `sqlite:PATH` or `postgres://USER@HOST/DB` [default: $DRYDOCK_STORE, else sqlite:$XDG_DATA_HOME/drydock/fleet.db]
    #[arg(long, value_name = "URL")]
    store: Option<String>,
    /// Address and port to listen on (port 0: any free port)
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Accept only the tokens whose hashes this file holds (`drydock serve token` adds one)
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Serve without authentication even on a non-loopback address
    #[arg(long, conflicts_with = "token_file")]
    no_auth: bool,
    /// Serve HTTPS with this certificate chain (PEM)
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of `--tls-cert` (PEM)
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Deadline in days for open findings: kev=14, critical=15, high=30 by default; `medium=90`, `high=off`, …
    #[arg(long = "deadline", value_name = "SEVERITY=DAYS")]
    deadlines: Vec<String>,
    /// Store connections at most (concurrent store calls)
    #[arg(long, value_name = "N", default_value_t = 4)]
    connections: usize,
    /// Reuse the overview page's fleet-wide aggregates for this long (0: compute on every request)
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    cache_seconds: u64,
    /// Print the OpenAPI document and exit
    #[arg(long)]
    print_openapi: bool,
    #[command(subcommand)]
    command: Option<ServeCommand>,
}

#[derive(Subcommand)]
enum ServeCommand {
    /// Make a new API token: print it once, store only its hash in the token file
    Token {
        /// A name for the token (who or what uses it)
        name: String,
        /// `read` (the API and the dashboard) or `admin` (also the sources)
        #[arg(long, default_value = "read")]
        scope: Scope,
        /// The token file (created with mode 0600 if missing)
        #[arg(long, value_name = "FILE")]
        token_file: PathBuf,
    },
}

pub(crate) fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let ServeArgs {
        store,
        listen,
        token_file,
        no_auth,
        tls_cert,
        tls_key,
        deadlines: deadline_args,
        connections,
        cache_seconds,
        print_openapi,
        command,
    } = args;
    if let Some(ServeCommand::Token {
        name,
        scope,
        token_file,
    }) = command
    {
        let token = drydock_server::auth::add_token(&token_file, &name, scope)?;
        crate::output::emit(None, |out| Ok(writeln!(out, "{token}")?))?;
        eprintln!(
            "drydock serve: token `{name}` ({}) added to `{}`; it is shown only now",
            scope.as_str(),
            token_file.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    if print_openapi {
        crate::output::emit(None, |out| {
            Ok(out.write_all(drydock_server::openapi::document_text().as_bytes())?)
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut deadlines = Deadlines::default();
    for text in &deadline_args {
        deadlines.set(text).map_err(anyhow::Error::msg)?;
    }
    let settings = ServeSettings {
        store,
        listen,
        token_file,
        no_auth,
        tls: tls_cert.zip(tls_key),
        deadlines,
        connections,
        cache_seconds,
    };
    let url = drydock_server::store_url(&settings)?;
    drydock_server::serve(
        &settings,
        |listening| {
            let scheme = if listening.tls { "https" } else { "http" };
            let auth = if listening.auth {
                "tokens required"
            } else {
                "no authentication"
            };
            eprintln!(
                "drydock serve: listening on {scheme}://{} ({auth}), store {url}",
                listening.addr
            );
        },
        Arc::new(|line: &str| eprintln!("drydock serve: {line}")),
    )?;
    Ok(ExitCode::SUCCESS)
}

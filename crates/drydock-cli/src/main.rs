//! `drydock`: a thin clap front end over drydock-ops.
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;
mod output;
mod progress;

#[derive(Parser)]
#[command(
    name = "drydock",
    version,
    about = "Inspect, certify and repair container images",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Catalog the packages of an image or directory into an SBOM
    Sbom(commands::sbom::SbomArgs),
    /// Compare `A<TAB>B` version pairs from stdin in an ecosystem's scheme
    Vercmp(commands::vercmp::VercmpArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sbom(args) => commands::sbom::run(args),
        Command::Vercmp(args) => commands::vercmp::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            if output::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let message = format!("{err:#}").replace('\n', " ");
            eprintln!("drydock: {message}");
            ExitCode::from(2)
        }
    }
}

//! `drydock`: a thin clap front end over drydock-ops.
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// drydock allocates many small strings (advisory records, paths); a
/// size-class allocator cuts the matcher's malloc share (bench/scan.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    /// Find the known vulnerabilities of an image, directory or SBOM
    Scan(commands::scan::ScanArgs),
    /// Import, update and inspect the vulnerability database
    Db(commands::db::DbArgs),
    /// Watch a fleet: inventory registries and clusters, re-match, events, MTTI/MTTR
    Fleet(commands::fleet::FleetArgs),
    /// Serve the fleet: a REST API and a web dashboard
    Serve(commands::serve::ServeArgs),
    /// Take fleet jobs (catalog, re-match) from a PostgreSQL store's queue
    Worker(commands::worker::WorkerArgs),
    /// Check an image against a golden-image policy
    Policy(commands::policy::PolicyArgs),
    /// The golden-image catalog: lines, lifecycle, audit log, stale pins
    Golden(commands::golden::GoldenArgs),
    /// Copy an image from an OCI layout into a registry
    Push(commands::push::PushArgs),
    /// Copy an image between registries and OCI layouts
    Copy(commands::copy::CopyArgs),
    /// Manage signing keys
    Key(commands::key::KeyArgs),
    /// Sign an image with a key, as `cosign sign --key` does
    Sign(commands::sign::SignArgs),
    /// Verify an image's signatures with a public key
    Verify(commands::verify::VerifyArgs),
    /// Attach a signed in-toto attestation (SBOM, vulnerabilities, provenance)
    Attest(commands::attest::AttestArgs),
    /// Verify an image's attestations with a public key
    VerifyAttestation(commands::verify_attestation::VerifyAttestationArgs),
    /// Build a golden image from Debian packages, as a YAML spec describes it
    Build(commands::build::BuildArgs),
    /// Update an image's vulnerable Debian packages in one new layer
    Patch(commands::patch::PatchArgs),
    /// Fetch and verify everything a golden image build needs into the cache
    Mirror(commands::mirror::MirrorArgs),
    /// Compare `A<TAB>B` version pairs from stdin in an ecosystem's scheme
    Vercmp(commands::vercmp::VercmpArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sbom(args) => commands::sbom::run(args),
        Command::Scan(args) => commands::scan::run(args),
        Command::Db(args) => commands::db::run(args),
        Command::Fleet(args) => commands::fleet::run(args),
        Command::Serve(args) => commands::serve::run(args),
        Command::Worker(args) => commands::worker::run(args),
        Command::Policy(args) => commands::policy::run(args),
        Command::Golden(args) => commands::golden::run(args),
        Command::Push(args) => commands::push::run(args),
        Command::Copy(args) => commands::copy::run(args),
        Command::Key(args) => commands::key::run(args),
        Command::Sign(args) => commands::sign::run(args),
        Command::Verify(args) => commands::verify::run(args),
        Command::Attest(args) => commands::attest::run(args),
        Command::VerifyAttestation(args) => commands::verify_attestation::run(args),
        Command::Build(args) => commands::build::run(args),
        Command::Patch(args) => commands::patch::run(args),
        Command::Mirror(args) => commands::mirror::run(args),
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

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use drydock_ops::GoldenSettings;

use super::registry_args::RegistryArgs;

/// Options shared by `build` and `mirror`.
#[derive(Args)]
pub(crate) struct GoldenArgs {
    /// The golden image spec (docs/golden.md)
    pub(crate) spec: PathBuf,
    /// The lock file [default: SPEC with the extension `.lock`]
    #[arg(long)]
    pub(crate) lock: Option<PathBuf>,
    /// Downloaded indices and .debs [default: $XDG_CACHE_HOME/drydock/golden]
    #[arg(long)]
    pub(crate) cache_dir: Option<PathBuf>,
    /// Use only the cache; never download
    #[arg(long)]
    pub(crate) offline: bool,
    /// Re-resolve to the newest versions in the configured suites and rewrite the lock
    #[arg(long)]
    pub(crate) update: bool,
    /// Download archive URL from a mirror instead: URL=REPLACEMENT (repeatable)
    #[arg(long = "mirror", value_name = "URL=REPLACEMENT")]
    pub(crate) mirrors: Vec<String>,
    /// Accept an InRelease past its `Valid-Until` or dated in the future, with a warning
    #[arg(long)]
    pub(crate) allow_stale_release: bool,
}

impl GoldenArgs {
    pub(crate) fn settings(self) -> GoldenSettings {
        let GoldenArgs {
            spec,
            lock,
            cache_dir,
            offline,
            update,
            mirrors,
            allow_stale_release,
        } = self;
        GoldenSettings {
            spec,
            lock,
            cache_dir,
            offline,
            update,
            mirrors,
            allow_stale_release,
            ..GoldenSettings::default()
        }
    }
}

#[derive(Args)]
pub(crate) struct BuildArgs {
    #[command(flatten)]
    golden: GoldenArgs,
    /// Where the image goes: oci-dir:PATH, oci-archive:PATH, docker-archive:PATH or registry:REF
    #[arg(short, long)]
    output: Option<String>,
    /// Where the CycloneDX SBOM goes [default: OUTPUT_PATH.cdx.json]
    #[arg(long)]
    sbom: Option<PathBuf>,
    /// Bump only the locked packages with fixable vulnerabilities (and what their new versions need); print the lock diff
    #[arg(long, conflicts_with = "update")]
    update_vulnerable: bool,
    /// The vulnerability database for `--update-vulnerable` [default: $DRYDOCK_DB_DIR, else $XDG_DATA_HOME/drydock/db]
    #[arg(long, value_name = "DIR")]
    db_dir: Option<PathBuf>,
    #[command(flatten)]
    registry: RegistryArgs,
}

pub(crate) fn run(args: BuildArgs) -> anyhow::Result<ExitCode> {
    let BuildArgs {
        golden,
        output,
        sbom,
        update_vulnerable,
        db_dir,
        registry,
    } = args;
    let report = drydock_ops::golden_build(&GoldenSettings {
        output,
        sbom,
        update_vulnerable,
        db_dir,
        registry: registry.settings(),
        ..golden.settings()
    })?;
    let built = &report.built;
    for warning in &built.warnings {
        eprintln!("warning: {warning}");
    }
    if update_vulnerable {
        if report.lock_diff.is_empty() {
            eprintln!("no locked package has a fixable vulnerability; lock unchanged");
        }
        for (name, old, new) in &report.lock_diff {
            match old {
                Some(old) => eprintln!("lock: `{name}` {old} -> {new}"),
                None => eprintln!("lock: `{name}` added {new}"),
            }
        }
    }
    if built.lock_written {
        eprintln!(
            "wrote lock `{}` ({} packages)",
            built.lock_path.display(),
            built.lock.packages.len()
        );
    }
    if let Some(sbom) = &report.sbom {
        eprintln!("wrote SBOM `{}`", sbom.display());
    }
    eprintln!(
        "built `{}`: {} packages, layer {} bytes ({} compressed)",
        report.output,
        built.lock.packages.len(),
        built.layer_size,
        built.compressed_size
    );
    println!("{}", report.digest);
    Ok(ExitCode::SUCCESS)
}

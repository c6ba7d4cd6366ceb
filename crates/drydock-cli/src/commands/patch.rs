use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use drydock_ops::PatchSettings;

use super::registry_args::RegistryArgs;

#[derive(Args)]
pub(crate) struct PatchArgs {
    /// The Debian-based image: oci-dir:PATH, oci-archive:PATH, docker-archive:PATH, registry:REF or a path
    source: String,
    /// Where the patched image goes: oci-dir:PATH, oci-archive:PATH, docker-archive:PATH or registry:REF
    #[arg(short, long)]
    output: Option<String>,
    /// The vulnerability database directory [default: $DRYDOCK_DB_DIR, else $XDG_DATA_HOME/drydock/db]
    #[arg(long, value_name = "DIR")]
    db_dir: Option<PathBuf>,
    /// Take the findings from this `drydock scan -f json` report instead of scanning
    #[arg(long, value_name = "SCAN.json")]
    report: Option<PathBuf>,
    /// Write OpenVEX `fixed` statements for the patched image here
    #[arg(long, value_name = "FILE")]
    vex_out: Option<PathBuf>,
    /// Fix only these vulnerabilities (ids or aliases)
    #[arg(long, value_name = "ID", num_args = 1..)]
    only: Vec<String>,
    #[command(flatten)]
    archive: ArchiveArgs,
    /// Use only the cache; never download
    #[arg(long)]
    offline: bool,
    /// Sign the patched image and attach SBOM and vulnerability attestations with this key
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// Say what would be patched; write nothing
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    registry: RegistryArgs,
}

/// Where fixed packages come from (`patch`, `fleet remediate`).
#[derive(Args)]
pub(crate) struct ArchiveArgs {
    /// The Debian archive to patch from [default: deb.debian.org's archive and security archive]
    #[arg(long, value_name = "URL")]
    archive: Option<String>,
    /// Suites of `--archive` [default: RELEASE, RELEASE-updates, RELEASE-security]
    #[arg(long, value_name = "SUITE", num_args = 1.., requires = "archive")]
    suites: Vec<String>,
    /// OpenPGP keyring every InRelease must be signed by [default: /usr/share/keyrings/debian-archive-keyring.gpg]
    #[arg(long, value_name = "FILE")]
    keyring: Option<PathBuf>,
    /// Downloaded indices and .debs (shared with `drydock build`) [default: $XDG_CACHE_HOME/drydock/golden]
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Download archive URL from a mirror instead: URL=REPLACEMENT (repeatable)
    #[arg(long = "mirror", value_name = "URL=REPLACEMENT")]
    mirrors: Vec<String>,
    /// Accept an InRelease past its `Valid-Until` or dated in the future, with a warning
    #[arg(long)]
    allow_stale_release: bool,
}

impl ArchiveArgs {
    /// These settings over `base`.
    pub(crate) fn apply(self, base: PatchSettings) -> PatchSettings {
        PatchSettings {
            archive: self.archive,
            suites: self.suites,
            keyring: self.keyring,
            cache_dir: self.cache_dir,
            mirrors: self.mirrors,
            allow_stale_release: self.allow_stale_release,
            ..base
        }
    }
}

pub(crate) fn run(args: PatchArgs) -> anyhow::Result<ExitCode> {
    let PatchArgs {
        source,
        output,
        db_dir,
        report,
        vex_out,
        only,
        archive,
        offline,
        key,
        dry_run,
        registry,
    } = args;
    let password = if key.is_some() {
        super::password::password(false)?
    } else {
        Vec::new()
    };
    let report = drydock_ops::patch(&archive.apply(PatchSettings {
        source,
        output,
        db_dir,
        report,
        vex_out,
        only,
        offline,
        key,
        password,
        dry_run,
        registry: registry.settings(),
        ..PatchSettings::default()
    }))?;
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    if report.replaced_patch_layer {
        eprintln!("replacing drydock's earlier patch layer");
    }
    for update in &report.updates {
        let ids: Vec<&str> = update.ids.iter().map(String::as_str).collect();
        eprintln!(
            "patched `{}` {} -> {} ({}){}",
            update.name,
            update.old.as_deref().unwrap_or("(new)"),
            update.new.version,
            update.new.suite,
            if ids.is_empty() {
                " (dependency)".to_owned()
            } else {
                format!(": fixes {}", ids.join(", "))
            }
        );
    }
    for skipped in &report.skipped {
        let ids: Vec<&str> = skipped.ids.iter().map(String::as_str).collect();
        eprintln!(
            "skipped `{}` {} ({}): {}",
            skipped.package,
            skipped.version,
            ids.join(", "),
            skipped.reason
        );
    }
    match (&report.digest, &report.output) {
        (Some(digest), Some(output)) => {
            eprintln!(
                "wrote `{output}`: {} packages in one layer ({} files, {} whiteouts) over `{}`",
                report.updates.len(),
                report.layer_files,
                report.layer_whiteouts,
                report.base_name
            );
            println!("{digest}");
        }
        _ if report.updates.is_empty() => eprintln!("nothing to patch; no image written"),
        _ => eprintln!("dry run; no image written"),
    }
    Ok(ExitCode::SUCCESS)
}

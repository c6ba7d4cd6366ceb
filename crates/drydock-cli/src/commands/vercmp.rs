//! `drydock vercmp ECOSYSTEM`: compares `a<TAB>b` version pairs read from
//! stdin, printing `-1`, `0` or `1` per line.
use std::cmp::Ordering;
use std::io::{BufRead, Write};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Args;
use drydock_version::Ecosystem;

#[derive(Args)]
pub(crate) struct VercmpArgs {
    /// Version scheme, named as OSV names ecosystems (`Debian`, `Alpine`,
    /// `Red Hat`, `npm`, `crates.io`, `PyPI`, `Maven`, `Go`, `RubyGems`,
    /// `NuGet`, `Packagist`, ...)
    ecosystem: String,
}

pub(crate) fn run(args: VercmpArgs) -> anyhow::Result<ExitCode> {
    let VercmpArgs { ecosystem } = args;
    let Ok(ecosystem) = ecosystem.parse::<Ecosystem>() else {
        bail!(
            "unknown ecosystem `{ecosystem}`; known ecosystems: {}",
            Ecosystem::NAMES.join(", ")
        );
    };
    let stdin = std::io::stdin();
    let input = stdin.lock();
    crate::output::emit(None, |out| compare_lines(ecosystem, input, out))?;
    Ok(ExitCode::SUCCESS)
}

fn compare_lines(
    ecosystem: Ecosystem,
    mut input: impl BufRead,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let mut line = String::new();
    let mut number = 0usize;
    loop {
        line.clear();
        number += 1;
        let read = input
            .read_line(&mut line)
            .with_context(|| format!("stdin line {number}: cannot read it as UTF-8 text"))?;
        if read == 0 {
            return Ok(());
        }
        let text = line.strip_suffix('\n').unwrap_or(&line);
        let text = text.strip_suffix('\r').unwrap_or(text);
        let Some((a, b)) = text.split_once('\t') else {
            bail!("stdin line {number}: expected `A<TAB>B`, found no tab");
        };
        if b.contains('\t') {
            bail!("stdin line {number}: expected `A<TAB>B`, found more than one tab");
        }
        let order = drydock_version::compare(ecosystem, a, b)
            .with_context(|| format!("stdin line {number}"))?;
        let value = match order {
            Ordering::Less => "-1",
            Ordering::Equal => "0",
            Ordering::Greater => "1",
        };
        writeln!(out, "{value}")?;
    }
}

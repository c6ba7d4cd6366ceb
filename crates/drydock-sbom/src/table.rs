//! A plain-text table for people.

use crate::{Format, Sbom, SbomError};

const HEADER: [&str; 5] = ["NAME", "VERSION", "TYPE", "ARCH", "SOURCE"];

/// Write one line per package (NAME, VERSION, TYPE, ARCH, SOURCE) under a
/// header, columns padded to align, sorted by name, version, type, arch;
/// `no packages found` when there are none.
pub fn write_table(sbom: &Sbom, out: &mut dyn std::io::Write) -> Result<(), SbomError> {
    let text = render(sbom);
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|source| SbomError::Write {
            format: Format::Table,
            source,
        })
}

fn render(sbom: &Sbom) -> String {
    if sbom.packages.is_empty() {
        return "no packages found\n".to_owned();
    }
    let mut rows: Vec<[String; 5]> = sbom
        .packages
        .iter()
        .map(|package| {
            let source = match &package.source {
                Some(source) if source.version != package.version => {
                    format!("{} ({})", source.name, source.version)
                }
                Some(source) => source.name.clone(),
                None => String::new(),
            };
            [
                clean(&package.name),
                clean(&package.version),
                package.kind.as_str().to_owned(),
                clean(package.arch.as_deref().unwrap_or_default()),
                clean(&source),
            ]
        })
        .collect();
    rows.sort();

    let mut widths = HEADER.map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    let header = HEADER.map(str::to_owned);
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, width)) in row.iter().zip(widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            let pad = width.saturating_sub(cell.chars().count());
            line.extend(std::iter::repeat_n(' ', pad));
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

/// Control characters from package databases must not reach the terminal.
fn clean(cell: &str) -> String {
    cell.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

//! The plain-text table: findings in priority order (KEV, severity, EPSS,
//! fix availability), a summary line, and the suppressed findings when they
//! are listed.
use std::fmt::Write as _;

use super::{ReportError, ReportFormat};
use crate::finding::{Finding, ScanResult, SeverityLevel};

const HEADER: [&str; 8] = [
    "PACKAGE",
    "VERSION",
    "VULNERABILITY",
    "SEVERITY",
    "KEV",
    "EPSS",
    "FIXED-IN",
    "STATE",
];

/// What the table shows besides the fixed columns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableOptions {
    /// A `SEVERITY-SOURCE` column: where the severity came from
    /// (`nvd-cvss-v3.1`, `debian-urgency`, …) and who assigned it.
    pub severity_source: bool,
}

/// Findings about the same (package, version, ecosystem, vulnerability)
/// at several locations (a crate in a binary and in its Cargo.lock, an npm
/// package in two `node_modules`): one row, in the order of the first.
pub(crate) fn unique_findings(findings: &[Finding]) -> Vec<(&Finding, usize)> {
    let mut index: std::collections::HashMap<(&str, &str, &str, &str), usize> =
        std::collections::HashMap::new();
    let mut rows: Vec<(&Finding, usize)> = Vec::new();
    for finding in findings {
        let key = (
            finding.package.name.as_str(),
            finding.package.version.as_str(),
            finding.package.ecosystem.as_str(),
            finding.id.as_str(),
        );
        match index.get(&key) {
            Some(&row) => {
                if let Some((_, count)) = rows.get_mut(row) {
                    *count += 1;
                }
            }
            None => {
                index.insert(key, rows.len());
                rows.push((finding, 1));
            }
        }
    }
    rows
}

fn row(finding: &Finding, options: TableOptions) -> Vec<String> {
    let mut cells = vec![
        finding.package.name.clone(),
        finding.package.version.clone(),
        finding.id.clone(),
        finding.severity.as_str().to_owned(),
    ];
    if options.severity_source {
        cells.push(match (&finding.severity_source, &finding.severity_provider) {
            (Some(source), Some(provider)) => format!("{source} ({provider})"),
            (Some(source), None) => source.clone(),
            _ => "-".to_owned(),
        });
    }
    cells.extend([
        if finding.kev.is_some() {
            "yes".to_owned()
        } else {
            String::new()
        },
        finding
            .epss
            .as_ref()
            .map_or_else(String::new, |epss| format!("{:.2}%", epss.score * 100.0)),
        finding.fixed_versions.join(", "),
        match &finding.suppressed {
            Some(suppression) => format!("suppressed: {}", suppression.status),
            None => finding.state.as_str().to_owned(),
        },
    ]);
    cells
}

fn render(text: &mut String, findings: &[Finding], options: TableOptions) {
    let unique = unique_findings(findings);
    let several = unique.iter().any(|(_, count)| *count > 1);
    let mut header: Vec<String> = HEADER.iter().map(|cell| (*cell).to_owned()).collect();
    if options.severity_source {
        header.insert(4, "SEVERITY-SOURCE".to_owned());
    }
    if several {
        header.push("LOCATIONS".to_owned());
    }
    let rows: Vec<Vec<String>> = unique
        .iter()
        .map(|(finding, count)| {
            let mut cells = row(finding, options);
            if several {
                cells.push(count.to_string());
            }
            cells
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(String::len).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut line = |cells: &[String]| {
        let mut out = String::new();
        for (index, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            let width = *width;
            if index + 1 == cells.len() {
                out.push_str(cell);
            } else {
                let _ = write!(out, "{cell:<width$}  ");
            }
        }
        text.push_str(out.trim_end());
        text.push('\n');
    };
    line(&header);
    for row in &rows {
        line(row);
    }
}

pub fn write_table(result: &ScanResult, out: &mut dyn std::io::Write) -> Result<(), ReportError> {
    write_table_with(result, TableOptions::default(), out)
}

/// The table with optional columns. One row per unique finding (see
/// [`unique_findings`]); the summary counts unique findings.
pub fn write_table_with(
    result: &ScanResult,
    options: TableOptions,
    out: &mut dyn std::io::Write,
) -> Result<(), ReportError> {
    let mut text = String::new();
    if result.findings.is_empty() {
        text.push_str("No vulnerabilities found\n");
    } else {
        render(&mut text, &result.findings, options);
    }
    let unique = unique_findings(&result.findings);
    let mut counts = Vec::new();
    for level in SeverityLevel::ALL.into_iter().rev() {
        let count = unique
            .iter()
            .filter(|(finding, _)| finding.severity == level)
            .count();
        if count > 0 {
            counts.push(format!("{level}: {count}"));
        }
    }
    let kev = unique
        .iter()
        .filter(|(finding, _)| finding.kev.is_some())
        .count();
    let _ = write!(
        text,
        "\n{} finding{}",
        unique.len(),
        if unique.len() == 1 { "" } else { "s" },
    );
    if unique.len() != result.findings.len() {
        let _ = write!(text, " at {} locations", result.findings.len());
    }
    let _ = write!(
        text,
        " in {} package{}",
        result.packages.len(),
        if result.packages.len() == 1 { "" } else { "s" },
    );
    if !counts.is_empty() {
        let _ = write!(text, " ({})", counts.join(", "));
    }
    if kev > 0 {
        let _ = write!(text, ", {kev} known exploited");
    }
    if result.suppressed_count > 0 {
        let _ = write!(text, ", {} suppressed by VEX", result.suppressed_count);
    }
    text.push('\n');
    if !result.suppressed.is_empty() {
        text.push_str("\nSuppressed by VEX:\n");
        render(&mut text, &result.suppressed, options);
    }
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|source| ReportError::Write {
            format: ReportFormat::Table,
            source,
        })
}

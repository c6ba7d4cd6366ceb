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

fn row(finding: &Finding) -> [String; 8] {
    [
        finding.package.name.clone(),
        finding.package.version.clone(),
        finding.id.clone(),
        finding.severity.as_str().to_owned(),
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
    ]
}

fn render(text: &mut String, findings: &[Finding]) {
    let rows: Vec<[String; 8]> = findings.iter().map(row).collect();
    let mut widths = HEADER.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut line = |cells: &[String]| {
        let mut out = String::new();
        for (index, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if index + 1 == cells.len() {
                out.push_str(cell);
            } else {
                let _ = write!(out, "{cell:<width$}  ");
            }
        }
        text.push_str(out.trim_end());
        text.push('\n');
    };
    line(&HEADER.map(str::to_owned));
    for row in &rows {
        line(row);
    }
}

pub fn write_table(result: &ScanResult, out: &mut dyn std::io::Write) -> Result<(), ReportError> {
    let mut text = String::new();
    if result.findings.is_empty() {
        text.push_str("No vulnerabilities found\n");
    } else {
        render(&mut text, &result.findings);
    }
    let mut counts = Vec::new();
    for level in SeverityLevel::ALL.into_iter().rev() {
        let count = result
            .findings
            .iter()
            .filter(|finding| finding.severity == level)
            .count();
        if count > 0 {
            counts.push(format!("{level}: {count}"));
        }
    }
    let kev = result
        .findings
        .iter()
        .filter(|finding| finding.kev.is_some())
        .count();
    let _ = write!(
        text,
        "\n{} finding{} in {} package{}",
        result.findings.len(),
        if result.findings.len() == 1 { "" } else { "s" },
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
        render(&mut text, &result.suppressed);
    }
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|source| ReportError::Write {
            format: ReportFormat::Table,
            source,
        })
}

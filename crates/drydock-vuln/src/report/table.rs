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
        if let Some(&row) = index.get(&key) {
            if let Some((_, count)) = rows.get_mut(row) {
                *count += 1;
            }
        } else {
            index.insert(key, rows.len());
            rows.push((finding, 1));
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
        cells.push(
            match (&finding.severity_source, &finding.severity_provider) {
                (Some(source), Some(provider)) => format!("{source} ({provider})"),
                (Some(source), None) => source.clone(),
                _ => "-".to_owned(),
            },
        );
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{
        FindingPackage, FixState, MatchedVia, ScanDatabase, ScanSource, ScannedPackage,
    };

    fn finding(name: &str, id: &str, location: &str, severity: SeverityLevel) -> Finding {
        Finding {
            id: id.to_owned(),
            aliases: Vec::new(),
            summary: None,
            package: FindingPackage {
                name: name.to_owned(),
                version: "1.0.0".to_owned(),
                ecosystem: "crates.io".to_owned(),
                purl: format!("pkg:cargo/{name}@1.0.0"),
                location: Some(location.to_owned()),
            },
            matched_via: MatchedVia {
                name: name.to_owned(),
                version: "1.0.0".to_owned(),
            },
            severity,
            severity_source: Some("nvd-cvss-v3.1".to_owned()),
            severity_provider: Some("nvd@nist.gov".to_owned()),
            cvss: None,
            cvss_vectors: Vec::new(),
            cwes: Vec::new(),
            published: None,
            fixed_versions: vec!["1.0.1".to_owned()],
            state: FixState::Fixed,
            kev: None,
            epss: None,
            data_source: "osv:crates.io".to_owned(),
            records: vec![id.to_owned()],
            references: Vec::new(),
            suppressed: None,
        }
    }

    fn result(findings: Vec<Finding>) -> ScanResult {
        let package = ScannedPackage {
            name: "x".to_owned(),
            version: "1.0.0".to_owned(),
            kind: "cargo".to_owned(),
            purl: "pkg:cargo/x@1.0.0".to_owned(),
            ecosystem: Some("crates.io".to_owned()),
            location: None,
            note: None,
        };
        ScanResult {
            created: "2024-01-01T00:00:00Z".to_owned(),
            source: ScanSource {
                name: "dir:x".to_owned(),
                kind: "dir".to_owned(),
                digest: None,
            },
            distro: None,
            database: ScanDatabase {
                schema_version: 1,
                last_update: None,
            },
            packages: vec![package.clone(), package.clone(), package],
            findings,
            suppressed_count: 0,
            suppressed: Vec::new(),
        }
    }

    fn table(result: &ScanResult, options: TableOptions) -> String {
        let mut out = Vec::new();
        write_table_with(result, options, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn one_row_per_finding_at_several_locations() {
        let scan = result(vec![
            finding("smallvec", "RUSTSEC-1", "/app/bin", SeverityLevel::High),
            finding(
                "smallvec",
                "RUSTSEC-1",
                "/app/Cargo.lock",
                SeverityLevel::High,
            ),
            finding(
                "time",
                "RUSTSEC-2",
                "/app/Cargo.lock",
                SeverityLevel::Medium,
            ),
            finding("smallvec", "RUSTSEC-3", "/app/bin", SeverityLevel::Low),
        ]);
        let text = table(&scan, TableOptions::default());
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].ends_with("LOCATIONS"), "{text}");
        assert_eq!(lines[1].split_whitespace().next(), Some("smallvec"));
        assert!(
            lines[1].contains("RUSTSEC-1") && lines[1].ends_with('2'),
            "{text}"
        );
        assert!(
            lines[2].contains("RUSTSEC-2") && lines[2].ends_with('1'),
            "{text}"
        );
        assert!(lines[3].contains("RUSTSEC-3"), "{text}");
        assert_eq!(lines[4], "");
        assert_eq!(
            lines[5],
            "3 findings at 4 locations in 3 packages (high: 1, medium: 1, low: 1)"
        );
        // Without duplicates: no LOCATIONS column, the old summary.
        let single = result(vec![finding(
            "time",
            "RUSTSEC-2",
            "/app/Cargo.lock",
            SeverityLevel::Medium,
        )]);
        let text = table(&single, TableOptions::default());
        assert!(!text.contains("LOCATIONS"), "{text}");
        assert!(
            text.ends_with("1 finding in 3 packages (medium: 1)\n"),
            "{text}"
        );
    }

    #[test]
    fn the_severity_source_column_names_source_and_provider() {
        let scan = result(vec![finding(
            "time",
            "RUSTSEC-2",
            "/a",
            SeverityLevel::Medium,
        )]);
        let text = table(
            &scan,
            TableOptions {
                severity_source: true,
            },
        );
        let lines: Vec<&str> = text.lines().collect();
        let header: Vec<&str> = lines[0].split_whitespace().collect();
        assert_eq!(header[4], "SEVERITY-SOURCE");
        let cells: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(cells[3], "medium");
        assert_eq!(&cells[4..6], ["nvd-cvss-v3.1", "(nvd@nist.gov)"]);
    }
}

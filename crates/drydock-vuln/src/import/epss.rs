//! FIRST EPSS scores CSV: an optional `#model_version:…,score_date:…`
//! comment line, the header `cve,epss,percentile`, then one row per CVE.
use super::Parsed;
use crate::error::ImportError;
use crate::model::Epss;

pub(crate) fn parse(path: &str, bytes: &[u8]) -> Result<Parsed, ImportError> {
    let invalid = |what: String| ImportError::Invalid {
        path: path.to_owned(),
        what,
    };
    let text =
        std::str::from_utf8(bytes).map_err(|_| invalid("EPSS CSV is not UTF-8".to_owned()))?;
    let mut model_version = String::new();
    let mut score_date = String::new();
    let mut entries = Vec::new();
    let mut header_seen = false;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let line = line.trim_end_matches('\r');
        if let Some(comment) = line.strip_prefix('#') {
            for field in comment.split(',') {
                if let Some((key, value)) = field.split_once(':') {
                    match key.trim() {
                        "model_version" => value.trim().clone_into(&mut model_version),
                        "score_date" => value.trim().clone_into(&mut score_date),
                        _ => {}
                    }
                }
            }
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        if !header_seen {
            let columns: Vec<&str> = line.split(',').map(str::trim).collect();
            if columns.first() != Some(&"cve")
                || columns.get(1) != Some(&"epss")
                || columns.get(2) != Some(&"percentile")
            {
                return Err(invalid(format!(
                    "line {number}: expected the header `cve,epss,percentile`"
                )));
            }
            header_seen = true;
            continue;
        }
        let mut fields = line.split(',');
        let (Some(cve), Some(score), Some(percentile)) =
            (fields.next(), fields.next(), fields.next())
        else {
            return Err(invalid(format!("line {number}: expected 3 fields")));
        };
        let cve = cve.trim();
        if !cve.starts_with("CVE-") || cve.contains(char::is_whitespace) {
            return Err(invalid(format!("line {number}: bad CVE id `{cve}`")));
        }
        let parse = |field: &str| -> Option<f64> {
            let value: f64 = field.trim().parse().ok()?;
            (value.is_finite() && (0.0..=1.0).contains(&value)).then_some(value)
        };
        let (Some(score), Some(percentile)) = (parse(score), parse(percentile)) else {
            return Err(invalid(format!(
                "line {number}: score and percentile must be numbers in 0..=1"
            )));
        };
        entries.push((cve.to_owned(), Epss { score, percentile }));
    }
    if !header_seen {
        return Err(invalid("no `cve,epss,percentile` header".to_owned()));
    }
    Ok(Parsed::Epss {
        model_version,
        score_date,
        entries,
    })
}

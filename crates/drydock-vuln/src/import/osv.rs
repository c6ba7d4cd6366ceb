//! OSV JSON records (one per file, or an array of them).
use serde_json::Value;

use crate::error::ImportError;
use crate::model::{Advisory, ecosystem_base};

pub(crate) fn parse_one(path: &str, value: Value) -> Result<Advisory, ImportError> {
    let advisory: Advisory = serde_json::from_value(value).map_err(|source| ImportError::Osv {
        path: path.to_owned(),
        source,
    })?;
    finish(path, advisory)
}

/// Checks what matching depends on and sets `data_source`.
pub(crate) fn finish(path: &str, mut advisory: Advisory) -> Result<Advisory, ImportError> {
    if advisory.id.trim().is_empty() {
        return Err(ImportError::Invalid {
            path: path.to_owned(),
            what: "empty `id`".to_owned(),
        });
    }
    if crate::time::parse_rfc3339(&advisory.modified).is_none() {
        return Err(ImportError::Invalid {
            path: path.to_owned(),
            what: format!(
                "{}: `modified` is not an RFC 3339 time: `{}`",
                advisory.id, advisory.modified
            ),
        });
    }
    advisory.data_source = match advisory.affected.first() {
        Some(affected) => format!("osv:{}", ecosystem_base(&affected.package.ecosystem)),
        None => "osv".to_owned(),
    };
    Ok(advisory)
}

pub(crate) fn parse_many(path: &str, value: Value) -> Result<Vec<Advisory>, ImportError> {
    let Value::Array(items) = value else {
        return Err(ImportError::UnknownFormat {
            path: path.to_owned(),
        });
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| parse_one(&format!("{path}[{index}]"), item))
        .collect()
}

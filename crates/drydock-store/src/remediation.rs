//! Remediations: `drydock fleet remediate` patched `original` into `patched`
//! and pushed it to `target`. When the original is retired while the patched
//! digest runs (wherever it runs), its findings resolve against the patched
//! image (`remediated:sha256:…`), and MTTR counts them.
use crate::{Store, StoreError, params};

/// One patched image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Remediation {
    pub original_digest: String,
    pub patched_digest: String,
    /// Where the patched image was pushed (`registry/repo:tag`).
    pub target: String,
    pub created_at: i64,
    /// `name old -> new`, one per updated package.
    pub packages: Vec<String>,
    /// The vulnerability ids the patch was made for.
    pub vulns: Vec<String>,
}

impl Store {
    /// Records a remediation; recording the same pair again keeps the first.
    pub fn record_remediation(&mut self, remediation: &Remediation) -> Result<(), StoreError> {
        let packages = serde_json::to_string(&remediation.packages)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let vulns = serde_json::to_string(&remediation.vulns)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        self.conn().execute(
            "INSERT INTO remediations (original_digest, patched_digest, target, created_at, \
             packages, vulns) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (original_digest, patched_digest) DO NOTHING",
            &params![
                remediation.original_digest.as_str(),
                remediation.patched_digest.as_str(),
                remediation.target.as_str(),
                remediation.created_at,
                packages,
                vulns
            ],
        )?;
        Ok(())
    }

    /// Every remediation, oldest first.
    pub fn remediations(&mut self) -> Result<Vec<Remediation>, StoreError> {
        let rows = self.conn().query(
            "SELECT original_digest, patched_digest, target, created_at, packages, vulns \
             FROM remediations ORDER BY created_at, id",
            &[],
        )?;
        rows.into_iter()
            .map(|row| {
                let list = |index: usize| -> Result<Vec<String>, StoreError> {
                    serde_json::from_str(&row.text(index))
                        .map_err(|e| StoreError::Invalid(format!("remediations: {e}")))
                };
                Ok(Remediation {
                    original_digest: row.text(0),
                    patched_digest: row.text(1),
                    target: row.text(2),
                    created_at: row.int(3),
                    packages: list(4)?,
                    vulns: list(5)?,
                })
            })
            .collect()
    }

    /// The newest patched digest of `original` that is still seen somewhere:
    /// `(image id, digest, analysed)`.
    pub(crate) fn running_remediation(
        &mut self,
        original: &str,
    ) -> Result<Option<(i64, String, bool)>, StoreError> {
        let row = self.conn().query_one(
            "SELECT i.id, i.digest, i.status FROM remediations r \
             JOIN images i ON i.digest = r.patched_digest \
             WHERE r.original_digest = $1 AND i.gone_at IS NULL \
               AND EXISTS (SELECT 1 FROM sightings s WHERE s.image_id = i.id AND s.gone_at IS NULL) \
             ORDER BY r.created_at DESC, r.id DESC",
            &params![original],
        )?;
        Ok(row.map(|row| (row.int(0), row.text(1), row.text(2) == "analysed")))
    }
}

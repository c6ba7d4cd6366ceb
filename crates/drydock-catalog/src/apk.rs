//! apk: `lib/apk/db/installed`. (Stub: being written.)
use crate::{Cataloger, Claims, Context, Files, Found};

pub(crate) struct ApkCataloger;

impl Cataloger for ApkCataloger {
    fn id(&self) -> &'static str {
        "apk-db"
    }
    fn version(&self) -> u32 {
        1
    }
    fn claims(&self) -> Claims {
        Claims {
            paths: vec!["lib/apk/db/installed"],
            globs: vec![],
            max_bytes: 256 << 20,
        }
    }
    fn catalog(&self, _files: &Files<'_>, _context: &Context) -> Found {
        Found::default()
    }
}

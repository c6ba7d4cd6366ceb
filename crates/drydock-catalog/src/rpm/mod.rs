//! rpm: the rpmdb. (Stub: being written.)
use crate::{Cataloger, Claims, Context, Files, Found};

pub(crate) struct RpmCataloger;

impl Cataloger for RpmCataloger {
    fn id(&self) -> &'static str {
        "rpm-db"
    }
    fn version(&self) -> u32 {
        1
    }
    fn claims(&self) -> Claims {
        Claims {
            paths: vec!["var/lib/rpm/rpmdb.sqlite"],
            globs: vec![],
            max_bytes: 256 << 20,
        }
    }
    fn catalog(&self, _files: &Files<'_>, _context: &Context) -> Found {
        Found::default()
    }
}

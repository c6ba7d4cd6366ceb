//! dpkg. (Being written.)
use crate::{Cataloger, Claims, Context, Files, Found};

pub(crate) struct DpkgCataloger;

impl Cataloger for DpkgCataloger {
    fn id(&self) -> &'static str {
        "dpkg-db"
    }
    fn version(&self) -> u32 {
        1
    }
    fn claims(&self) -> Claims {
        Claims {
            paths: vec!["var/lib/dpkg/status"],
            globs: vec![
                "var/lib/dpkg/status.d/*",
                "var/lib/dpkg/info/*.list",
                "var/lib/dpkg/info/*.md5sums",
            ],
            max_bytes: 256 << 20,
        }
    }
    fn catalog(&self, _files: &Files<'_>, _context: &Context) -> Found {
        Found::default()
    }
}

use drydock_core::{ImagePath, Layer};

/// One claimed file as a cataloger sees it: its path, its content (links
/// already resolved) and the layer the content came from.
#[derive(Clone, Debug)]
pub struct FileRef<'a> {
    pub path: ImagePath,
    pub bytes: &'a [u8],
    pub layer: Option<Layer>,
}

/// The claimed files of one cataloger, sorted by path, plus problems met
/// while reading them (too large, dangling link, …).
#[derive(Debug, Default)]
pub struct Files<'a> {
    files: Vec<FileRef<'a>>,
    unreadable: Vec<(ImagePath, Option<Layer>, String)>,
}

impl<'a> Files<'a> {
    /// Build from files in any order; used by the dispatcher and by tests.
    pub fn new(mut files: Vec<FileRef<'a>>) -> Files<'a> {
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Files {
            files,
            unreadable: Vec::new(),
        }
    }

    pub(crate) fn with_unreadable(
        mut self,
        unreadable: Vec<(ImagePath, Option<Layer>, String)>,
    ) -> Files<'a> {
        self.unreadable = unreadable;
        self
    }

    /// The file at `path` (relative to the root, e.g. `var/lib/dpkg/status`).
    pub fn get(&self, path: &str) -> Option<&FileRef<'a>> {
        let path = ImagePath::new(path).ok()?;
        self.files
            .binary_search_by(|f| f.path.cmp(&path))
            .ok()
            .and_then(|i| self.files.get(i))
    }

    /// All files, sorted by path.
    pub fn iter(&self) -> impl Iterator<Item = &FileRef<'a>> {
        self.files.iter()
    }

    /// Files directly inside `dir` whose names end with `suffix`.
    pub fn in_dir<'s>(
        &'s self,
        dir: &str,
        suffix: &'s str,
    ) -> impl Iterator<Item = &'s FileRef<'a>> + 's {
        let dir = ImagePath::new(dir).unwrap_or_default();
        self.files.iter().filter(move |f| {
            f.path.parent().as_ref() == Some(&dir)
                && f.path.file_name().ends_with(suffix.as_bytes())
        })
    }

    /// Claimed files that could not be read, with the reason.
    pub fn unreadable(&self) -> &[(ImagePath, Option<Layer>, String)] {
        &self.unreadable
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

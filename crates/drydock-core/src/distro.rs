/// The distribution an image is built on, as `/etc/os-release` names it.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Distro {
    /// `ID`, e.g. `debian`, `alpine`, `fedora`.
    pub id: String,
    /// `VERSION_ID`, e.g. `12`, `3.19.1`; empty for rolling releases.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_codename: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pretty_name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub id_like: Vec<String>,
}

impl Distro {
    /// The `distro` purl qualifier value: `debian-12`, `alpine-3.19.1`.
    pub fn purl_qualifier(&self) -> String {
        if self.version_id.is_empty() {
            self.id.clone()
        } else {
            format!("{}-{}", self.id, self.version_id)
        }
    }
}

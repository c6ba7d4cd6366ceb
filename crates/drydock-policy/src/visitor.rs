//! Claims the files the rules read, on top of another visitor (the catalog
//! dispatcher), so policy and cataloging share one pass.
use drydock_core::{ImagePath, Layer};
use drydock_oci::{Parts, View, Visitor};

use crate::{Policy, RuleParams};

/// The most of a candidate key file or a required file that is read.
const CONTENT_CAP: u64 = 1 << 20;

/// File names that are credentials by their name alone.
pub(crate) const CREDENTIAL_FILES: &[&str] = &[
    ".aws/credentials",
    ".docker/config.json",
    ".git-credentials",
    ".netrc",
    ".pgpass",
    ".npmrc",
    ".pypirc",
    ".kube/config",
];

/// File names and suffixes whose content is checked for a PEM private key.
pub(crate) fn key_candidate(path: &[u8]) -> bool {
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or(path);
    let suffixes: [&[u8]; 5] = [b".pem", b".key", b".p8", b".priv", b"_rsa"];
    let names: [&[u8]; 4] = [b"id_rsa", b"id_dsa", b"id_ecdsa", b"id_ed25519"];
    names.contains(&name)
        || suffixes.iter().any(|suffix| name.ends_with(suffix))
        || path.windows(5).any(|window| window == b".ssh/")
}

pub(crate) fn credential_file(path: &[u8]) -> Option<&'static str> {
    CREDENTIAL_FILES.iter().copied().find(|name| {
        path.ends_with(name.as_bytes())
            && (path.len() == name.len() || path.get(path.len() - name.len() - 1) == Some(&b'/'))
    })
}

/// Wraps `inner`, adding the claims of `policy`'s rules.
pub struct PolicyVisitor<'a> {
    inner: &'a mut dyn Visitor,
    exact: Vec<ImagePath>,
    keys: bool,
}

impl<'a> PolicyVisitor<'a> {
    pub fn new(inner: &'a mut dyn Visitor, policy: &Policy) -> PolicyVisitor<'a> {
        let mut exact = Vec::new();
        let mut keys = false;
        for rule in &policy.rules {
            match &rule.params {
                RuleParams::RunsAsRoot => exact.extend(ImagePath::new("etc/passwd").ok()),
                RuleParams::RequiredFiles { files } => exact.extend(
                    files
                        .iter()
                        .filter_map(|file| ImagePath::new(file.path.trim_start_matches('/')).ok()),
                ),
                RuleParams::PrivateKeys { .. } => keys = true,
                _ => {}
            }
        }
        PolicyVisitor { inner, exact, keys }
    }

    fn own_claim(&self, path: &ImagePath) -> Option<u64> {
        if self.exact.contains(path) || (self.keys && key_candidate(path.as_bytes())) {
            Some(CONTENT_CAP)
        } else {
            None
        }
    }
}

impl Visitor for PolicyVisitor<'_> {
    fn claim(&self, path: &ImagePath) -> Option<u64> {
        match (self.inner.claim(path), self.own_claim(path)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    fn exact_claims(&self) -> Vec<ImagePath> {
        let mut claims = self.inner.exact_claims();
        claims.extend(self.exact.iter().cloned());
        claims
    }

    fn claim_by_mode(&self, path: &ImagePath, mode: u32) -> Option<u64> {
        self.inner.claim_by_mode(path, mode)
    }

    fn reduce(&self, path: &ImagePath, bytes: Vec<u8>) -> Vec<u8> {
        if self.own_claim(path).is_some() {
            bytes
        } else {
            self.inner.reduce(path, bytes)
        }
    }

    fn reads_parts(&self, path: &ImagePath, mode: u32) -> bool {
        self.own_claim(path).is_none() && self.inner.reads_parts(path, mode)
    }

    fn reduce_parts(&self, path: &ImagePath, parts: &Parts) -> Vec<u8> {
        self.inner.reduce_parts(path, parts)
    }

    fn layer_done(&mut self, view: &View<'_>, layer: &Layer, changed: &[ImagePath]) {
        self.inner.layer_done(view, layer, changed);
    }
}

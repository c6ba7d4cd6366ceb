//! The distribution API for one repository: manifests, blobs (resumed with
//! Range requests), uploads (monolithic, chunked, cross-repository mounts),
//! tags, catalog and referrers (with the tag-schema fallback).
use std::io::{self, Read};
use std::sync::Arc;

use drydock_core::Digest;
use ureq::http;

use crate::client::{Body, Call, Client, MANIFEST_ACCEPT, MANIFEST_LIMIT, read_small, verify};
use crate::error::RegistryError;
use crate::reference::Reference;
use crate::spec::{Descriptor, Index, OCI_INDEX};

/// A manifest (or index) as fetched: bytes, media type, digest.
#[derive(Clone, Debug)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub media_type: String,
    pub digest: Digest,
}

impl Fetched {
    pub fn descriptor(&self) -> Descriptor {
        Descriptor::new(
            &self.media_type,
            self.digest.clone(),
            self.bytes.len() as u64,
        )
    }
}

/// One repository of one registry.
#[derive(Clone)]
pub struct Repository {
    pub client: Arc<Client>,
    pub reference: Reference,
}

impl Repository {
    pub fn new(client: Arc<Client>, reference: Reference) -> Repository {
        Repository { client, reference }
    }

    fn registry(&self) -> &str {
        &self.reference.registry
    }

    fn api_host(&self) -> &str {
        self.reference.api_host()
    }

    fn path(&self, tail: &str) -> String {
        format!("/v2/{}/{tail}", self.reference.repository)
    }

    pub(crate) fn send(
        &self,
        call: &Call<'_>,
    ) -> Result<http::Response<ureq::Body>, RegistryError> {
        self.client.send(self.registry(), self.api_host(), call)
    }

    fn expect(
        &self,
        call: &Call<'_>,
        ok: &[u16],
    ) -> Result<http::Response<ureq::Body>, RegistryError> {
        self.client
            .expect(self.registry(), self.api_host(), call, ok)
    }

    fn call(&self, method: &'static str, tail: &str) -> Call<'_> {
        Call::new(method, self.path(tail), &self.reference.repository)
    }

    /// `GET /manifests/<tag|digest>`, digest-checked; `None` on 404.
    pub fn manifest(&self, object: &str) -> Result<Option<Fetched>, RegistryError> {
        let call = self
            .call("GET", &format!("manifests/{object}"))
            .header("Accept", MANIFEST_ACCEPT);
        let mut response = self.expect(&call, &[200, 404])?;
        if response.status().as_u16() == 404 {
            return Ok(None);
        }
        let media_type = header(&response, "content-type").unwrap_or_default();
        let what = format!("manifest {}@{object}", self.reference.name());
        let bytes = read_small(&mut response, MANIFEST_LIMIT, &what)?;
        let computed = Digest::sha256_of(&bytes);
        let digest = match object.parse::<Digest>() {
            Ok(wanted) => {
                verify("manifest", &wanted, &bytes)?;
                wanted
            }
            Err(_) => computed,
        };
        let media_type = media_type_of(&bytes).unwrap_or(media_type);
        Ok(Some(Fetched {
            bytes,
            media_type,
            digest,
        }))
    }

    /// The digest `object` (a tag) points at, from `HEAD /manifests/<tag>`
    /// (`Docker-Content-Digest`), falling back to a GET (digest computed from
    /// the bytes) when the registry sends no digest header. `None` on 404.
    pub fn manifest_digest(&self, object: &str) -> Result<Option<Digest>, RegistryError> {
        let call = self
            .call("HEAD", &format!("manifests/{object}"))
            .header("Accept", MANIFEST_ACCEPT);
        let response = self.expect(&call, &[200, 404])?;
        if response.status().as_u16() == 404 {
            return Ok(None);
        }
        if let Some(digest) =
            header(&response, "docker-content-digest").and_then(|d| d.parse::<Digest>().ok())
        {
            return Ok(Some(digest));
        }
        Ok(self.manifest(object)?.map(|fetched| fetched.digest))
    }

    /// The manifest the reference names, or a clear error.
    pub fn resolve(&self) -> Result<Fetched, RegistryError> {
        self.manifest(&self.reference.object())?
            .ok_or_else(|| RegistryError::NotFound {
                reference: self.reference.to_string(),
            })
    }

    /// `HEAD /blobs/<digest>`: does the repository have it?
    pub fn has_blob(&self, digest: &Digest) -> Result<bool, RegistryError> {
        let response = self.expect(&self.call("HEAD", &format!("blobs/{digest}")), &[200, 404])?;
        Ok(response.status().as_u16() == 200)
    }

    /// Open `GET /blobs/<digest>` from `offset` (a Range request when > 0).
    /// Returns the body and whether the server honoured the range.
    fn open_blob(&self, digest: &Digest, offset: u64) -> Result<OpenedBlob, RegistryError> {
        let mut call = self.call("GET", &format!("blobs/{digest}"));
        if offset > 0 {
            call = call.header("Range", format!("bytes={offset}-"));
        }
        let response = self.expect(&call, &[200, 206])?;
        let partial = response.status().as_u16() == 206;
        let length = header(&response, "content-length").and_then(|v| v.parse::<u64>().ok());
        let reader = response.into_body().into_reader();
        Ok((Box::new(reader), partial, length))
    }

    /// A reader over the blob that resumes where a dropped connection left
    /// off. Digest checking is the caller's (the walk and copies verify).
    pub fn blob(&self, digest: &Digest, size: Option<u64>) -> BlobReader {
        BlobReader {
            repository: self.clone(),
            digest: digest.clone(),
            size,
            offset: 0,
            inner: None,
            failures: 0,
        }
    }

    /// Fetch a small blob whole, digest-checked.
    pub fn blob_bytes(&self, digest: &Digest, limit: u64) -> Result<Vec<u8>, RegistryError> {
        let mut bytes = Vec::new();
        self.blob(digest, None)
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| unwrap_io(e, digest))?;
        if bytes.len() as u64 > limit {
            return Err(RegistryError::TooLarge {
                what: format!("blob {digest}"),
                limit,
            });
        }
        verify("blob", digest, &bytes)?;
        Ok(bytes)
    }

    /// Upload a blob unless the repository has it: a cross-repository mount
    /// from `mount_from` first, then one PUT (or PATCH chunks).
    pub fn push_blob(
        &self,
        digest: &Digest,
        size: u64,
        mount_from: Option<&str>,
        open: &(dyn Fn() -> Result<Box<dyn Read + Send>, RegistryError> + Sync),
    ) -> Result<(), RegistryError> {
        if self.has_blob(digest)? {
            return Ok(());
        }
        let mut start = self.call("POST", "blobs/uploads/");
        if let Some(from) = mount_from.filter(|from| *from != self.reference.repository) {
            start.target = format!("{}?mount={digest}&from={from}", start.target);
        }
        let mut last = None;
        for attempt in 1..=self.client.options.attempts {
            let started = self.expect(&start, &[201, 202])?;
            if started.status().as_u16() == 201 {
                return Ok(()); // mounted
            }
            let location = self.location(&started)?;
            let result = match self.client.options.chunk_size {
                Some(chunk) if chunk > 0 && size > chunk => {
                    self.upload_chunks(&location, digest, size, chunk, open)
                }
                _ => self.upload_whole(&location, digest, size, open),
            };
            match result {
                Ok(()) => return Ok(()),
                Err(error @ RegistryError::DigestMismatch { .. }) => return Err(error),
                Err(error) => last = Some(error),
            }
            if attempt < self.client.options.attempts {
                self.client.backoff(attempt, None);
            }
        }
        Err(last.unwrap_or(RegistryError::NotFound {
            reference: digest.to_string(),
        }))
    }

    fn location(&self, response: &http::Response<ureq::Body>) -> Result<String, RegistryError> {
        let location = header(response, "location").ok_or_else(|| RegistryError::Layout {
            path: self.reference.name().into(),
            reason: "the upload answer has no Location".into(),
        })?;
        self.client.url(self.registry(), self.api_host(), &location)
    }

    fn upload_whole(
        &self,
        location: &str,
        digest: &Digest,
        size: u64,
        open: &(dyn Fn() -> Result<Box<dyn Read + Send>, RegistryError> + Sync),
    ) -> Result<(), RegistryError> {
        let target = with_query(location, &format!("digest={digest}"));
        let expected = digest.clone();
        let verified = move || -> Result<Box<dyn Read + Send>, RegistryError> {
            Ok(Box::new(VerifyingReader::new(
                open()?,
                expected.clone(),
                Some(size),
            )))
        };
        let call = Call::new("PUT", target, &self.reference.repository)
            .header("Content-Type", "application/octet-stream")
            .header("Content-Length", size.to_string())
            .body(Body::Stream(&verified));
        self.expect(&call, &[201, 204]).map_err(unwrap_digest)?;
        Ok(())
    }

    fn upload_chunks(
        &self,
        location: &str,
        digest: &Digest,
        size: u64,
        chunk: u64,
        open: &(dyn Fn() -> Result<Box<dyn Read + Send>, RegistryError> + Sync),
    ) -> Result<(), RegistryError> {
        let mut reader = VerifyingReader::new(open()?, digest.clone(), Some(size));
        let mut location = location.to_owned();
        let mut offset = 0u64;
        let mut buffer = Vec::new();
        while offset < size {
            buffer.clear();
            (&mut reader)
                .take(chunk)
                .read_to_end(&mut buffer)
                .map_err(|e| unwrap_io(e, digest))?;
            if buffer.is_empty() {
                return Err(RegistryError::SizeMismatch {
                    what: "blob",
                    digest: digest.clone(),
                    expected: size,
                    actual: offset,
                });
            }
            let end = offset + buffer.len() as u64 - 1;
            let call = Call::new("PATCH", location.clone(), &self.reference.repository)
                .header("Content-Type", "application/octet-stream")
                .header("Content-Range", format!("{offset}-{end}"))
                .body(Body::Bytes(&buffer));
            let response = self.expect(&call, &[202])?;
            location = self.location(&response)?;
            offset = end + 1;
        }
        // Reading past the end makes the verifier check the digest.
        let mut rest = Vec::new();
        reader
            .read_to_end(&mut rest)
            .map_err(|e| unwrap_io(e, digest))?;
        let call = Call::new(
            "PUT",
            with_query(&location, &format!("digest={digest}")),
            &self.reference.repository,
        );
        self.expect(&call, &[201, 204])?;
        Ok(())
    }

    /// `PUT /manifests/<tag|digest>`; returns the digest of what was put.
    pub fn put_manifest(
        &self,
        object: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<Digest, RegistryError> {
        let call = self
            .call("PUT", &format!("manifests/{object}"))
            .header("Content-Type", media_type)
            .body(Body::Bytes(bytes));
        self.expect(&call, &[201, 204])?;
        Ok(Digest::sha256_of(bytes))
    }

    /// `PUT` a manifest whose `subject` is `subject`; `true` when the
    /// registry answers `OCI-Subject: <subject>`, which is how a registry
    /// with the referrers API says it indexed the referrer. Without it the
    /// client must maintain the fallback tag (distribution spec v1.1,
    /// "Pushing Manifests with Subject").
    pub fn put_manifest_with_subject(
        &self,
        object: &str,
        media_type: &str,
        bytes: &[u8],
        subject: &Digest,
    ) -> Result<bool, RegistryError> {
        let call = self
            .call("PUT", &format!("manifests/{object}"))
            .header("Content-Type", media_type)
            .body(Body::Bytes(bytes));
        let response = self.expect(&call, &[201, 204])?;
        Ok(header(&response, "oci-subject").is_some_and(|s| s.trim() == subject.to_string()))
    }

    /// `GET /tags/list`, following `Link` pages.
    pub fn tags(&self) -> Result<Vec<String>, RegistryError> {
        #[derive(serde::Deserialize)]
        struct Tags {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let mut all = Vec::new();
        let mut target = self.path("tags/list");
        for _ in 0..1000 {
            let call = Call::new("GET", target.clone(), &self.reference.repository);
            let mut response = self.expect(&call, &[200])?;
            let next = next_link(&response);
            let bytes = read_small(&mut response, MANIFEST_LIMIT, "tags list")?;
            let page: Tags =
                serde_json::from_slice(&bytes).map_err(|source| RegistryError::Json {
                    what: "tags list".into(),
                    source,
                })?;
            all.extend(page.tags.unwrap_or_default());
            match next {
                Some(next) => target = next,
                None => break,
            }
        }
        Ok(all)
    }

    /// Referrers of `subject`: the referrers API, else the `sha256-<hex>` tag.
    pub fn referrers(&self, subject: &Digest) -> Result<Vec<Descriptor>, RegistryError> {
        let call = self
            .call("GET", &format!("referrers/{subject}"))
            .header("Accept", OCI_INDEX);
        let mut response = self.send(&call)?;
        let is_index = header(&response, "content-type").is_some_and(|t| t.starts_with(OCI_INDEX));
        if response.status().as_u16() == 200 && is_index {
            let bytes = read_small(&mut response, MANIFEST_LIMIT, "referrers")?;
            let index: Index =
                serde_json::from_slice(&bytes).map_err(|source| RegistryError::Json {
                    what: format!("referrers of {subject}"),
                    source,
                })?;
            return Ok(index.manifests);
        }
        Ok(self
            .fallback_index(subject)?
            .map(|i| i.manifests)
            .unwrap_or_default())
    }

    fn fallback_index(&self, subject: &Digest) -> Result<Option<Index>, RegistryError> {
        let Some(fetched) = self.manifest(&fallback_tag(subject))? else {
            return Ok(None);
        };
        serde_json::from_slice(&fetched.bytes)
            .map(Some)
            .map_err(|source| RegistryError::Json {
                what: format!("referrers tag {}", fallback_tag(subject)),
                source,
            })
    }

    /// Record `referrer` for `subject` in the fallback tag index (when the
    /// registry has no referrers API).
    pub fn add_to_fallback_index(
        &self,
        subject: &Digest,
        referrer: Descriptor,
    ) -> Result<(), RegistryError> {
        let mut index = self.fallback_index(subject)?.unwrap_or_else(Index::empty);
        if !index.manifests.iter().any(|d| d.digest == referrer.digest) {
            index.manifests.push(referrer);
        }
        let bytes = serde_json::to_vec(&index).map_err(|source| RegistryError::Json {
            what: "referrers index".into(),
            source,
        })?;
        self.put_manifest(&fallback_tag(subject), OCI_INDEX, &bytes)?;
        Ok(())
    }

    /// `GET /v2/_catalog` of this registry.
    pub fn catalog(&self) -> Result<Vec<String>, RegistryError> {
        #[derive(serde::Deserialize)]
        struct Catalog {
            #[serde(default)]
            repositories: Vec<String>,
        }
        let mut all = Vec::new();
        let mut target = "/v2/_catalog".to_owned();
        for _ in 0..1000 {
            let call = Call::new("GET", target.clone(), "");
            let mut response = self.expect(&call, &[200])?;
            let next = next_link(&response);
            let bytes = read_small(&mut response, MANIFEST_LIMIT, "catalog")?;
            let page: Catalog =
                serde_json::from_slice(&bytes).map_err(|source| RegistryError::Json {
                    what: "catalog".into(),
                    source,
                })?;
            all.extend(page.repositories);
            match next {
                Some(next) => target = next,
                None => break,
            }
        }
        Ok(all)
    }
}

/// A blob body, whether the server honoured the range, and its length.
type OpenedBlob = (Box<dyn Read + Send>, bool, Option<u64>);

/// `sha256-<hex>`: the referrers tag schema (and cosign's tag prefix).
pub fn fallback_tag(subject: &Digest) -> String {
    format!("{}-{}", subject.algorithm().as_str(), subject.hex())
}

fn header(response: &http::Response<ureq::Body>, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn next_link(response: &http::Response<ureq::Body>) -> Option<String> {
    let link = header(response, "link")?;
    let start = link.find('<')? + 1;
    let end = link.find('>')?;
    link.get(start..end).map(str::to_owned)
}

fn with_query(url: &str, query: &str) -> String {
    if url.contains('?') {
        format!("{url}&{query}")
    } else {
        format!("{url}?{query}")
    }
}

/// The `mediaType` a manifest declares about itself.
pub(crate) fn media_type_of(bytes: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Head {
        #[serde(default)]
        media_type: Option<String>,
        #[serde(default)]
        manifests: Option<serde_json::Value>,
    }
    let head: Head = serde_json::from_slice(bytes).ok()?;
    head.media_type
        .or_else(|| head.manifests.map(|_| OCI_INDEX.to_owned()))
}

/// Digest errors travel inside `io::Error`s through readers; take them out.
pub(crate) fn unwrap_io(error: io::Error, digest: &Digest) -> RegistryError {
    if error
        .get_ref()
        .is_some_and(<dyn std::error::Error + Send + Sync>::is::<RegistryError>)
    {
        let kind = error.kind();
        return match error
            .into_inner()
            .map(<dyn std::error::Error + Send + Sync>::downcast::<RegistryError>)
        {
            Some(Ok(inner)) => *inner,
            _ => RegistryError::Io {
                path: format!("blob {digest}").into(),
                source: io::Error::from(kind),
            },
        };
    }
    RegistryError::Io {
        path: format!("blob {digest}").into(),
        source: error,
    }
}

fn unwrap_digest(error: RegistryError) -> RegistryError {
    match error {
        RegistryError::Transport {
            source,
            method,
            url,
        } => match *source {
            ureq::Error::Io(io)
                if io
                    .get_ref()
                    .is_some_and(<dyn std::error::Error + Send + Sync>::is::<RegistryError>) =>
            {
                match io
                    .into_inner()
                    .map(<dyn std::error::Error + Send + Sync>::downcast::<RegistryError>)
                {
                    Some(Ok(inner)) => *inner,
                    _ => RegistryError::Layout {
                        path: url.into(),
                        reason: format!("{method} failed"),
                    },
                }
            }
            other => RegistryError::Transport {
                method,
                url,
                source: Box::new(other),
            },
        },
        other => other,
    }
}

/// Reads a blob over HTTP, reconnecting with `Range: bytes=N-` when the
/// connection drops, up to the client's attempt limit.
pub struct BlobReader {
    repository: Repository,
    digest: Digest,
    size: Option<u64>,
    offset: u64,
    inner: Option<Box<dyn Read + Send>>,
    failures: u32,
}

impl BlobReader {
    fn fail(&mut self, source: io::Error) -> io::Result<()> {
        self.inner = None;
        self.failures += 1;
        if self.failures >= self.repository.client.options.attempts {
            return Err(io::Error::other(RegistryError::Resume {
                digest: self.digest.clone(),
                offset: self.offset,
                attempts: self.failures,
                source,
            }));
        }
        self.repository.client.backoff(self.failures, None);
        Ok(())
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.inner.is_none() {
                let (mut reader, partial, length) = self
                    .repository
                    .open_blob(&self.digest, self.offset)
                    .map_err(io::Error::other)?;
                if self.size.is_none() && self.offset == 0 {
                    self.size = length;
                }
                if self.offset > 0 && !partial {
                    // The server ignored the range: skip what we already have.
                    let skipped = io::copy(&mut (&mut reader).take(self.offset), &mut io::sink());
                    match skipped {
                        Ok(n) if n == self.offset => {}
                        Ok(_) => {
                            self.fail(io::Error::from(io::ErrorKind::UnexpectedEof))?;
                            continue;
                        }
                        Err(e) => {
                            self.fail(e)?;
                            continue;
                        }
                    }
                }
                self.inner = Some(reader);
            }
            let Some(inner) = self.inner.as_mut() else {
                continue;
            };
            match inner.read(buf) {
                Ok(0) if buf.is_empty() => return Ok(0),
                Ok(0) => {
                    if self.size.is_some_and(|size| self.offset < size) {
                        self.fail(io::Error::from(io::ErrorKind::UnexpectedEof))?;
                        continue;
                    }
                    return Ok(0);
                }
                Ok(n) => {
                    self.offset += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => self.fail(e)?,
            }
        }
    }
}

/// Passes bytes through and fails at the end when they do not hash to the digest.
pub struct VerifyingReader<R> {
    inner: R,
    digest: Digest,
    size: Option<u64>,
    hasher: Option<drydock_core::Hasher>,
    total: u64,
}

impl<R: Read> VerifyingReader<R> {
    pub fn new(inner: R, digest: Digest, size: Option<u64>) -> Self {
        let hasher = Some(drydock_core::Hasher::new(digest.algorithm()));
        VerifyingReader {
            inner,
            digest,
            size,
            hasher,
            total: 0,
        }
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.total += n as u64;
            if let (Some(hasher), Some(bytes)) = (self.hasher.as_mut(), buf.get(..n)) {
                hasher.update(bytes);
            }
            if let Some(size) = self.size
                && self.total > size
            {
                return Err(io::Error::other(RegistryError::SizeMismatch {
                    what: "blob",
                    digest: self.digest.clone(),
                    expected: size,
                    actual: self.total,
                }));
            }
            return Ok(n);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        if let Some(hasher) = self.hasher.take() {
            if let Some(size) = self.size
                && self.total != size
            {
                return Err(io::Error::other(RegistryError::SizeMismatch {
                    what: "blob",
                    digest: self.digest.clone(),
                    expected: size,
                    actual: self.total,
                }));
            }
            let actual = hasher.finish();
            if actual != self.digest {
                return Err(io::Error::other(RegistryError::DigestMismatch {
                    what: "blob",
                    digest: self.digest.clone(),
                    actual,
                }));
            }
        }
        Ok(0)
    }
}

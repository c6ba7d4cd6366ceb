//! Image references in YAML: Kubernetes manifests (every pod template:
//! `containers`, `initContainers`, `ephemeralContainers` wherever they sit,
//! so all workload kinds and CronJobs), Kustomize `images:`, Helm values
//! (`image:` maps and strings), Compose `services.*.image`, GitHub Actions
//! (`container:`, `services:`, `uses: docker://…`, `runs.image`) and GitLab
//! CI (`image:`, `services:`, as strings or maps with `name:`).
//!
//! The parser's events become a small arena tree per document; an alias is
//! a pointer to its anchored node, followed one hop where a value is read,
//! never walked into (so alias bombs and self-references cost nothing), and
//! merge keys (`<<`) are looked through, eight deep at most.
use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

use granit_parser::{Event, Parser, ScalarStyle};

use super::substitute::{Escape, Value, substitute};
use super::{
    Field, FoundReference, Lines, PinFileKind, PinParseError, Rewrite, looks_like_reference,
};

enum Node<'a> {
    Scalar {
        value: Cow<'a, str>,
        style: ScalarStyle,
        range: Range<usize>,
    },
    Sequence(Vec<usize>),
    Mapping(Vec<(usize, usize)>),
    Alias(Option<usize>),
}

struct Tree<'a> {
    text: &'a str,
    lines: Lines<'a>,
    nodes: Vec<Node<'a>>,
}

const MERGE_DEPTH: usize = 8;

fn parse_error(text: &str, error: &granit_parser::ScanError) -> PinParseError {
    let marker = error.marker();
    let lines = Lines::new(text);
    let (line, column) = match marker.byte_offset() {
        Some(offset) => lines.position(offset.min(text.len())),
        None => (marker.line(), marker.col() + 1),
    };
    let info = error.info();
    PinParseError {
        line,
        column,
        message: format!(
            "invalid YAML: {}",
            if info.is_empty() {
                "syntax error"
            } else {
                info.as_str()
            }
        ),
    }
}

/// The documents of `text` as one arena and their roots.
fn build(text: &str) -> Result<(Tree<'_>, Vec<usize>), PinParseError> {
    let mut nodes: Vec<Node<'_>> = Vec::new();
    let mut roots = Vec::new();
    let mut stack: Vec<(usize, Option<usize>)> = Vec::new();
    let mut anchors: HashMap<usize, usize> = HashMap::new();
    for next in Parser::new_from_str(text) {
        let (event, span) = next.map_err(|e| parse_error(text, &e))?;
        let range = span.byte_range().unwrap_or(0..0);
        let (node, anchor, opens) = match event {
            Event::DocumentStart(..) => {
                anchors.clear();
                stack.clear();
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                stack.pop();
                continue;
            }
            Event::Scalar(value, style, anchor, _) => (
                Node::Scalar {
                    value,
                    style,
                    range,
                },
                anchor,
                false,
            ),
            Event::SequenceStart(_, anchor, _) => (Node::Sequence(Vec::new()), anchor, true),
            Event::MappingStart(_, anchor, _) => (Node::Mapping(Vec::new()), anchor, true),
            Event::Alias(id) => (Node::Alias(anchors.get(&id).copied()), 0, false),
            _ => continue,
        };
        let index = nodes.len();
        nodes.push(node);
        if anchor != 0 {
            anchors.insert(anchor, index);
        }
        match stack.last_mut() {
            None => roots.push(index),
            Some((parent, pending)) => match nodes.get_mut(*parent) {
                Some(Node::Sequence(items)) => items.push(index),
                Some(Node::Mapping(entries)) => match pending.take() {
                    None => *pending = Some(index),
                    Some(key) => entries.push((key, index)),
                },
                _ => {}
            },
        }
        if opens {
            stack.push((index, None));
        }
    }
    Ok((
        Tree {
            text,
            lines: Lines::new(text),
            nodes,
        },
        roots,
    ))
}

/// The nodes of a split reference.
#[derive(Clone, Copy)]
struct Parts {
    registry: Option<usize>,
    repository: usize,
    /// The node `--fix` may rewrite with a new repository.
    repository_field: Option<usize>,
    tag: Option<usize>,
    digest: Option<usize>,
}

/// How variables in a value are read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Variables {
    /// Compose: `${VAR:-default}` gives its default, `$VAR` is unknown.
    Compose,
    /// `${{ … }}` (GitHub), `$VAR` (GitLab), `{{ … }}` (Helm): unknown.
    Opaque,
}

impl<'a> Tree<'a> {
    fn node(&self, index: usize) -> Option<&Node<'a>> {
        self.nodes.get(index)
    }

    /// Follow aliases (one hop each, at most four).
    fn resolve(&self, mut index: usize) -> usize {
        for _ in 0..4 {
            match self.node(index) {
                Some(Node::Alias(Some(target))) => index = *target,
                _ => break,
            }
        }
        index
    }

    fn scalar(&self, index: usize) -> Option<&str> {
        match self.node(self.resolve(index)) {
            Some(Node::Scalar { value, .. }) => Some(value),
            _ => None,
        }
    }

    /// `key` of a mapping, own entries first, then merged ones.
    fn get(&self, mapping: usize, key: &str) -> Option<usize> {
        self.get_depth(mapping, key, 0)
    }

    fn get_depth(&self, mapping: usize, key: &str, depth: usize) -> Option<usize> {
        let Some(Node::Mapping(entries)) = self.node(self.resolve(mapping)) else {
            return None;
        };
        if let Some((_, value)) = entries.iter().find(|(k, _)| self.scalar(*k) == Some(key)) {
            return Some(self.resolve(*value));
        }
        if depth >= MERGE_DEPTH {
            return None;
        }
        for (k, v) in entries {
            if !self.is_merge_key(*k) {
                continue;
            }
            for source in self.merge_sources(*v) {
                if let Some(found) = self.get_depth(source, key, depth + 1) {
                    return Some(found);
                }
            }
        }
        None
    }

    fn is_merge_key(&self, key: usize) -> bool {
        matches!(self.node(key), Some(Node::Scalar { value, style: ScalarStyle::Plain, .. }) if value == "<<")
    }

    fn merge_sources(&self, value: usize) -> Vec<usize> {
        let value = self.resolve(value);
        match self.node(value) {
            Some(Node::Sequence(items)) => items.iter().map(|i| self.resolve(*i)).collect(),
            _ => vec![value],
        }
    }

    /// Every key of a mapping with its value (merged keys included, own keys win).
    fn entries(&self, mapping: usize) -> Vec<(&str, usize)> {
        let mut out: Vec<(&str, usize)> = Vec::new();
        self.entries_depth(mapping, 0, &mut out);
        out
    }

    fn entries_depth<'t>(&'t self, mapping: usize, depth: usize, out: &mut Vec<(&'t str, usize)>) {
        let Some(Node::Mapping(entries)) = self.node(self.resolve(mapping)) else {
            return;
        };
        for (k, v) in entries {
            if self.is_merge_key(*k) {
                continue;
            }
            if let Some(key) = self.scalar(*k)
                && !out.iter().any(|(seen, _)| *seen == key)
            {
                out.push((key, self.resolve(*v)));
            }
        }
        if depth >= MERGE_DEPTH {
            return;
        }
        for (k, v) in entries {
            if self.is_merge_key(*k) {
                for source in self.merge_sources(*v) {
                    self.entries_depth(source, depth + 1, out);
                }
            }
        }
    }

    fn items(&self, sequence: usize) -> Vec<usize> {
        match self.node(self.resolve(sequence)) {
            Some(Node::Sequence(items)) => items.iter().map(|i| self.resolve(*i)).collect(),
            _ => Vec::new(),
        }
    }

    fn is_mapping(&self, index: usize) -> bool {
        matches!(self.node(self.resolve(index)), Some(Node::Mapping(_)))
    }

    /// The value's text and its byte range in the file, when the source
    /// holds the value verbatim (plain, or quoted without escapes).
    fn verbatim(&self, index: usize) -> Option<(&str, Option<Range<usize>>)> {
        let Some(Node::Scalar {
            value,
            style,
            range,
        }) = self.node(self.resolve(index))
        else {
            return None;
        };
        let inner = match style {
            ScalarStyle::Plain => Some(range.clone()),
            ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted if range.len() >= 2 => {
                Some(range.start + 1..range.end - 1)
            }
            _ => None,
        };
        let inner = inner.filter(|r| self.text.get(r.clone()) == Some(value.as_ref()));
        Some((value, inner))
    }

    fn position(&self, index: usize) -> (usize, usize) {
        let offset = match self.node(self.resolve(index)) {
            Some(Node::Scalar { style, range, .. }) => match style {
                ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => range.start + 1,
                _ => range.start,
            },
            _ => 0,
        };
        self.lines.position(offset)
    }

    /// A reference held whole by one scalar (after `prefix`, e.g. `docker://`).
    fn whole(
        &self,
        kind: PinFileKind,
        index: usize,
        prefix: &str,
        variables: Variables,
        out: &mut Vec<FoundReference>,
    ) {
        let Some((value, range)) = self.verbatim(index) else {
            return;
        };
        let Some(written) = value.strip_prefix(prefix) else {
            return;
        };
        let written = written.trim();
        if written.is_empty() {
            return;
        }
        let reference = match variables {
            Variables::Compose => substitute(written, Escape::Dollar, &|_| Value::Unset),
            Variables::Opaque => {
                (!(written.contains('$') || written.contains("{{"))).then(|| written.to_owned())
            }
        };
        let (line, column) = self.position(index);
        let rewrite = match range {
            Some(range) if value.trim() == value => Rewrite::Whole {
                range: range.start + prefix.len()..range.end,
            },
            _ => Rewrite::Unfixable {
                reason: "the value is not written verbatim (escapes, folding or a block scalar)"
                    .to_owned(),
            },
        };
        let column = column + prefix.chars().count();
        out.push(FoundReference {
            kind,
            line,
            column,
            written: written.to_owned(),
            reference,
            rewrite,
        });
    }

    fn field(&self, index: Option<usize>) -> Option<Field> {
        let (value, range) = self.verbatim(index?)?;
        Some(Field {
            range: range?,
            value: value.to_owned(),
        })
    }

    /// A reference split over fields: Helm `image:` maps and Kustomize `images:` entries.
    fn split(&self, kind: PinFileKind, parts: &Parts, out: &mut Vec<FoundReference>) {
        let Parts {
            registry,
            repository,
            repository_field,
            tag,
            digest,
        } = *parts;
        let text = |i: Option<usize>| {
            i.and_then(|i| self.scalar(i))
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let Some(repository_text) = text(Some(repository)) else {
            return;
        };
        let mut written = String::new();
        if let Some(registry) = text(registry) {
            written.push_str(registry);
            written.push('/');
        }
        written.push_str(repository_text);
        if let Some(tag) = text(tag) {
            written.push(':');
            written.push_str(tag);
        }
        if let Some(digest) = text(digest) {
            written.push('@');
            written.push_str(digest);
        }
        let opaque = written.contains("{{") || written.contains('$');
        if !opaque && !looks_like_reference(&written) {
            return;
        }
        let (line, column) = self.position(repository);
        let digest_field = self.field(digest);
        let registry_field = self.field(registry);
        out.push(FoundReference {
            kind,
            line,
            column,
            reference: (!opaque).then(|| written.clone()),
            written,
            rewrite: Rewrite::Fields {
                registry: registry_field,
                repository: self.field(repository_field),
                tag: self.field(tag),
                digest: digest_field,
            },
        });
    }
}

pub(super) fn references(
    kind: PinFileKind,
    text: &str,
) -> Result<Vec<FoundReference>, PinParseError> {
    let (tree, roots) = build(text)?;
    let mut out = Vec::new();
    for root in roots {
        if !tree.is_mapping(root) {
            continue;
        }
        match kind {
            PinFileKind::Kubernetes => {
                let (Some(_), Some(kind_name)) = (
                    tree.get(root, "apiVersion").and_then(|i| tree.scalar(i)),
                    tree.get(root, "kind").and_then(|i| tree.scalar(i)),
                ) else {
                    continue;
                };
                if kind_name == "Kustomization" {
                    kustomize(&tree, root, &mut out);
                } else {
                    pod_templates(&tree, root, &mut out);
                }
            }
            PinFileKind::Kustomize => kustomize(&tree, root, &mut out),
            PinFileKind::Helm => helm(&tree, root, &mut out),
            PinFileKind::Compose => {
                if let Some(services) = tree.get(root, "services") {
                    for (_, service) in tree.entries(services) {
                        if let Some(image) = tree.get(service, "image") {
                            tree.whole(kind, image, "", Variables::Compose, &mut out);
                        }
                    }
                }
            }
            PinFileKind::GithubActions => github(&tree, root, &mut out),
            PinFileKind::GitlabCi => gitlab(&tree, root, &mut out),
            PinFileKind::Dockerfile => {}
        }
    }
    Ok(out)
}

/// Every mapping entry under `index` (aliases are not walked into: their
/// anchored node is visited where it is written).
fn each_entry(tree: &Tree<'_>, index: usize, depth: usize, visit: &mut dyn FnMut(&str, usize)) {
    if depth > 600 {
        return;
    }
    match tree.node(index) {
        Some(Node::Mapping(entries)) => {
            for (key, value) in entries {
                if let Some(key) = tree.scalar(*key) {
                    visit(key, *value);
                }
                each_entry(tree, *value, depth + 1, visit);
            }
        }
        Some(Node::Sequence(items)) => {
            for item in items {
                each_entry(tree, *item, depth + 1, visit);
            }
        }
        _ => {}
    }
}

/// Every container list under a Kubernetes object, wherever its pod spec sits.
fn pod_templates(tree: &Tree<'_>, root: usize, out: &mut Vec<FoundReference>) {
    each_entry(tree, root, 0, &mut |key, value| {
        if matches!(key, "containers" | "initContainers" | "ephemeralContainers") {
            for container in tree.items(value) {
                if let Some(image) = tree.get(container, "image") {
                    tree.whole(PinFileKind::Kubernetes, image, "", Variables::Opaque, out);
                }
            }
        }
    });
}

fn kustomize(tree: &Tree<'_>, root: usize, out: &mut Vec<FoundReference>) {
    let Some(images) = tree.get(root, "images") else {
        return;
    };
    for entry in tree.items(images) {
        let Some(name) = tree.get(entry, "name") else {
            continue;
        };
        let new_name = tree.get(entry, "newName");
        let repository = new_name.unwrap_or(name);
        let parts = Parts {
            registry: None,
            repository,
            repository_field: new_name,
            tag: tree.get(entry, "newTag"),
            digest: tree.get(entry, "digest"),
        };
        tree.split(PinFileKind::Kustomize, &parts, out);
    }
}

/// Helm values: any `image:` key, as a map with `repository` (and
/// `registry`, `tag`, `digest`) or as a string.
fn helm(tree: &Tree<'_>, root: usize, out: &mut Vec<FoundReference>) {
    each_entry(tree, root, 0, &mut |key, value| {
        if key != "image" {
            return;
        }
        let image = tree.resolve(value);
        if tree.is_mapping(image) {
            if let Some(repository) = tree.get(image, "repository") {
                let parts = Parts {
                    registry: tree.get(image, "registry"),
                    repository,
                    repository_field: Some(repository),
                    tag: tree.get(image, "tag"),
                    digest: tree.get(image, "digest"),
                };
                tree.split(PinFileKind::Helm, &parts, out);
            }
        } else if tree
            .scalar(image)
            .is_some_and(|s| looks_like_reference(s.trim()))
        {
            tree.whole(PinFileKind::Helm, image, "", Variables::Opaque, out);
        }
    });
}

/// A reference written as a string, or as a map holding it under `key`
/// (GitHub `container: {image: …}`, GitLab `image: {name: …}`).
fn string_or_map(
    tree: &Tree<'_>,
    kind: PinFileKind,
    value: usize,
    key: &str,
    out: &mut Vec<FoundReference>,
) {
    if tree.is_mapping(value) {
        if let Some(image) = tree.get(value, key) {
            tree.whole(kind, image, "", Variables::Opaque, out);
        }
    } else {
        tree.whole(kind, value, "", Variables::Opaque, out);
    }
}

fn github(tree: &Tree<'_>, root: usize, out: &mut Vec<FoundReference>) {
    let kind = PinFileKind::GithubActions;
    if let Some(jobs) = tree.get(root, "jobs") {
        for (_, job) in tree.entries(jobs) {
            if let Some(container) = tree.get(job, "container") {
                string_or_map(tree, kind, container, "image", out);
            }
            if let Some(services) = tree.get(job, "services") {
                for (_, service) in tree.entries(services) {
                    string_or_map(tree, kind, service, "image", out);
                }
            }
            if let Some(steps) = tree.get(job, "steps") {
                for step in tree.items(steps) {
                    if let Some(uses) = tree.get(step, "uses")
                        && tree
                            .scalar(uses)
                            .is_some_and(|u| u.trim_start().starts_with("docker://"))
                    {
                        tree.whole(kind, uses, "docker://", Variables::Opaque, out);
                    }
                }
            }
        }
    }
    // A Docker container action (`action.yml`): `runs.image: docker://…`.
    if let Some(runs) = tree.get(root, "runs")
        && let Some(image) = tree.get(runs, "image")
        && tree
            .scalar(image)
            .is_some_and(|u| u.starts_with("docker://"))
    {
        tree.whole(kind, image, "docker://", Variables::Opaque, out);
    }
}

/// Top-level keys of `.gitlab-ci.yml` that are not jobs.
const GITLAB_KEYWORDS: &[&str] = &[
    "stages",
    "variables",
    "include",
    "workflow",
    "spec",
    "cache",
    "before_script",
    "after_script",
    "types",
];

fn gitlab(tree: &Tree<'_>, root: usize, out: &mut Vec<FoundReference>) {
    let kind = PinFileKind::GitlabCi;
    let image = |value: usize, out: &mut Vec<FoundReference>| {
        string_or_map(tree, kind, value, "name", out);
    };
    let services = |value: usize, out: &mut Vec<FoundReference>| {
        for service in tree.items(value) {
            image(service, out);
        }
    };
    let job = |value: usize, out: &mut Vec<FoundReference>| {
        if let Some(value) = tree.get(value, "image") {
            image(value, out);
        }
        if let Some(value) = tree.get(value, "services") {
            services(value, out);
        }
    };
    for (key, value) in tree.entries(root) {
        match key {
            "image" => image(value, out),
            "services" => services(value, out),
            _ if GITLAB_KEYWORDS.contains(&key) => {}
            _ => {
                if tree.is_mapping(value) {
                    job(value, out);
                }
            }
        }
    }
}

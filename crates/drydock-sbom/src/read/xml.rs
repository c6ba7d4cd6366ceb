//! CycloneDX XML (1.2–1.7), turned into the shape of CycloneDX JSON (the
//! fields the reader uses) so both share one reader: `metadata.timestamp`,
//! and per component (nested ones too) `type`, `group`, `name`, `version`,
//! `purl`, `properties` and `evidence.occurrences[].location`. Elements are
//! matched by local name, whatever the schema version's namespace.
use roxmltree::{Document, Node, ParsingOptions};
use serde_json::{Map, Value, json};

use super::ReadError;

fn child<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    node.children()
        .find(|child| child.is_element() && child.tag_name().name() == name)
}

fn children<'a, 'input: 'a>(
    node: Node<'a, 'input>,
    name: &'a str,
) -> impl Iterator<Item = Node<'a, 'input>> + 'a {
    node.children()
        .filter(move |child| child.is_element() && child.tag_name().name() == name)
}

fn child_text(node: Node<'_, '_>, name: &str) -> Option<String> {
    let text = child(node, name)?.text()?.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

pub(super) fn cyclonedx_to_json(text: &str) -> Result<Value, ReadError> {
    // A DTD is never needed by CycloneDX; refusing it keeps entity
    // expansion out.
    let options = ParsingOptions {
        allow_dtd: false,
        ..ParsingOptions::default()
    };
    let document =
        Document::parse_with_options(text, options).map_err(|source| ReadError::Xml { source })?;
    let root = document.root_element();
    if root.tag_name().name() != "bom" {
        return Err(ReadError::NotCycloneDxXml(
            root.tag_name().name().to_owned(),
        ));
    }
    let mut bom = Map::new();
    bom.insert("bomFormat".to_owned(), json!("CycloneDX"));
    if let Some(timestamp) = child(root, "metadata").and_then(|m| child_text(m, "timestamp")) {
        bom.insert("metadata".to_owned(), json!({ "timestamp": timestamp }));
    }
    if let Some(components) = child(root, "components") {
        bom.insert("components".to_owned(), components_of(components));
    }
    Ok(Value::Object(bom))
}

/// Every `<component>` of a `<components>` element, nested ones included,
/// in document order and flattened (the reader walks nested JSON components
/// the same way; nothing in drydock depends on the nesting).
fn components_of(components: Node<'_, '_>) -> Value {
    let all = components
        .descendants()
        .filter(|node| {
            node.is_element()
                && node.tag_name().name() == "component"
                && node
                    .parent_element()
                    .is_some_and(|parent| parent.tag_name().name() == "components")
        })
        .map(|component| Value::Object(component_fields(component)))
        .collect();
    Value::Array(all)
}

fn component_fields(component: Node<'_, '_>) -> Map<String, Value> {
    let mut object = Map::new();
    if let Some(kind) = component.attribute("type") {
        object.insert("type".to_owned(), json!(kind));
    }
    for field in ["group", "name", "version", "purl"] {
        if let Some(value) = child_text(component, field) {
            object.insert(field.to_owned(), Value::String(value));
        }
    }
    if let Some(properties) = child(component, "properties") {
        let properties: Vec<Value> = children(properties, "property")
            .filter_map(|property| {
                Some(json!({
                    "name": property.attribute("name")?,
                    "value": property.text().unwrap_or_default().trim(),
                }))
            })
            .collect();
        object.insert("properties".to_owned(), Value::Array(properties));
    }
    let occurrences: Vec<Value> = child(component, "evidence")
        .and_then(|evidence| child(evidence, "occurrences"))
        .into_iter()
        .flat_map(|occurrences| children(occurrences, "occurrence"))
        .filter_map(|occurrence| child_text(occurrence, "location"))
        .map(|location| json!({ "location": location }))
        .collect();
    if !occurrences.is_empty() {
        object.insert("evidence".to_owned(), json!({ "occurrences": occurrences }));
    }
    object
}

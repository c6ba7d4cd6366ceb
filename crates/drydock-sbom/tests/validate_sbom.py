#!/usr/bin/env python3
"""Validate CycloneDX 1.6 and SPDX 2.3 JSON documents, offline.

usage: validate_sbom.py SCHEMA_DIR (cyclonedx|spdx) FILE...   (FILE may be `-` for stdin)

Schema validation uses `jsonschema` with every `*.schema.json` in SCHEMA_DIR
registered by its `$id` (so the CycloneDX schema's relative refs to
`spdx.schema.json` and `jsf-0.82.schema.json` resolve without a network), with
format checking on, including `uri` and `iri-reference`, which jsonschema only
checks when optional packages are installed.

On top of the schema (which cannot express them), it checks what SPDX and
CycloneDX tools also reject:
  both:      license expressions parse (AND/OR/WITH, parentheses, `+`) and name
             ids from the SPDX license list (`enum` of spdx.schema.json) or
             `LicenseRef-`/`DocumentRef-` refs
  cyclonedx: bom-refs are unique; every dependency `ref`/`dependsOn` names a bom-ref
  spdx:      SPDX ids match `SPDXRef-[A-Za-z0-9.-]+` and are unique; relationships
             name known elements; `LicenseRef-`s in packages are defined in
             `hasExtractedLicensingInfos`; package `supplier` syntax;
             `created` is `YYYY-MM-DDThh:mm:ssZ`; `documentNamespace` is an
             absolute URI without `#`

Prints one line per file, `VALID <file>` or `INVALID <file>: <reasons>`, and
exits 0 when every file is valid, 1 otherwise, 2 on usage errors.
"""

import json
import pathlib
import re
import sys

import jsonschema
from referencing import Registry, Resource

URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?#\[\]]|%[0-9A-Fa-f]{2})*$")
IRI_REFERENCE = re.compile(r"^(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?#\[\]]|%[0-9A-Fa-f]{2}|[^\x00-\x7f])*$")
SPDX_ID = re.compile(r"^SPDXRef-[A-Za-z0-9.\-]+$")
EXTERNAL_ID = re.compile(r"^DocumentRef-[A-Za-z0-9.\-]+:SPDXRef-[A-Za-z0-9.\-]+$")
LICENSE_REF = re.compile(r"^(?:DocumentRef-[A-Za-z0-9.\-]+:)?LicenseRef-[A-Za-z0-9.\-]+$")
SUPPLIER = re.compile(r"^(?:NOASSERTION|(?:Person|Organization): \S.*)$")
SPDX_CREATED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def format_checker():
    checker = jsonschema.Draft7Validator.FORMAT_CHECKER
    checker.checks("uri")(lambda value: not isinstance(value, str) or bool(URI.match(value)))
    checker.checks("iri-reference")(
        lambda value: not isinstance(value, str) or bool(IRI_REFERENCE.match(value))
    )
    return checker


def load_registry(schema_dir):
    registry = Registry()
    schemas = {}
    for path in sorted(pathlib.Path(schema_dir).glob("*.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(contents, dict) or "$id" not in contents:
            continue
        registry = registry.with_resource(contents["$id"], Resource.from_contents(contents))
        schemas[path.name] = contents
    return registry, schemas


def tokenize(expression):
    return re.findall(r"\(|\)|[^\s()]+", expression)


def check_expression(expression, license_ids, errors, where, refs=None):
    """A recursive-descent check of SPDX license expression syntax (SPDX 2.3 Annex D)."""
    tokens = tokenize(expression)
    position = 0

    def peek():
        return tokens[position] if position < len(tokens) else None

    def license_atom(token):
        if LICENSE_REF.match(token):
            if refs is not None and token.startswith("LicenseRef-") and token not in refs:
                errors.append(f"{where}: `{token}` is not defined in hasExtractedLicensingInfos")
            return True
        base = token[:-1] if token.endswith("+") else token
        return base in license_ids

    def simple():
        nonlocal position
        token = peek()
        if token == "(":
            position += 1
            if not compound():
                return False
            if peek() != ")":
                return False
            position += 1
            return True
        if token is None or token in ("AND", "OR", "WITH", ")"):
            return False
        position += 1
        if not license_atom(token):
            errors.append(f"{where}: `{token}` is not an SPDX license id or LicenseRef")
            return False
        if peek() == "WITH":
            position += 1
            exception = peek()
            if exception is None or exception not in license_ids:
                errors.append(f"{where}: `{exception}` is not an SPDX license exception id")
                return False
            position += 1
        return True

    def conjunction():
        nonlocal position
        if not simple():
            return False
        while peek() == "AND":
            position += 1
            if not simple():
                return False
        return True

    def compound():
        nonlocal position
        if not conjunction():
            return False
        while peek() == "OR":
            position += 1
            if not conjunction():
                return False
        return True

    if not tokens or not compound() or position != len(tokens):
        errors.append(f"{where}: `{expression}` is not a valid SPDX license expression")


def walk_components(component, out):
    out.append(component)
    for child in component.get("components", []) or []:
        walk_components(child, out)


def collect_bom_refs(node, out):
    """Every `bom-ref` anywhere in the document (components, services, ...)."""
    if isinstance(node, dict):
        if isinstance(node.get("bom-ref"), str):
            out.append(node["bom-ref"])
        for value in node.values():
            collect_bom_refs(value, out)
    elif isinstance(node, list):
        for value in node:
            collect_bom_refs(value, out)


def check_cyclonedx(document, license_ids):
    errors = []
    components = []
    metadata_component = document.get("metadata", {}).get("component")
    if isinstance(metadata_component, dict):
        walk_components(metadata_component, components)
    for component in document.get("components", []) or []:
        walk_components(component, components)
    refs = []
    collect_bom_refs(document, refs)
    duplicates = sorted({r for r in refs if refs.count(r) > 1})
    if duplicates:
        errors.append(f"duplicate bom-refs: {duplicates}")
    known = set(refs)
    for dependency in document.get("dependencies", []) or []:
        for ref in [dependency.get("ref")] + list(dependency.get("dependsOn", []) or []):
            if ref not in known:
                errors.append(f"dependency names unknown bom-ref `{ref}`")
    for component in components:
        for choice in component.get("licenses", []) or []:
            if "expression" in choice:
                check_expression(
                    choice["expression"], license_ids, errors, f"component `{component.get('name')}`"
                )
    return errors


def check_spdx(document, license_ids):
    errors = []
    elements = ["SPDXRef-DOCUMENT"] if document.get("SPDXID") == "SPDXRef-DOCUMENT" else []
    if document.get("SPDXID") != "SPDXRef-DOCUMENT":
        errors.append("document SPDXID must be SPDXRef-DOCUMENT")
    for key in ("packages", "files", "snippets"):
        for element in document.get(key, []) or []:
            elements.append(element.get("SPDXID", ""))
    for element in elements:
        if not SPDX_ID.match(element):
            errors.append(f"SPDXID `{element}` has characters SPDX does not allow")
    duplicates = sorted({e for e in elements if elements.count(e) > 1})
    if duplicates:
        errors.append(f"duplicate SPDXIDs: {duplicates}")
    known = set(elements)
    for relationship in document.get("relationships", []) or []:
        for key in ("spdxElementId", "relatedSpdxElement"):
            target = relationship.get(key)
            if target in known or target in ("NONE", "NOASSERTION") or EXTERNAL_ID.match(target or ""):
                continue
            errors.append(f"relationship {key} names unknown element `{target}`")
    refs = {info.get("licenseId") for info in document.get("hasExtractedLicensingInfos", []) or []}
    for ref in refs:
        if not LICENSE_REF.match(ref or ""):
            errors.append(f"extracted license id `{ref}` is not a LicenseRef")
    for package in document.get("packages", []) or []:
        where = f"package `{package.get('SPDXID')}`"
        for key in ("licenseDeclared", "licenseConcluded"):
            value = package.get(key)
            if value is None or value in ("NONE", "NOASSERTION"):
                continue
            check_expression(value, license_ids, errors, f"{where} {key}", refs)
        supplier = package.get("supplier")
        if supplier is not None and not SUPPLIER.match(supplier):
            errors.append(f"{where}: supplier `{supplier}` is not `Person: …`, `Organization: …` or NOASSERTION")
    created = document.get("creationInfo", {}).get("created", "")
    if not SPDX_CREATED.match(created):
        errors.append(f"creationInfo.created `{created}` is not YYYY-MM-DDThh:mm:ssZ")
    namespace = document.get("documentNamespace", "")
    if not URI.match(namespace) or "#" in namespace:
        errors.append(f"documentNamespace `{namespace}` is not an absolute URI without `#`")
    return errors


def main(argv):
    if len(argv) < 4 or argv[2] not in ("cyclonedx", "spdx"):
        print(__doc__, file=sys.stderr)
        return 2
    schema_dir, kind, files = argv[1], argv[2], argv[3:]
    registry, schemas = load_registry(schema_dir)
    license_ids = set(schemas["spdx.schema.json"]["enum"])
    schema = schemas["bom-1.6.schema.json" if kind == "cyclonedx" else "spdx-2.3.schema.json"]
    validator = jsonschema.Draft7Validator(schema, registry=registry, format_checker=format_checker())
    all_valid = True
    for name in files:
        try:
            text = sys.stdin.read() if name == "-" else pathlib.Path(name).read_text(encoding="utf-8")
            document = json.loads(text)
        except (OSError, ValueError) as error:
            print(f"INVALID {name}: cannot read: {error}")
            all_valid = False
            continue
        errors = [
            f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message[:300]}"
            for error in validator.iter_errors(document)
        ]
        if not errors and isinstance(document, dict):
            check = check_cyclonedx if kind == "cyclonedx" else check_spdx
            errors = check(document, license_ids)
        if errors:
            all_valid = False
            print(f"INVALID {name}: " + "; ".join(errors[:20]))
        else:
            print(f"VALID {name}")
    return 0 if all_valid else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

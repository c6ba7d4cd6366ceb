#!/usr/bin/env python3
"""Write the seed corpora of the input-format fuzz targets under
fuzz/seeds/<target>/ (sbom_reader, purl, vex, registry_reference,
www_authenticate, docker_config, key_pem, bundle_dsse), and of the older
catalog, vulnerability-data and archive targets that had none (see
older_targets; binaries are left to make_seeds.py's callers: the Go and Rust
fixture binaries are over the 100 KB seed size).

Seeds are real documents: the CycloneDX 1.6, SPDX 2.3 and OpenVEX examples
of ../shared/data/examples (each cut to at most 100 KB by dropping list
entries, so it stays valid JSON); SBOMs that Syft, Trivy and drydock write
for a small tree (a package-lock.json with a scoped package and a Go
binary), when those tools are found (`syft`, `$TRIVY`, `$DRYDOCK`); the purls
of all of these; a cosign-format key pair and a Sigstore bundle with a real
DSSE signature made here with python3-cryptography.

Run from anywhere: `python3 fuzz/make_input_seeds.py`.
"""
import base64
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "seeds")
EXAMPLES = os.path.join(HERE, "..", "..", "shared", "data", "examples")
MAX_SEED = 100 * 1024


def write(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    if len(data) > MAX_SEED:
        raise SystemExit(f"{target}/{name}: {len(data)} bytes, over {MAX_SEED}")
    os.makedirs(os.path.join(SEEDS, target), exist_ok=True)
    with open(os.path.join(SEEDS, target, name), "wb") as f:
        f.write(data)


def shrink(document):
    """Drop entries from the longest list until the JSON fits a seed."""
    text = json.dumps(document, indent=1)
    while len(text) > MAX_SEED:
        lists = []

        def walk(value):
            if isinstance(value, list) and len(value) > 1:
                lists.append(value)
            children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
            for child in children:
                walk(child)

        walk(document)
        longest = max(lists, key=lambda l: len(json.dumps(l)))
        del longest[len(longest) // 2:]
        text = json.dumps(document, indent=1)
    return text


def tool_sboms():
    """SBOMs of a small tree by Syft (5 formats), Trivy and drydock."""
    out = {}
    tree = tempfile.mkdtemp()
    try:
        with open(os.path.join(tree, "package-lock.json"), "w") as f:
            json.dump({"name": "x", "version": "1.0.0", "lockfileVersion": 3, "packages": {
                "": {"name": "x", "version": "1.0.0"},
                "node_modules/@babel/core": {"version": "7.0.0"},
                "node_modules/ms": {"version": "2.1.3"},
                "node_modules/a/node_modules/ms": {"version": "2.1.3"}}}, f)
        go = shutil.which("skopeo") or shutil.which("umoci")
        if go:
            os.makedirs(os.path.join(tree, "usr/bin"))
            shutil.copy(go, os.path.join(tree, "usr/bin", os.path.basename(go)))
        syft = shutil.which("syft")
        if syft:
            for fmt, name in [("cyclonedx-json", "syft.cdx.json"), ("cyclonedx-xml", "syft.cdx.xml"),
                              ("spdx-json", "syft.spdx.json"), ("spdx-tag-value", "syft.spdx"),
                              ("syft-json", "syft.syft.json")]:
                out[name] = subprocess.run([syft, "scan", f"dir:{tree}", "-q", "-o", fmt],
                                           check=True, capture_output=True).stdout
        trivy = os.environ.get("TRIVY")
        if trivy:
            out["trivy.cdx.json"] = subprocess.run(
                [trivy, "rootfs", "--format", "cyclonedx", "--skip-db-update", "--offline-scan",
                 "--skip-version-check", "--skip-check-update", "--quiet", tree],
                check=True, capture_output=True).stdout
        drydock = os.environ.get("DRYDOCK")
        if drydock:
            for fmt in ["cyclonedx-json", "spdx-json", "json"]:
                out[f"drydock.{fmt}"] = subprocess.run(
                    [drydock, "sbom", f"dir:{tree}", "-f", fmt], check=True, capture_output=True).stdout
    finally:
        shutil.rmtree(tree)
    return out


def sbom_reader():
    documents = {}
    for path in sorted(glob.glob(os.path.join(EXAMPLES, "cyclonedx-1.6", "valid-*.json"))):
        name = os.path.basename(path)
        if any(k in name for k in ["component", "bom-1.6", "evidence", "vulnerability", "dependency", "metadata-tool"]):
            with open(path) as f:
                documents["cdx-" + name] = shrink(json.load(f))
    with open(os.path.join(EXAMPLES, "spdx", "SPDXJSONExample-v2.3.spdx.json")) as f:
        documents["SPDXJSONExample-v2.3.spdx.json"] = shrink(json.load(f))
    for name, data in tool_sboms().items():
        documents[name] = data if len(data) <= MAX_SEED else shrink(json.loads(data))
    for name, data in documents.items():
        write("sbom_reader", name, data)
    return documents


def purls(documents):
    found = set()
    for data in documents.values():
        text = data.decode() if isinstance(data, bytes) else data
        found.update(re.findall(r'pkg:[^"\s<>]+', text))
    found.update([
        "pkg:deb/debian/libstdc%2B%2B6@1:12.2.0-14%2Bdeb12u1?arch=amd64&distro=debian-12",
        "pkg:golang/golang.org/x/crypto@v0.4.0",
        "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar",
        "pkg:npm/%40babel/core@7.0.0#lib/index.js",
        "pkg:rpm/fedora/bash@5.2.15-3.fc38?arch=x86_64&epoch=1",
    ])
    for purl in sorted(found):
        write("purl", hashlib.sha256(purl.encode()).hexdigest()[:16], purl)


def vex():
    with open(os.path.join(EXAMPLES, "openvex", "node.openvex.json")) as f:
        write("vex", "node.openvex.json", shrink(json.load(f)))
    with open(os.path.join(EXAMPLES, "cyclonedx-1.6", "valid-vulnerability-1.6.json")) as f:
        write("vex", "valid-vulnerability-1.6.json", shrink(json.load(f)))


def small_inputs():
    for i, ref in enumerate([
        "debian", "debian:12", "docker.io/library/debian:12-slim", "ghcr.io/org/app@sha256:" + "a" * 64,
        "localhost:5000/ns/sub/name:tag@sha256:" + "0" * 64, "[::1]:5000/app:v1", "registry.example/a/b/c:latest",
    ]):
        write("registry_reference", f"ref-{i}", ref)
    for i, header in enumerate([
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/debian:pull"',
        'Basic realm="Registry Realm"',
        'bearer realm=https://auth.example/token, service=registry.example, scope="repository:a/b:pull,push"',
        'Bearer realm="",error="invalid_token"',
    ]):
        write("www_authenticate", f"header-{i}", header)
    auth = base64.b64encode(b"user:secret").decode()
    for i, config in enumerate([
        {"auths": {"https://index.docker.io/v1/": {"auth": auth}}},
        {"auths": {"registry.example:5000": {"username": "u", "password": "p"}}, "credsStore": "desktop"},
        {"auths": {"docker.io": {"identitytoken": "token"}}, "credHelpers": {"registry.example:5000": "ecr-login"}},
        {"auths": {"docker.io": {"auth": "bm90LWEtcGFpcg=="}}},
    ]):
        write("docker_config", f"config-{i}.json", json.dumps(config, indent=1))


def keys_and_bundles():
    try:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        import nacl.secret
        import nacl.bindings
    except ImportError as error:
        print(f"make_input_seeds: no key or bundle seeds ({error})", file=sys.stderr)
        return
    key = ec.generate_private_key(ec.SECP256R1())
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    write("key_pem", "cosign.pub", public_pem)
    # cosign's encrypted key: scrypt (N=32768, r=8, p=1) + nacl secretbox, password `fuzz`.
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    salt = os.urandom(32)
    secret = hashlib.scrypt(b"fuzz", salt=salt, n=32768, r=8, p=1, maxmem=64 << 20, dklen=32)
    nonce = os.urandom(24)
    box = nacl.secret.SecretBox(secret)
    ciphertext = box.encrypt(der, nonce).ciphertext
    envelope = {"kdf": {"name": "scrypt", "params": {"N": 32768, "r": 8, "p": 1},
                        "salt": base64.b64encode(salt).decode()},
                "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
                "ciphertext": base64.b64encode(ciphertext).decode()}
    body = base64.encodebytes(json.dumps(envelope).encode()).decode()
    write("key_pem", "cosign.key",
          f"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n{body}-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
    statement = {"_type": "https://in-toto.io/Statement/v1",
                 "subject": [{"name": "registry.example/app", "digest": {"sha256": "a" * 64}}],
                 "predicateType": "https://cyclonedx.org/bom", "predicate": {"bomFormat": "CycloneDX"}}
    payload = json.dumps(statement).encode()
    payload_type = "application/vnd.in-toto+json"
    pae = b"DSSEv1 %d %s %d %s" % (len(payload_type), payload_type.encode(), len(payload), payload)
    signature = key.sign(pae, ec.ECDSA(hashes.SHA256()))
    hint = base64.b64encode(hashlib.sha256(key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).digest()).decode()
    bundle = {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
              "verificationMaterial": {"publicKey": {"hint": hint}, "tlogEntries": []},
              "dsseEnvelope": {"payload": base64.b64encode(payload).decode(), "payloadType": payload_type,
                               "signatures": [{"sig": base64.b64encode(signature).decode()}]}}
    write("bundle_dsse", "bundle.json", json.dumps(bundle, indent=1))
    simple = {"critical": {"identity": {"docker-reference": "registry.example/app"},
                           "image": {"docker-manifest-digest": "sha256:" + "a" * 64},
                           "type": "cosign container image signature"}, "optional": None}
    write("bundle_dsse", "simple-signing.json", json.dumps(simple))


def cut_text(data, limit=MAX_SEED):
    """The first lines of a text that fit a seed, cut at a paragraph."""
    if len(data) <= limit:
        return data
    cut = data[:limit]
    end = cut.rfind(b"\n\n")
    return cut[:end + 2] if end > 0 else cut[:cut.rfind(b"\n") + 1]


def older_targets():
    """Seeds for the catalog, vulnerability-data and archive targets that had
    none: real records from ../shared/data, the catalog test fixtures, and the
    Debian test fixture's apt lists (when built)."""
    data = os.path.join(EXAMPLES, "..")
    repo = os.path.join(HERE, "..")
    vectors = set()
    for ecosystem in ["Go", "PyPI", "npm", "crates.io"]:
        files = sorted(glob.glob(os.path.join(data, "osv", ecosystem, "*.json")))
        for path in files[:: max(1, len(files) // 6)][:6]:
            with open(path, "rb") as f:
                record = f.read()
            if len(record) <= MAX_SEED:
                write("osv_record", ecosystem + "-" + os.path.basename(path), record)
            vectors.update(re.findall(rb'CVSS:3\.[01]/[A-Z:/]+', record))
            vectors.update(re.findall(rb'CVSS:4\.0/[A-Za-z:/]+', record))
    for vector in sorted(vectors)[:40]:
        write("cvss", hashlib.sha256(vector).hexdigest()[:16], vector)
    for path in sorted(glob.glob(os.path.join(data, "alpine-secdb", "*", "main.json")))[:2]:
        with open(path) as f:
            write("secdb", os.path.basename(os.path.dirname(path)) + "-main.json", shrink(json.load(f)))
    with open(os.path.join(repo, "crates/drydock-vuln/tests/fixtures/tracker-debian-image.json")) as f:
        write("debian_tracker", "tracker-debian-image.json", shrink(json.load(f)))
    fixtures = os.path.join(repo, "crates/drydock-catalog/tests/fixtures")
    for target, path in [("ruby", "ruby/Gemfile.lock"), ("php", "php/project/composer.lock"),
                         ("php", "php/project/vendor/composer/installed.json"),
                         ("dotnet_deps", "dotnet/app.deps.json")]:
        full = os.path.join(fixtures, path)
        if os.path.exists(full):
            with open(full, "rb") as f:
                write(target, os.path.basename(path), cut_text(f.read()))
    with open(os.path.join(HERE, "Cargo.lock"), "rb") as f:
        write("cargo_lock", "Cargo.lock", cut_text(f.read(), 20 * 1024))
    write("javascript_lock", "package-lock.json", json.dumps({
        "name": "app", "lockfileVersion": 3, "packages": {
            "": {"name": "app", "version": "1.0.0"},
            "node_modules/@babel/core": {"version": "7.0.0"},
            "node_modules/a/node_modules/ms": {"version": "2.1.3"}}}, indent=1))
    write("javascript_lock", "yarn.lock",
          '# yarn lockfile v1\n\n"@babel/code-frame@^7.0.0", "@babel/code-frame@^7.10.4":\n'
          '  version "7.10.4"\n  dependencies:\n    "@babel/highlight" "^7.10.4"\n\n'
          'left-pad@^1.0.0:\n  "version" "1.3.0"\n')
    write("javascript_lock", "pnpm-lock.yaml",
          "lockfileVersion: 5.4\n\npackages:\n\n  /ms/2.1.3:\n    resolution: {integrity: sha512-x}\n\n"
          "  registry.example.org/@s/a/1.0.0_react@18.0.0:\n    resolution: {integrity: sha512-y}\n")
    write("python_metadata", "requirements.txt",
          "-r base.txt\nDjango==2.2  # pinned \\\nflask>=1.0\nsix==1.15.0 \\\n    --hash=sha256:abc\n")
    write("python_metadata", "METADATA",
          "Metadata-Version: 2.1\nName: requests\nVersion: 2.25.0\nLicense: Apache 2.0\n"
          "Requires-Dist: idna (<3,>=2.5)\n\nLong description.\n")
    for i, pair in enumerate(["1.2.3\t1.2.3-rc.1", "1:2.36-9+deb12u4\t2.36-9", "v0.0.0-20191109021931-daa7c04131f5\tv0.1.0",
                              "1.0.0a1\t1.0.0.post1", "2.0.0-M1\t2.0.0", "1.0~rc1\t1.0", "^1.2.3\t1.4.0"]):
        write("version", f"pair-{i}", pair)
    lists = glob.glob(os.path.join(repo, ".cache/fixtures/debian-*/rootfs/var/lib/apt/lists"))
    if lists:
        for name, target in [("_InRelease", "release_file"), ("_Release", "release_file"),
                             ("_Packages", "packages_index")]:
            for path in glob.glob(os.path.join(lists[0], "*" + name)):
                with open(path, "rb") as f:
                    write(target, name.strip("_"), cut_text(f.read()))
        status = glob.glob(os.path.join(os.path.dirname(lists[0]), "..", "dpkg", "status"))
        if status:
            with open(status[0], "rb") as f:
                write("deb_control", "status", cut_text(f.read(), 20 * 1024))


documents = sbom_reader()
older_targets()
purls(documents)
vex()
small_inputs()
keys_and_bundles()

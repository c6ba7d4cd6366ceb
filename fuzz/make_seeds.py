#!/usr/bin/env python3
"""Write the fuzz seed corpora under fuzz/seeds/<target>/.

Seeds are real archives and real database text: gzip/zstd/plain tars with a
dpkg status, os-release, a symlink, a hard link, whiteouts and an opaque
directory; the Debian fixture's dpkg status; OCI layouts with valid digests.
Run from anywhere: `python3 fuzz/make_seeds.py [PATH-TO-DPKG-STATUS]`. The
default status is the Debian test fixture's (built by
crates/drydock-test/scripts/build-debian-image.sh); without it the dpkg
seeds fall back to a small hand-written status.
"""
import glob
import gzip
import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "seeds")
MAX_SEED = 100 * 1024

SMALL_STATUS = b"""Package: libc6
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u7
Installed-Size: 12988
Description: GNU C Library: Shared libraries
 Contains the standard libraries.

Package: gone
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0-1

Package: libgcc-s1
Status: install ok installed
Architecture: amd64
Source: gcc-12 (12.2.0-14)
Version: 12.2.0-14
"""

OS_RELEASE = b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'


def find_status():
    if len(sys.argv) > 1:
        return open(sys.argv[1], "rb").read()
    root = os.path.dirname(HERE)
    for path in sorted(glob.glob(os.path.join(root, ".cache/fixtures/debian-*/rootfs/var/lib/dpkg/status"))):
        return open(path, "rb").read()
    print("note: no Debian fixture; dpkg seeds use a small hand-written status", file=sys.stderr)
    return None


def tar_bytes(entries):
    """entries: (name, kind, payload): kind file|dir|symlink|hardlink."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, kind, payload in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 0
            info.uid = info.gid = 0
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            elif kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = payload
                info.mode = 0o777
                tar.addfile(info)
            elif kind == "hardlink":
                info.type = tarfile.LNKTYPE
                info.linkname = payload
                info.mode = 0o644
                tar.addfile(info)
            else:
                info.mode = 0o644
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
    return out.getvalue()


def gz(data):
    return gzip.compress(data, compresslevel=9, mtime=0)


def zst(data):
    if shutil.which("zstd") is None:
        return None
    return subprocess.run(["zstd", "-q", "-c", "-19"], input=data, capture_output=True, check=True).stdout


def write(target, name, data):
    if data is None:
        return
    assert len(data) < MAX_SEED, f"{target}/{name} is {len(data)} bytes, over the seed limit"
    directory = os.path.join(SEEDS, target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def one_layer(mode, layer):
    return bytes([mode]) + layer


def two_layers(mode, first, second):
    return bytes([mode | 1]) + struct.pack("<I", len(first)) + first + second


def layer_walk(status):
    lower = lower_layer(status)
    small = lower_layer(SMALL_STATUS)
    upper = upper_layer()
    write("layer_walk", "gzip-dispatch", one_layer(0, gz(lower)))
    write("layer_walk", "plain-dispatch", one_layer(0, small))
    write("layer_walk", "zstd-dispatch", one_layer(0, zst(small)) if zst(small) else None)
    write("layer_walk", "two-gzip-dispatch", two_layers(0, gz(lower), gz(upper)))
    write("layer_walk", "two-plain-claim-all", two_layers(2, small, upper))
    write("layer_walk", "two-gzip-claim-all", two_layers(2, gz(small), gz(upper)))


def lower_layer(status):
    return tar_bytes([
        ("etc", "dir", None),
        ("etc/os-release", "file", OS_RELEASE),
        ("usr", "dir", None),
        ("usr/lib", "dir", None),
        ("usr/lib/os-release", "file", OS_RELEASE),
        ("var/lib/dpkg", "dir", None),
        ("var/lib/dpkg/status", "file", status),
        ("var/lib/dpkg/info/libc6:amd64.list", "file", b"/.\n/usr/lib/x86_64-linux-gnu/libc.so.6\n"),
        ("var/lib/dpkg/info/libc6:amd64.md5sums", "file", b"0123456789abcdef0123456789abcdef  usr/lib/x86_64-linux-gnu/libc.so.6\n"),
        ("var/lib/dpkg/status-old", "hardlink", "var/lib/dpkg/status"),
        ("lib", "symlink", "usr/lib"),
        ("usr/lib/apk", "dir", None),
        ("usr/lib/apk/db", "dir", None),
        ("usr/lib/apk/db/installed", "file", b"C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nL:MIT\no:musl\n\n"),
        ("opt/junk", "dir", None),
        ("opt/junk/file", "file", b"x" * 100),
        ("etc/alternatives", "dir", None),
        ("etc/alternatives/loop", "symlink", "/etc/alternatives/loop"),
    ])


def upper_layer():
    return tar_bytes([
        ("opt/.wh.junk", "file", b""),
        ("var/lib/dpkg/.wh.status-old", "file", b""),
        ("etc/.wh..wh..opq", "file", b""),
        ("etc/os-release", "symlink", "../usr/lib/os-release"),
        ("var/lib/dpkg/status.d/extra", "file", b"Package: extra\nVersion: 1\nArchitecture: all\n"),
    ])


def dpkg_status(status):
    write("dpkg_status", "small", SMALL_STATUS)
    if status is not None:
        write("dpkg_status", "debian-12-fixture", status)


def blob(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def oci_json():
    layer = tar_bytes([
        ("etc/os-release", "file", OS_RELEASE),
        ("var/lib/dpkg/status", "file", SMALL_STATUS),
    ])
    assert b"\xff" not in layer
    config = json.dumps({
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [blob(layer)]},
    }).encode()
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": blob(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": blob(layer), "size": len(layer)}],
    }).encode()
    descriptor = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": blob(manifest),
        "size": len(manifest),
        "annotations": {"org.opencontainers.image.ref.name": "seed"},
    }
    index = json.dumps({"schemaVersion": 2, "manifests": [descriptor]}).encode()
    write("oci_json", "one-image", b"\xff".join([index, manifest, config, layer]))
    with_platform = dict(descriptor, platform={"architecture": "amd64", "os": "linux"})
    nested = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": blob(manifest), "size": len(manifest),
         "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
        with_platform,
    ]}).encode()
    outer = json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": blob(nested), "size": len(nested)},
    ]}).encode()
    write("oci_json", "nested-index", b"\xff".join([outer, nested, manifest, config, layer]))
    write("oci_json", "index-only", index)


def os_release():
    write("os_release", "debian", OS_RELEASE)
    write("os_release", "alpine", b'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.19.1\n')
    write("os_release", "debian-version", b"12.5\n")
    write("os_release", "redhat", b"Red Hat Enterprise Linux release 9.3 (Plow)\n")


def apk_installed():
    write("apk_installed", "two-packages", b"C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nS:383152\nI:622592\nT:the musl c library\nU:https://musl.libc.org/\nL:MIT\no:musl\nm:Maintainer <m@example.org>\nt:1700000000\nc:abc\nF:lib\nR:ld-musl-x86_64.so.1\na:0:0:755\nZ:Q1xyz=\n\nC:Q1def=\nP:busybox\nV:1.36.1-r15\nA:x86_64\nL:GPL-2.0-only\no:busybox\nD:so:libc.musl-x86_64.so.1\nF:bin\nR:busybox\n")


def rpmdb():
    # The rpm target's first byte picks the format: 0 sqlite, 1 ndb, 2 bdb.
    ndb = os.path.join(os.path.dirname(HERE), "crates/drydock-catalog/tests/rpm/ndb/Packages.db")
    if os.path.exists(ndb):
        write("rpmdb", "ndb-fixture", b"\x01" + open(ndb, "rb").read())
    # An empty sqlite rpmdb as rpm creates it, repacked with small pages.
    if shutil.which("rpm") and shutil.which("sqlite3"):
        import tempfile
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["rpm", "--dbpath", tmp, "--initdb"], check=True)
            database = os.path.join(tmp, "rpmdb.sqlite")
            subprocess.run(["sqlite3", database, "PRAGMA journal_mode=DELETE; PRAGMA page_size=512; VACUUM;"],
                           check=True, capture_output=True)
            write("rpmdb", "sqlite-empty", b"\x00" + open(database, "rb").read())


def kube():
    """A PodList page, an owner object and a kubeconfig, in the shapes of the
    Kubernetes API reference (as drydock_test::FakeApiServer serves them)."""
    digest = "sha256:" + hashlib.sha256(b"nginx").hexdigest()
    owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9f8b6c5d",
             "uid": "0b6f2f1e-0d0c-4b1a-9a55-7e1a4b0c9d21", "controller": True, "blockOwnerDeletion": True}
    web = {
        "metadata": {"name": "web-7d9f8b6c5d-x2k9q", "namespace": "shop",
                     "uid": "5b1c1f59-2d6e-4f0e-8a7c-3c7f0d6e9b11", "resourceVersion": "40012",
                     "ownerReferences": [owner]},
        "spec": {"nodeName": "node-1",
                 "initContainers": [{"name": "migrate", "image": "registry.example.com/migrate:3"}],
                 "containers": [{"name": "nginx", "image": "nginx:1.27"}],
                 "ephemeralContainers": [{"name": "debugger", "image": "busybox@" + digest}]},
        "status": {"phase": "Running",
                   "initContainerStatuses": [{"name": "migrate", "imageID": "registry.example.com/migrate@" + digest}],
                   "containerStatuses": [{"name": "nginx", "imageID": "docker-pullable://nginx@" + digest}],
                   "ephemeralContainerStatuses": [{"name": "debugger", "imageID": ""}]},
    }
    pulling = {
        "metadata": {"name": "pulling", "namespace": "default", "uid": "9e0f3a7d-1c2b-4d5e-8f90-a1b2c3d4e5f6"},
        "spec": {"containers": [{"name": "app", "image": "app:2"}]},
        "status": {"phase": "Pending", "containerStatuses": [{"name": "app", "imageID": ""}]},
    }
    page = {"kind": "PodList", "apiVersion": "v1",
            "metadata": {"resourceVersion": "48213", "continue": "eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ==", "remainingItemCount": 3},
            "items": [web, pulling]}
    write("kube", "pod-list.json", json.dumps(page, indent=1).encode())
    replica_set = {"kind": "ReplicaSet", "apiVersion": "apps/v1",
                   "metadata": {"name": "web-7d9f8b6c5d", "namespace": "shop",
                                "ownerReferences": [dict(owner, kind="Deployment", name="web")]}}
    write("kube", "replicaset.json", json.dumps(replica_set).encode())
    write("kube", "kubeconfig.yaml", b"""apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==
users:
- name: ci
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: get-token
      args: [--cluster, prod]
      env: [{name: A, value: b}]
      interactiveMode: Never
- name: admin
  user:
    client-certificate: admin.crt
    client-key: admin.key
    tokenFile: token
contexts:
- name: prod
  context: {cluster: prod, user: ci, namespace: shop}
current-context: prod
""")


def main():
    status = find_status()
    layer_walk(status if status is not None else SMALL_STATUS)
    dpkg_status(status)
    oci_json()
    # Targets written by other people get seeds only if nobody made theirs.
    if not os.path.isdir(os.path.join(SEEDS, "os_release")):
        os_release()
    if not os.path.isdir(os.path.join(SEEDS, "apk_installed")):
        apk_installed()
    if not os.path.isdir(os.path.join(SEEDS, "rpmdb")):
        rpmdb()
    kube()
    for target in sorted(os.listdir(SEEDS)):
        files = os.listdir(os.path.join(SEEDS, target))
        size = sum(os.path.getsize(os.path.join(SEEDS, target, f)) for f in files)
        print(f"{target}: {len(files)} seeds, {size} bytes")


if __name__ == "__main__":
    main()

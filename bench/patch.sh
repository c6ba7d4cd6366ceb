#!/usr/bin/env bash
# The patch benchmark: `drydock patch` of the Debian fixture image (drydock-test's
# bookworm image, oci-dir gzip) against the real Debian archive and security
# archive with a WARM package cache (indices and .debs already downloaded;
# the InRelease files are fetched again, as every online patch does), next to
# `skopeo copy` of the same image to a new OCI layout as the baseline, in the
# same run. Reports the median wall time of each, the ratio, and drydock's
# peak RSS (GNU time).
#
# The advisories are derived from the bookworm-security changelogs by
# crates/drydock-cli/tests/fixtures/debian-cves/derive.py (as the tests do).
#
# usage: bench/patch.sh [RUNS]   (RUNS, default 3)
# env:   DRYDOCK_BIN  a prebuilt drydock (default: cargo build --release)
#        FIXTURE      the fixture directory (default: .cache/fixtures/debian-*)
# Needs: skopeo, python3, apt-get, dpkg-deb, GNU time (/usr/bin/time), network
#        access to deb.debian.org for the first (cache-warming) run.
set -euo pipefail
runs=${1:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
fixture=${FIXTURE:-$(ls -d "$root"/.cache/fixtures/debian-*/ 2>/dev/null | grep -v partial | head -n1)}
[ -d "$fixture/oci-gzip" ] || { echo "no Debian fixture: run the tests once (cargo nextest run -p drydock-cli -E 'binary(scan_debian)')" >&2; exit 1; }
for tool in skopeo python3 /usr/bin/time; do command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 1; }; done
if [ -z "${DRYDOCK_BIN:-}" ]; then
  (cd "$root" && cargo build --release -p drydock-cli >&2)
  DRYDOCK_BIN=${CARGO_TARGET_DIR:-$root/target}/release/drydock
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bench_cache=$root/.cache/bench/patch
mkdir -p "$bench_cache"
python3 "$root/crates/drydock-cli/tests/fixtures/debian-cves/derive.py" \
  "$fixture/expected-final.tsv" "$bench_cache/cves" "$work/derived" >&2
"$DRYDOCK_BIN" db import --db-dir "$work/db" "$work/derived/osv" >&2
source="oci-dir:${fixture%/}/oci-gzip"
tag=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['manifests'][0]['annotations']['org.opencontainers.image.ref.name'])" "${fixture%/}/oci-gzip/index.json")
patch() { "$DRYDOCK_BIN" patch "$source" --db-dir "$work/db" --cache-dir "$bench_cache/packages" -o "oci-dir:$work/patched-$1" >/dev/null 2>"$work/patch.log"; }
echo "warming the package cache" >&2
patch warm
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
patch_times=() copy_times=()
for i in $(seq "$runs"); do
  t0=$(now); patch "$i"; t1=$(now)
  patch_times+=("$(echo "$t1 - $t0" | bc)")
  t0=$(now); skopeo copy -q "oci:${fixture%/}/oci-gzip:$tag" "oci:$work/copy-$i:latest" >/dev/null; t1=$(now)
  copy_times+=("$(echo "$t1 - $t0" | bc)")
done
p=$(printf '%s\n' "${patch_times[@]}" | median)
c=$(printf '%s\n' "${copy_times[@]}" | median)
/usr/bin/time -v "$DRYDOCK_BIN" patch "$source" --db-dir "$work/db" --cache-dir "$bench_cache/packages" -o "oci-dir:$work/patched-rss" >/dev/null 2>"$work/time.log"
rss=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$work/time.log")
packages=$(grep -c '^patched ' "$work/patch.log" || true)
printf 'patch (warm cache, %s packages): %.2f s   skopeo copy: %.2f s   ratio: %.1fx   drydock peak RSS: %d MiB\n' \
  "$packages" "$p" "$c" "$(echo "$p / $c" | bc -l)" "$((rss / 1024))"

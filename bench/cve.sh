#!/usr/bin/env bash
# The CVE-record import benchmark: `drydock db import` of NVD CVE API 2.0
# pages and CVE JSON 5 records (severity enrichment), beside the import of
# the same number of OSV records in the same run, with peak RSS.
#
#   cve:   `drydock db import` of COUNT NVD records (API 2.0 response pages
#          of 2,000, as the API serves them) and COUNT CVE JSON 5 records (a
#          cvelistV5-shaped zip, `cves/<year>/<n>xxx/CVE-….json`): 2 x COUNT
#          records, records/s over the whole command's wall time (read,
#          inflate, parse, recompute every CVSS score, merge, write and fsync
#          the database). Target: >= 20,000 records/s, as for OSV.
#   osv:   `drydock db import` of COUNT OSV records (an `all.zip`) — the
#          baseline measured in the same run; the ratio cve/osv is printed.
#   python: Python's `json.loads` of the same CVE inputs (no merge, no
#          write), for a second ratio.
#
# THE DATA IS SYNTHETIC BY REPLICATION (built once, cached under
# .cache/bench/cve-<hash of this script>/): the 60 real NVD records and the
# 60 real CVE JSON 5 records of ../shared/data/{nvd,cve} copied with
# distinct ids (`CVE-2090-NNNNNNN`), shapes (metrics, weaknesses,
# references, containers, text) unchanged; the real PyPI OSV records copied
# the same way (`PYSEC-2090-N`, package `name-rK`).
#
# usage: bench/cve.sh [RUNS]   (RUNS, default 3: timed runs per command; median)
# env:   DRYDOCK_BIN a prebuilt drydock (default: cargo build --release)
#        COUNT (default 100000)
# Needs: cargo, python3, GNU time (/usr/bin/time).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-3}
count=${COUNT:-100000}
shared=$root/../shared/data
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 2; }

if [ ! -x /usr/bin/time ]; then
  [ "$(id -u)" = 0 ] || die "needs GNU time at /usr/bin/time (apt-get install time)"
  say "installing GNU time"
  apt-get install -y -qq time >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
fi
command -v python3 >/dev/null || die "needs \`python3\`"
[ -d "$shared/nvd" ] && [ -d "$shared/cve" ] || die "no NVD/CVE data in $shared"

if [ -n "${DRYDOCK_BIN:-}" ]; then
  drydock=$DRYDOCK_BIN
else
  say "building drydock (cargo build --release -p drydock-cli)"
  (cd "$root" && cargo build --release -q -p drydock-cli)
  drydock=$root/target/release/drydock
fi
[ -x "$drydock" ] || die "no drydock binary at $drydock"

key=$( { cat "$0"; echo "$count"; } | sha256sum | cut -c1-16)
data=$root/.cache/bench/cve-$key
if [ ! -f "$data/.complete" ]; then
  say "generating the synthetic data into $data (once)"
  rm -rf "$data"
  mkdir -p "$data/nvd"
  python3 - "$shared" "$data" "$count" <<'PY'
import glob, json, os, sys, zipfile
shared, out, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
nvd = [json.load(open(p)) for p in sorted(glob.glob(f"{shared}/nvd/*.json"))]
cve = [json.load(open(p)) for p in sorted(glob.glob(f"{shared}/cve/*.json"))]
osv = [json.load(open(p)) for p in sorted(glob.glob(f"{shared}/osv/PyPI/*.json"))]
ids = [f"CVE-2090-{n:07d}" for n in range(count)]
page, pages = [], 0
def flush():
    global page, pages
    if page:
        body = {"resultsPerPage": len(page), "startIndex": pages * 2000, "totalResults": count,
                "format": "NVD_CVE", "version": "2.0", "timestamp": "2090-01-01T00:00:00.000",
                "vulnerabilities": page}
        with open(f"{out}/nvd/page-{pages:04d}.json", "w") as f:
            json.dump(body, f)
        pages += 1
        page = []
for n, cve_id in enumerate(ids):
    record = dict(nvd[n % len(nvd)]); record["id"] = cve_id
    page.append({"cve": record})
    if len(page) == 2000:
        flush()
flush()
with zipfile.ZipFile(f"{out}/cvelist.zip", "w", zipfile.ZIP_DEFLATED) as z:
    for n, cve_id in enumerate(ids):
        record = json.loads(json.dumps(cve[n % len(cve)]))
        record["cveMetadata"]["cveId"] = cve_id
        z.writestr(f"cves/2090/{n // 1000}xxx/{cve_id}.json", json.dumps(record))
with zipfile.ZipFile(f"{out}/osv-all.zip", "w", zipfile.ZIP_DEFLATED) as z:
    for n in range(count):
        record = json.loads(json.dumps(osv[n % len(osv)]))
        record["id"] = f"PYSEC-2090-{n}"
        record["aliases"] = []
        for affected in record.get("affected") or []:
            affected["package"]["name"] += f"-r{n // len(osv)}"
        z.writestr(f"PYSEC-2090-{n}.json", json.dumps(record))
PY
  touch "$data/.complete"
fi
cve_inputs=("$data/nvd" "$data/cvelist.zip")

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# import INPUTS... → "seconds rss_kb" (median seconds, max RSS)
measure() {
  local name=$1; shift
  : >"$work/$name.times"; : >"$work/$name.rss"
  for run in $(seq "$runs"); do
    rm -rf "$work/db"
    /usr/bin/time -f '%e %M' -o "$work/one" "$drydock" db import --db-dir "$work/db" "$@" >"$work/$name.out" 2>&1 \
      || { cat "$work/$name.out" >&2; die "db import ($name) failed"; }
    read -r seconds rss <"$work/one"
    echo "$seconds" >>"$work/$name.times"; echo "$rss" >>"$work/$name.rss"
    if [ "$run" = 1 ]; then say "$name: $(tr '\n' ' ' <"$work/$name.out")"; fi
  done
  echo "$(median <"$work/$name.times") $(sort -n "$work/$name.rss" | tail -n1)"
}

read -r osv_s osv_rss <<<"$(measure osv "$data/osv-all.zip")"
read -r cve_s cve_rss <<<"$(measure cve "${cve_inputs[@]}")"
grep -q "CVE records: $((2 * count)) read" "$work/cve.out" || { cat "$work/cve.out" >&2; die "unexpected CVE import report"; }

cat >"$work/baseline.py" <<'PY'
import glob, json, sys, zipfile
n = 0
for page in sorted(glob.glob(sys.argv[1] + "/*.json")):
    n += len(json.load(open(page))["vulnerabilities"])
with zipfile.ZipFile(sys.argv[2]) as z:
    for name in z.namelist():
        json.loads(z.read(name)); n += 1
print(n)
PY
: >"$work/baseline.times"
for _ in $(seq "$runs"); do
  /usr/bin/time -f '%e %M' -o "$work/one" python3 "$work/baseline.py" "${cve_inputs[@]}" >/dev/null
  cut -d' ' -f1 "$work/one" >>"$work/baseline.times"
done
baseline=$(median <"$work/baseline.times")

awk -v n="$count" -v c="$cve_s" -v o="$osv_s" -v b="$baseline" -v crss="$cve_rss" -v orss="$osv_rss" 'BEGIN {
  cve_rate = 2 * n / c; osv_rate = n / o
  printf "cve import: %d records (%d NVD + %d CVE JSON 5) in %.2fs = %.0f records/s (target >= 20000) %s; peak RSS %.0f MB\n",
    2 * n, n, n, c, cve_rate, (cve_rate >= 20000) ? "OK" : "MISS", crss / 1024
  printf "osv import: %d records in %.2fs = %.0f records/s; peak RSS %.0f MB\n", n, o, osv_rate, orss / 1024
  printf "ratio: cve records/s / osv records/s = %.2f; python json.loads of the CVE inputs %.2fs = %.0f records/s (drydock/python time ratio %.2f)\n",
    cve_rate / osv_rate, b, 2 * n / b, c / b }'
echo "data: synthetic by replication (the 60 real NVD and 60 real CVE JSON 5 records of ../shared/data x $count ids each; the real PyPI OSV records x $((count / 2661 + 1))); median of $runs runs"

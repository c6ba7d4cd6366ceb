#!/usr/bin/env bash
# The vulnerability-scan benchmark: `drydock db import` throughput, the match
# phase of `drydock scan` and a scan's peak RSS, on a database of more than
# 200,000 OSV records and a 2,000-package SBOM.
#
#   import: `drydock db import` of every record (OSV `all.zip` archives, one
#           per ecosystem), records/s over the whole command's wall time
#           (read, inflate, parse, merge, write and fsync the database).
#           Target: >= 20,000 records/s. Baseline in the same run: Python's
#           `zipfile` + `json.loads` of the same archives (no merge, no
#           write), for a ratio.
#   match:  the `match` phase of `drydock scan sbom:SBOM` (DRYDOCK_TIMINGS=1
#           prints each phase to stderr): every lookup of the 2,000 packages,
#           including loading the database shards they need. Target: < 100 ms.
#   scan:   wall time and peak RSS (GNU time) of the whole scan. Reported.
#   import at scale: `drydock db import` of >= 1,000,000 records (the data
#           below replicated again), records/s and peak RSS. Targets: >=
#           20,000 records/s, <= 256 MB; and a kill -9 halfway through leaves
#           the previous database readable with its record count. MILLION=0
#           skips it; MILLION_RECORDS (default 1000000); the generated zips
#           are removed at the end unless MILLION_KEEP=1.
#
# THE DATA IS SYNTHETIC BY REPLICATION (built once, cached under
# .cache/bench/scan-<hash of this script>/):
#   - language records: every real OSV record in ../shared/data/osv (PyPI,
#     npm, crates.io, Go: about 8,600) copied REPLICAS times with distinct
#     ids, aliases and package names (`name-rK`, Go `module/rK`), shapes
#     (ranges, versions lists, severity, references, text) unchanged;
#   - Debian records: `DEBIAN-CVE-2090-NNNNNN`, OSV `Debian:12` records in
#     osv.dev's DEBIAN-CVE shape (upstream CVE, one affected source package,
#     ECOSYSTEM range introduced 0 + fixed, or no fix) for DEBIAN_SOURCES
#     real bookworm source package names (from `apt-cache dumpavail`),
#     DEBIAN_PER_SOURCE records each, details text borrowed from real records;
#   - the SBOM (CycloneDX 1.6 JSON): 1,000 deb packages (real bookworm
#     binaries with their `upstream` source qualifier) and 1,000 language
#     packages (PyPI, npm, crates.io, Go): package names drawn uniformly from
#     the replicated records' names, each at a version inside an affected
#     range of one of its records, so that every lookup finds records and the
#     scan has real work and findings.
#
# usage: bench/scan.sh [RUNS]   (RUNS, default 3: timed runs per command; the
#                                median is reported, after one warm-up scan)
# env:   DRYDOCK_BIN  a prebuilt drydock (default: cargo build --release)
#        REPLICAS (default 22), DEBIAN_SOURCES (default 5000),
#        DEBIAN_PER_SOURCE (default 8)
# Needs: cargo, python3, apt-cache (bookworm lists), GNU time (/usr/bin/time).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-3}
replicas=${REPLICAS:-22}
debian_sources=${DEBIAN_SOURCES:-5000}
debian_per_source=${DEBIAN_PER_SOURCE:-8}
osv=$root/../shared/data/osv
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 2; }

if [ ! -x /usr/bin/time ]; then
  [ "$(id -u)" = 0 ] || die "needs GNU time at /usr/bin/time (apt-get install time)"
  say "installing GNU time"
  apt-get install -y -qq time >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
fi
for tool in python3 apt-cache sha256sum; do
  command -v "$tool" >/dev/null || die "needs \`$tool\`"
done
[ -d "$osv/PyPI" ] || die "no OSV data in $osv"

if [ -n "${DRYDOCK_BIN:-}" ]; then
  drydock=$DRYDOCK_BIN
else
  say "building drydock (cargo build --release -p drydock-cli)"
  (cd "$root" && cargo build --release -q -p drydock-cli)
  drydock=$root/target/release/drydock
fi
[ -x "$drydock" ] || die "no drydock binary at $drydock"

# --- the data (cached) -------------------------------------------------------
key=$( { cat "$0"; echo "$replicas $debian_sources $debian_per_source"; } | sha256sum | cut -c1-16)
data=$root/.cache/bench/scan-$key
if [ ! -f "$data/.complete" ]; then
  say "generating the synthetic data into $data (once)"
  rm -rf "$data" "$data.partial"
  mkdir -p "$data.partial"
  apt-cache dumpavail >"$work/dumpavail"
  python3 - "$osv" "$work/dumpavail" "$data.partial" "$replicas" "$debian_sources" "$debian_per_source" <<'EOF'
import glob, json, os, random, re, sys, urllib.parse, zipfile

osv, dumpavail, out, replicas, debian_sources, per_source = sys.argv[1:7]
replicas, debian_sources, per_source = int(replicas), int(debian_sources), int(per_source)
rng = random.Random(20240501)
TYPES = {"PyPI": "pypi", "npm": "npm", "crates.io": "cargo", "Go": "golang"}

def rename(ecosystem, name, k):
    return f"{name}/r{k}" if ecosystem == "Go" else f"{name}-r{k}"

def quote(text):
    return urllib.parse.quote(text, safe="")

def purl(ecosystem, name, version):
    ty = TYPES[ecosystem]
    if ecosystem == "Go":
        version = "v" + version
    *namespace, last = name.split("/")
    path = "/".join(quote(part) for part in namespace + [last])
    return f"pkg:{ty}/{path}@{quote(version)}"

def affected_version(affected):
    """A version inside the entry's affected set, or None."""
    versions = affected.get("versions") or []
    if versions:
        return versions[len(versions) // 2]
    for r in affected.get("ranges", []):
        if r.get("type") == "GIT":
            continue
        events = r.get("events", [])
        if any("limit" in e for e in events):
            continue
        intro = [e["introduced"] for e in events if "introduced" in e]
        if intro and intro[0] != "0":
            return intro[0]
        if intro == ["0"]:
            return "0.0.0"
    return None

details = []
records = 0
candidates = {}  # (ecosystem, renamed package) -> a version inside an affected range
for ecosystem in TYPES:
    archive = zipfile.ZipFile(os.path.join(out, f"{ecosystem}-all.zip"), "w", zipfile.ZIP_DEFLATED)
    for path in sorted(glob.glob(os.path.join(osv, ecosystem, "*.json"))):
        text = open(path, encoding="utf-8").read()
        record = json.loads(text)
        if record.get("details"):
            details.append(record["details"][:2000])
        for k in range(replicas):
            copy = json.loads(text)
            copy["id"] = f"{record['id']}-R{k}"
            for field in ("aliases", "upstream", "related"):
                if copy.get(field):
                    copy[field] = [f"{alias}-R{k}" for alias in copy[field]]
            for affected in copy.get("affected", []):
                package = affected["package"]
                package["name"] = rename(ecosystem, package["name"], k)
                package.pop("purl", None)
                if not copy.get("withdrawn"):
                    version = affected_version(affected)
                    if version is not None:
                        candidates.setdefault((ecosystem, package["name"]), version)
            archive.writestr(f"{copy['id']}.json", json.dumps(copy, indent=2))
            records += 1
    archive.close()
language_records = records

# Debian: real bookworm source and binary names.
binaries = {}
for stanza in open(dumpavail, encoding="utf-8", errors="replace").read().split("\n\n"):
    fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", stanza, re.M))
    if "Package" not in fields or fields.get("Architecture") not in ("amd64", "all"):
        continue
    source, source_version = fields.get("Source", fields["Package"]), fields["Version"]
    m = re.fullmatch(r"(\S+) \((\S+)\)", source)
    if m:
        source, source_version = m.group(1), m.group(2)
    binaries.setdefault(source, (fields["Package"], fields["Version"], fields["Architecture"], source_version))
sources = sorted(binaries)
rng.shuffle(sources)
sources = sources[:debian_sources]
archive = zipfile.ZipFile(os.path.join(out, "Debian-all.zip"), "w", zipfile.ZIP_DEFLATED)
number = 0
for source in sources:
    installed = binaries[source][3]
    for _ in range(per_source):
        number += 1
        cve = f"CVE-2090-{number:06d}"
        kind = number % 3
        events = [{"introduced": "0"}]
        if kind == 0:
            events.append({"fixed": installed + "+deb12u99"})   # above: affected
        elif kind == 1:
            events.append({"fixed": installed + "~bench1"})     # below: already fixed
        record = {
            "schema_version": "1.6.0",
            "id": f"DEBIAN-{cve}",
            "upstream": [cve],
            "modified": "2024-05-01T00:00:00Z",
            "published": "2024-04-01T00:00:00Z",
            "details": rng.choice(details),
            "affected": [{
                "package": {"ecosystem": "Debian:12", "name": source},
                "ranges": [{"type": "ECOSYSTEM", "events": events}],
                "database_specific": {"urgency": rng.choice(["low", "medium", "high", "not yet assigned"])},
            }],
            "references": [{"type": "ADVISORY", "url": f"https://security-tracker.debian.org/tracker/{cve}"}],
        }
        archive.writestr(f"DEBIAN-{cve}.json", json.dumps(record, indent=2))
        records += 1
archive.close()

# The SBOM: 1,000 deb packages, 1,000 language packages.
components = [{"type": "operating-system", "name": "debian", "version": "12"}]
for source in sources[:1000]:
    package, version, arch, source_version = binaries[source]
    upstream = quote(f"{source}@{source_version}")
    components.append({
        "type": "library", "name": package, "version": version,
        "purl": f"pkg:deb/debian/{quote(package)}@{quote(version)}?arch={arch}&distro=debian-12&upstream={upstream}",
    })
# Package names drawn uniformly (not weighted by their record count).
for ecosystem, name in rng.sample(sorted(candidates), 2001 - len(components)):
    version = candidates[(ecosystem, name)]
    components.append({"type": "library", "name": name, "version": version,
                       "purl": purl(ecosystem, name, version)})
bom = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1, "components": components}
json.dump(bom, open(os.path.join(out, "sbom.cdx.json"), "w"))
with open(os.path.join(out, "counts"), "w") as f:
    f.write(f"{records} {language_records} {records - language_records} {len(components) - 1}\n")
EOF
  touch "$data.partial/.complete"
  mv "$data.partial" "$data"
  # Data of other versions of this script is large: drop it.
  for old in "$root"/.cache/bench/scan-*; do
    [ "$old" = "$data" ] || rm -rf "$old"
  done
fi
read -r records language_records debian_records packages <"$data/counts"
zips=("$data"/*-all.zip)
say "data: $records records ($language_records replicated language records, $debian_records Debian), $packages SBOM packages, $(du -scm "${zips[@]}" | tail -n1 | cut -f1) MB of zips"

# --- measuring ---------------------------------------------------------------
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

# Baseline: inflate and parse every record in Python (no merge, no write).
cat >"$work/baseline.py" <<'EOF'
import json, sys, zipfile
n = 0
for path in sys.argv[1:]:
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            json.loads(archive.read(name))
            n += 1
print(n)
EOF
: >"$work/baseline.times"
for _ in $(seq "$runs"); do
  /usr/bin/time -f '%e %M' -o "$work/one" python3 "$work/baseline.py" "${zips[@]}" >/dev/null
  tail -n1 "$work/one" | cut -d' ' -f1 >>"$work/baseline.times"
done
baseline=$(median <"$work/baseline.times")

: >"$work/import.times"
: >"$work/import.rss"
for run in $(seq "$runs"); do
  rm -rf "$work/db"
  /usr/bin/time -f '%e %M' -o "$work/one" "$drydock" db import --db-dir "$work/db" "${zips[@]}" >"$work/import.out" 2>&1 \
    || { cat "$work/import.out" >&2; die "db import failed"; }
  read -r seconds rss <"$work/one"
  echo "$seconds" >>"$work/import.times"
  echo "$rss" >>"$work/import.rss"
  if [ "$run" = 1 ]; then say "import: $(head -n1 "$work/import.out")"; fi
done
import_s=$(median <"$work/import.times")
import_rss=$(sort -n "$work/import.rss" | tail -n1)

# --- import at scale: >= 1,000,000 records -----------------------------------
# The data above replicated again (ids `…-M<k>`, package names `…-m<k>`)
# until there are at least MILLION_RECORDS records, in one zip per source
# zip; cached next to it and removed at the end unless MILLION_KEEP=1. One
# timed import into an empty database (records/s over the command's wall
# time, peak RSS), then the same import killed with SIGKILL at half its time
# over a database holding the base data: the database must still open with
# the previous record count.
million_line=""
if [ "${MILLION:-1}" != 0 ]; then
  million_records=${MILLION_RECORDS:-1000000}
  million=$data/million-$million_records
  if [ ! -f "$million/.complete" ]; then
    say "generating >= $million_records records into $million (once)"
    rm -rf "$million"
    mkdir -p "$million.partial"
    python3 - "$million.partial" "$million_records" "${zips[@]}" <<'PY'
import json, math, os, sys, zipfile
out, wanted, sources = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
total = sum(len(zipfile.ZipFile(p).namelist()) for p in sources)
copies = max(1, math.ceil(wanted / total))
written = 0
for path in sources:
    src = zipfile.ZipFile(path)
    dst = zipfile.ZipFile(os.path.join(out, "M-" + os.path.basename(path)), "w", zipfile.ZIP_DEFLATED)
    for name in src.namelist():
        text = src.read(name)
        for k in range(copies):
            record = json.loads(text)
            record["id"] = f"{record['id']}-M{k}"
            for affected in record.get("affected", []):
                package = affected["package"]
                package["name"] = f"{package['name']}-m{k}"
            dst.writestr(f"{record['id']}.json", json.dumps(record))
            written += 1
    dst.close()
open(os.path.join(out, "count"), "w").write(f"{written}\n")
PY
    touch "$million.partial/.complete"
    mv "$million.partial" "$million"
  fi
  million_count=$(cat "$million/count")
  million_zips=("$million"/M-*.zip)
  say "import at scale: $million_count records, $(du -scm "${million_zips[@]}" | tail -n1 | cut -f1) MB of zips"
  rm -rf "$work/db-million"
  /usr/bin/time -f '%e %M' -o "$work/one" "$drydock" db import --db-dir "$work/db-million" "${million_zips[@]}" >"$work/million.out" 2>&1 \
    || { cat "$work/million.out" >&2; die "db import of $million_count records failed"; }
  read -r million_s million_rss <"$work/one"
  rm -rf "$work/db-million"

  # kill -9 halfway through the same import over the base database.
  rm -rf "$work/db-kill"
  "$drydock" db import --db-dir "$work/db-kill" "${zips[@]}" >/dev/null 2>&1 || die "db import of the base data failed"
  count_records() { "$drydock" db status --db-dir "$1" -f json | python3 -c 'import json,sys; print(sum(s["records"] for s in json.load(sys.stdin)["sources"]))'; }
  before=$(count_records "$work/db-kill")
  "$drydock" db import --db-dir "$work/db-kill" "${million_zips[@]}" >/dev/null 2>&1 &
  pid=$!
  sleep "$(awk -v s="$million_s" 'BEGIN {printf "%.1f", s / 2}')"
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid"
    wait "$pid" 2>/dev/null || true
    after=$(count_records "$work/db-kill" 2>/dev/null || echo "unreadable")
    kill_verdict=$([ "$after" = "$before" ] && echo OK || echo MISS)
    kill_line="kill -9 at half the import: the database opens with ${after} records (before: ${before}) ${kill_verdict}"
  else
    wait "$pid" || true
    kill_line="kill -9: the import finished before half its measured time; not checked"
  fi
  rm -rf "$work/db-kill"
  if [ "${MILLION_KEEP:-0}" != 1 ]; then rm -rf "$million"; fi
  million_line=$(awk -v n="$million_count" -v t="$million_s" -v rss="$million_rss" 'BEGIN {
    rate = n / t; mb = rss / 1024
    printf "import at scale: %d records in %.1fs = %.0f records/s (target >= 20000) %s; peak RSS %.0f MB (target <= 256) %s",
      n, t, rate, (rate >= 20000) ? "OK" : "MISS", mb, (mb <= 256) ? "OK" : "MISS" }')
  million_line="$million_line
$kill_line"
fi

# Scans: one warm-up, then timed runs; the match phase from DRYDOCK_TIMINGS.
scan() {
  DRYDOCK_TIMINGS=1 /usr/bin/time -f '%e %M' -o "$work/one" \
    "$drydock" scan "sbom:$data/sbom.cdx.json" --db-dir "$work/db" -f json -o "$work/scan.json" 2>"$work/scan.err" \
    || { cat "$work/scan.err" >&2; die "scan failed"; }
}
scan
: >"$work/scan.times"; : >"$work/match.times"; : >"$work/open.times"; : >"$work/scan.rss"
for _ in $(seq "$runs"); do
  scan
  read -r seconds rss <"$work/one"
  echo "$seconds" >>"$work/scan.times"
  echo "$rss" >>"$work/scan.rss"
  awk '$3 == "match" {print $4}' "$work/scan.err" >>"$work/match.times"
  awk '$3 == "open-database" {print $4}' "$work/scan.err" >>"$work/open.times"
done
grep -q . "$work/match.times" || { cat "$work/scan.err" >&2; die "no match timing in the scan's stderr (DRYDOCK_TIMINGS)"; }
match_ms=$(median <"$work/match.times")
open_ms=$(median <"$work/open.times")
scan_s=$(median <"$work/scan.times")
scan_rss=$(sort -n "$work/scan.rss" | tail -n1)
findings=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["findings"]), sum(1 for p in d["packages"] if p.get("ecosystem")))' "$work/scan.json")
read -r finding_count looked_up <<<"$findings"

awk -v n="$records" -v t="$import_s" -v b="$baseline" -v rss="$import_rss" 'BEGIN {
  rate = n / t; base = n / b
  printf "import: %d records in %.2fs = %.0f records/s (target >= 20000) %s; python zipfile+json.loads %.2fs = %.0f records/s, ratio %.2f; peak RSS %.0f MB\n",
    n, t, rate, (rate >= 20000) ? "OK" : "MISS", b, base, t / b, rss / 1024 }'
awk -v m="$match_ms" -v o="$open_ms" -v p="$packages" -v l="$looked_up" -v f="$finding_count" 'BEGIN {
  printf "match: %.1f ms for %d packages (%d looked up, %d findings) (target < 100 ms) %s; open-database %.1f ms\n",
    m, p, l, f, (m < 100) ? "OK" : "MISS", o }'
awk -v s="$scan_s" -v rss="$scan_rss" 'BEGIN { printf "scan: wall %.2fs, peak RSS %.1f MB\n", s, rss / 1024 }'
[ -z "$million_line" ] || echo "$million_line"
echo "data: synthetic by replication ($language_records language records = the real OSV records x $replicas, $debian_records Debian records over real bookworm source names); median of $runs runs"

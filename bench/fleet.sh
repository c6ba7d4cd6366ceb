#!/usr/bin/env bash
# The fleet benchmark: a store of IMAGES images (default 10,000) of about
# PER_IMAGE packages each (default 300), re-matched after a database update,
# and queried.
#
#   populate: the store filled by crates/drydock-store/examples/fleet_populate.rs
#             from real shapes: the OS packages of the Debian test image
#             (drydock's SBOM of the fixture built by the tests; 20 base
#             variants), language packages drawn (popular ones more often)
#             from the real package names of the OSV data in
#             ../shared/data/osv (PyPI, npm, crates.io, Go), each at its
#             newest fixed version, one name in three also at an affected
#             version. Reported: time, store size per image.
#   rematch:  `drydock db import` of a second data set (the tenth of the PyPI
#             records held back from the first import, and the Go records;
#             then PyPI again, which changes nothing) triggers the re-match of
#             every stored SBOM. Target:
#             < 10 s on the embedded store, 2 cores. Baseline in the same run:
#             `drydock scan` of ONE image's SBOM (the per-image cost a
#             tool that re-scans every image pays), times IMAGES, as a ratio.
#   query:    `drydock fleet findings --vuln ID` for the vulnerability with the
#             most findings. Target: < 100 ms.
#   rss:      peak RSS of the re-match and the query (GNU time).
#   workers:  on a throwaway PostgreSQL cluster (pg_virtualenv), a store of
#             PG_IMAGES images (default 2,000) re-matched by `drydock worker`
#             processes from the job queue: 1 worker vs 2 workers on two
#             copies of the same store (CREATE DATABASE … TEMPLATE), as a
#             ratio of wall times. Skipped without pg_virtualenv.
#
# usage: bench/fleet.sh     env: IMAGES, PER_IMAGE, DRYDOCK_BIN (prebuilt release drydock)
# Needs: cargo, python3, GNU time, the Debian fixture (run the tests once, or
#        `cargo nextest run -p drydock-test`).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
images=${IMAGES:-10000}
pg_images=${PG_IMAGES:-2000}
per_image=${PER_IMAGE:-300}
osv=$root/../shared/data/osv
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 2; }

[ -x /usr/bin/time ] || die "needs GNU time at /usr/bin/time (apt-get install time)"
fixture=$(ls -d "$root"/.cache/fixtures/debian-*/oci-gzip 2>/dev/null | head -1 || true)
[ -n "$fixture" ] || die "no Debian fixture under .cache/fixtures: run \`cargo nextest run -p drydock-test\` first"

say "building (release)"
(cd "$root" && cargo build --release -q -p drydock-cli && cargo build --release -q -p drydock-store --example fleet_populate)
target=${CARGO_TARGET_DIR:-$root/target}
drydock=${DRYDOCK_BIN:-$target/release/drydock}
populate=$target/release/examples/fleet_populate

export DRYDOCK_DB_DIR=$work/db
export DRYDOCK_STORE=sqlite:$work/fleet.db
export HOME=$work

"$drydock" sbom "oci-dir:$fixture" -f json -o "$work/base.json"
python3 "$root/bench/fleet-pool.py" "$osv" "$work/pool.tsv"

# The first data set holds nine PyPI records in ten (npm and crates.io whole):
# the update below brings the tenth, so the re-match opens real findings.
say "importing the first data set (9/10 of PyPI, npm, crates.io)"
mkdir "$work/pypi-first"
n=0
for record in "$osv/PyPI"/*.json; do
  n=$((n + 1))
  [ $((n % 10)) -eq 0 ] || cp "$record" "$work/pypi-first/"
done
"$drydock" db import "$work/pypi-first" "$osv/npm" "$osv/crates.io" >/dev/null

say "populating $images images x ~$per_image packages"
start=$(date +%s.%N)
"$populate" "$DRYDOCK_STORE" "$work/base.json" "$work/pool.tsv" "$images" "$per_image" 7
populate_s=$(python3 -c "import time;print(f'{time.time()-$start:.1f}')")
say "initial match (opens every finding)"
/usr/bin/time -f '%e %M' -o "$work/initial.time" "$drydock" fleet rematch >/dev/null
db_bytes=$(stat -c %s "$work/fleet.db")
wal=$(stat -c %s "$work/fleet.db-wal" 2>/dev/null || echo 0)
"$drydock" fleet status > "$work/status.txt"

say "database update: the other PyPI records and the Go records -> automatic re-match"
/usr/bin/time -f '%e %M' -o "$work/update.time" "$drydock" db import "$osv/PyPI" "$osv/Go" > "$work/update.txt"
say "database update: the same PyPI data again -> re-match, nothing changes"
/usr/bin/time -f '%e %M' -o "$work/same.time" "$drydock" db import "$osv/PyPI" > "$work/same.txt"
# Time the re-match alone (the import's own time excluded).
/usr/bin/time -f '%e %M' -o "$work/rematch.time" "$drydock" fleet rematch > "$work/rematch.txt"

# Baseline: one image scanned on its own, times the fleet.
"$drydock" sbom "oci-dir:$fixture" -f json -o "$work/one.json" >/dev/null
python3 - "$work/one.json" "$work/pool.tsv" "$per_image" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1])); pool = open(sys.argv[2]).read().splitlines()
need = int(sys.argv[3]) - len(doc["packages"])
for line in pool[:max(need, 0)]:
    purl, name, version = line.split("\t")
    kind = purl.split(":")[1].split("/")[0]
    doc["packages"].append({"name": name, "version": version, "type": kind, "purl": purl, "locations": [{"path": f"/app/{name}/package.json"}]})
json.dump(doc, open(sys.argv[1], "w"))
EOF
# GNU time counts in hundredths: time 20 scans and divide.
/usr/bin/time -f '%e %M' -o "$work/one.time" bash -c 'for i in $(seq 20); do "$1" scan "sbom:$2" -f json -o /dev/null 2>/dev/null || true; done' _ "$drydock" "$work/one.json"

vuln=$("$drydock" fleet findings -f json --limit 200000 | python3 -c "
import json,sys,collections
c=collections.Counter(f['id'] for f in json.load(sys.stdin)); print(c.most_common(1)[0][0])")
count=$("$drydock" fleet findings --vuln "$vuln" -f json | python3 -c "import json,sys;print(len(json.load(sys.stdin)))")
best=999999
for run in 1 2 3 4 5; do
  /usr/bin/time -f '%e %M' -o "$work/query.time" "$drydock" fleet findings --vuln "$vuln" -f json >/dev/null
  t=$(tail -1 "$work/query.time" | cut -d' ' -f1)
  best=$(python3 -c "print(min($best, $t))")
done
query_rss=$(tail -1 "$work/query.time" | cut -d' ' -f2)
# The first page only (what `drydock serve` and a terminal user read first).
page_best=999999
for run in 1 2 3 4 5; do
  /usr/bin/time -f '%e %M' -o "$work/page.time" "$drydock" fleet findings --vuln "$vuln" --limit 50 -f json >/dev/null
  t=$(tail -1 "$work/page.time" | cut -d' ' -f1)
  page_best=$(python3 -c "print(min($page_best, $t))")
done
table_best=999999
for run in 1 2 3; do
  /usr/bin/time -f '%e %M' -o "$work/qt.time" "$drydock" fleet findings --vuln "$vuln" >/dev/null
  t=$(tail -1 "$work/qt.time" | cut -d' ' -f1)
  table_best=$(python3 -c "print(min($table_best, $t))")
done

read -r initial_s initial_kb < <(tail -1 "$work/initial.time")
read -r update_s update_kb < <(tail -1 "$work/update.time")
read -r same_s same_kb < <(tail -1 "$work/same.time")
read -r rematch_s rematch_kb < <(tail -1 "$work/rematch.time")
read -r twenty_s one_kb < <(tail -1 "$work/one.time")
one_s=$(python3 -c "print($twenty_s / 20)")
echo "fleet benchmark: $images images, ~$per_image packages each"
sed 's/^/  store: /' "$work/status.txt"
echo "  populate: ${populate_s} s; store on disk $(( (db_bytes + wal) / 1024 / 1024 )) MiB = $(( (db_bytes + wal) / images )) bytes per image"
echo "  initial match: ${initial_s} s, peak RSS $((initial_kb / 1024)) MiB"
echo "  db import of the other PyPI records and Go (+ re-match): ${update_s} s, peak RSS $((update_kb / 1024)) MiB; $(tail -1 "$work/update.txt")"
echo "  db import PyPI again (+ re-match): ${same_s} s; $(tail -1 "$work/same.txt")"
echo "  fleet rematch alone: ${rematch_s} s (target < 10 s), peak RSS $((rematch_kb / 1024)) MiB"
python3 -c "print(f'  baseline: scan of one {$per_image}-package SBOM {$one_s} s x $images images = {$one_s*$images:.0f} s; re-match ratio {$rematch_s/($one_s*$images):.4f}')"
echo "  fleet findings --vuln $vuln ($count findings, JSON): best of 5 ${best} s (target < 0.1 s), peak RSS $((query_rss / 1024)) MiB; table: ${table_best} s; first page (--limit 50, JSON): $(python3 -c "print('< 0.01' if $page_best == 0 else $page_best)") s"

if ! command -v pg_virtualenv >/dev/null; then
  echo "  workers: skipped (no pg_virtualenv: apt-get install postgresql)"
  exit 0
fi
say "PostgreSQL: $pg_images images, re-matched by 1 and by 2 workers"
cat > "$work/pg.sh" <<EOF
set -euo pipefail
url="postgres://\$PGUSER:\$PGPASSWORD@\$PGHOST:\$PGPORT"
createdb fleet_a
export DRYDOCK_STORE="\$url/fleet_a"
"$populate" "\$url/fleet_a" "$work/base.json" "$work/pool.tsv" "$pg_images" "$per_image" 9 2>/dev/null
"$drydock" fleet workers on 2>/dev/null
createdb -T fleet_a fleet_b
run() { # DB WORKERS
  export DRYDOCK_STORE="\$url/\$1"
  "$drydock" fleet rematch >/dev/null
  start=\$(date +%s.%N)
  for i in \$(seq 1 \$2); do "$drydock" worker --once --poll-ms 20 --name "w\$i" 2>/dev/null & done
  wait
  python3 -c "import time;print(f'{time.time()-\$start:.2f}')"
}
one=\$(run fleet_a 1)
two=\$(run fleet_b 2)
python3 -c "print(f'  workers (PostgreSQL, $pg_images images, first match of every image): 1 worker {\$one} s, 2 workers {\$two} s, ratio 2/1 = {\$two/\$one:.2f}')"
EOF
pg_virtualenv bash "$work/pg.sh" 2>/dev/null | grep '^  workers'

#!/usr/bin/env bash
# The server benchmark: `drydock serve` over the store of bench/fleet.sh
# (IMAGES images, default 10,000, of about PER_IMAGE packages, default 300,
# filled by crates/drydock-store/examples/fleet_populate.rs from the same
# real shapes, then matched), loaded by `wrk` at CONNECTIONS concurrent
# clients (default 50) for DURATION each (default 15s), with a read token:
#
#   GET /api/v1/findings?vuln=ID   the vulnerability with the most findings
#   GET /api/v1/findings?q=TEXT    free text: that vulnerability's package name
#   GET /                          the overview page (HTML)
#   GET /healthz                   baseline measured in the same run: the
#                                  server's floor with no store call
#
# Prints p50/p95/p99, requests/s and non-2xx counts per route, p95 as a ratio
# of the 100 ms target and of the /healthz baseline, the first (cold)
# request of each route, and the server's peak RSS (GNU time).
#
# usage: bench/serve.sh   env: IMAGES, PER_IMAGE, CONNECTIONS, DURATION, DRYDOCK_BIN, POPULATE_BIN,
#        STORE (a store URL filled before, to skip populating; a sqlite: path
#        not filled yet is filled and kept)
# Needs: cargo, python3, GNU time, wrk (apt-get install wrk time), the
#        Debian fixture (run `cargo nextest run -p drydock-test` once).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
images=${IMAGES:-10000}
per_image=${PER_IMAGE:-300}
connections=${CONNECTIONS:-50}
duration=${DURATION:-15s}
osv=$root/../shared/data/osv
work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then
    kill -KILL $(pgrep -P "$server_pid") 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 2; }

[ -x /usr/bin/time ] || die "needs GNU time at /usr/bin/time (apt-get install time)"
command -v wrk >/dev/null || die "needs wrk (apt-get install wrk)"
fixture=$(ls -d "$root"/.cache/fixtures/debian-*/oci-gzip 2>/dev/null | head -1 || true)
[ -n "$fixture" ] || die "no Debian fixture under .cache/fixtures: run \`cargo nextest run -p drydock-test\` first"

target=${CARGO_TARGET_DIR:-$root/target}
if [ -z "${DRYDOCK_BIN:-}" ] || [ -z "${POPULATE_BIN:-}" ]; then
  say "building (release)"
  (cd "$root" && cargo build --release -q -p drydock-cli && cargo build --release -q -p drydock-store --example fleet_populate)
fi
drydock=${DRYDOCK_BIN:-$target/release/drydock}
populate=${POPULATE_BIN:-$target/release/examples/fleet_populate}

export DRYDOCK_DB_DIR=$work/db
export HOME=$work
fill=yes
if [ -n "${STORE:-}" ]; then
  export DRYDOCK_STORE=$STORE
  # A store this script (or bench/fleet.sh) filled before: reuse it. A
  # SQLite file not filled yet (no `.filled` marker beside it) is filled
  # here and kept, so a later run can reuse it.
  case $STORE in
    sqlite:*)
      file=${STORE#sqlite:}
      if [ -e "$file.filled" ]; then fill=; else rm -f "$file" "$file-wal" "$file-shm"; mkdir -p "$(dirname "$file")"; fi
      ;;
    *) fill= ;;
  esac
else
  export DRYDOCK_STORE=sqlite:$work/fleet.db
fi
if [ -n "$fill" ]; then
  "$drydock" sbom "oci-dir:$fixture" -f json -o "$work/base.json"
  python3 "$root/bench/fleet-pool.py" "$osv" "$work/pool.tsv"
  say "importing advisories (PyPI, npm, crates.io)"
  "$drydock" db import "$osv/PyPI" "$osv/npm" "$osv/crates.io" >/dev/null
  say "populating $images images x ~$per_image packages, then matching"
  "$populate" "$DRYDOCK_STORE" "$work/base.json" "$work/pool.tsv" "$images" "$per_image" 7
  "$drydock" fleet rematch >/dev/null
  case $DRYDOCK_STORE in sqlite:*) [ -z "${STORE:-}" ] || touch "${STORE#sqlite:}.filled" ;; esac
fi
"$drydock" fleet status | sed 's/^/  store: /' > "$work/status.txt"

token=$("$drydock" serve token bench --token-file "$work/tokens")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
/usr/bin/time -f '%M' -o "$work/server.rss" \
  "$drydock" serve --listen "127.0.0.1:$port" --token-file "$work/tokens" 2> "$work/server.log" &
server_pid=$!
for _ in $(seq 1 100); do
  curl -sf "$base/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf "$base/readyz" >/dev/null || die "the server did not start: $(cat "$work/server.log")"

auth="Authorization: Bearer $token"
# The vulnerability with the most findings, and its package (the free text).
read -r vuln package < <(curl -sf -H "$auth" "$base/api/v1/vulnerabilities?limit=500" | python3 -c "
import json, sys
rows = json.load(sys.stdin)['vulnerabilities']
top = max(rows, key=lambda r: r['findings'])
print(top['id'], top['packages'][0])")
findings=$(curl -sf -H "$auth" "$base/api/v1/findings?vuln=$vuln&limit=1" | python3 -c "import json,sys; print(json.load(sys.stdin)['total'])")
matches=$(curl -sf -H "$auth" "$base/api/v1/findings?q=$package&limit=1" | python3 -c "import json,sys; print(json.load(sys.stdin)['total'])")

cat > "$work/report.lua" <<'LUA'
done = function(summary, latency, requests)
  local non2xx = summary.errors.status or 0
  io.write(string.format("RESULT %.2f %.2f %.2f %.1f %d %d\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6), summary.requests, non2xx))
end
LUA

measure() { # NAME PATH
  local cold
  cold=$(curl -s -m 60 -o /dev/null -w '%{time_total}' -H "$auth" "$base$2" || echo 0)
  wrk -t2 -c"$connections" -d"$duration" --timeout 10s -H "$auth" -s "$work/report.lua" "$base$2" \
    | awk -v name="$1" -v cold="$cold" '/^RESULT/ { print name, cold * 1000, $2, $3, $4, $5, $6, $7 }'
}
say "wrk: $connections connections, $duration per route"
{
  measure healthz "/healthz"
  measure vuln "/api/v1/findings?vuln=$vuln"
  measure q "/api/v1/findings?q=$package"
  measure overview "/"
} > "$work/results.txt"

# GNU time passes no signal on: stop the server itself, its child.
kill -TERM $(pgrep -P "$server_pid") 2>/dev/null || true
wait "$server_pid" || true
server_pid=
rss_kb=$(grep -E '^[0-9]+$' "$work/server.rss" | tail -1)

echo "serve benchmark: $images images, ~$per_image packages each; wrk $connections connections x $duration per route, 2 threads"
cat "$work/status.txt"
python3 - "$work/results.txt" "$vuln" "$findings" "$package" "$matches" "$rss_kb" <<'EOF'
import sys
path, vuln, findings, package, matches, rss_kb = sys.argv[1:]
rows = {}
for line in open(path):
    name, cold, p50, p95, p99, rps, total, non2xx = line.split()
    rows[name] = dict(cold=float(cold), p50=float(p50), p95=float(p95), p99=float(p99), rps=float(rps), total=int(total), non2xx=int(non2xx))
base = rows["healthz"]["p95"]
labels = {
    "healthz": "GET /healthz (baseline)",
    "vuln": f"GET /api/v1/findings?vuln={vuln} ({findings} findings, first page of 50 + total)",
    "q": f"GET /api/v1/findings?q={package} ({matches} findings, first page of 50 + total)",
    "overview": "GET / (overview page)",
}
for name in ["healthz", "vuln", "q", "overview"]:
    r = rows[name]
    print(f"  {labels[name]}")
    print(f"    p50 {r['p50']:.1f} ms, p95 {r['p95']:.1f} ms, p99 {r['p99']:.1f} ms; {r['rps']:.0f} req/s; {r['total']} requests, {r['non2xx']} non-2xx; first request {r['cold']:.0f} ms")
    if name != "healthz":
        print(f"    p95 / 100 ms target = {r['p95'] / 100:.2f}; p95 / healthz p95 = {r['p95'] / max(base, 0.01):.0f}")
print(f"  server peak RSS: {int(rss_kb) // 1024} MiB")
EOF

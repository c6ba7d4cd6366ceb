#!/usr/bin/env bash
# We eat our own cooking: scan drydock's own Cargo.lock against the RustSec
# database and OSV's crates.io records (../shared/data), and fail on any
# finding that .ci/drydock.openvex.json does not justify with a statement.
#
# usage: scripts/self-scan.sh        env: DRYDOCK_BIN (default target/debug/drydock)
set -euo pipefail
cd "$(dirname "$0")/.."
drydock=${DRYDOCK_BIN:-target/debug/drydock}
[ -x "$drydock" ] || cargo build -q -p drydock-cli
data=../shared/data
db=$(mktemp -d)
trap 'rm -rf "$db"' EXIT
"$drydock" db import --db-dir "$db" "$data/rustsec-advisory-db" "$data/osv/crates.io" >/dev/null
"$drydock" scan Cargo.lock --db-dir "$db" --vex .ci/drydock.openvex.json --show-suppressed
report=$("$drydock" scan Cargo.lock --db-dir "$db" --vex .ci/drydock.openvex.json -f json)
count=$(printf '%s' "$report" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["findings"]))')
if [ "$count" != 0 ]; then
  echo "self-scan: $count finding(s) in Cargo.lock without a VEX statement in .ci/drydock.openvex.json" >&2
  exit 1
fi
echo "self-scan: no unjustified finding"

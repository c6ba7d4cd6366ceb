#!/usr/bin/env bash
# The stale-pins benchmark: `drydock golden stale` over a generated tree of
# FILES files (default 10,000), next to `grep -rn FROM` over the same tree as
# the baseline (it reads every byte once and understands nothing).
#
#   tree:     copies of the committed fixture files of every kind
#             (crates/drydock-cli/tests/fixtures/stale: Dockerfiles and
#             Containerfiles, multi-document Kubernetes manifests, Kustomize,
#             Helm values, Compose, GitHub Actions, GitLab CI), one service
#             directory per few files, tags varied per copy.
#   timing:   both commands once to warm the page cache, then the best of
#             RUNS (default 3) wall times; files/s and the ratio
#             drydock / grep. The catalog is an empty store: judging a
#             reference is a hash lookup, the cost is reading and parsing.
#   rss:      peak RSS of each (GNU time).
#
# usage: bench/stale.sh     env: FILES, RUNS, DRYDOCK_BIN (prebuilt release drydock)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
files=${FILES:-10000}
runs=${RUNS:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 2; }

[ -x /usr/bin/time ] || die "needs GNU time at /usr/bin/time (apt-get install time)"
if [ -z "${DRYDOCK_BIN:-}" ]; then
  say "building (release)"
  (cd "$root" && cargo build --release -q -p drydock-cli)
fi
drydock=${DRYDOCK_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/drydock}
export DRYDOCK_STORE=sqlite:$work/fleet.db
export HOME=$work

python3 - "$root/crates/drydock-cli/tests/fixtures/stale" "$work/tree" "$files" <<'PY'
import os, random, sys
fixtures, out, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
random.seed(7)
# (fixture, where a copy goes inside a service directory, weight)
kinds = [
    ("services/api/Dockerfile", "Dockerfile", 20),
    ("services/worker/Containerfile", "worker/Containerfile", 8),
    ("services/legacy/Dockerfile.windows", "Dockerfile.windows", 2),
    ("deploy/k8s/api.yaml", "deploy/api.yaml", 18),
    ("deploy/k8s/stateful.yml", "deploy/stateful.yml", 8),
    ("deploy/k8s/debug-pod.yaml", "deploy/debug-pod.yaml", 4),
    ("deploy/k8s/configmap.yaml", "deploy/configmap.yaml", 4),
    ("deploy/config/app-settings.yaml", "config/settings.yaml", 4),
    ("deploy/overlays/prod/kustomization.yaml", "overlays/prod/kustomization.yaml", 6),
    ("charts/api/values.yaml", "chart/values.yaml", 8),
    ("docker-compose.yml", "docker-compose.yml", 8),
    (".github/workflows/ci.yml", ".github/workflows/ci.yml", 6),
    (".gitlab-ci.yml", ".gitlab-ci.yml", 4),
]
texts = {src: open(os.path.join(fixtures, src)).read() for src, _, _ in kinds}
weights = [w for _, _, w in kinds]
made = 0
service = 0
while made < total:
    service += 1
    used = set()
    for _ in range(random.randint(3, 8)):
        if made >= total:
            break
        src, dest, _ = random.choices(kinds, weights)[0]
        if dest in used:
            continue
        used.add(dest)
        text = texts[src].replace("3.11.", "3.%d." % random.randint(9, 13))
        path = os.path.join(out, "team-%03d" % (service % 97), "svc-%05d" % service, dest)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        made += 1

PY
count=$(find "$work/tree" -type f | wc -l)
bytes=$(du -sb "$work/tree" | cut -f1)
say "tree: $count files, $bytes bytes"

"$drydock" golden list >/dev/null # creates the (empty) store
best() { # best wall seconds of $runs runs of "$@", peak RSS (KiB) of the last
  local best="" rss=0 t
  "$@" >/dev/null 2>&1 || true
  for _ in $(seq "$runs"); do
    /usr/bin/time -f '%e %M' -o "$work/time" "$@" >/dev/null 2>"$work/err" || true
    read -r t rss <"$work/time"
    if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if $t < $best else 1)"; then best=$t; fi
  done
  echo "$best $rss"
}
read -r stale_s stale_rss < <(best "$drydock" golden stale "$work/tree" -f json)
"$drydock" golden stale "$work/tree" -f json 2>"$work/summary" >"$work/stale.json" || true
read -r grep_s grep_rss < <(best grep -rn FROM "$work/tree")
references=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "$work/stale.json")
python3 - "$count" "$stale_s" "$stale_rss" "$grep_s" "$grep_rss" "$references" <<'PY'
import sys
count, stale_s, stale_rss, grep_s, grep_rss, refs = sys.argv[1:]
count, stale_s, grep_s = int(count), float(stale_s), float(grep_s)
rate = lambda s: count / s if s > 0 else float("inf")
print(f"golden stale: {count} files, {refs} references in {stale_s:.2f} s = {rate(stale_s):,.0f} files/s, peak RSS {int(stale_rss)/1024:.1f} MiB")
print(f"grep -rn FROM: {count} files in {grep_s:.2f} s = {rate(grep_s):,.0f} files/s, peak RSS {int(grep_rss)/1024:.1f} MiB")
print(f"ratio (drydock time / grep time): {stale_s / grep_s if grep_s > 0 else float('inf'):.1f}x")
PY

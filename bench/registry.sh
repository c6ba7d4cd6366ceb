#!/usr/bin/env bash
# The registry benchmark: `drydock sbom registry:REF` (manifest + every layer
# streamed from the registry through the one-pass walk, nothing written to
# disk) against `skopeo copy docker://REF oci:DIR` of the same image (a pure
# pull to disk, no cataloging), in the same run, from a loopback
# `docker-registry` (plain HTTP) holding the Debian fixture image.
# Target: ratio drydock / skopeo <= 1.0 (pull + SBOM no slower than a pull).
# Also printed: `drydock sbom oci-dir:` of the same image (no network), so the
# registry's share of the time is visible.
#
# usage: bench/registry.sh [RUNS]   (default 5; medians after one warm-up)
# env:   DRYDOCK_BIN  a prebuilt drydock (default: cargo build --release)
#        BENCH_IMAGE  an OCI layout (ref `debian`) instead of the fixture's
# Needs: docker-registry, skopeo, python3; the Debian fixture (built by the
# drydock-test crate on first use).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
work=$(mktemp -d)
say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 2; }

for tool in /usr/bin/docker-registry skopeo python3; do
  command -v "$tool" >/dev/null || die "needs $tool (apt-get install docker-registry skopeo)"
done

image=${BENCH_IMAGE:-$(ls -d "$root"/.cache/fixtures/debian-*/oci-gzip 2>/dev/null | head -1)}
[ -n "$image" ] && [ -d "$image" ] || die "no Debian fixture: run \`cargo test -p drydock-cli --test sbom_debian\` once"

if [ -z "${DRYDOCK_BIN:-}" ]; then
  (cd "$root" && cargo build --release -q -p drydock-cli) || die "cargo build failed"
  DRYDOCK_BIN=$root/target/release/drydock
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/config.yml" <<YAML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/data
http:
  addr: 127.0.0.1:$port
YAML
/usr/bin/docker-registry serve "$work/config.yml" >/dev/null 2>&1 &
registry_pid=$!
trap 'kill $registry_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done

ref=127.0.0.1:$port/bench/debian:12
skopeo copy --quiet --dest-tls-verify=false "oci:$image:debian" "docker://$ref"
size=$(du -sb "$image/blobs" | cut -f1)

# median of RUNS timings (seconds) of a command, after one warm-up
median() {
  local times=() start end
  "$@" >/dev/null 2>&1 || die "failed: $*"
  for _ in $(seq "$runs"); do
    rm -rf "$work/pulled"
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1 || die "failed: $*"
    end=$(date +%s.%N)
    times+=("$(python3 -c "print($end - $start)")")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

drydock=$(median "$DRYDOCK_BIN" sbom "registry:$ref" -f json -o "$work/sbom.json")
local_sbom=$(median "$DRYDOCK_BIN" sbom "oci-dir:$image" -f json -o "$work/local.json")
skopeo=$(median skopeo copy --quiet --src-tls-verify=false "docker://$ref" "oci:$work/pulled:x")
packages=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['packages']))" "$work/sbom.json")
ratio=$(python3 -c "print(f'{$drydock / $skopeo:.2f}')")
verdict=$(python3 -c "print('OK' if $drydock <= $skopeo else 'MISS')")
printf 'image: %s (%s bytes of blobs, %s packages), %s runs, medians\n' "$image" "$size" "$packages" "$runs"
printf '  drydock sbom registry:REF           %8.3f s\n' "$drydock"
printf '  skopeo copy docker://REF oci:DIR    %8.3f s\n' "$skopeo"
printf '  drydock sbom oci-dir:IMAGE (local)  %8.3f s   registry overhead %s s\n' "$local_sbom" "$(python3 -c "print(f'{$drydock - $local_sbom:.3f}')")"
printf '  ratio drydock/skopeo                %8s   target <= 1.0  %s\n' "$ratio" "$verdict"

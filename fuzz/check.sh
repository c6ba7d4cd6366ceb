#!/usr/bin/env bash
# Build every fuzz target (CI compiles them so they cannot rot), then run each
# over its seed corpus once: a seed that crashes fails the check.
# usage: fuzz/check.sh [--no-seeds]
set -euo pipefail
cd "$(dirname "$0")"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz/check.sh: needs cargo-fuzz: cargo install cargo-fuzz --locked" >&2
  exit 2
fi
# cargo-fuzz passes -Z flags (sanitizers): the pinned stable toolchain
# (rust-toolchain.toml) accepts them with RUSTC_BOOTSTRAP=1, so no nightly is
# needed. DRYDOCK_FUZZ_TOOLCHAIN=nightly uses a nightly instead.
if [ -n "${DRYDOCK_FUZZ_TOOLCHAIN:-}" ]; then
  cargo_fuzz=(cargo "+$DRYDOCK_FUZZ_TOOLCHAIN" fuzz)
else
  export RUSTC_BOOTSTRAP=1
  cargo_fuzz=(cargo fuzz)
fi
# One target directory for the fuzz workspace (CARGO_TARGET_DIR honoured).
target_dir=${CARGO_TARGET_DIR:-target}
start=$(date +%s)
"${cargo_fuzz[@]}" build -O
echo "fuzz/check.sh: built $("${cargo_fuzz[@]}" list | wc -l) targets in $(( $(date +%s) - start )) s"
if [ "${1:-}" = --no-seeds ]; then
  exit 0
fi
bin=$target_dir/x86_64-unknown-linux-gnu/release
for target in $("${cargo_fuzz[@]}" list); do
  seeds=()
  [ -d "seeds/$target" ] && seeds+=("seeds/$target")
  [ -d "regressions/$target" ] && seeds+=("regressions/$target")
  if [ ${#seeds[@]} -eq 0 ]; then
    echo "fuzz/check.sh: $target: no seeds"
    continue
  fi
  # Files (not directories) as arguments: libFuzzer runs each once and stops.
  mapfile -t inputs < <(find "${seeds[@]}" -type f ! -name .gitkeep | sort)
  [ ${#inputs[@]} -gt 0 ] || continue
  log=$(mktemp)
  "$bin/$target" -rss_limit_mb=2048 "${inputs[@]}" 2>"$log" || {
    cat "$log" >&2
    echo "fuzz/check.sh: $target crashed on a seed or regression input" >&2
    exit 1
  }
  rm -f "$log"
  echo "fuzz/check.sh: $target: ${#inputs[@]} inputs ok"
done

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
toolchain=${DRYDOCK_FUZZ_TOOLCHAIN:-nightly}
cargo "+$toolchain" fuzz build -O
if [ "${1:-}" = --no-seeds ]; then
  exit 0
fi
bin=target/x86_64-unknown-linux-gnu/release
for target in $(cargo "+$toolchain" fuzz list); do
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
  "$bin/$target" -rss_limit_mb=2048 "${inputs[@]}" 2>"target/$target.check.log" || {
    cat "target/$target.check.log" >&2
    echo "fuzz/check.sh: $target crashed on a seed or regression input" >&2
    exit 1
  }
  echo "fuzz/check.sh: $target: ${#inputs[@]} inputs ok"
done

#!/usr/bin/env bash
# Golden python3 image: `drydock build` from a warm cache (time, size)
# against the same package set installed by `debootstrap --variant=minbase
# --include=…` (apt underneath), same run. Needs root, debootstrap, jq.
# DRYDOCK=path/to/drydock skips the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${DRYDOCK:-}" ]; then
  cargo build --release -q -p drydock-cli
  DRYDOCK=target/release/drydock
fi
CACHE=${DRYDOCK_CACHE_DIR:-.cache/golden}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp examples/golden/python3.yaml "$work/"

# The mirror apt uses (the spec names deb.debian.org).
mirror=$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -v -- '-security$' | head -1)
security=$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' | grep -- '-security$' | head -1)
mirror=${mirror:-http://deb.debian.org/debian}
args=(--cache-dir "$CACHE" --mirror "http://deb.debian.org/debian=$mirror")
[ -n "$security" ] && args+=(--mirror "http://deb.debian.org/debian-security=$security")

"$DRYDOCK" mirror "$work/python3.yaml" "${args[@]}" >/dev/null   # warm the cache, write the lock
export SOURCE_DATE_EPOCH=1700000000
best=
for run in 1 2 3; do
  rm -rf "$work/image" "$work/image.cdx.json"
  start=$(date +%s.%N)
  "$DRYDOCK" build "$work/python3.yaml" -o "oci-dir:$work/image" "${args[@]}" --offline >/dev/null 2>"$work/build.log"
  end=$(date +%s.%N)
  t=$(echo "$end - $start" | bc)
  if [ -z "$best" ] || [ "$(echo "$t < $best" | bc)" = 1 ]; then best=$t; fi
done
compressed=$(du -sb "$work/image/blobs" | cut -f1)
umoci unpack --image "$work/image:3.11" "$work/bundle" >/dev/null 2>&1
drydock_rootfs=$(du -sb "$work/bundle/rootfs" | cut -f1)

packages=$(jq -r '.packages[].name' "$work/python3.lock" | paste -sd, -)
start=$(date +%s.%N)
debootstrap --variant=minbase --include="$packages" bookworm "$work/debootstrap" "$mirror" >"$work/debootstrap.log" 2>&1
end=$(date +%s.%N)
debootstrap_time=$(echo "$end - $start" | bc)
chroot "$work/debootstrap" apt-get clean >/dev/null 2>&1 || true
debootstrap_rootfs=$(du -sb "$work/debootstrap" | cut -f1)

printf 'packages (drydock lock)        %s\n' "$(jq '.packages | length' "$work/python3.lock")"
printf 'packages (debootstrap)         %s\n' "$(chroot "$work/debootstrap" dpkg-query -W | wc -l)"
printf 'drydock build, warm cache      %.2f s (best of 3)\n' "$best"
printf 'debootstrap minbase+include    %.2f s\n' "$debootstrap_time"
printf 'time ratio debootstrap/drydock %.1fx\n' "$(echo "$debootstrap_time / $best" | bc -l)"
printf 'drydock rootfs                 %s bytes (%s compressed blobs)\n' "$drydock_rootfs" "$compressed"
printf 'debootstrap rootfs             %s bytes\n' "$debootstrap_rootfs"
printf 'size ratio debootstrap/drydock %.2fx\n' "$(echo "$debootstrap_rootfs / $drydock_rootfs" | bc -l)"

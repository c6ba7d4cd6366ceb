#!/usr/bin/env bash
# Builds drydock's real Debian test image with the reference tools, in every
# layout and compression the readers support, and records what dpkg itself says
# is installed. Used by drydock-test's `debian_fixture()`; the output directory
# is cached and keyed by this script's content hash, so edit freely.
#
# usage: build-debian-image.sh OUT_DIR DOWNLOAD_CACHE_DIR
#
# Needs root (debootstrap, dpkg --root chroot into the image), debootstrap,
# umoci, skopeo, dpkg, apt-get.
#
# The image (bookworm, amd64 host arch):
#   layer 1: `debootstrap --variant=minbase` + `dc` (Source: bc (1.07.1-3), a
#            binNMU: binary version 1.07.1-3+b1) + `libcdb1` (Source: tinycdb (0.78))
#   layer 2: `libcdb1` purged (dpkg rewrites var/lib/dpkg/status), `libgpm2`
#            installed (Source: gpm (1.20.7-10), binNMU), `e2fsprogs` removed
#            but not purged (state config-files, `rc`: NOT installed),
#            `etc/issue.net` deleted (whiteout), `etc/apt/apt.conf.d` replaced
#            by a new directory (opaque whiteout if umoci writes one).
# Expected package lists (`expected-layer1.tsv`, `expected-final.tsv`):
#   Package, Version, Architecture, source:Package, source:Version, Status-Abbrev
#   for every package whose dpkg *state* is `installed` (db:Status-Status), i.e.
#   what `dpkg -l` shows as `?i` (`ii`, `hi`, `ri`, `pi`). Half-installed,
#   half-configured, unpacked, triggers-* and config-files packages are not
#   installed and are not in the lists.
set -euo pipefail

out=${1:?usage: build-debian-image.sh OUT_DIR DOWNLOAD_CACHE_DIR}
cache=${2:?usage: build-debian-image.sh OUT_DIR DOWNLOAD_CACHE_DIR}
suite=bookworm
layer1_extra=(dc libcdb1)
layer2_extra=(libgpm2)
export LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive
umask 022

say() { printf 'build-debian-image: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, dpkg --root)"
for tool in debootstrap umoci skopeo dpkg dpkg-query apt-get tar; do
  command -v "$tool" >/dev/null || die "needs \`$tool\`"
done

# The mirror apt is configured with (deb822 .sources first, then one-line lists);
# DRYDOCK_DEBIAN_MIRROR overrides.
find_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # stanza-wise: Types contains deb, Suites contains $suite
    uri=$(awk -v suite="$suite" '
      BEGIN { RS=""; FS="\n" }
      {
        types=""; uris=""; suites=""; enabled="yes"
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^Types:/) types = $i
          else if ($i ~ /^URIs:/) uris = $i
          else if ($i ~ /^Suites:/) suites = $i
          else if ($i ~ /^Enabled:/) enabled = $i
        }
        if (types ~ /[ \t]deb([ \t]|$)/ && (" " suites " ") ~ ("[ \t]" suite "[ \t]") && enabled !~ /no/) {
          sub(/^URIs:[ \t]*/, "", uris); split(uris, u, /[ \t]+/); print u[1]; exit
        }
      }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(awk -v suite="$suite" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i+1) == suite) { print $i; exit } }' "$f")
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  echo http://deb.debian.org/debian
}
mirror=${DRYDOCK_DEBIAN_MIRROR:-$(find_mirror)}
say "mirror $mirror"

mkdir -p "$cache" "$out"
cache=$(cd "$cache" && pwd)
out=$(cd "$out" && pwd)
work=$out/work
rm -rf "$work"
mkdir -p "$work"

# 1. debootstrap, downloads cached as a tarball (reused across script changes).
arch=$(dpkg --print-architecture)
tarball=$cache/debootstrap-$suite-minbase-$arch.tgz
if [ ! -s "$tarball" ]; then
  say "downloading the $suite minbase set (once)"
  debootstrap --variant=minbase --arch="$arch" --make-tarball="$tarball.tmp" "$suite" "$work/dl" "$mirror" >"$work/debootstrap-download.log" 2>&1 \
    || { tail -20 "$work/debootstrap-download.log" >&2; die "debootstrap --make-tarball failed"; }
  mv "$tarball.tmp" "$tarball"
  rm -rf "$work/dl"
fi

debs=$cache/debs-$suite-$arch
mkdir -p "$debs"
for pkg in "${layer1_extra[@]}" "${layer2_extra[@]}"; do
  if ! compgen -G "$debs/${pkg}_*.deb" >/dev/null; then
    say "apt-get download $pkg"
    (cd "$debs" && apt-get download -q "$pkg" >/dev/null 2>&1) || die "apt-get download $pkg failed (is apt's index for $suite up to date? try apt-get update)"
  fi
done
deb_of() { compgen -G "$debs/${1}_*.deb" | head -n1; }

oci=$work/oci
bundle=$work/bundle
umoci init --layout "$oci"
umoci new --image "$oci:debian"
umoci unpack --image "$oci:debian" "$bundle" >/dev/null
root=$bundle/rootfs

say "debootstrap --unpack-tarball"
debootstrap --variant=minbase --arch="$arch" --unpack-tarball="$tarball" "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }

# dpkg --root runs maintainer scripts chrooted into $root.
installed_list() {
  dpkg-query --admindir="$root/var/lib/dpkg" -W \
    -f '${Package}\t${Version}\t${Architecture}\t${source:Package}\t${source:Version}\t${db:Status-Abbrev}\t${db:Status-Status}\n' \
    | awk -F'\t' -v OFS='\t' '$7 == "installed" { sub(/ +$/, "", $6); print $1, $2, $3, $4, $5, $6 }' | LC_ALL=C sort
}

# 2. layer 1 extras
say "layer 1: installing ${layer1_extra[*]}"
l1_debs=()
for pkg in "${layer1_extra[@]}"; do l1_debs+=("$(deb_of "$pkg")"); done
dpkg --root="$root" --force-all -i "${l1_debs[@]}" >"$work/dpkg-l1.log" 2>&1 || { cat "$work/dpkg-l1.log" >&2; die "dpkg -i failed"; }
dpkg --root="$root" --configure --pending >>"$work/dpkg-l1.log" 2>&1
rm -f "$root"/var/cache/apt/archives/*.deb "$root"/var/log/dpkg.log

# 3. layer 1
say "umoci repack (layer 1)"
umoci repack --refresh-bundle --history.created_by "drydock fixture: layer 1" --image "$oci:debian" "$bundle"
installed_list >"$out/expected-layer1.tsv"

# 4. layer 2
say "layer 2: purge libcdb1, install ${layer2_extra[*]}, remove e2fsprogs, whiteouts"
{
  dpkg --root="$root" --force-depends --purge libcdb1
  l2_debs=()
  for pkg in "${layer2_extra[@]}"; do l2_debs+=("$(deb_of "$pkg")"); done
  dpkg --root="$root" --force-all -i "${l2_debs[@]}"
  dpkg --root="$root" --force-all --remove e2fsprogs
  dpkg --root="$root" --configure --pending
} >"$work/dpkg-l2.log" 2>&1 || { cat "$work/dpkg-l2.log" >&2; die "dpkg in layer 2 failed"; }
rm -f "$root/etc/issue.net"
rm -rf "$root/etc/apt/apt.conf.d"
mkdir "$root/etc/apt/apt.conf.d"
printf 'APT::Install-Recommends "false";\n' >"$root/etc/apt/apt.conf.d/99drydock"
rm -f "$root"/var/log/dpkg.log
umoci repack --history.created_by "drydock fixture: layer 2" --image "$oci:debian" "$bundle"
umoci gc --layout "$oci"
manifest=$(grep -o 'sha256:[0-9a-f]\{64\}' "$oci/index.json" | head -n1)
layers=$(grep -o '"application/vnd.oci.image.layer[^"]*"' "$oci/blobs/sha256/${manifest#sha256:}" | wc -l)
[ "$layers" = 2 ] || die "expected 2 layers, umoci wrote $layers"
installed_list >"$out/expected-final.tsv"
# sanity: the removed and purged packages are gone, the new one is there
grep -q '^libgpm2	' "$out/expected-final.tsv" || die "libgpm2 not installed"
! grep -q '^libcdb1	' "$out/expected-final.tsv" || die "libcdb1 still installed"
! grep -q '^e2fsprogs	' "$out/expected-final.tsv" || die "e2fsprogs still installed"
dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${Package}\t${db:Status-Abbrev}\n' e2fsprogs | grep -q 'rc' || die "e2fsprogs is not in state rc"

# 5. layouts
say "layouts"
cp -a "$oci" "$out/oci-gzip"
skopeo copy -q --dest-decompress oci:"$oci":debian dir:"$work/dir-plain"
skopeo copy -q --dest-oci-accept-uncompressed-layers dir:"$work/dir-plain" oci:"$out/oci-plain":debian
skopeo copy -q --dest-compress-format zstd oci:"$oci":debian oci:"$out/oci-zstd":debian
skopeo copy -q oci:"$oci":debian oci-archive:"$out/image.oci.tar":debian
skopeo copy -q oci:"$oci":debian docker-archive:"$out/image.docker.tar":debian:latest
# What skopeo (the reference reader) sees in each layout: manifest and config.
mkdir -p "$out/metadata"
for pair in oci-gzip=oci:"$out/oci-gzip":debian oci-plain=oci:"$out/oci-plain":debian oci-zstd=oci:"$out/oci-zstd":debian \
            oci-archive=oci-archive:"$out/image.oci.tar":debian docker-archive=docker-archive:"$out/image.docker.tar"; do
  name=${pair%%=*} ref=${pair#*=}
  skopeo inspect --raw "$ref" >"$out/metadata/$name.manifest.json"
  skopeo inspect --raw --config "$ref" >"$out/metadata/$name.config.json"
done
rm -rf "$out/rootfs"; mv "$root" "$out/rootfs"
rm -rf "$work"
say "done: $out"

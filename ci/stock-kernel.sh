#!/usr/bin/env bash
# Fetch and unpack Debian's stock kernel (the package linux-image-amd64
# depends on, e.g. linux-image-6.1.0-56-amd64) into the cache without
# installing it on the host.  Prints the unpacked root (boot/vmlinuz-*,
# lib/modules/*) on stdout.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

case ${1:-} in
-h|--help) echo "usage: ci/stock-kernel.sh   (prints the unpacked package root)"; exit 0 ;;
esac

pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
      awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$pkg" ] || die "cannot resolve linux-image-amd64 to a kernel package (run apt-get update)"
dir=$DAXTRACE_CACHE/stock/$pkg
if [ ! -f "$dir/.unpacked" ]; then
	mkdir -p "$DAXTRACE_CACHE/stock"
	deb=$(ls /var/cache/apt/archives/"${pkg}"_*.deb 2>/dev/null | tail -n 1 || true)
	if [ -z "$deb" ]; then
		dl=$DAXTRACE_CACHE/stock/download
		mkdir -p "$dl"
		(cd "$dl" && apt-get download "$pkg" >&2) || die "apt-get download $pkg failed"
		deb=$(ls "$dl/${pkg}"_*.deb | tail -n 1)
	fi
	log "unpacking $(basename "$deb")"
	rm -rf "$dir"
	dpkg-deb -x "$deb" "$dir" || die "dpkg-deb -x $deb failed"
	# The package ships no modules.dep (postinst runs depmod).
	for rel in "$dir"/lib/modules/*; do
		depmod -b "$dir" "$(basename "$rel")" || die "depmod failed for $rel"
	done
	touch "$dir/.unpacked"
fi
echo "$dir"

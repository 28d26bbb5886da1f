#!/usr/bin/env bash
# Fetch and unpack Debian's stock kernel into the cache without installing
# it on the host: for 6.1 the package linux-image-amd64 depends on (e.g.
# linux-image-6.1.0-56-amd64), for 6.12 the one linux-image-6.12-amd64
# (bookworm-security) depends on, e.g. linux-image-6.12.117+deb12-amd64, or
# its -unsigned twin (same kernel, no Secure Boot signature).  Prints the
# unpacked root (boot/vmlinuz-*, lib/modules/*) on stdout.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { echo "usage: ci/stock-kernel.sh [--base 6.1|6.12]   (prints the unpacked package root)"; }
kbase=6.1
while [ $# -gt 0 ]; do
	case $1 in
	--base) kbase=${2:?--base needs 6.1 or 6.12}; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; die "unknown option '$1'" ;;
	esac
done
case $kbase in
6.1) meta=linux-image-amd64 ;;
6.12) meta=linux-image-6.12-amd64 ;;
*) die "unknown base '$kbase' (6.1 or 6.12)" ;;
esac

resolve() {
	apt-cache depends "$meta" 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}
pkg=$(resolve)
if [ -z "$pkg" ] && [ "$kbase" != 6.1 ]; then
	# bookworm-security lists are not fetched on every machine yet.
	log "resolving $meta: apt-get update"
	apt-get update -q >&2 || true
	pkg=$(resolve)
fi
[ -n "$pkg" ] || die "cannot resolve $meta to a kernel package (run apt-get update)"
dir=$DAXTRACE_CACHE/stock/$pkg
if [ ! -f "$dir/.unpacked" ]; then
	mkdir -p "$DAXTRACE_CACHE/stock"
	deb=$(ls /var/cache/apt/archives/"${pkg}"_*.deb 2>/dev/null | tail -n 1 || true)
	if [ -z "$deb" ]; then
		dl=$DAXTRACE_CACHE/stock/download
		mkdir -p "$dl"
		# The signed package is what Debian installs; the -unsigned one
		# carries the same kernel and modules and is enough for QEMU.
		got=
		for p in "$pkg" "$pkg-unsigned"; do
			if (cd "$dl" && apt-get download "$p" >&2); then
				got=$p
				break
			fi
		done
		[ -n "$got" ] || die "apt-get download $pkg (or $pkg-unsigned) failed"
		deb=$(ls "$dl/${got}"_*.deb | tail -n 1)
	fi
	log "unpacking $(basename "$deb")"
	rm -rf "$dir"
	dpkg-deb -x "$deb" "$dir" || die "dpkg-deb -x $deb failed"
	# 6.12 packages compress their modules; the initramfs loads them
	# with busybox insmod, which takes plain .ko files.
	find "$dir/lib/modules" -name '*.ko.xz' -print0 | xargs -0 -r -n 64 xz -d -f ||
		die "cannot decompress the modules of $pkg"
	# The package ships no modules.dep (postinst runs depmod).
	for rel in "$dir"/lib/modules/*; do
		depmod -b "$dir" "$(basename "$rel")" || die "depmod failed for $rel"
	done
	touch "$dir/.unpacked"
fi
echo "$dir"

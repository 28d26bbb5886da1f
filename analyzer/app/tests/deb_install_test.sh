#!/bin/bash
# The .deb on a clean Debian bookworm: build it with CPack, install it with
# apt (dependencies from the package's Depends) into a fresh copy of a
# debootstrap'ed minbase root, and run `daxtrace --version`, `daxtrace
# doctor` (no /sys in the chroot: no BTF, exit 1 as documented) and
# `daxtrace service --check` on the packaged configuration there.
# The pristine root is cached in /var/cache/daxtrace/bookworm-minbase.
#   deb_install_test.sh BUILD_DIR [MIRROR]
set -euo pipefail
B=$(readlink -f "$1")
MIRROR=${2:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
. "$(dirname "${BASH_SOURCE[0]}")/../../../ci/lib.sh"
CACHE=$DAXTRACE_CACHE/bookworm-minbase
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (chroot)"; exit 77; }
command -v debootstrap >/dev/null || { echo "SKIP: debootstrap not installed (ci/packages.txt)"; exit 77; }
fail() { die "FAIL: $*"; }

# Registered after make_workdir's removal, so it runs first: unmount, then remove.
make_workdir T /var/tmp/daxtrace-deb.XXXXXX
R=$T/root
unmount_root() {
	for m in proc dev/pts dev; do mountpoint -q "$R/$m" 2>/dev/null && umount -l "$R/$m"; done
	return 0
}
on_exit unmount_root

(cd "$B" && cpack -G DEB -B "$T/pkg" > "$T/cpack.log" 2>&1) || { cat "$T/cpack.log"; fail cpack; }
DEB=$(ls "$T"/pkg/daxtrace_*.deb)
echo "package: $(basename "$DEB"), $(stat -c %s "$DEB") bytes"
dpkg-deb -f "$DEB" Depends | sed 's/^/Depends: /'
dpkg-deb -c "$DEB" | awk '{print $6}' > "$T/files"
for f in ./usr/sbin/daxtrace ./usr/share/man/man8/daxtrace.8 ./usr/lib/systemd/system/daxtrace.service \
	./etc/daxtrace/daxtrace.conf ./etc/daxtrace/daxtrace.conf.d/; do
	grep -qx "$f" "$T/files" || fail "$f not in the package"
done
dpkg-deb -f "$DEB" Depends | grep -q libbpf || fail "Depends lacks libbpf"

if [ ! -x "$CACHE/usr/bin/apt-get" ]; then
	echo "debootstrap --variant=minbase bookworm $CACHE $MIRROR (cached for later runs)"
	rm -rf "$CACHE.tmp"
	debootstrap --variant=minbase bookworm "$CACHE.tmp" "$MIRROR" > "$T/debootstrap.log" 2>&1 ||
		{ tail -20 "$T/debootstrap.log"; fail debootstrap; }
	rm -rf "$CACHE"
	mv "$CACHE.tmp" "$CACHE"
fi
cp -a "$CACHE" "$R"
cp /etc/resolv.conf "$R/etc/resolv.conf" 2>/dev/null || true
mount -t proc proc "$R/proc"
cp "$DEB" "$R/tmp/daxtrace.deb"
in_root() { chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
in_root apt-get -q update > "$T/apt.log" 2>&1 || { tail "$T/apt.log"; fail "apt-get update in the root"; }
in_root apt-get -q install -y --no-install-recommends /tmp/daxtrace.deb >> "$T/apt.log" 2>&1 ||
	{ tail -30 "$T/apt.log"; fail "apt-get install daxtrace.deb"; }
echo "ok: apt-get install ./$(basename "$DEB") in a clean bookworm root"
grep -E '^(Unpacking|Setting up)' "$T/apt.log" | sed 's/^/  /' | head -40

v=$(in_root daxtrace --version) || fail "--version"
echo "chroot\$ daxtrace --version"; echo "$v"
echo "$v" | grep -Eq "^daxtrace [0-9]+\.[0-9]+.* \(.+\), event ABI [0-9]+$" || fail "--version: '$v'"
set +e
in_root daxtrace doctor > "$T/doctor" 2>&1
rc=$?
set -e
echo "chroot\$ daxtrace doctor   (exit $rc)"; cat "$T/doctor"
[ $rc = 1 ] || fail "doctor in a chroot without /sys: exit $rc, expected 1"
grep -q 'BTF: *vmlinux NO' "$T/doctor" || fail "doctor does not say that BTF is missing"
in_root daxtrace service --config /etc/daxtrace/daxtrace.conf --check > /dev/null || fail "packaged config"
echo "ok: daxtrace service --check /etc/daxtrace/daxtrace.conf in the root"
in_root dpkg -r daxtrace > /dev/null || fail "dpkg -r"
[ ! -e "$R/usr/sbin/daxtrace" ] || fail "binary left after dpkg -r"
echo "ok: dpkg -r daxtrace"
echo PASS

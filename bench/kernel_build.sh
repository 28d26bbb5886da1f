#!/usr/bin/env bash
# Kernel build figures for the lab kernel, in one run: a cold build (empty
# scratch cache: unpack, git commit, configure, build), the cached rebuild
# (same inputs), and an incremental rebuild after the series changes (the
# last patch left out).  Regenerates bench/KERNEL_BUILD.md.
# usage: bench/kernel_build.sh   (about 10 minutes of both cores)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
export DAXTRACE_CACHE
DAXTRACE_CACHE=$(mktemp -d /var/tmp/daxtrace-bench-cache.XXXXXX)
trap 'rm -rf "$DAXTRACE_CACHE"' EXIT
part=$(mktemp -d)
trap 'rm -rf "$DAXTRACE_CACHE" "$part"' EXIT

timed() {	# timed CMD...: seconds the command took
	local t0
	t0=$(date +%s.%N)
	"$@" >/dev/null 2>>"$part/log"
	python3 -c "print(round($(date +%s.%N) - $t0, 1))"
}
n=$(find "$repo/patches" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' ! -name '0000-*' | wc -l)
cold=$(timed "$repo/ci/build-kernel.sh")
cached=$(timed "$repo/ci/build-kernel.sh")
find "$repo/patches" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' ! -name '0000-*' |
	sort | head -n $((n - 1)) | xargs -r cp -t "$part"
incr=$(timed "$repo/ci/build-kernel.sh" --patches "$part")
{
	echo "# Kernel build figures"
	echo
	echo "Regenerate: \`bench/kernel_build.sh\` ($(date -u +%Y-%m-%d), $(nproc) cores, one run;"
	echo "linux-source-6.1 $(dpkg-query -W -f '${Version}' linux-source-6.1), tinyconfig + kconfig/, bzImage with BTF)."
	echo
	echo "| build | seconds |"
	echo "|---|---|"
	echo "| cold: unpack, commit to git, apply $n patches, configure, build | $cold |"
	echo "| cached: same source, series and config | $cached |"
	echo "| incremental: series changed (last patch left out) | $incr |"
} >"$repo/bench/KERNEL_BUILD.md"
cat "$repo/bench/KERNEL_BUILD.md"

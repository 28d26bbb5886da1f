#!/usr/bin/env bash
# Kernel build figures for the lab kernel of one base, in one run: a cold
# build of the unpatched source (empty scratch cache: unpack, git commit,
# configure, build), the cached rebuild (same inputs), the patched build
# in the same object directory (what CI does after the unpatched one), and
# an incremental rebuild after the series changes (last patch left out).
# Prints a markdown table; bench/KERNEL_BUILD.md keeps one per base.
# usage: bench/kernel_build.sh [--base 6.1|6.12] [--nice]
#        (6.1: about 12 minutes of both cores on a quiet machine)
set -euo pipefail
# shellcheck source=SCRIPTDIR/../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../ci/lib.sh"
repo=$REPO_DIR
base=6.1
nice=()
while [ $# -gt 0 ]; do
	case $1 in
	--base) base=${2:?}; shift 2 ;;
	--nice) nice=(nice -n 10); shift ;;
	*) echo "usage: bench/kernel_build.sh [--base 6.1|6.12] [--nice]" >&2; exit 2 ;;
	esac
done
# A scratch cache: the cold build must not find the kernels of the real one.
make_workdir DAXTRACE_CACHE /var/tmp/daxtrace-bench-cache.XXXXXX
export DAXTRACE_CACHE
part='' logs=''
make_workdir part
make_workdir logs

series=$repo/patches/$base
[ -d "$series" ] || series=$repo/patches
# timed STAGE CMD...: seconds the command took; its output in a log, with
# progress on stderr, and the script stops with the log's tail if it fails
# (a failed build must not be timed as a fast one).
timed() {
	local stage=$1 t0
	shift
	t0=$(date +%s.%N)
	run_logged "$logs/$stage.log" "$stage" "${nice[@]}" "$@"
	python3 -c "print(round($(date +%s.%N) - $t0, 1))"
}
n=$(find "$series" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' ! -name '0000-*' | wc -l)
cold=$(timed cold "$repo/ci/build-kernel.sh" --base "$base" --no-patches)
cached=$(timed cached "$repo/ci/build-kernel.sh" --base "$base" --no-patches)
patched=$(timed patched "$repo/ci/build-kernel.sh" --base "$base")
find "$series" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' ! -name '0000-*' |
	sort | head -n $((n - 1)) | xargs -r cp -t "$part"
incr=$(timed incremental "$repo/ci/build-kernel.sh" --base "$base" --patches "$part")
load=$(cut -d' ' -f1-3 /proc/loadavg)
echo "### $base ($(date -u +%Y-%m-%d), $(nproc) cores${nice:+, nice -n 10}, load at the end $load)"
echo
echo "linux-source-$base $(dpkg-query -W -f '${Version}' "linux-source-$base"), tinyconfig + kconfig/, bzImage with BTF."
echo
echo "| build | seconds |"
echo "|---|---|"
echo "| cold, unpatched: unpack, commit to git, configure, build | $cold |"
echo "| cached: same source, series and config | $cached |"
echo "| patched, after the unpatched build ($n patches) | $patched |"
echo "| incremental: series changed (last patch left out) | $incr |"

#!/bin/sh
# apply.sh PATCH DEST: DEST/bpf becomes a copy of this tree's bpf/ (with
# its uncommitted changes) with the ablation PATCH applied.  Used by
# bench_bpf.sh to build the ablations' rows, and by the bpf.ablations_apply
# test, so that a patch that no longer applies fails in CI, not an hour
# into a benchmark.
set -e
patch=$(realpath "$1")
dest=$2
bpf=$(realpath "$(dirname "$0")/../..")
rm -rf "$dest/bpf"
mkdir -p "$dest"
cp -a "$bpf" "$dest/bpf"
# git apply as plain patch(1): no repository above DEST may claim the paths
cd "$dest"
GIT_CEILING_DIRECTORIES=$(dirname "$(realpath .)") git apply "$patch" ||
	{ echo "ablation $patch no longer applies to bpf/ (rebase it)" >&2; exit 1; }

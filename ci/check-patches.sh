#!/usr/bin/env bash
# Check the patches/ series the way a kernel maintainer would, one patch at
# a time on a fresh tree (bisectability):
#
#   1. unpack the kernel source (Debian's linux-source-6.1 by default) into
#      a throwaway git repository at commit "base";
#   2. configure tinyconfig + kconfig/{dax,bpf,lab-vm}.config and build the
#      objects the series touches with W=1 (the warnings baseline);
#   3. for each patch in turn: `git am`, scripts/checkpatch.pl --strict,
#      W=1 build of the same objects, and compare the warnings with the
#      baseline (file + message, line numbers ignored: patches move lines).
#
# Output is KTAP: one result per patch and step.  Exit status 0 only if
# every patch applies, is checkpatch --strict clean and adds no warning.
#
# checkpatch runs with --ignore UNKNOWN_COMMIT_ID: the distribution tree has
# no upstream history, so it cannot resolve the ids in Fixes: tags (in a
# linux-stable clone they resolve).
set -uo pipefail

CI_DIR=$(cd "$(dirname "$0")" && pwd)
REPO_DIR=$(dirname "$CI_DIR")

usage() {
	cat <<EOF
usage: ci/check-patches.sh [options]

  --source PATH   kernel source .tar.xz or directory
                  (default: /usr/src/linux-source-6.1.tar.xz)
  --patches DIR   the series (default: patches/)
  --work DIR      scratch directory (default: \$DAXTRACE_CACHE/check-patches,
                  DAXTRACE_CACHE defaulting to /var/cache/daxtrace)
  --targets LIST  make targets built with W=1
                  (default: "fs/dax.o fs/ext4/ fs/xfs/ fs/ext2/")
  --jobs N        parallel make jobs (default: nproc)
  --no-build      only git am + checkpatch
  -h, --help      this text
EOF
}

source_arg=/usr/src/linux-source-6.1.tar.xz
patch_dir=$REPO_DIR/patches
work=${DAXTRACE_CACHE:-/var/cache/daxtrace}/check-patches
targets="fs/dax.o fs/ext4/ fs/xfs/ fs/ext2/"
jobs=$(nproc)
build=1
fragments=("$REPO_DIR/kconfig/dax.config" "$REPO_DIR/kconfig/bpf.config"
	   "$REPO_DIR/kconfig/lab-vm.config")

while [ $# -gt 0 ]; do
	case $1 in
	--source) source_arg=${2:?}; shift 2 ;;
	--patches) patch_dir=${2:?}; shift 2 ;;
	--work) work=${2:?}; shift 2 ;;
	--targets) targets=${2:?}; shift 2 ;;
	--jobs) jobs=${2:?}; shift 2 ;;
	--no-build) build=0; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done

mapfile -t series < <(find "$patch_dir" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' \
			! -name '0000-cover-letter.patch' | sort)
[ ${#series[@]} -gt 0 ] || { echo "no patches in $patch_dir" >&2; exit 2; }

tree=$work/tree
obj=$work/obj
mkdir -p "$work"
exec 9>"$work/.lock"
flock 9 || { echo "cannot lock $work/.lock" >&2; exit 2; }

note() { echo "# $*"; }
git_() { git -C "$tree" -c user.name=check-patches -c user.email=ci@daxtrace.invalid "$@"; }

# Warnings as "file: message", without the tree prefix and line numbers.
warnings() {
	grep -E ': (warning|error): ' "$1" |
		sed -E "s#^($tree|$obj)/##; s#^\\.\\./##; s#:[0-9]+(:[0-9]+)?: #: #" | sort
}

mk() { make -C "$tree" O="$obj" ARCH=x86_64 "$@"; }

# --- a fresh tree at "base" ---------------------------------------------
if [ ! -f "$tree/.daxtrace-base" ]; then
	rm -rf "$tree"
	mkdir -p "$tree"
	note "unpacking $source_arg"
	if [ -d "$source_arg" ]; then
		rsync -a --exclude .git "$source_arg/" "$tree/" || exit 2
	else
		tar -xf "$source_arg" -C "$tree" --strip-components=1 || exit 2
	fi
	# -f: Debian's top-level .gitignore ignores everything but debian/.
	(cd "$tree" && git init -q && git add -A -f &&
	 git -c user.name=check-patches -c user.email=ci@daxtrace.invalid \
		commit -q -m base) || exit 2
	git_ tag -f base >/dev/null
	touch "$tree/.daxtrace-base"
fi
git_ am --abort >/dev/null 2>&1 || true
git_ checkout -q -f -B check base || exit 2
git_ clean -q -f -d -e .daxtrace-base

steps=$(( ${#series[@]} * (build ? 3 : 2) + build ))
echo "TAP version 13"
echo "1..$steps"
n=0
failed=0
result() {		# result OK|FAIL description
	n=$((n + 1))
	if [ "$1" = OK ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}

# --- configuration and the warnings baseline ----------------------------
if [ "$build" = 1 ]; then
	rm -rf "$obj"
	mkdir -p "$obj"
	{ mk -s tinyconfig &&
	  "$tree/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "${fragments[@]}" &&
	  mk -s olddefconfig; } >"$work/config.log" 2>&1 || { note "configuration failed ($work/config.log)"; exit 2; }
	note "baseline: W=1 build of $targets"
	# shellcheck disable=SC2086
	if mk W=1 -j"$jobs" $targets >"$work/build-base.log" 2>&1; then
		result OK "base tree builds with W=1 ($(warnings "$work/build-base.log" | wc -l) pre-existing warnings)"
	else
		result FAIL "base tree does not build ($work/build-base.log)"
	fi
	warnings "$work/build-base.log" >"$work/warnings-base"
fi

# --- one patch at a time --------------------------------------------------
for p in "${series[@]}"; do
	name=$(basename "$p" .patch)
	if git_ am -q "$p" >"$work/am-$name.log" 2>&1; then
		result OK "$name: git am"
	else
		sed 's/^/#   /' "$work/am-$name.log" | head -n 20
		result FAIL "$name: git am"
		git_ am --abort >/dev/null 2>&1 || true
		break
	fi

	if (cd "$tree" && ./scripts/checkpatch.pl --strict -q --ignore UNKNOWN_COMMIT_ID "$p") \
		>"$work/checkpatch-$name.log" 2>&1; then
		result OK "$name: checkpatch.pl --strict"
	else
		sed 's/^/#   /' "$work/checkpatch-$name.log" | head -n 30
		result FAIL "$name: checkpatch.pl --strict"
	fi

	[ "$build" = 1 ] || continue
	# shellcheck disable=SC2086
	if ! mk W=1 -j"$jobs" $targets >"$work/build-$name.log" 2>&1; then
		grep -E 'error' "$work/build-$name.log" | head -n 20 | sed 's/^/#   /'
		result FAIL "$name: W=1 build of $targets"
		continue
	fi
	# Only files this patch made rebuild report warnings; anything not in
	# the baseline (as a multiset) is new.
	new=$(warnings "$work/build-$name.log" | comm -23 - "$work/warnings-base")
	if [ -z "$new" ]; then
		result OK "$name: W=1 build of $targets, no new warnings"
	else
		printf '%s\n' "$new" | sed 's/^/#   new: /'
		result FAIL "$name: W=1 build of $targets adds warnings"
	fi
done

note "$failed of $n checks failed (logs in $work)"
[ "$failed" = 0 ] && [ "$n" = "$steps" ]

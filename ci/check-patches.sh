#!/usr/bin/env bash
# Check a patches/<base>/ series the way a kernel maintainer would, one patch
# at a time on a fresh tree (bisectability):
#
#   1. unpack the kernel source (Debian's linux-source-<base>) into a
#      throwaway git repository at commit "base";
#   2. configure tinyconfig + kconfig/{dax,bpf,lab-vm,tiny}.config (+ FUSE
#      DAX, so that fs/fuse/dax.c is compiled too) and build every object
#      directory the series touches with W=1: the warnings baseline;
#   3. for each patch in turn: `git am`, scripts/checkpatch.pl --strict, a
#      W=1 build of the objects this patch touches (a header outside the
#      filesystem directories rebuilds all of the series' targets), and
#      compare the warnings with those of the same targets before the
#      patch (file + message, line numbers ignored: patches move lines).
#
# Output is KTAP, one result per patch and step, and a per-patch summary
# table (markdown) at the end.  Exit status 0 only if every patch applies,
# is checkpatch --strict clean and builds without new warnings.
#
# checkpatch runs with --ignore UNKNOWN_COMMIT_ID: the distribution tree has
# no upstream history, so it cannot resolve the ids in Fixes: tags or in
# "commit <sha> upstream." lines (in a linux-stable clone they resolve).
set -uo pipefail

# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=SCRIPTDIR/../tests/ktap.sh
. "$REPO_DIR/tests/ktap.sh"

usage() {
	cat <<EOF
usage: ci/check-patches.sh [--base 6.1|6.12] [options]

  --base B        kernel base: series patches/B/, source
                  /usr/src/linux-source-B.tar.xz (default: 6.1)
  --source PATH   kernel source .tar.xz or directory (overrides --base's)
  --patches DIR   the series (overrides --base's)
  --work DIR      scratch directory (default:
                  \$DAXTRACE_CACHE/check-patches-B, DAXTRACE_CACHE
                  defaulting to /var/cache/daxtrace)
  --jobs N        parallel make jobs (default: nproc)
  --no-build      only git am + checkpatch
  -h, --help      this text
EOF
}

kbase=6.1
source_arg=
patch_dir=
work=
jobs=$(nproc)
build=1
fragments=("$REPO_DIR/kconfig/dax.config" "$REPO_DIR/kconfig/bpf.config"
	   "$REPO_DIR/kconfig/lab-vm.config")
[ -f "$REPO_DIR/kconfig/tiny.config" ] && fragments+=("$REPO_DIR/kconfig/tiny.config")

while [ $# -gt 0 ]; do
	case $1 in
	--base) kbase=${2:?}; shift 2 ;;
	--source) source_arg=${2:?}; shift 2 ;;
	--patches) patch_dir=${2:?}; shift 2 ;;
	--work) work=${2:?}; shift 2 ;;
	--jobs) jobs=${2:?}; shift 2 ;;
	--no-build) build=0; shift ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
[ -n "$source_arg" ] || source_arg=/usr/src/linux-source-$kbase.tar.xz
[ -n "$patch_dir" ] || patch_dir=$REPO_DIR/patches/$kbase
[ -n "$work" ] || work=$DAXTRACE_CACHE/check-patches-$kbase

mapfile -t series < <(find "$patch_dir" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' \
			! -name '0000-cover-letter.patch' | sort)
[ ${#series[@]} -gt 0 ] || { echo "no patches in $patch_dir" >&2; exit 2; }

tree=$work/tree
obj=$work/obj
mkdir -p "$work"
exec 9>"$work/.lock"
flock 9 || { echo "cannot lock $work/.lock" >&2; exit 2; }

note() { echo "# $*"; }
git_() { git -C "$tree" -c gc.auto=0 -c user.name=check-patches -c user.email=ci@daxtrace.invalid "$@"; }

# Warnings as "file: message", without the tree prefix and line numbers.
warnings() {
	grep -E ': (warning|error): ' "$1" |
		sed -E "s#^($tree|$obj)/##; s#^\\.\\./##; s#:[0-9]+(:[0-9]+)?: #: #" | sort
}

mk() { make -C "$tree" O="$obj" ARCH=x86_64 "$@"; }

# make targets for the files a patch touches, object by object (whole
# directories would mean a W=1 build of all of fs/xfs/ and fs/ext4/ for
# each base): a .c file's object; a header, the objects of the patch's own
# .c files plus, for a trace header, the object that instantiates it (the
# .c that defines CREATE_TRACE_POINTS and includes it); a header with
# neither falls back to its directory, or to all of $all_targets for one
# outside fs/.  Callers of a changed header that the patch leaves alone are
# compiled by the full build of the series (ci/build-kernel.sh), not here.
targets_of() {		# targets_of PATCH (run with the patch applied)
	local f files own=
	files=$(grep -E '^\+\+\+ b/' "$1" | sed 's#^+++ b/##')
	for f in $files; do
		case $f in *.c) own+="${f%.c}.o " ;; esac
	done
	for f in $files; do
		case $f in
		*.c) echo "${f%.c}.o" ;;
		*.h)
			local inst
			inst=$(cd "$tree" && grep -l CREATE_TRACE_POINTS fs/dax.c fs/ext2/*.c \
				fs/ext4/*.c fs/xfs/*.c fs/fuse/*.c 2>/dev/null |
				xargs -r grep -lE "#include [<\"](.*/)?$(basename "$f")[>\"]" 2>/dev/null)
			if [ -n "$inst$own" ]; then
				echo "${inst//.c/.o} $own"
			else
				case $f in
				fs/*/*) echo "$(echo "$f" | cut -d/ -f1-2)/" ;;
				*) echo "$all_targets" ;;
				esac
			fi ;;
		*) echo "$all_targets" ;;
		esac
	done | tr ' ' '\n' | grep -v '^$' | sort -u | tr '\n' ' '
}

# Only directories the kernel configuration builds can be checked.
configured() {		# configured TARGET...
	local t out=
	for t in "$@"; do
		case $t in
		fs/fuse/dax.o) grep -q '^CONFIG_FUSE_DAX=y' "$obj/.config" || continue ;;
		fs/fuse/*) grep -q '^CONFIG_FUSE_FS=y' "$obj/.config" || continue ;;
		esac
		out+="$t "
	done
	echo "$out"
}

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
	 git -c gc.auto=0 -c user.name=check-patches -c user.email=ci@daxtrace.invalid \
		commit -q -m base) || exit 2
	git_ tag -f base >/dev/null
	touch "$tree/.daxtrace-base"
fi
git_ am --abort >/dev/null 2>&1 || true
git_ checkout -q -f -B check base || exit 2
git_ clean -q -f -d -e .daxtrace-base

# The union of the series' targets.
all_targets="fs/dax.o fs/ext4/ fs/xfs/ fs/ext2/ fs/fuse/"
series_targets=$(for p in "${series[@]}"; do targets_of "$p"; done | tr ' ' '\n' |
		 grep -v '^$' | sort -u | tr '\n' ' ')

steps=$(( ${#series[@]} * (build ? 3 : 2) + build ))
ktap_plan "$steps"
result() {		# result OK|FAIL description
	if [ "$1" = OK ]; then
		ktap_ok "$2"
	else
		ktap_not_ok "$2"
	fi
}
declare -A row_am row_cp row_build row_targets

# --- configuration and the warnings baseline ----------------------------
if [ "$build" = 1 ]; then
	mkdir -p "$obj"
	printf 'CONFIG_FUSE_FS=y\nCONFIG_VIRTIO_FS=y\nCONFIG_FUSE_DAX=y\n' >"$work/fuse-dax.config"
	{ mk -s tinyconfig &&
	  "$tree/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" \
		"${fragments[@]}" "$work/fuse-dax.config" &&
	  mk -s olddefconfig; } >"$work/config.log" 2>&1 || { note "configuration failed ($work/config.log)"; exit 2; }
	grep -q '^CONFIG_FUSE_DAX=y' "$obj/.config" ||
		note "CONFIG_FUSE_DAX not available in this configuration: fs/fuse/ is not built"
	base_targets=$(configured $series_targets)
	note "baseline: W=1 build of $base_targets"
	# shellcheck disable=SC2086
	if mk W=1 -j"$jobs" $base_targets >"$work/build-base.log" 2>&1; then
		result OK "base tree builds with W=1 ($(warnings "$work/build-base.log" | wc -l) pre-existing warnings)"
	else
		result FAIL "base tree does not build ($work/build-base.log)"
	fi
	warnings "$work/build-base.log" >"$work/warnings-prev"
fi

# --- one patch at a time --------------------------------------------------
for p in "${series[@]}"; do
	name=$(basename "$p" .patch)
	if git_ am -q "$p" >"$work/am-$name.log" 2>&1; then
		result OK "$name: git am"
		row_am[$name]=ok
	else
		sed 's/^/#   /' "$work/am-$name.log" | head -n 20
		result FAIL "$name: git am"
		row_am[$name]=FAIL
		git_ am --abort >/dev/null 2>&1 || true
		break
	fi

	if (cd "$tree" && ./scripts/checkpatch.pl --strict -q --ignore UNKNOWN_COMMIT_ID "$p") \
		>"$work/checkpatch-$name.log" 2>&1; then
		result OK "$name: checkpatch.pl --strict"
		row_cp[$name]=clean
	else
		sed 's/^/#   /' "$work/checkpatch-$name.log" | head -n 30
		result FAIL "$name: checkpatch.pl --strict"
		row_cp[$name]="$(grep -cE '^(ERROR|WARNING|CHECK)' "$work/checkpatch-$name.log") findings"
	fi

	[ "$build" = 1 ] || continue
	tg=$(configured $(targets_of "$p"))
	row_targets[$name]=$tg
	# shellcheck disable=SC2086
	if ! mk W=1 -j"$jobs" $tg >"$work/build-$name.log" 2>&1; then
		grep -E 'error' "$work/build-$name.log" | head -n 20 | sed 's/^/#   /'
		result FAIL "$name: W=1 build of $tg"
		row_build[$name]=FAIL
		continue
	fi
	# Only files this patch made rebuild report warnings; anything not
	# reported for the same file before (as a multiset) is new.
	new=$(warnings "$work/build-$name.log" | comm -23 - "$work/warnings-prev")
	warnings "$work/build-$name.log" | sort -u - "$work/warnings-prev" >"$work/warnings-next"
	mv "$work/warnings-next" "$work/warnings-prev"
	if [ -z "$new" ]; then
		result OK "$name: W=1 build of $tg, no new warnings"
		row_build[$name]="ok, no new warnings"
	else
		printf '%s\n' "$new" | sed 's/^/#   new: /'
		result FAIL "$name: W=1 build of $tg adds warnings"
		row_build[$name]="$(printf '%s\n' "$new" | wc -l) new warnings"
	fi
done

note "$ktap_failed of $ktap_n checks failed (logs in $work)"
echo "# | patch | git am | checkpatch --strict | W=1 build (targets) |"
echo "# |-------|--------|---------------------|---------------------|"
for p in "${series[@]}"; do
	name=$(basename "$p" .patch)
	echo "# | $name | ${row_am[$name]:-not run} | ${row_cp[$name]:-not run} | ${row_build[$name]:-not run} (${row_targets[$name]:-}) |"
done
[ "$ktap_failed" = 0 ] && [ "$ktap_n" = "$steps" ]

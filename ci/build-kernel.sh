#!/usr/bin/env bash
# Build a lab kernel: Debian's linux-source-<base> (6.1 or 6.12, or another
# tree) + that base's series (patches/<base>/) applied with `git am` +
# kconfig/ fragments merged onto tinyconfig (or a distribution config),
# bzImage with BTF.  Prints the bzImage path on stdout.
#
# Results are cached by (source, patch series, config inputs): an unchanged
# rebuild returns at once, and a changed series rebuilds incrementally in a
# persistent object directory, one per source tree and configuration, so
# the patched and the unpatched (--no-patches) kernel of a base share it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() {
	cat <<EOF
usage: ci/build-kernel.sh [options]

  --base 6.1|6.12   kernel base (default 6.1): the source is
                    /usr/src/linux-source-<base>.tar.xz (package
                    linux-source-<base>), the series patches/<base>/
                    (for 6.1, the flat patches/*.patch while patches/6.1/
                    does not exist)
  --source PATH     another kernel source: a .tar.xz or a directory
  --patches DIR     git format-patch series to apply instead of the base's;
                    'none' builds the unpatched source
  --no-patches      same as --patches none: the unpatched kernel with the
                    same configuration, for fair before/after comparisons
  --extra-series DIR
                    a second series applied on top (e.g. one that reopens
                    a race for a test kernel)
  --config-base tiny|FILE
                    config base: tinyconfig (default) or a distribution
                    config file such as /boot/config-\$(uname -r)
                    (--base FILE and --base tiny are accepted too)
  --fragment FILE   extra kconfig fragment (repeatable), e.g.
                    kconfig/debug.config
  --debug           shorthand for --fragment kconfig/debug.config
  --config-only     stop after the checked .config; print its path
  --jobs N          parallel make jobs (default: nproc)
  -h, --help        this text

Cache: \$DAXTRACE_CACHE (default /var/cache/daxtrace).
EOF
}

kbase=6.1
source_arg=
patch_dir=
extra_series=
base=tiny
fragments=("$REPO_DIR/kconfig/dax.config" "$REPO_DIR/kconfig/bpf.config"
	   "$REPO_DIR/kconfig/lab-vm.config")
extra=()
config_only=0
jobs=$(nproc)

while [ $# -gt 0 ]; do
	case $1 in
	--source) source_arg=${2:?--source needs a path}; shift 2 ;;
	--patches) patch_dir=${2:?--patches needs a directory}; shift 2 ;;
	--no-patches) patch_dir=none; shift ;;
	--extra-series) extra_series=$(realpath "${2:?--extra-series needs a directory}"); shift 2 ;;
	--base)
		case ${2:?--base needs 6.1, 6.12, tiny or a config file} in
		6.1|6.12) kbase=$2 ;;
		*) base=$2 ;;
		esac
		shift 2 ;;
	--config-base) base=${2:?--config-base needs tiny or a file}; shift 2 ;;
	--fragment) extra+=("$(realpath "${2:?--fragment needs a file}")"); shift 2 ;;
	--debug) extra+=("$REPO_DIR/kconfig/debug.config"); shift ;;
	--config-only) config_only=1; shift ;;
	--jobs) jobs=${2:?}; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; die "unknown option '$1'" ;;
	esac
done

[ -n "$source_arg" ] || source_arg=/usr/src/linux-source-$kbase.tar.xz
if [ -z "$patch_dir" ]; then
	patch_dir=$REPO_DIR/patches/$kbase
	# The 6.1 series is moving from patches/ into patches/6.1/.
	[ "$kbase" = 6.1 ] && [ ! -d "$patch_dir" ] && patch_dir=$REPO_DIR/patches
	# A base without a series yet builds unpatched.
	[ -d "$patch_dir" ] || patch_dir=none
fi
[ "$base" = tiny ] && fragments+=("$REPO_DIR/kconfig/tiny.config")
fragments+=("${extra[@]}")
for f in "${fragments[@]}"; do
	[ -f "$f" ] || die "kconfig fragment not found: $f"
done
[ "$base" = tiny ] || [ -f "$base" ] || die "config base not found: $base"

# --- the patch series --------------------------------------------------
series=()
if [ "$patch_dir" != none ]; then
	[ -d "$patch_dir" ] || die "patch directory not found: $patch_dir"
	while IFS= read -r p; do
		series+=("$p")
	done < <(find "$patch_dir" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' \
		 ! -name '0000-cover-letter.patch' | sort)
fi
n_base_series=${#series[@]}
if [ -n "$extra_series" ]; then
	[ -d "$extra_series" ] || die "extra series not found: $extra_series"
	while IFS= read -r p; do
		series+=("$p")
	done < <(find "$extra_series" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' \
		 ! -name '0000-cover-letter.patch' | sort)
fi

# --- the source tree, as a git repository at commit "base" -------------
if [ -d "$source_arg" ]; then
	[ -f "$source_arg/Makefile" ] || die "not a kernel tree: $source_arg"
	src_key=dir-$(printf '%s' "$(realpath "$source_arg")" | sha256sum | cut -c1-12)
else
	[ -f "$source_arg" ] || die "kernel source not found: $source_arg (apt-get install linux-source-$kbase)"
	src_key=$(sha256sum "$source_arg" | cut -c1-16)
fi
mkdir -p "$DAXTRACE_CACHE/src" "$DAXTRACE_CACHE/obj" "$DAXTRACE_CACHE/kernels"
tree=$DAXTRACE_CACHE/src/$src_key
# The tree is shared by all builds of this source: hold its lock while
# unpacking, patching, configuring and building.  A cache hit needs no lock.
exec 9>"$tree.lock"
[ -f "$tree/.daxtrace-base" ] || flock 9 || die "cannot lock $tree.lock"

git_() { git -C "$tree" -c user.name=daxtrace-ci -c user.email=ci@daxtrace.invalid "$@"; }

if [ ! -f "$tree/.daxtrace-base" ]; then
	rm -rf "$tree"
	mkdir -p "$tree"
	if [ -d "$source_arg" ]; then
		run_logged "$tree.log" "copying source tree" \
			rsync -a --exclude .git "$source_arg/" "$tree/"
	else
		run_logged "$tree.log" "unpacking $(basename "$source_arg")" \
			tar -xf "$source_arg" -C "$tree" --strip-components=1
	fi
	# -f: Debian's top-level .gitignore ignores everything but debian/.
	# gc.auto 0: an automatic repack of ~90k loose objects would compete
	# with the kernel build for the CPU for minutes, for a throwaway repo.
	run_logged "$tree.log" "committing the source into a throwaway git repository" \
		bash -c 'cd "$1" && git init -q && git config gc.auto 0 && git add -A -f && git -c user.name=daxtrace-ci \
			 -c user.email=ci@daxtrace.invalid commit -q -m "base: $2"' _ "$tree" "$source_arg"
	git_ tag -f base >/dev/null
	touch "$tree/.daxtrace-base"
fi
kver=$(make -s -C "$tree" kernelversion 2>/dev/null)

# --- cache key ---------------------------------------------------------
base_key=tiny
[ "$base" = tiny ] || base_key=$(hash_files "$base")
series_key=$(hash_files "${series[@]}")
config_key=$(hash_files "${fragments[@]}")
key=$kver-$src_key-s$series_key-c$config_key-b$base_key
out=$DAXTRACE_CACHE/kernels/$key
if [ "$config_only" = 0 ] && [ -f "$out/bzImage" ]; then
	log "cached: $kver, ${#series[@]} patches ($out)"
	echo "$out/bzImage"
	exit 0
fi

# --- apply the series -------------------------------------------------
flock 9 || die "cannot lock $tree.lock"
git_ am --abort >/dev/null 2>&1 || true
git_ checkout -q -f -B daxtrace-build base
log "applying ${#series[@]} patches ($n_base_series from ${patch_dir}${extra_series:+, the rest from $extra_series}) onto $kver"
for p in "${series[@]}"; do
	if ! git_ am -q --whitespace=nowarn "$p" >"$tree.am.log" 2>&1; then
		sed 's/^/    /' "$tree.am.log" | head -n 20 >&2
		git_ am --abort >/dev/null 2>&1 || true
		die "patch does not apply: $(basename "$p")"
	fi
done

# --- configure and check that nothing requested was dropped -----------
# One object directory per source, base and set of extra fragments, so that
# a changed series or fragment rebuilds only what it touches (kbuild tracks
# config symbols per object) while a --debug build does not thrash the
# normal one; --config-only works in a scratch directory.
if [ "$config_only" = 1 ]; then
	obj=$DAXTRACE_CACHE/obj/config-only
	rm -rf "$obj"
else
	obj=$DAXTRACE_CACHE/obj/$kver-$src_key-b$base_key-x$(hash_files "${extra[@]}")
fi
mkdir -p "$obj"
mk() { make -C "$tree" O="$obj" ARCH=x86_64 "$@"; }
if [ "$base" = tiny ]; then
	mk -s tinyconfig >"$obj/config.log" 2>&1 || die "make tinyconfig failed ($obj/config.log)"
else
	cp "$base" "$obj/.config"
fi
"$tree/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" "${fragments[@]}" \
	>>"$obj/config.log" 2>&1 || die "merge_config.sh failed ($obj/config.log)"
mk -s olddefconfig >>"$obj/config.log" 2>&1 || die "make olddefconfig failed ($obj/config.log)"
"$CI_DIR/check-config.sh" "$obj/.config" "${fragments[@]}"
if [ "$config_only" = 1 ]; then
	echo "$obj/.config"
	exit 0
fi

# --- build --------------------------------------------------------------
command -v pahole >/dev/null || die "pahole not found (apt-get install dwarves): needed for BTF"
t0=$(date +%s)
run_logged "$obj/build.log" "building bzImage ($kver, -j$jobs)" mk -j"$jobs" bzImage
secs=$(( $(date +%s) - t0 ))
mkdir -p "$out.tmp"
cp "$obj/arch/x86/boot/bzImage" "$obj/.config" "$obj/System.map" "$out.tmp/"
printf 'kernel=%s\nsource=%s\npatches=%s\nbuild_seconds=%s\n' \
	"$kver" "$source_arg" "${#series[@]}" "$secs" >"$out.tmp/meta"
rm -rf "$out"
mv "$out.tmp" "$out"
log "built $kver with ${#series[@]} patches in ${secs}s"
echo "$out/bzImage"

#!/usr/bin/env bash
# README command 1, the main job: on a fresh machine, install what is
# needed, build everything, boot the emulated-pmem lab and show DAX working
# on ext4 and xfs, on Debian's stock 6.1 and on the project's own kernel
# (linux-source-6.1 + patches/).  Results land in out/demo/.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

case ${1:-} in
-h|--help) echo "usage: ci/demo.sh   (results in out/demo/)"; exit 0 ;;
esac
out=$REPO_DIR/out/demo
mkdir -p "$out"

"$CI_DIR/install-deps.sh"
run_logged "$out/cmake.log" "building daxtrace" bash -c \
	"cmake -S '$REPO_DIR' -B '$REPO_DIR/build' -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build '$REPO_DIR/build' -j$(nproc)"
"$CI_DIR/build-kernel.sh" >/dev/null

summary=()
for kernel in stock built; do
	for fs in ext4 xfs; do
		log "lab: $kernel kernel, $fs"
		if "$CI_DIR/lab" run --kernel "$kernel" --fs "$fs" --timeout 300 \
			--out "$out/$kernel-$fs" --script "$REPO_DIR/tests/lab/dax_fault_check.sh"; then
			summary+=("$kernel/$fs: DAX working ($(grep -o 'boot_to_command_s=.*' "$out/$kernel-$fs/timing"))")
		else
			summary+=("$kernel/$fs: FAILED (see $out/$kernel-$fs)")
		fi
	done
done
printf '\n== summary ==\n'
printf '%s\n' "${summary[@]}"
! printf '%s\n' "${summary[@]}" | grep -q FAILED

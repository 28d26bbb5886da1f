# shellcheck shell=bash
# Shared helpers for the ci/ scripts: logging with elapsed time, errors
# that fit on one line, the cache directory, and long steps with progress.

CI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$CI_DIR/.." && pwd)
# Outside the checkout so that a fresh clone (and CI on the same machine)
# reuses kernels that were already built for the same inputs.
DAXTRACE_CACHE=${DAXTRACE_CACHE:-/var/cache/daxtrace}
CI_T0=${CI_T0:-$(date +%s)}
export CI_T0

_ci_prog=$(basename "$0")

elapsed() { echo $(( $(date +%s) - CI_T0 )); }

# Progress goes to stderr so that stdout stays machine-readable (paths).
log() { printf '[%s +%ss] %s\n' "$_ci_prog" "$(elapsed)" "$*" >&2; }

die() { printf '%s: error: %s\n' "$_ci_prog" "$*" >&2; exit 1; }

# run_logged LOGFILE STAGE CMD...: run a long command with its output in
# LOGFILE, printing the stage, a heartbeat every 30 s with the last line of
# output, and the log's tail if it fails.
run_logged() {
	local logfile=$1 stage=$2 pid rc t0
	shift 2
	t0=$(date +%s)
	log "$stage ..."
	"$@" >"$logfile" 2>&1 &
	pid=$!
	while ! wait_timeout "$pid" 30; do
		log "$stage: $(( $(date +%s) - t0 ))s, $(tail -n 1 "$logfile" | cut -c1-100)"
	done
	rc=0
	wait "$pid" || rc=$?
	if [ "$rc" -ne 0 ]; then
		tail -n 30 "$logfile" >&2
		die "$stage failed (exit $rc); full log: $logfile"
	fi
	log "$stage done in $(( $(date +%s) - t0 ))s"
}

# wait_timeout PID SECONDS: true once PID has exited, false after SECONDS.
wait_timeout() {
	local i
	for ((i = 0; i < $2 * 5; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.2
	done
	! kill -0 "$1" 2>/dev/null
}

# Hash of files' contents (and names), stable across checkouts.
hash_files() {
	local f
	for f in "$@"; do
		[ -f "$f" ] || continue
		printf '%s\n' "$(basename "$f")"
		cat "$f"
	done | sha256sum | cut -c1-16
}

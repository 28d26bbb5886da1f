# shellcheck shell=bash
# The one shell library for ci/, tests/ and bench/ scripts: the checkout's
# root, logging with elapsed time, errors that fit on one line, the cache
# directory, long steps with progress, and temporary directories removed
# on exit.  Source it by path from any working directory, e.g.
#   . "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
# Scripts run inside the lab guest see the checkout at the same path, so
# they source it the same way.

# CDPATH would make cd print the directory and spoil the result.
CI_DIR=$(CDPATH='' cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034 # used by the scripts that source this
REPO_DIR=$(CDPATH='' cd -- "$CI_DIR/.." && pwd)
# Outside the checkout so that a fresh clone (and CI on the same machine)
# reuses kernels that were already built for the same inputs.
DAXTRACE_CACHE=${DAXTRACE_CACHE:-/var/cache/daxtrace}
# Ring buffer (MiB) of the lab tests' live daxtrace runs.  The 8 MiB default
# dropped events under TCG during the race workloads (23707 in one run here,
# 162597 on a loaded CI host), and a finding near dropped events is only
# uncertain; with 64 MiB two runs of lab.daxtrace.built.xfs lost none.
LAB_RINGBUF_MB=64
# Lines of a kernel log that report trouble (WARN, BUG, oops, lockdep,
# KASAN, hung task): the same expression ci/lab judges guest logs by.
KERNEL_TROUBLE_RE=$(<"$CI_DIR/kernel_trouble.ere")
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

# on_exit COMMAND: run COMMAND (eval'd) when the script exits, after the
# commands registered later (last in, first out).  The one EXIT trap of
# the script: a script that sets its own "trap ... EXIT" replaces it.
_ci_exit_cmds=()
_ci_run_exit() {
	local rc=$? i
	for ((i = ${#_ci_exit_cmds[@]} - 1; i >= 0; i--)); do
		eval "${_ci_exit_cmds[i]}" || true
	done
	return $rc
}
on_exit() {
	_ci_exit_cmds+=("$1")
	trap _ci_run_exit EXIT
}

# make_workdir VAR [TEMPLATE]: create a temporary directory (mktemp -d, in
# $TMPDIR or from TEMPLATE), store its path in VAR, and remove it on exit.
# Not $(make_workdir): the trap would belong to the subshell.
make_workdir() {
	local _d
	_d=$(mktemp -d ${2:+"$2"}) || die "cannot create a temporary directory"
	on_exit "rm -rf -- '$_d'"
	printf -v "$1" '%s' "$_d"
}

# wait_until PID SECONDS COMMAND...: poll COMMAND until it succeeds.
# Returns 0 once it has, 1 when PID exits first (the process that was to
# make it true died), 2 after SECONDS.
wait_until() {
	local pid=$1 secs=$2 i
	shift 2
	for ((i = 0; i < secs * 5; i++)); do
		"$@" && return 0
		# Checked again after the exit: the last thing PID did may count.
		kill -0 "$pid" 2>/dev/null || { "$@" && return 0; return 1; }
		sleep 0.2
	done
	"$@" && return 0
	return 2
}

# wait_for_line FILE REGEX PID SECONDS: wait_until FILE has a line
# matching REGEX (grep -E).
wait_for_line() { wait_until "$3" "$4" grep -qsE -- "$2" "$1"; }

# The lab's live daxtrace around a workload (inside a guest, on the DAX
# filesystem at $LAB_MNT, with the lab's ring size), started and stopped
# the same way by every lab script that records one.
#
# daxtrace_live_start DAXTRACE DXT JSONL ERR: start DAXTRACE in the
# background (its pid in DAXTRACE_PID), recording to DXT, JSON lines to
# JSONL, stderr to ERR, and wait up to 60 s for its start line.  Returns 1,
# showing ERR, when it exited first; without a start line after 60 s it
# returns 0: the workload runs anyway and the judge reports what daxtrace
# did see.
daxtrace_live_start() {
	local daxtrace=$1 dxt=$2 jsonl=$3 err=$4 rc=0
	"$daxtrace" --json --interval 2 --force --record "$dxt" --dev "$LAB_MNT" \
		--ringbuf-mb "$LAB_RINGBUF_MB" >"$jsonl" 2>"$err" &
	DAXTRACE_PID=$!
	wait_for_line "$jsonl" '"type":"start"' "$DAXTRACE_PID" 60 || rc=$?
	[ $rc != 1 ] || { echo "daxtrace exited early:"; cat "$err"; return 1; }
}

# daxtrace_live_stop DAXTRACE ERR DXT REPLAY_JSONL REPLAY_ERR: stop it with
# SIGINT (its Ctrl-C path), which must exit 0, then replay the recording
# DXT as JSON lines.  Returns 1, saying why, when either failed.
daxtrace_live_stop() {
	local daxtrace=$1 err=$2 dxt=$3 replay_jsonl=$4 replay_err=$5 rc=0
	kill -INT "$DAXTRACE_PID"
	wait "$DAXTRACE_PID" || rc=$?
	[ $rc = 0 ] || { echo "daxtrace exited $rc"; cat "$err"; return 1; }
	"$daxtrace" replay --json "$dxt" >"$replay_jsonl" 2>"$replay_err" ||
		{ echo "replay failed"; cat "$replay_err"; return 1; }
}

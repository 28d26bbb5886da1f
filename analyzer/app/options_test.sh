#!/bin/bash
# daxtrace under hostile input: option values checked before anything
# loads (one line, exit 2), write errors on stdout and an export that
# never delivered make the run fail (exit 1) with one line saying why, a
# second Ctrl-C ends the wait for delivery.  Replays only: runs anywhere,
# root or not.  Output is KTAP; exits non-zero if any check fails.
# usage: options_test.sh DAXTRACE
set -uo pipefail
dt=$(realpath "${1:?usage: options_test.sh DAXTRACE}")
# shellcheck source=SCRIPTDIR/../../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
. "$REPO_DIR/tests/ktap.sh"
. "$REPO_DIR/tests/expect.sh"
trace="$REPO_DIR/analyzer/tests/data/stock-6.1-ext4-swapboot-punch.dxt"
work=
make_workdir work
export HOME="$work"   # the exporter's default spill directory lands here
ktap_plan 22

pow2="^daxtrace: error: --ringbuf-mb: '%s' is not a power of two from 1 to 1024 \(MiB\)"
for v in 3 4096 6144 100000 0 -8; do
	# shellcheck disable=SC2059
	check "--ringbuf-mb $v: one line naming the range, exit 2" expect_one_line 2 "$(printf "$pow2" "$v")" "$dt" --ringbuf-mb "$v"
done
# Accepted values reach the next check (--dev) without loading anything.
check "--ringbuf-mb 1024 is accepted (the next bad option is the one reported)" \
	expect_one_line 2 "^daxtrace: error: --dev: '/dev/null' is a character device" "$dt" --ringbuf-mb 1024 --dev /dev/null

for v in nan inf -1 0; do
	check "--duration $v: one short line with the range, exit 2" \
		expect_one_line 2 "^daxtrace: error: --duration: '$v' is not 0.001 to 1e\+09 seconds .{0,20}$" "$dt" --duration "$v"
done
check "--interval 1e400 (overflows a double): no 300-digit DBL_MAX, exit 2" \
	expect_one_line 2 "^daxtrace: error: --interval: '1e400' is not 0.01 to 86400 seconds .{0,20}$" "$dt" --interval 1e400
check "--clickhouse-batch-rows 0: the range in short, exit 2" \
	expect_one_line 2 "^daxtrace: error: --clickhouse-batch-rows: Value 0 not in range 1 to 10000000 .{0,20}$" \
	"$dt" --clickhouse-batch-rows 0
check "--dev /dev/null: a character device is refused and the message says what is wanted, exit 2" \
	expect_one_line 2 "^daxtrace: error: --dev: '/dev/null' is a character device; give a block device, MAJ:MIN, or a path on the mounted filesystem" \
	"$dt" --dev /dev/null

# replay -p: the trace's processes, not this host's.
pids() { python3 -c "
import json, sys
f = [json.loads(l) for l in open(sys.argv[1]) if '\"type\":\"finding\"' in l]
print(' '.join(sorted({str(e['pid']) for x in f for e in x.get('evidence', []) if e.get('pid')})))" "$1"; }
"$dt" replay --json "$trace" >"$work/all.jsonl" 2>/dev/null
read -r pid _ <<<"$(pids "$work/all.jsonl")"
echo "# trace processes with findings: $(pids "$work/all.jsonl")"
"$dt" replay --json -p "${pid:-0}" "$trace" >"$work/one.jsonl" 2>"$work/one.err"
rc=$?
got=$(pids "$work/one.jsonl")
check "replay -p PID of the trace (pid $pid, not looked up here): exit $rc, findings only of it ($got)" \
	bash -c "[ $rc = 0 ] && [ -n '$pid' ] && [ '$got' = '$pid' ]"
check "replay -p of a pid no trace process has: exit 0, no findings, no /proc check" \
	bash -c "'$dt' replay --json -p 4194303 '$trace' >'$work/none.jsonl' 2>'$work/none.err' && ! grep -q '\"finding\"' '$work/none.jsonl' && ! grep -q 'no process' '$work/none.err'"

check "replay --json > /dev/full: one error line, exit 1" \
	expect_one_line 1 "^daxtrace: error: writing standard output: No space left on device$" \
	bash -c "exec '$dt' replay --json '$trace' >/dev/full"

# An export that never delivered: the JSON is the same, the exit is 1.
DAXTRACE_CLICKHOUSE_FLUSH_TIMEOUT=2 "$dt" replay --json --clickhouse http://127.0.0.1:1/ \
	--clickhouse-spill "$work/spill" "$trace" >"$work/ch.jsonl" 2>"$work/ch.err"
rc=$?
sed 's/^/#   stderr: /' "$work/ch.err" | tail -n 4
check "unreachable ClickHouse: exit 1 and one error line naming the undelivered batches" \
	bash -c "[ $rc = 1 ] && [ \$(grep -c '^daxtrace: error:' '$work/ch.err') = 1 ] && grep -qE '^daxtrace: error: clickhouse: [0-9]+ of [0-9]+ batches of this run \([0-9]+ rows\) not delivered to http://127.0.0.1:1/ \(' '$work/ch.err'"
check "... findings and JSON unaffected (same lines as without --clickhouse, the start line aside)" \
	bash -c "diff <(grep -v '\"type\":\"start\"' '$work/all.jsonl') <(grep -v '\"type\":\"start\"' '$work/ch.jsonl') >/dev/null"
check "... a wait of over a second says so on stderr" grep -q "waiting for delivery: " "$work/ch.err"

# A database name ClickHouse would refuse: refused here, before the
# default spill directory (named after the database) is created.
check "--clickhouse-db 'bad;name': one error line, exit 1, no spill directory named after it" \
	bash -c "! '$dt' replay --clickhouse http://127.0.0.1:1/ --clickhouse-db 'bad;name' '$trace' >/dev/null 2>'$work/db.err' &&
		grep -q \"^daxtrace: error: --clickhouse: --clickhouse-db: 'bad;name' is not a usable database name\" '$work/db.err' &&
		[ -z \"\$(find '$work' /var/lib/daxtrace/clickhouse-spill -name '*bad;name*' 2>/dev/null)\" ]"

# Two SIGINTs during the (default 15 s) delivery wait end it at once.
"$dt" replay --json --clickhouse http://127.0.0.1:1/ --clickhouse-spill "$work/spill2" "$trace" \
	>"$work/int.jsonl" 2>"$work/int.err" &
p=$!
wait_for_line "$work/int.err" "waiting for delivery" $p 20
kill -INT $p; sleep 0.3; kill -INT $p
t0=$(date +%s.%N)
wait_timeout $p 3
wait $p
rc=$?
t=$(echo "$(date +%s.%N) - $t0" | bc)
check "second SIGINT ends the delivery wait (exit $rc after ${t}s)" \
	bash -c "[ $rc != 0 ] && [ \$(echo '$t < 2.5' | bc) = 1 ] && grep -q 'stopped waiting for delivery' '$work/int.err'"

ktap_finish

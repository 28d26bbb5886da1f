#!/bin/bash
# Recording and replay under hostile conditions, with the real daxtrace
# command on this host: a recorder killed with SIGKILL, a full device, a
# reader that goes away (| head -1), an existing recording, and damaged
# traces (a flipped byte, a truncated file).  The live cases need root
# (they load the probes).  Output is KTAP; exits non-zero if any check
# fails.
# usage: recording_test.sh DAXTRACE
set -uo pipefail
dt=$(realpath "${1:?usage: recording_test.sh DAXTRACE}")
# shellcheck source=SCRIPTDIR/../../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
. "$REPO_DIR/tests/ktap.sh"
data="$REPO_DIR/dashboards/tests/data/stock-ext4.dxt" # 43,035 events in 11 blocks
work=
make_workdir work

summary_events() {	# the "events" of the JSON summary in FILE
	python3 -c "
import json, sys
s = [json.loads(l) for l in open(sys.argv[1]) if '\"summary\"' in l]
print(s[-1]['events'] if s else -1)" "$1"
}
# Events for the host's probes while a recording runs: fsync and ioctl
# on files of the file system the test runs on.
workload() {
	local end=$((SECONDS + $1))
	while [ $SECONDS -lt $end ]; do
		dd if=/dev/zero of="$work/load" bs=4k count=4 conv=fsync status=none
		lsattr "$work/load" >/dev/null 2>&1
		sleep 0.05
	done
}

ktap_plan 12

# 1. SIGKILL: the header is on disk at once, blocks within the flush
# interval (1 s), so the killed recorder's trace replays up to its last
# block.  (This host's kernel has no DAX, so its recording holds no
# events; test_trace_file.cpp kills a recorder that has some.)
"$dt" --json --record "$work/killed.dxt" >"$work/killed.jsonl" 2>"$work/killed.err" &
pid=$!
wait_for_line "$work/killed.jsonl" '"type":"start"' $pid 10
workload 2
sleep 1.5 # > flush interval + poll timeout
kill -KILL $pid
wait $pid 2>/dev/null
"$dt" replay --json "$work/killed.dxt" >"$work/killed-replay.jsonl" 2>"$work/killed-replay.err"
rc=$?
n=$(summary_events "$work/killed-replay.jsonl")
echo "# SIGKILL'd recording: $(stat -c %s "$work/killed.dxt") bytes, replay exit $rc, $n events"
check "SIGKILL'd recorder: the trace replays as truncated (exit 3), not as garbage" \
	bash -c "[ $rc = 3 ] && grep -q 'without the end marker' '$work/killed-replay.jsonl'"
check "... with the header of the recording (host, hooks) and a summary" \
	bash -c "grep '\"type\":\"start\"' '$work/killed-replay.jsonl' | grep -q '\"host\":\"$(hostname)\"' &&
		tail -n 1 '$work/killed-replay.jsonl' | grep -q '\"type\":\"summary\"'"

# 2. A device with no space: a clear error, the summary, exit 1.
"$dt" --json --duration 3 --record /dev/full >"$work/full.jsonl" 2>"$work/full.err"
rc=$?
check "--record /dev/full: exit 1 with 'No space left on device'" \
	bash -c "[ $rc = 1 ] && grep -q '^daxtrace: error: writing trace /dev/full failed: .*No space left on device' '$work/full.err'"
check "... and the summary is still printed" \
	bash -c "tail -n 1 '$work/full.jsonl' | grep -q '\"type\":\"summary\"'"

# 3. The reader goes away: SIGPIPE stops daxtrace like SIGINT does, and
# the recording is closed (end marker), so it replays cleanly.
( workload 4 & "$dt" --json --interval 0.5 --record "$work/pipe.dxt" 2>"$work/pipe.err" | head -n 1 >"$work/pipe.out"
  echo "${PIPESTATUS[0]}" >"$work/pipe.rc" )
check "| head -1: daxtrace stops with exit 1 and says why" \
	bash -c "[ \$(cat '$work/pipe.rc') = 1 ] && grep -q 'broken pipe' '$work/pipe.err' && grep -q '\"type\":\"start\"' '$work/pipe.out'"
check "... and the recording is closed: replay exits 0" bash -c "'$dt' replay --json '$work/pipe.dxt' >/dev/null"

# 4. An existing recording is not overwritten without --force.
cp "$work/pipe.dxt" "$work/keep.dxt"
check "--record onto an existing file: exit 1, names it, leaves it alone" \
	bash -c "'$dt' --duration 1 --record '$work/keep.dxt' >/dev/null 2>'$work/keep.err'; [ \$? = 1 ] &&
		grep -q 'keep.dxt exists; not overwriting' '$work/keep.err' && cmp -s '$work/pipe.dxt' '$work/keep.dxt'"
check "... --force overwrites it" \
	bash -c "'$dt' --json --duration 1 --force --record '$work/keep.dxt' >/dev/null 2>&1 && ! cmp -s '$work/pipe.dxt' '$work/keep.dxt' &&
		'$dt' replay '$work/keep.dxt' >/dev/null 2>&1"

# 5. Damaged traces (no privileges needed): a lab trace of 11 blocks.
"$dt" replay --json "$data" >"$work/whole.jsonl" 2>/dev/null
whole=$(summary_events "$work/whole.jsonl")
cp "$data" "$work/flip.dxt"
size=$(stat -c %s "$work/flip.dxt")
mid=$((size / 2))
python3 -c "
import sys
f = open(sys.argv[1], 'r+b'); f.seek(int(sys.argv[2])); b = f.read(1); f.seek(int(sys.argv[2]))
f.write(bytes([b[0] ^ 0x40]))" "$work/flip.dxt" $mid
"$dt" replay --json "$work/flip.dxt" >"$work/flip.jsonl" 2>"$work/flip.err"
rc=$?
n=$(summary_events "$work/flip.jsonl")
echo "# flipped byte at $mid of $size: exit $rc, $n of $whole events analysed"
check "flipped byte mid-trace: exit 3, the gap is reported with where reading resumed" \
	bash -c "[ $rc = 3 ] && grep '\"type\":\"warning\"' '$work/flip.jsonl' | grep -q 'block payload checksum mismatch; resumed at byte [0-9]*, gap of 1 blocks'"
check "... the blocks after it are analysed (all but one block of 4096)" \
	[ "$n" -ge $((whole - 4096)) ] # + the two gap markers
check "... and the gap counts as lost events in the summary" python3 -c "
import json, sys
s = [json.loads(l) for l in open('$work/flip.jsonl') if '\"summary\"' in l][-1]
w = [json.loads(l) for l in open('$work/whole.jsonl') if '\"summary\"' in l][-1]
print('#   lost', s['lost'], 'vs', w['lost'], 'undamaged')
sys.exit(0 if s['lost'] == w['lost'] + 4096 else 1)"

head -c $((size * 2 / 3)) "$data" >"$work/cut.dxt"
"$dt" replay --json "$work/cut.dxt" >"$work/cut.jsonl" 2>/dev/null
rc=$?
n=$(summary_events "$work/cut.jsonl")
echo "# truncated at $((size * 2 / 3)) of $size: exit $rc, $n events analysed"
check "truncated trace: exit 3, every complete block before the cut analysed" \
	bash -c "[ $rc = 3 ] && [ $n = $((4096 * 6)) ] && grep -q 'nothing readable after it' '$work/cut.jsonl'"

ktap_finish

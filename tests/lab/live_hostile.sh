#!/bin/bash
# Runs inside the lab (real probes on a DAX filesystem): live daxtrace
# under hostile conditions while a race workload keeps the ring buffer
# busy.
#  - stdout on /dev/full (JSON and text) and a reader that goes away
#    (| head -1): each ends the run on its own with one clear error line,
#    the summary on stderr (stdout is gone), exit 1, every BPF link and
#    program detached (bpftool sees what it saw before), and a closed
#    recording that replays with the events daxtrace said it wrote; the
#    same run with a healthy reader exits 0 with no error (negative twin).
#  - a ring buffer too small for the load: drops are counted, reported in
#    a warning and as lost events in the summary (the same number), the
#    run still exits 0, and the replay counts the same loss.
#  - a kernel without BTF (/sys/kernel/btf hidden by an empty directory):
#    exit 1 with one line saying what the probes need, nothing attached
#    (the other cases show the same binary attaching with BTF).
# Output is KTAP; exits non-zero if any check fails.
# usage: live_hostile.sh DAXTRACE BINDIR
set -uo pipefail
# shellcheck source=SCRIPTDIR/../../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
# shellcheck source=SCRIPTDIR/../ktap.sh
. "$REPO_DIR/tests/ktap.sh"
dt=${1:?usage: live_hostile.sh DAXTRACE BINDIR}
bindir=${2:?}
out=$LAB_OUT
command -v bpftool >/dev/null || ktap_skip_all "bpftool is not installed"
rm -f "$out"/*.dxt # a rerun in the same results directory

bpf_objects() {	# the kernel's BPF links and programs, one per line
	bpftool -j link show 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
	bpftool -j prog show 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}
# Links and programs are freed after the last file descriptor closes, the
# programs after an RCU grace period: poll a little.
detached() {	# BASELINE_FILE: back to the links and programs before the run
	local i
	for i in $(seq 50); do
		[ "$(bpf_objects)" = "$(cat "$1")" ] && return 0
		sleep 0.2
	done
	echo "#   now $(bpf_objects | tr '\n' ' ')links/progs, before $(tr '\n' ' ' <"$1")"
	return 1
}
summary_on_stderr() {	# ERRFILE json|text
	if [ "$2" = json ]; then
		grep '^{' "$1" | python3 -c '
import json, sys
s = [json.loads(l) for l in sys.stdin if "\"summary\"" in l]
sys.exit(0 if s and "events" in s[-1] else 1)'
	else
		grep -q '^== daxtrace summary ==' "$1"
	fi
}
recorded() {	# ERRFILE: N of "daxtrace: recorded N events to ..."
	sed -n 's/^daxtrace: recorded \([0-9]*\) events to .*/\1/p' "$1" | tail -n 1
}
replays() {	# TRACE ERRFILE: replay exits 0 with the events the recorder wrote
	local n rc
	"$dt" replay --json "$1" >"$1.replay.jsonl" 2>"$1.replay.err"
	rc=$?
	n=$(python3 -c '
import json, sys
s = [json.loads(l) for l in open(sys.argv[1]) if "\"summary\"" in l]
print(s[-1]["events"] if s else -1)' "$1.replay.jsonl")
	echo "#   replay of $(basename "$1"): exit $rc, $n events; recorder said $(recorded "$2")"
	[ "$rc" = 0 ] && [ "$n" = "$(recorded "$2")" ] && [ "$n" -gt 0 ]
}

ktap_plan 21
bpf_objects >"$out/bpf.before"
echo "# before: $(tr '\n' ' ' <"$out/bpf.before")links/progs"

# A light workload (two threads) runs while daxtrace does, so each run has
# events in flight when its output fails.  It is stopped (SIGSTOP) while
# the checks replay, which on 2 TCG vCPUs it would otherwise starve, and
# while daxtrace attaches: under QEMU TCG, attaching an fentry program to
# a function the other vCPU keeps entering has left that vCPU looping at
# the function's first instruction for good (seen at ext4_issue_zeroout+0x0
# when that was hooked, memory already holding the new call), so the
# load resumes only once the recording exists, i.e. after the attach.
"$bindir/zero_fault_race" "$LAB_MNT" -t 2 -p 16 -s 3600 >"$out/workload.tap" 2>&1 &
load=$!
load_pause() { kill -STOP $load; }
load_resume() { kill -CONT $load; }
load_pause
# resume_after_attach TRACE PID: resume the load once daxtrace (PID) has
# attached, which is when it creates its recording TRACE.
resume_after_attach() { wait_until "$2" 300 test -s "$1"; load_resume; }

for fmt in json text; do
	flag=; [ $fmt = json ] && flag=--json
	# The first line (start) fails at once; the run goes on long enough
	# for the poll loop to see it, then drains and closes the recording.
	# (The timeout only bounds a hang: loading the probes under TCG on a
	# loaded host has taken minutes.)
	# shellcheck disable=SC2086
	timeout 300 "$dt" $flag --interval 0.5 --record "$out/full-$fmt.dxt" --dev "$LAB_MNT" \
		>/dev/full 2>"$out/full-$fmt.err" &
	pid=$!
	resume_after_attach "$out/full-$fmt.dxt" $pid
	wait $pid
	rc=$?
	load_pause
	echo "# stdout on /dev/full ($fmt): exit $rc"
	sed 's/^/#   /' "$out/full-$fmt.err" | grep -v '^#   {' | head -n 8
	check "stdout /dev/full ($fmt): exit 1 on its own, one error line naming ENOSPC" \
		bash -c "[ $rc = 1 ] && [ \$(grep -c 'error:' '$out/full-$fmt.err') = 1 ] &&
			grep -q '^daxtrace: error: writing standard output: No space left on device' '$out/full-$fmt.err'"
	check "... the summary on stderr" summary_on_stderr "$out/full-$fmt.err" $fmt
	check "... BPF links and programs detached" detached "$out/bpf.before"
	check "... the recording is closed and replays (exit 0, the events it wrote)" \
		replays "$out/full-$fmt.dxt" "$out/full-$fmt.err"
done

# A reader that goes away: the first write after head exits gets EPIPE
# (SIGPIPE is caught), which stops the run like Ctrl-C.  Ten seconds of
# recording first, so the trace has blocks, not only a header.
( timeout 300 "$dt" --json --interval 10 --record "$out/pipe.dxt" --dev "$LAB_MNT" 2>"$out/pipe.err" |
	head -n 1 >"$out/pipe.out"
  echo "${PIPESTATUS[0]}" >"$out/pipe.rc" ) &
pid=$!
resume_after_attach "$out/pipe.dxt" $pid
wait $pid
rc=$(cat "$out/pipe.rc")
load_pause
echo "# stdout a pipe closed after one line: exit $rc"
sed 's/^/#   /' "$out/pipe.err" | grep -v '^#   {' | head -n 8
check "| head -1: exit 1 on its own, one error line saying broken pipe" \
	bash -c "[ $rc = 1 ] && [ \$(grep -c 'error:' '$out/pipe.err') = 1 ] &&
		grep -q '^daxtrace: error: standard output closed (broken pipe); stopped' '$out/pipe.err' &&
		grep -q '\"type\":\"start\"' '$out/pipe.out'"
check "... the summary on stderr" summary_on_stderr "$out/pipe.err" json
check "... BPF links and programs detached" detached "$out/bpf.before"
check "... the recording is closed and replays (exit 0, the events it wrote)" \
	replays "$out/pipe.dxt" "$out/pipe.err"

# The negative twin: the same run with a reader that keeps reading (a
# pipe), ended by SIGINT, exits 0 with the summary on stdout and no error.
# A fifo, not a process substitution: the guest's /dev has no /dev/fd,
# and the results directory (9p) takes no fifos, so it lives in /tmp.
fifo=$(mktemp -u /tmp/ok.XXXXXX)
mkfifo "$fifo" || exit 1
cat "$fifo" >"$out/ok.jsonl" &
reader=$!
"$dt" --json --interval 0.5 --record "$out/ok.dxt" --dev "$LAB_MNT" 2>"$out/ok.err" \
	>"$fifo" &
pid=$!
resume_after_attach "$out/ok.dxt" $pid
wait_for_line "$out/ok.jsonl" '"type":"start"' $pid 300
sleep 2
kill -INT $pid
wait $pid
rc=$?
wait "$reader" # the reader has written the last lines
kill "$load" 2>/dev/null
load_resume
wait "$load" 2>/dev/null
check "healthy reader, SIGINT: exit 0 ($rc), no error, the summary on stdout only" \
	bash -c "[ $rc = 0 ] && ! grep -q 'error:' '$out/ok.err' && ! grep -q '\"summary\"' '$out/ok.err' &&
		tail -n 1 '$out/ok.jsonl' | grep -q '\"type\":\"summary\"'"
check "... its recording replays" replays "$out/ok.dxt" "$out/ok.err"
check "... BPF links and programs detached" detached "$out/bpf.before"

# Overload: three workloads (8 threads on 2 vCPUs) into a 1 MiB ring.
"$dt" --json --interval 2 --ringbuf-mb 1 --record "$out/drops.dxt" --dev "$LAB_MNT" \
	>"$out/drops.jsonl" 2>"$out/drops.err" &
pid=$!
wait_for_line "$out/drops.jsonl" '"type":"start"' $pid 300
loads=()
for w in zero_fault_race wb_mkwrite_race fault_truncate_race; do
	"$bindir/$w" "$LAB_MNT" -s 8 >/dev/null 2>&1 &
	loads+=($!)
done
wait "${loads[@]}"
kill -INT $pid
wait $pid
rc=$?
python3 - "$out/drops.jsonl" >"$out/drops.check" <<'PY'
import json, re, sys
live = [json.loads(l) for l in open(sys.argv[1])]
s = [j for j in live if j["type"] == "summary"][-1]
w = [int(m.group(1)) for j in live if j["type"] == "warning"
     for m in [re.match(r"(\d+) events were dropped \(ring buffer full\)", j["message"])] if m]
print(f"events={s['events']} lost={s['lost']} dropped_warned={sum(w)}")
PY
sed 's/^/# /' "$out/drops.check"
events=0 lost=-1 dropped_warned=0
eval "$(cat "$out/drops.check")"
check "overloaded 1 MiB ring: drops counted and reported (warning: $dropped_warned), exit 0 ($rc)" \
	test "$rc" = 0 -a "${dropped_warned:-0}" -gt 0
check "... every dropped event is a lost event in the summary ($lost = $dropped_warned)" \
	test "$lost" = "$dropped_warned"
"$dt" replay --json "$out/drops.dxt" >"$out/drops.dxt.replay.jsonl" 2>/dev/null
check "... the replay counts the same events and loss" python3 -c "
import json, sys
s = [json.loads(l) for l in open('$out/drops.dxt.replay.jsonl') if '\"summary\"' in l][-1]
print('#   replay: events', s['events'], 'lost', s['lost'])
sys.exit(0 if (s['events'], s['lost']) == ($events, $lost) else 1)"
check "... BPF links and programs detached" detached "$out/bpf.before"

# No BTF: hide /sys/kernel/btf behind an empty directory.
nobtf_clean() { [ ! -s "$out/nobtf.jsonl" ] && detached "$out/bpf.before"; }
empty=$(mktemp -d)
if mount --bind "$empty" /sys/kernel/btf; then
	"$dt" --json --duration 2 >"$out/nobtf.jsonl" 2>"$out/nobtf.err"
	rc=$?
	umount /sys/kernel/btf
	sed 's/^/#   /' "$out/nobtf.err"
	check "no BTF: exit 1 ($rc), one line saying the probes need CONFIG_DEBUG_INFO_BTF" \
		bash -c "[ $rc = 1 ] && [ \$(wc -l <'$out/nobtf.err') = 1 ] &&
			grep -q '^daxtrace: error: this kernel has no BTF (/sys/kernel/btf/vmlinux is missing): .*CONFIG_DEBUG_INFO_BTF=y' '$out/nobtf.err'"
	check "... nothing on stdout, nothing left attached" nobtf_clean
else
	ktap_not_ok "no BTF: could not hide /sys/kernel/btf (mount --bind failed)"
	ktap_not_ok "... nothing on stdout, nothing left attached"
fi
ktap_finish

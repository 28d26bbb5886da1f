#!/bin/bash
# Runs inside the lab (bench/live.sh): daxtrace of this tree ("new") and
# of a baseline commit ("old") side by side in one boot.
#  1. fault throughput: the fault-heavy zero_fault_race untraced, under
#     old, under new (ROUNDS rounds, order rotated), same duration each;
#  2. sustained: the stress workloads one after another under each;
#  3. overload: all three at once (8 threads on 2 vCPUs) under each.
# Prints "key=value" lines (key prefixes old_/new_).
# usage: live_guest.sh NEW_DAXTRACE OLD_DAXTRACE|- WORKLOAD_DIR SECONDS [ROUNDS]
set -euo pipefail
# shellcheck source=SCRIPTDIR/../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../ci/lib.sh"
new=$1 old=$2 bindir=$3 secs=${4:-10} rounds=${5:-2}
stores() { sed -n 's/.* \([0-9]*\) concurrent first-write stores.*/\1/p'; }
# summarise JSONL T0 T1 PREFIX: PREFIX_events/_lost/_seconds/_events_per_s
summarise() {
	python3 - "$@" <<'PY'
import json, sys
s = [json.loads(l) for l in open(sys.argv[1]) if '"summary"' in l][-1]
secs = float(sys.argv[3]) - float(sys.argv[2])
p = sys.argv[4]
print(f"{p}_events={s['events']}")
print(f"{p}_lost={s['lost']}")
print(f"{p}_seconds={secs:.1f}")
print(f"{p}_events_per_s={s['events'] / secs:.0f}")
PY
}
# summary_field JSONL FIELD: FIELD of daxtrace's last summary line.
summary_field() {
	python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if "\"summary\"" in l][-1][sys.argv[2]])' "$1" "$2"
}
lost_of() { summary_field "$1" lost; }
events_of() { summary_field "$1" events; }
# cpu_ticks PID: user + system CPU time of PID so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
tick_hz=$(getconf CLK_TCK)
# start WHO JSONL SECONDS: daxtrace WHO in the background, attached
start() {
	local bin=$new
	[ "$1" = old ] && bin=$old
	dt_out=$2
	"$bin" --json --duration "$3" >"$2" 2>/dev/null &
	dt_pid=$!
	wait_for_line "$2" '"type":"start"' "$dt_pid" 120 || die "daxtrace $1 did not start (see $2)"
	dt_ticks=$(cpu_ticks "$dt_pid")
}
# stop: ends daxtrace; dt_cpu is the CPU seconds it used since it attached
# (draining the ring and analysing: what bounds the rate it keeps up with;
# loading the probes before that is left out).
stop() {
	local now
	# daxtrace must still run: its CPU time is read from /proc, and a
	# phase it did not see to the end measures nothing.
	now=$(cpu_ticks "$dt_pid" 2>/dev/null) ||
		die "daxtrace (pid $dt_pid) exited before the end of its phase; its output: $(tail -3 "$dt_out" 2>/dev/null)"
	dt_cpu=$(awk -v a="$dt_ticks" -v b="$now" -v hz="$tick_hz" \
		'BEGIN { printf "%.2f", (b - a) / hz }')
	kill -INT "$dt_pid"
	wait "$dt_pid" || true
}

who="new"
[ "$old" != - ] && who="old new"
configs="bare $who"
# shellcheck disable=SC2086 # one word per configuration
set -- $configs
n=$#
for r in $(seq 1 "$rounds"); do
	order=""
	for k in $(seq 0 $((n - 1))); do
		idx=$(( (r - 1 + k) % n + 1 ))
		order="$order ${!idx}"
	done
	for c in $order; do
		if [ "$c" = bare ]; then
			echo "fault_bare_$r=$("$bindir/zero_fault_race" "$LAB_MNT" -s "$secs" | stores)"
		else
			start "$c" "$LAB_OUT/fault-$c-$r.jsonl" $((secs + 30))
			s=$("$bindir/zero_fault_race" "$LAB_MNT" -s "$secs" | stores)
			stop
			echo "fault_${c}_$r=$s"
			echo "fault_${c}_cpu_$r=$dt_cpu"
			echo "fault_${c}_events_$r=$(events_of "$LAB_OUT/fault-$c-$r.jsonl")"
			echo "fault_${c}_lost_$r=$(lost_of "$LAB_OUT/fault-$c-$r.jsonl")"
		fi
	done
done

# Sustained: the stress workloads one after another (one at a time keeps
# a CPU for daxtrace's consumer).
for c in $who; do
	start "$c" "$LAB_OUT/seq-$c.jsonl" $((3 * secs + 30))
	t0=$(date +%s.%N)
	s=$("$bindir/zero_fault_race" "$LAB_MNT" -s "$secs" | stores)
	for w in wb_mkwrite_race fault_truncate_race; do
		"$bindir/$w" "$LAB_MNT" -s "$secs" >/dev/null
	done
	t1=$(date +%s.%N)
	stop
	echo "${c}_seq_fault_stores=$s"
	echo "${c}_seq_cpu=$dt_cpu"
	summarise "$LAB_OUT/seq-$c.jsonl" "$t0" "$t1" "${c}_seq"
done

# Overload: all three at once (8 threads on 2 vCPUs starve the consumer).
for c in $who; do
	start "$c" "$LAB_OUT/rate-$c.jsonl" $((secs + 30))
	t0=$(date +%s.%N)
	"$bindir/zero_fault_race" "$LAB_MNT" -s "$secs" >"$LAB_OUT/rate-$c-zfr.txt" &
	w1=$!
	"$bindir/wb_mkwrite_race" "$LAB_MNT" -s "$secs" >/dev/null &
	w2=$!
	"$bindir/fault_truncate_race" "$LAB_MNT" -s "$secs" >/dev/null &
	w3=$!
	wait $w1 $w2 $w3
	t1=$(date +%s.%N)
	stop
	echo "${c}_rate_fault_stores=$(stores <"$LAB_OUT/rate-$c-zfr.txt")"
	echo "${c}_rate_cpu=$dt_cpu"
	summarise "$LAB_OUT/rate-$c.jsonl" "$t0" "$t1" "${c}_rate"
done

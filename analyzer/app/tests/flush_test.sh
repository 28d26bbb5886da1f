#!/bin/bash
# daxtrace flush DIR: a spill directory written while ClickHouse was out of
# reach, delivered later by hand, against Debian's real clickhouse-server
# (18.16) on loopback.  Every table exact for the run; the same batches
# offered again (a copy of the directory) inserted nothing; a server that
# does not answer, a directory another daxtrace holds and a file that is not
# a batch leave the batches counted and exit 1; bad usage exits 2.
#   flush_test.sh DAXTRACE [TRACE]            (KTAP output)
set -u
# shellcheck source=SCRIPTDIR/../../../dashboards/tests/ch_test.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../../dashboards/tests/ch_test.sh" "$@"
ch_test_server flush
DEAD="http://127.0.0.1:$((port + 2))/"   # nothing listens there
export DAXTRACE_CLICKHOUSE_USER=dtwriter DAXTRACE_CLICKHOUSE_PASSWORD=s3cret-pw

ktap_plan 6
ch_expected "$DT" "$TRACE" "$WORK/expected"
batch_rows() { local f s=0; for f in "$1"/*.batch; do [ -e "$f" ] && s=$((s + $(head -1 "$f" | cut -f4))); done; echo $s; }
nbatches() { ls "$1" | grep -c '\.batch$'; }
# flush NAME ARGS...: $WORK/NAME.{out,err,rc}
flush() {
	local name=$1
	shift
	"$DT" flush "$@" > "$WORK/$name.out" 2> "$WORK/$name.err"
	echo $? > "$WORK/$name.rc"
}
rc() { cat "$WORK/$1.rc"; }

# The run: ClickHouse unreachable, everything spilled.
DAXTRACE_CLICKHOUSE_FLUSH_TIMEOUT=1 "$DT" replay --json --clickhouse "$DEAD" --clickhouse-spill "$SPILL" \
	"$TRACE" > /dev/null 2> "$WORK/run.err"
run_rc=$?
rid=$(ch_run_id "$WORK/run.err")
n=$(nbatches "$SPILL") rows=$(batch_rows "$SPILL")
echo "# run $rid (exit $run_rc): $n batches, $rows rows spilled"

why=()
flush usage1 --clickhouse "$URL,$URL" "$SPILL"
[ "$(rc usage1)" = 2 ] || why+=("two URLs: exit $(rc usage1), want 2")
flush usage2 "$SPILL"
[ "$(rc usage2)" = 2 ] || why+=("no --clickhouse: exit $(rc usage2), want 2")
flush usage3 --clickhouse "$URL" --timeout nan "$SPILL"
[ "$(rc usage3)" = 2 ] || why+=("--timeout nan: exit $(rc usage3), want 2")
flush nodir --clickhouse "$URL" "$WORK/no/such/dir"
[ "$(rc nodir)" = 1 ] && [ ! -e "$WORK/no" ] || why+=("missing directory: exit $(rc nodir), want 1 and nothing created")
if [ ${#why[@]} -eq 0 ]; then
	ktap_ok "bad usage exits 2, a missing directory 1: $(head -1 "$WORK/usage1.err")"
else
	ktap_not_ok "bad usage" "${why[@]}"
fi

flush down --clickhouse "$DEAD" --timeout 1 "$SPILL"
if [ "$run_rc" = 1 ] && [ "$n" -gt 0 ] && [ "$(rc down)" = 1 ] && [ "$(nbatches "$SPILL")" = "$n" ] &&
	grep -q "; 0 already there (not sent twice); 0 refused .*; $n batches ($rows rows) left$" "$WORK/down.out" &&
	grep -q "^daxtrace: error: flush: $n batches not delivered (" "$WORK/down.err"; then
	ktap_ok "server down: $n batches ($rows rows) left, counted, exit 1: $(tail -1 "$WORK/down.err")"
else
	ktap_not_ok "server down" "run exit $run_rc, flush exit $(rc down)" "$(cat "$WORK/down.out" "$WORK/down.err")"
fi

# Another daxtrace delivering from the directory: this one leaves it alone.
# (The holder is the process holding the lock: no child keeps it after the kill.)
bash -c 'exec 9>> "$1/.lock" && flock 9 && exec sleep 30' _ "$SPILL" &
holder=$!
# Not a fixed sleep: on a loaded machine the holder can take longer than
# that to get the lock, and the flush then delivers everything.
wait_until "$holder" 10 bash -c '! flock -n "$1/.lock" true' _ "$SPILL" ||
	echo "# the holder did not take the lock"
flush locked --clickhouse "$URL" "$SPILL"
kill $holder 2>/dev/null
wait $holder 2>/dev/null
if [ "$(rc locked)" = 1 ] && [ "$(nbatches "$SPILL")" = "$n" ] &&
	grep -q "another daxtrace holds the directory" "$WORK/locked.err" &&
	[ "$(ch_num "SELECT count() FROM daxtrace.findings")" = 0 ]; then
	ktap_ok "directory locked by another daxtrace: nothing delivered, exit 1"
else
	ktap_not_ok "directory locked" "exit $(rc locked)" "$(cat "$WORK/locked.out" "$WORK/locked.err")"
fi

cp -a "$SPILL" "$WORK/copy"
flush first --clickhouse "$URL" "$SPILL"
problems=$(ch_check_run "$rid" "$WORK/expected")
if [ "$(rc first)" = 0 ] && [ -z "$problems" ] && [ "$(nbatches "$SPILL")" = 0 ] &&
	grep -q "^flush $SPILL: $n batches; delivered $rows rows in $n batches to $URL database daxtrace; 0 already there (not sent twice); 0 refused .*; 0 batches (0 rows) left$" \
		"$WORK/first.out"; then
	ktap_ok "flushed: $rows rows in $n batches, every table exact for run $rid"
else
	ktap_not_ok "flush" "exit $(rc first)" "$problems" "$(cat "$WORK/first.out" "$WORK/first.err")"
fi

parts() { ch_query "SELECT sum(rows) FROM system.parts WHERE database = 'daxtrace' AND active"; }
before=$(parts)
flush again --clickhouse "$URL" "$WORK/copy"
problems=$(ch_check_run "$rid" "$WORK/expected")
if [ "$(rc again)" = 0 ] && [ -z "$problems" ] && [ "$(parts)" = "$before" ] &&
	grep -q "; delivered 0 rows in 0 batches .*; $n already there (not sent twice); 0 refused .*; 0 batches (0 rows) left$" \
		"$WORK/again.out"; then
	ktap_ok "the same $n batches again (a copy): $n found already there, 0 rows inserted"
else
	ktap_not_ok "flush again" "exit $(rc again), rows $before -> $(parts)" "$problems" "$(cat "$WORK/again.out")"
fi

mkdir "$WORK/odd"
printf 'not a batch\n' > "$WORK/odd/x.batch"
flush odd --clickhouse "$URL" "$WORK/odd"
if [ "$(rc odd)" = 1 ] && [ -e "$WORK/odd/rejected/x.batch" ] &&
	grep -q "; 1 refused (set aside in $WORK/odd/rejected); 0 batches (0 rows) left$" "$WORK/odd.out"; then
	ktap_ok "a file that is not a batch: set aside in rejected/, exit 1"
else
	ktap_not_ok "not a batch" "exit $(rc odd)" "$(cat "$WORK/odd.out" "$WORK/odd.err")"
fi
ktap_finish

#!/bin/bash
# daxtrace --clickhouse against Debian's real clickhouse-server (18.16) on
# loopback: a recorded lab trace is replayed and every table must hold
# exactly the rows the trace gives, with no duplicates -- also when the
# server is killed in the middle of the export and restarted, when it is down
# for a whole run (the next run delivers the spilled batches), and when a
# batch the server already has is offered again.
#
#   export_test.sh DAXTRACE [TRACE]            (KTAP output)
set -u
# shellcheck source=SCRIPTDIR/ch_test.sh
. "$(dirname "${BASH_SOURCE[0]}")/ch_test.sh" "$@"
ch_test_server export
export DAXTRACE_CLICKHOUSE_USER=dtwriter DAXTRACE_CLICKHOUSE_PASSWORD=s3cret-pw

ktap_plan 8
"$DT" replay --json "$TRACE" > "$WORK/replay.jsonl" 2>/dev/null
"$CH_TESTS_DIR/expected_counts.py" < "$WORK/replay.jsonl" > "$WORK/expected"
echo "# expected rows: $(tr '\n' ' ' < "$WORK/expected")"
check_run() { ch_check_run "$1" "$WORK/expected"; }

# 1. plain export
"$DT" replay --json --clickhouse "$URL" --clickhouse-spill "$SPILL" "$TRACE" \
	> "$WORK/r1.jsonl" 2> "$WORK/r1.err"
rc=$?
rid1=$(ch_run_id "$WORK/r1.err")
if [ $rc -eq 0 ] && [ -n "$rid1" ] && cmp -s <(grep -v '"type":"start"' "$WORK/replay.jsonl") \
	<(grep -v '"type":"start"' "$WORK/r1.jsonl"); then
	problems=$(check_run "$rid1")
	if [ -z "$problems" ] && [ -z "$(ls "$SPILL"/*.batch 2>/dev/null)" ]; then
		ktap_ok "replay exports exactly the trace's rows (run $rid1)"
	else
		mapfile -t p <<< "$problems"; ktap_not_ok "replay exports exactly the trace's rows" "${p[@]}" "spill: $(ls "$SPILL")"
	fi
else
	ktap_not_ok "replay with --clickhouse runs and reports what replay reports" "rc $rc" "$(cat "$WORK/r1.err")"
fi

# 2. server killed in the middle of the export, restarted 2 s later
before=$(ch_query "SELECT count() FROM daxtrace.events")
DAXTRACE_CLICKHOUSE_TEST_PACE_MS=40 DAXTRACE_CLICKHOUSE_FLUSH_TIMEOUT=60 \
	"$DT" replay --json --clickhouse "$URL" --clickhouse-spill "$SPILL" --clickhouse-batch-rows 500 \
	"$TRACE" > "$WORK/r2.jsonl" 2> "$WORK/r2.err" &
dtpid=$!
killed_at=
for _ in $(seq 1 300); do
	c=$(ch_num "SELECT count() FROM daxtrace.events")
	if [ $((c - before)) -ge 8000 ]; then killed_at=$((c - before)); break; fi
	sleep 0.05
done
ch_kill
sleep 2
ch_start
wait $dtpid
rc=$?
rid2=$(ch_run_id "$WORK/r2.err")
problems=$(check_run "$rid2")
if [ $rc -eq 0 ] && [ -n "$killed_at" ] && [ -n "$rid2" ] && [ -z "$problems" ] &&
	grep -q "cannot reach ClickHouse" "$WORK/r2.err" && grep -q "answers again" "$WORK/r2.err"; then
	ktap_ok "server killed after $killed_at events and restarted: counts exact, no duplicates"
else
	mapfile -t p <<< "$problems"
	ktap_not_ok "server killed mid-export and restarted: counts exact, no duplicates" "rc $rc killed_at '$killed_at'" \
		"${p[@]}" "$(cat "$WORK/r2.err")"
fi

# 3. server down for a whole run: detection goes on, batches wait on disk
ch_stop
DAXTRACE_CLICKHOUSE_FLUSH_TIMEOUT=1 "$DT" replay --json --clickhouse "$URL" --clickhouse-spill "$SPILL" \
	"$TRACE" > "$WORK/r3.jsonl" 2> "$WORK/r3.err"
rc=$?
rid3=$(ch_run_id "$WORK/r3.err")
waiting=$(ls "$SPILL"/*.batch 2>/dev/null | wc -l)
# Exit 1: the export did not deliver (the reason on one error line).
if [ $rc -eq 1 ] && [ "$waiting" -gt 0 ] && grep -q "wait in $SPILL" "$WORK/r3.err" &&
	grep -q "^daxtrace: error: clickhouse: .* not delivered" "$WORK/r3.err" &&
	cmp -s <(grep -v '"type":"start"' "$WORK/replay.jsonl") <(grep -v '"type":"start"' "$WORK/r3.jsonl"); then
	ktap_ok "server down: findings reported as usual, $waiting batches wait in the spill directory"
else
	ktap_not_ok "server down: findings reported as usual, batches spilled" "rc $rc waiting $waiting" "$(cat "$WORK/r3.err")"
fi

# 4. the next run delivers them (and its own)
ch_start
"$DT" replay --json --clickhouse "$URL" --clickhouse-spill "$SPILL" "$TRACE" \
	> "$WORK/r4.jsonl" 2> "$WORK/r4.err"
rc=$?
rid4=$(ch_run_id "$WORK/r4.err")
problems="$(check_run "$rid3")$(check_run "$rid4")"
if [ $rc -eq 0 ] && [ -n "$rid3" ] && [ -n "$rid4" ] && [ -z "$problems" ] && [ -z "$(ls "$SPILL"/*.batch 2>/dev/null)" ]; then
	ktap_ok "the next run delivers the spilled batches: both runs exact"
else
	mapfile -t p <<< "$problems"; ktap_not_ok "the next run delivers the spilled batches" "rc $rc" "${p[@]}" "$(cat "$WORK/r4.err")"
fi

# 5. a batch the server already has (its answer was lost) is not sent twice
mkdir -p "$WORK/dup"
DAXTRACE_CLICKHOUSE_FLUSH_TIMEOUT=1 "$DT" replay --json --clickhouse "http://127.0.0.1:1/" \
	--clickhouse-spill "$WORK/dup" "$TRACE" > /dev/null 2> "$WORK/r5a.err"
rid5=$(ch_run_id "$WORK/r5a.err")
cp "$WORK"/dup/*.batch "$SPILL"/ 2>/dev/null
"$DT" replay --json --clickhouse "$URL" --clickhouse-spill "$SPILL" "$TRACE" > /dev/null 2> "$WORK/r5b.err"
cp "$WORK"/dup/*.batch "$SPILL"/ 2>/dev/null      # offered again: already there
"$DT" replay --json --clickhouse "$URL" --clickhouse-spill "$SPILL" "$TRACE" > /dev/null 2> "$WORK/r5c.err"
problems=$(check_run "$rid5")
if [ -n "$rid5" ] && [ -z "$problems" ] && grep -q "already there (not sent twice)" "$WORK/r5c.err"; then
	ktap_ok "a batch offered twice is delivered once ($(grep -o '[0-9]* already there' "$WORK/r5c.err"))"
else
	mapfile -t p <<< "$problems"; ktap_not_ok "a batch offered twice is delivered once" "${p[@]}" "$(cat "$WORK/r5c.err")"
fi

# 6. the whole database: every run exact, nothing twice
runs=$(ch_query "SELECT count() FROM daxtrace.runs")
total=$(ch_query "SELECT count() FROM daxtrace.events")
uniq=$(ch_query "SELECT uniqExact(run_id, seq) FROM daxtrace.events")
want=$(( $(awk '$1 == "events" { print $2 }' "$WORK/expected") * runs ))
if [ "$total" = "$want" ] && [ "$uniq" = "$total" ]; then
	ktap_ok "database holds $runs runs x the trace's events ($total rows), none twice"
else
	ktap_not_ok "database holds runs x the trace's events, none twice" "runs $runs total $total uniq $uniq want $want"
fi

# 7. sampled events: every 10th event, each row standing for 10
"$DT" replay --json --clickhouse "$URL" --clickhouse-spill "$SPILL" --clickhouse-sample 10 "$TRACE" \
	> /dev/null 2> "$WORK/r7.err"
rid7=$(ch_run_id "$WORK/r7.err")
all=$(awk '$1 == "events" { print $2 }' "$WORK/expected")
want=$(( (all + 9) / 10 ))
got=$(ch_query "SELECT count(), sum(sample), any(sample) FROM daxtrace.events WHERE run_id = '$rid7'" | tr '\t' ' ')
fnd=$(ch_query "SELECT count() FROM daxtrace.findings WHERE run_id = '$rid7'")
if [ "$got" = "$want $((want * 10)) 10" ] && [ "$fnd" = "$(awk '$1 == "findings" { print $2 }' "$WORK/expected")" ]; then
	ktap_ok "--clickhouse-sample 10: $want of $all events exported, findings complete"
else
	ktap_not_ok "--clickhouse-sample 10" "got '$got' want '$want $((want * 10)) 10', findings $fnd"
fi

# 8. strings TabSeparated must escape (tab, newline, backslash, quote,
# control and non-UTF-8 bytes) arrive byte for byte
if command -v zstd >/dev/null && "$CH_TESTS_DIR/make_odd_trace.py" "$WORK/odd.dxt" > "$WORK/odd.want"; then
	"$DT" replay --json --clickhouse "$URL" --clickhouse-spill "$SPILL" "$WORK/odd.dxt" > /dev/null 2> "$WORK/r8.err"
	rid8=$(ch_run_id "$WORK/r8.err")
	ch_query "SELECT hex(comm) FROM daxtrace.events WHERE run_id = '$rid8' ORDER BY seq" > "$WORK/odd.got"
	meta=$(ch_query "SELECT hex(host), hex(arrayStringConcat(hooks, '|')) FROM daxtrace.runs WHERE run_id = '$rid8'")
	want_meta="$(printf 'odd\thost'"'"'\\' | od -An -tx1 | tr -d ' \n' | tr a-f A-F)	$(printf "it's:fentry|back\\\\slash\\ttab:kprobe" | od -An -tx1 | tr -d ' \n' | tr a-f A-F)"
	if cmp -s "$WORK/odd.want" "$WORK/odd.got" && [ "$meta" = "$want_meta" ]; then
		ktap_ok "odd bytes in comm, hostname and hook names arrive unchanged"
	else
		ktap_not_ok "odd bytes in comm, hostname and hook names arrive unchanged" "$(paste "$WORK/odd.want" "$WORK/odd.got")" \
			"meta '$meta'" "want '$want_meta'" "$(cat "$WORK/r8.err")"
	fi
else
	ktap_ok "odd bytes # SKIP zstd command not installed"
fi

ktap_finish

# shellcheck shell=bash
# Row checks shared by the export tests.  Source after ch_server.sh.
#   ch_expected DAXTRACE TRACE FILE   the rows a replay of TRACE must give
#                                     each table ("table count" lines)
#   ch_check_run RUN_ID FILE [DB]     every table holds FILE's rows for
#                                     the run, no row identity twice, the
#                                     FINAL count agrees; prints problems,
#                                     nothing when all is well
# On a cluster DB's tables are the Distributed ones: the checks count
# through them, whichever server ch_query talks to.
CH_TABLES="runs coverage events findings finding_evidence near_misses stats"

ch_expected() {
	"$1" replay --json "$2" 2>/dev/null | "$(dirname "${BASH_SOURCE[0]}")/expected_counts.py" > "$3"
}

ch_check_run() {
	local rid=$1 exp=$2 db=${3:-daxtrace} bad=() t want got dup
	for t in $CH_TABLES; do
		want=$(awk -v t="$t" '$1 == t { print $2 }' "$exp")
		got=$(ch_query "SELECT count() FROM $db.$t WHERE run_id = '$rid'")
		[ "$got" = "$want" ] || bad+=("$t: $got rows, want $want")
	done
	dup=$(ch_query "SELECT count() - uniqExact(seq) FROM $db.events WHERE run_id = '$rid'")
	[ "$dup" = 0 ] || bad+=("events: $dup duplicate rows")
	got=$(ch_query "SELECT count() FROM $db.events FINAL WHERE run_id = '$rid'")
	want=$(awk '$1 == "events" { print $2 }' "$exp")
	[ "$got" = "$want" ] || bad+=("events FINAL: $got, want $want")
	dup=$(ch_query "SELECT count() - uniqExact(finding_no, idx) FROM $db.finding_evidence WHERE run_id = '$rid'")
	[ "$dup" = 0 ] || bad+=("finding_evidence: $dup duplicate rows")
	got=$(ch_query "SELECT sum(n) FROM $db.near_misses WHERE run_id = '$rid' AND scope = 'total'")
	want=$(awk '$1 == "near_miss_distances" { print $2 }' "$exp")
	[ "$got" = "$want" ] || bad+=("near-miss distances: $got, want $want")
	got=$(ch_query "SELECT count() FROM $db.devices WHERE run_id = '$rid'")
	[ "${got:-0}" -ge 1 ] || bad+=("no devices row")
	[ ${#bad[@]} -eq 0 ] || printf '%s\n' "${bad[@]}"
}

# The run id daxtrace printed on its last "clickhouse: run ID:" line.
ch_run_id() { sed -n 's/^daxtrace: clickhouse: run \([0-9a-f]*\):.*/\1/p' "$1" | tail -1; }

# ch_num SQL: the number SQL answers, 0 when it fails (no table yet, the
# server down).
ch_num() {
	local c
	c=$(ch_query "$1" 2>/dev/null)
	if [[ $c =~ ^[0-9]+$ ]]; then echo "$c"; else echo 0; fi
}

# ch_test_begin NAME STOP_FN: the start every server test shares: skip
# when there is no clickhouse-server, a work directory removed on exit,
# STOP_FN (ch_stop or ch_stop_all) run on exit, and a random base port.
ch_test_begin() {
	command -v "$CH_BIN" >/dev/null 2>&1 || [ -x "$CH_BIN" ] ||
		ktap_skip_all "clickhouse-server not installed (ci/packages.txt)"
	make_workdir WORK "/tmp/dt-ch-$1.XXXXXX"
	on_exit "$2"
	trap 'exit 130' INT TERM
	port=$((20000 + RANDOM % 20000))
}

# ch_test_server NAME [STOP_CMD]: ch_test_begin NAME STOP_CMD (default
# ch_stop), then one private server on $port, its URL in URL; SPILL is a
# spill directory in WORK.  Skips the test when the server does not start.
ch_test_server() {
	ch_test_begin "$1" "${2:-ch_stop}"
	ch_setup "$WORK/ch" "$port" "$((port + 1))"
	ch_start || ktap_skip_all "clickhouse-server does not start here"
	URL="http://127.0.0.1:$port/"
	SPILL=$WORK/spill
}

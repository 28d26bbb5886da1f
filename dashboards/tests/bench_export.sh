#!/bin/bash
# Export throughput: rows/s that daxtrace --clickhouse delivers vs.
# clickhouse-client inserting the same rows (TabSeparated, one stream) into
# the same private clickhouse-server, in the same run.
#   bench_export.sh DAXTRACE [TRACE] [REPEAT]
# The events table dominates; daxtrace's figure is end to end (decode, race
# analysis, formatting, spill file, HTTP), and also shown net of a plain
# replay's time (export cost alone).
set -eu
# shellcheck source=SCRIPTDIR/../../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
DT=${1:?usage: bench_export.sh DAXTRACE [TRACE] [REPEAT]}
TRACE=${2:-$REPO_DIR/dashboards/tests/data/stock-ext4.dxt}
REPEAT=${3:-3}
# shellcheck source=SCRIPTDIR/ch_server.sh
. "$REPO_DIR/dashboards/tests/ch_server.sh"
make_workdir WORK /tmp/dt-ch-bench.XXXXXX
on_exit ch_stop
port=$((20000 + RANDOM % 20000))
ch_setup "$WORK/ch" "$port" "$((port + 1))"
ch_start
URL="http://127.0.0.1:$port/"
now() { date +%s.%N; }
best() { sort -g | head -1; }

for i in $(seq "$REPEAT"); do
	t0=$(now); "$DT" replay --json "$TRACE" > /dev/null; t1=$(now)
	echo "$t1 - $t0" | bc
done | best > "$WORK/t_plain"
for rows in 10000 100000; do
	for i in $(seq "$REPEAT"); do
		t0=$(now)
		"$DT" replay --json --clickhouse "$URL" --clickhouse-spill "$WORK/spill" --clickhouse-db "b$rows" \
			--clickhouse-batch-rows "$rows" "$TRACE" > /dev/null 2> "$WORK/err"
		t1=$(now)
		echo "$(echo "$t1 - $t0" | bc) $(sed -n 's/.*delivered \([0-9]*\) rows.*/\1/p' "$WORK/err")"
	done | sort -g | head -1 > "$WORK/t_dt_$rows"
done
# The same rows, by clickhouse-client.
cols=$(ch_query "SELECT arrayStringConcat(groupArray(name), ',') FROM system.columns WHERE database = 'b10000' AND table = 'events' AND default_kind = ''")
ch_query "SELECT $cols FROM b10000.events WHERE run_id = (SELECT any(run_id) FROM b10000.events) FORMAT TabSeparated" > "$WORK/events.tsv"
nrows=$(wc -l < "$WORK/events.tsv")
ch_query "CREATE DATABASE cc" && ch_query "CREATE TABLE cc.events AS b10000.events"
for i in $(seq "$REPEAT"); do
	t0=$(now)
	clickhouse-client --host 127.0.0.1 --port "$CH_TCP" --query "INSERT INTO cc.events ($cols) FORMAT TabSeparated" < "$WORK/events.tsv"
	t1=$(now)
	echo "$t1 - $t0" | bc
done | best > "$WORK/t_cc"
events=$("$DT" replay --json "$TRACE" | python3 -c 'import sys,json; print([json.loads(l) for l in sys.stdin][-1]["events"])')
plain=$(cat "$WORK/t_plain")
printf 'trace: %s (%s events), best of %s, ClickHouse %s on loopback\n' "$TRACE" "$events" "$REPEAT" "$(ch_query 'SELECT version()')"
printf '%-52s %10s %12s\n' "" "seconds" "rows/s"
printf '%-52s %10.3f %12.0f\n' "daxtrace replay (no export)" "$plain" "$(echo "$events / $plain" | bc -l)"
for rows in 10000 100000; do
	read -r t drows < "$WORK/t_dt_$rows"
	printf '%-52s %10.3f %12.0f\n' "daxtrace replay --clickhouse, batches of $rows" "$t" "$(echo "$drows / $t" | bc -l)"
	printf '%-52s %10.3f %12.0f\n' "  export only (minus the plain replay)" "$(echo "$t - $plain" | bc -l)" \
		"$(echo "$drows / ($t - $plain)" | bc -l)"
done
t=$(cat "$WORK/t_cc")
printf '%-52s %10.3f %12.0f\n' "clickhouse-client INSERT of the same $nrows event rows" "$t" "$(echo "$nrows / $t" | bc -l)"

#!/bin/bash
# A fleet on a ClickHouse cluster: two clickhouse-servers (Debian's 18.16)
# on loopback are the two shards of cluster daxtrace_fleet (remote_servers
# in both).  Four daxtrace exporters with different host names replay a
# recorded lab trace at once into it (--clickhouse URL1,URL2
# --clickhouse-cluster daxtrace_fleet); shard 2 is killed -9 while it
# takes their rows and restarted 2 s later.  Then every table, counted
# through the Distributed tables from either server, holds exactly the
# rows the exporters sealed: nothing lost, nothing twice; each host's rows
# sit on one shard; the dashboards' kind of query answers across hosts.
#   fleet_test.sh DAXTRACE [TRACE]            (KTAP output)
set -u
# shellcheck source=SCRIPTDIR/ch_test.sh
. "$(dirname "${BASH_SOURCE[0]}")/ch_test.sh" "$@"
ch_test_begin fleet ch_stop_all

CLUSTER=daxtrace_fleet
http1=$port tcp1=$((port + 1)) http2=$((port + 2)) tcp2=$((port + 3))
CH_EXTRA_CONFIG="<remote_servers><$CLUSTER>
  <shard><replica><host>127.0.0.1</host><port>$tcp1</port></replica></shard>
  <shard><replica><host>127.0.0.1</host><port>$tcp2</port></replica></shard>
</$CLUSTER></remote_servers>"
ch_node 1 ch_setup "$WORK/ch1" $http1 $tcp1
ch_node 2 ch_setup "$WORK/ch2" $http2 $tcp2
ch_node 1 ch_start && ch_node 2 ch_start || ktap_skip_all "clickhouse-server does not start here"
URLS="http://127.0.0.1:$http1/,http://127.0.0.1:$http2/"
export DAXTRACE_CLICKHOUSE_USER=dtwriter DAXTRACE_CLICKHOUSE_PASSWORD=s3cret-pw

ktap_plan 7
ch_expected "$DT" "$TRACE" "$WORK/expected"
echo "# expected rows per run: $(tr '\n' ' ' < "$WORK/expected")"
# FNV-1a of the names puts a and c on shard 1, b and d on shard 2.
HOSTS="pmem-a pmem-b pmem-c pmem-d"

# 1-3. four exporters at once; shard 2 killed -9 mid-export, restarted
pids=()
for h in $HOSTS; do
	DAXTRACE_CLICKHOUSE_TEST_PACE_MS=40 DAXTRACE_CLICKHOUSE_FLUSH_TIMEOUT=90 \
		"$DT" replay --json --clickhouse "$URLS" --clickhouse-cluster $CLUSTER --clickhouse-hostname "$h" \
		--clickhouse-spill "$WORK/spill-$h" --clickhouse-batch-rows 500 "$TRACE" \
		> "$WORK/$h.jsonl" 2> "$WORK/$h.err" &
	pids+=($!)
done
shard2_rows() { ch_node 2 ch_num "SELECT count() FROM daxtrace.events_local"; }
killed_at=
for _ in $(seq 1 600); do
	c=$(shard2_rows)
	if [ "${c:-0}" -ge 8000 ]; then killed_at=$c; break; fi
	sleep 0.05
done
ch_node 2 ch_kill
sleep 2
ch_node 2 ch_start || echo "# shard 2 did not restart"
rcs=()
for p in "${pids[@]}"; do wait "$p"; rcs+=($?); done

bad=() rids=() exported=0 i=0
declare -A shard_of_host
for h in $HOSTS; do
	rid=$(ch_run_id "$WORK/$h.err")
	rids+=("$rid")
	sealed=$(sed -n 's/^daxtrace: clickhouse: run [0-9a-f]*: \([0-9]*\) rows in .*/\1/p' "$WORK/$h.err")
	exported=$((exported + ${sealed:-0}))
	shard=$(sed -n 's/.*(shard \([0-9]\) of 2 of cluster .*/\1/p' "$WORK/$h.err")
	echo "# $h: exit ${rcs[$i]}: $(grep '^daxtrace: clickhouse: run ' "$WORK/$h.err" | cut -c22-)"
	[ "${rcs[$i]}" = 0 ] && [ -n "$rid" ] || bad+=("$h: exit ${rcs[$i]}: $(tail -3 "$WORK/$h.err")")
	shard_of_host[$h]=${shard:-0}
	i=$((i + 1))
done
if [ ${#bad[@]} -eq 0 ] && [ -n "$killed_at" ]; then
	ktap_ok "4 exporters ran through shard 2's kill -9 (at $killed_at of its event rows) and restart, exit 0"
else
	ktap_not_ok "4 exporters ran through shard 2's kill and restart" "killed_at '$killed_at'" "${bad[@]}"
fi
# the exporters of shard 2 saw it go and come back
bad=()
for h in $HOSTS; do
	s=${shard_of_host[$h]}
	case $h:$s in
	pmem-[ac]:1 | pmem-[bd]:2) ;;
	*) bad+=("$h on shard '$s'") ;;
	esac
	if [ "$s" = 2 ]; then
		grep -q "cannot reach ClickHouse at http://127.0.0.1:$http2/" "$WORK/$h.err" &&
			grep -q "answers again" "$WORK/$h.err" || bad+=("$h: no failure and recovery logged")
	fi
done
if [ ${#bad[@]} -eq 0 ]; then
	ktap_ok "hosts a, c on shard 1; b, d on shard 2, whose exporters lost it and delivered after its return"
else
	ktap_not_ok "hosts on their shards, shard 2's exporters recovered" "${bad[@]}"
fi
# every run exact through the Distributed tables, asked of either server
bad=()
for rid in "${rids[@]}"; do
	for n in 1 2; do
		mapfile -t p < <(ch_node $n ch_check_run "$rid" "$WORK/expected")
		[ ${#p[@]} -eq 0 ] || bad+=("run $rid via server $n:" "${p[@]}")
	done
done
if [ ${#bad[@]} -eq 0 ]; then
	ktap_ok "every run's tables exact through the Distributed tables of both servers"
else
	ktap_not_ok "every run's tables exact through the Distributed tables" "${bad[@]}"
fi

# 4. rows exported = rows counted, none twice
counted=0
for t in $CH_TABLES devices; do
	c=$(ch_node 1 ch_query "SELECT count() FROM daxtrace.$t")
	counted=$((counted + c))
done
total=$(ch_node 1 ch_query "SELECT count() FROM daxtrace.events")
uniq=$(ch_node 1 ch_query "SELECT uniqExact(run_id, seq) FROM daxtrace.events")
final=$(ch_node 1 ch_query "SELECT count() FROM daxtrace.events FINAL")
want_events=$(( $(awk '$1 == "events" { print $2 }' "$WORK/expected") * 4 ))
lost=$((exported - counted))
echo "# rows exported (sealed) $exported, counted through the Distributed tables $counted; events $total, distinct $uniq, FINAL $final"
if [ "$exported" -gt 0 ] && [ "$counted" = "$exported" ] && [ "$total" = "$want_events" ] &&
	[ "$uniq" = "$total" ] && [ "$final" = "$total" ]; then
	ktap_ok "$exported rows exported, $counted counted: 0 lost, $((total - uniq)) duplicated events"
else
	ktap_not_ok "rows exported = rows counted, none twice" "lost $lost; events $total want $want_events, distinct $uniq, FINAL $final"
fi

# 5. a host's rows on one shard only, each shard holding its own hosts
h1=$(ch_node 1 ch_query "SELECT arrayStringConcat(groupUniqArray(host), ' ') FROM (SELECT host FROM daxtrace.events_local ORDER BY host)")
h2=$(ch_node 2 ch_query "SELECT arrayStringConcat(groupUniqArray(host), ' ') FROM (SELECT host FROM daxtrace.events_local ORDER BY host)")
s1=$(echo "$h1" | tr ' ' '\n' | sort | xargs) s2=$(echo "$h2" | tr ' ' '\n' | sort | xargs)
if [ "$s1" = "pmem-a pmem-c" ] && [ "$s2" = "pmem-b pmem-d" ]; then
	ktap_ok "shard 1 holds pmem-a pmem-c, shard 2 pmem-b pmem-d"
else
	ktap_not_ok "each host's rows on its shard" "shard 1: '$s1'" "shard 2: '$s2'"
fi

# 6. the dashboards' kind of query answers across hosts (overview: findings
# by host and class; health: drops and runs per host), from either server
q="SELECT host, class, count() FROM daxtrace.findings GROUP BY host, class ORDER BY host, class FORMAT TabSeparated"
a1=$(ch_node 1 ch_query "$q") a2=$(ch_node 2 ch_query "$q")
nhosts=$(echo "$a1" | cut -f1 | sort -u | wc -l)
runs=$(ch_node 2 ch_query "SELECT uniqExact(host), count() FROM daxtrace.runs" | tr '\t' ' ')
drops=$(ch_node 1 ch_query "SELECT count() FROM (SELECT host, argMax(lost, snapshot_no) FROM daxtrace.stats GROUP BY host)")
if [ -n "$a1" ] && [ "$a1" = "$a2" ] && [ "$nhosts" = 4 ] && [ "$runs" = "4 4" ] && [ "$drops" = 4 ]; then
	ktap_ok "findings by host and class, runs and drops per host: all 4 hosts, same answer from both servers"
else
	ktap_not_ok "dashboard queries across hosts" "hosts $nhosts runs '$runs' drops '$drops'" "$a1" "--" "$a2"
fi

# 7. rows cannot enter the Distributed tables by another way (no sharding
# key): every row arrives through an exporter's exactly-once batches
if ch_node 1 ch_query "INSERT INTO daxtrace.devices (seen_ns, host, run_id, batch_id, dev, dev_name, fs) VALUES (1, 'x', 'x', 'x', 1, '0:1', '')" \
	> "$WORK/ins.err" 2>&1; then
	ktap_not_ok "an INSERT into a Distributed table is refused" "it was accepted"
else
	ktap_ok "an INSERT into a Distributed table is refused: $(grep -o 'Method write is not supported[^.]*' "$WORK/ins.err" | head -1)"
fi
ktap_finish

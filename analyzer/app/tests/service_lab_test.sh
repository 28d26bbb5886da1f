#!/bin/bash
# daxtrace.service in the lab: the unit's ExecStart through race workloads
# and a reload (service_lab_guest.sh), then the host judges it: findings
# delivered before and after the reload, journald-style log (priority
# prefix on every line, no ANSI), clean exit 0 on SIGTERM, recording
# bounded (total size, oldest deleted) and every kept file replayable,
# metrics served with the findings.  Then delivery: the guest has no
# network, so the service's ClickHouse batches wait in its spill directory
# (on the results directory); `daxtrace flush` delivers them here to a
# real clickhouse-server, whose findings by rule must be the log's, with
# nothing lost or twice (flushed again from a copy: nothing inserted); a
# real Prometheus scrapes the page the guest's /metrics served and answers
# PromQL with the log's findings by rule.
#   service_lab_test.sh BUILD_DIR [KERNEL] [FS]
# DT_SERVICE_LAB_OUT=DIR: judge an earlier run's results, no lab.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../../../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../../ci/lib.sh"
build=$(realpath "${1:?}")
kernel=${2:-stock} fs=${3:-ext4}
here=$REPO_DIR/analyzer/app/tests
root=$REPO_DIR
daxtrace=$build/analyzer/app/daxtrace
out=$build/lab/service.$kernel.$fs
pids=() work=
cleanup() {
	set +e
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -n "$work" ] && { ch_stop; wait 2>/dev/null || true; rm -rf "$work"; }
	return 0
}
on_exit cleanup
fail() { echo "FAIL: $*"; exit 1; }
if [ -n "${DT_SERVICE_LAB_OUT:-}" ]; then
	out=$(realpath "$DT_SERVICE_LAB_OUT")
else
rm -rf "$out"
"$root/ci/lab" run --kernel "$kernel" --fs "$fs" --timeout "${DT_LAB_TIMEOUT:-1150}" --out "$out" \
	--script "$here/service_lab_guest.sh" -- "$build/analyzer/app/daxtrace" "$build/tests/workloads" \
	"$here/../packaging/daxtrace.service" "$here/../packaging/daxtrace.conf" 2 ||
	fail "lab run (see $out)"
fi
log=$out/service.log
[ "$(cat "$out/status")" = 0 ] || fail "service exit status $(cat "$out/status")"
grep -vq '^<[0-7]>' "$log" && { grep -v '^<[0-7]>' "$log" | head; fail "log lines without a priority prefix"; }
grep -q $'\e' "$log" && fail "ANSI escapes in the log"
echo "ok: $(wc -l < "$log") log lines, all with a priority prefix, no ANSI"
n1=$(awk '/^<5>reloaded configuration/{r=1} /^<4>finding: \[L/{if(r) b++; else a++} END{print a+0, b+0}' "$log")
read -r before after <<< "$n1"
echo "class L findings logged: $before before the reload, $after after"
[ "$before" -ge 1 ] && [ "$after" -ge 1 ] || fail "findings before and after the reload expected"
# W2 (fsync skipped a locked dirty entry) is a race stock 6.1 still has;
# Z, T and the W1 race are closed there, so those would be false positives.
grep -Eq '^<4>finding: \[(Z|W1|T)' "$log" && fail "a Z/W1/T finding on stock 6.1 (closed there): false positive"
total=$(awk 'NR>1 && $5 ~ /^[0-9]+$/ {s+=$5} END{print s+0}' "$out/traces.ls")
files=$(grep -c '\.dxt$' "$out/traces.ls" || true)
deleted=$(grep -c '^<6>deleted .*recording bound' "$log" || true)
echo "recording: $files files, $total bytes kept, $deleted deleted by the bound"
# Small bounds: with export on, the guest's workloads make as few as ~70k
# events (~400 KB of trace) in a run.
[ "$total" -le $((128 * 1024)) ] || fail "recording over max_total_size (128K): $total"
[ "$deleted" -ge 1 ] || fail "no file was rotated out"
awk '$2 != 0 {bad=1; print "replay failed:", $0} END{exit bad}' "$out/replay.txt" || fail "a kept trace does not replay"
echo "ok: every kept trace replays"
grep -q '^daxtrace_findings_total{rule="L' "$out/metrics.1.txt" || fail "no L findings in /metrics before the reload"
grep -q '^daxtrace_class_coverage{class="L"} ' "$out/metrics.2.txt" || fail "no coverage in /metrics after the reload"
# The scrapes count the findings: per rule, what the log held at each
# scrape; the counters only grow across the reload (one endpoint).
for n in 1 2; do
	got=$(awk '/^daxtrace_findings_total[{]/ { match($0, /rule="[^"]*"/); r = substr($0, RSTART + 6, RLENGTH - 7);
		s[r] += $NF } END { for (r in s) print s[r], r }' "$out/metrics.$n.txt" | sort -k2)
	want=$(awk '{ print $1, $2 }' "$out/findings.$n.logged" | sort -k2)
	[ -n "$want" ] && [ "$got" = "$want" ] || fail "scrape $n: findings by rule in /metrics '$got', in the log '$want'"
	echo "ok: scrape $n: findings by rule equal the log's: $(echo $got)"
done
metric() { awk -v m="$1" '$1 == m { print $2 }' "$2"; }
# Late events are counted but not analysed: a consumer that fell behind
# (export on a slow disk) must not turn its backlog into late events (that
# was half of a session's events once).  A stray one -- a producer
# preempted for over a second under emulation -- is what the count is for.
lates=()
for n in 1 2; do
	late=$(metric daxtrace_events_late_total "$out/metrics.$n.txt")
	events=$(metric daxtrace_events_total "$out/metrics.$n.txt")
	[ -n "$late" ] && [ $((late * 1000)) -le "${events:-0}" ] ||
		fail "scrape $n: $late of $events events late (not analysed), over 0.1%"
	lates+=("$late of $events")
done
echo "ok: late events (not analysed) at the scrapes: ${lates[0]}, ${lates[1]} (at most 0.1%)"
e1=$(metric daxtrace_events_total "$out/metrics.1.txt") e2=$(metric daxtrace_events_total "$out/metrics.2.txt")
f1=$(awk '/^daxtrace_findings_total[{]/ {s += $NF} END {print s + 0}' "$out/metrics.1.txt")
f2=$(awk '/^daxtrace_findings_total[{]/ {s += $NF} END {print s + 0}' "$out/metrics.2.txt")
[ "${e1:-0}" -gt 0 ] && [ "${e2:-0}" -gt 0 ] && [ "$f2" -gt "$f1" ] ||
	fail "scrapes: events $e1 then $e2, findings $f1 then $f2 (want events, and more findings after the reload)"
echo "ok: /metrics scraped in the guest: findings $f1 then $f2; events $e1 then $e2 (this session)"
grep '^daxtrace_findings_total\|^daxtrace_events_total\|^daxtrace_ringbuf_dropped_total' "$out/metrics.2.txt"

# --- ClickHouse -----------------------------------------------------------
# The findings the service logged over its whole run (both sessions), per
# rule: what the server must hold.
logged=$(grep '^<4>finding: ' "$log" | sed 's/^<4>finding: \[\([A-Z0-9]*\) .*/\1/' | sort | uniq -c |
	awk '{ print $2, $1 }')
nlogged=$(grep -c '^<4>finding: ' "$log")
sessions=$(grep -c '^<6>session ended: ' "$log")
logged_events=$(sed -n 's/^<6>session ended: \([0-9]*\) events.*/\1/p' "$log" | awk '{ s += $1 } END { print s + 0 }')
# The exporter's complaints reached the log as warnings (a prefix), and
# say the batches wait.
grep '^<4>clickhouse: ' "$log" | grep '127\.0\.0\.1:8123' | grep -q 'wait in /run/lab/out/spill' ||
	fail "no <4> warning that ClickHouse (127.0.0.1:8123) did not answer and batches wait in the spill directory"
batches=$(ls "$out/spill" | grep -c '\.batch$' || true)
spill_rows=$(for f in "$out"/spill/*.batch; do head -1 "$f" | cut -f4; done | awk '{ s += $1 } END { print s + 0 }')
[ "$batches" -gt 0 ] || fail "no batches in the spill directory"
echo "ok: ClickHouse unreachable from the guest: $batches batches ($spill_rows rows) wait in the spill directory"
. "$root/dashboards/tests/ch_server.sh"
[ -x "$CH_BIN" ] || fail "clickhouse-server not installed (ci/packages.txt)"
for t in prometheus promtool python3 curl; do
	command -v $t > /dev/null || fail "$t not installed (ci/packages.txt)"
done
# shellcheck source=SCRIPTDIR/prometheus_lib.sh
. "$here/prometheus_lib.sh"
work=$(mktemp -d /tmp/dt-service-lab.XXXXXX)
CH_PID=
ch_setup "$work/ch" "$(free_port)" "$(free_port)"
ch_start || fail "clickhouse-server does not start"
url=http://127.0.0.1:$CH_HTTP/
# Copies: the lab's directory stays as the guest left it (DT_SERVICE_LAB_OUT
# judges it again).
cp -a "$out/spill" "$work/spill"
cp -a "$out/spill" "$work/spill.copy"
export DAXTRACE_CLICKHOUSE_USER=dtwriter DAXTRACE_CLICKHOUSE_PASSWORD=s3cret-pw
flush() { # DIR NAME: daxtrace flush, its line and status in $work/NAME.{out,err,rc}
	local t0
	t0=$(date +%s.%N)
	set +e
	"$daxtrace" flush --clickhouse "$url" "$1" > "$work/$2.out" 2> "$work/$2.err"
	echo $? > "$work/$2.rc"
	set -e
	echo "$(cat "$work/$2.out") [$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s]"
}
by_rule() { ch_query "SELECT rule, count() FROM daxtrace.findings GROUP BY rule ORDER BY rule FORMAT TabSeparated" |
	tr '\t' ' '; }
flush "$work/spill" flush1
[ "$(cat "$work/flush1.rc")" = 0 ] || { cat "$work/flush1.err"; fail "daxtrace flush exited $(cat "$work/flush1.rc")"; }
grep -q "^flush $work/spill: $batches batches; delivered $spill_rows rows in $batches batches to $url database daxtrace; 0 already there .* 0 refused .* 0 batches (0 rows) left$" \
	"$work/flush1.out" || fail "flush 1: want all $batches batches ($spill_rows rows) delivered"
[ -z "$(ls "$work/spill" | grep '\.batch$')" ] || fail "batches left in the spill directory after the flush"
got=$(by_rule)
[ "$got" = "$(sort <<< "$logged")" ] || fail "findings by rule in ClickHouse '$(echo $got)', logged '$(echo $logged)'"
echo "ok: ClickHouse holds the logged findings by rule: $(echo $got)"
dups=$(ch_query "SELECT count() - uniqExact(run_id, finding_no) FROM daxtrace.findings")
runs=$(ch_query "SELECT count() FROM daxtrace.runs")
ev=$(ch_query "SELECT count() FROM daxtrace.events")
ev_final=$(ch_query "SELECT sum(exported_events) FROM daxtrace.stats WHERE is_final = 1")
evid=$(ch_query "SELECT count() FROM daxtrace.finding_evidence")
evid_want=$(ch_query "SELECT sum(evidence_count) FROM daxtrace.findings")
[ "$dups" = 0 ] || fail "$dups findings twice in ClickHouse"
[ "$runs" = "$sessions" ] || fail "$runs runs in ClickHouse, $sessions sessions in the log"
ev_dups=$(ch_query "SELECT count() - uniqExact(run_id, seq) FROM daxtrace.events")
logged_lost=$(sed -n 's/^<6>session ended: [0-9]* events, \([0-9]*\) lost.*/\1/p' "$log" | awk '{ s += $1 } END { print s + 0 }')
# Drop markers are rows too: only without drops is every row a logged event.
[ "$ev" = "$ev_final" ] && [ "$ev_dups" = 0 ] && { [ "$logged_lost" != 0 ] || [ "$ev" = "$logged_events" ]; } ||
	fail "events: $ev rows in ClickHouse ($ev_dups twice), $ev_final exported by the runs, $logged_events logged ($logged_lost lost)"
[ "$evid" = "$evid_want" ] || fail "finding_evidence: $evid rows, the findings name $evid_want"
echo "ok: nothing lost or twice: $nlogged findings, $evid evidence rows, $ev events (= the log's), $runs runs (= sessions)"
total=$(ch_query "SELECT sum(rows) FROM system.parts WHERE database = 'daxtrace' AND active")
flush "$work/spill.copy" flush2
[ "$(cat "$work/flush2.rc")" = 0 ] || { cat "$work/flush2.err"; fail "second flush exited $(cat "$work/flush2.rc")"; }
grep -q "^flush $work/spill.copy: $batches batches; delivered 0 rows in 0 batches .*; $batches already there (not sent twice); 0 refused .* 0 batches (0 rows) left$" \
	"$work/flush2.out" || fail "flush 2 (the same batches again): want 0 delivered, $batches already there"
[ "$(by_rule)" = "$got" ] && [ "$(ch_query "SELECT sum(rows) FROM system.parts WHERE database = 'daxtrace' AND active")" = "$total" ] ||
	fail "the second flush changed the server's rows"
echo "ok: flushed again from a copy: 0 rows inserted, $batches batches found already there; $total rows unchanged"

# --- Prometheus -------------------------------------------------------------
# The guest has no network for a scraper: Debian's prometheus scrapes here
# the page the guest's /metrics served (after the reload), byte for byte.
promtool check metrics < "$out/metrics.2.txt" > "$work/lint" 2>&1 || { cat "$work/lint"; fail "promtool check metrics"; }
mkdir "$work/page" && cp "$out/metrics.2.txt" "$work/page/metrics"
mp=$(free_port)
python3 -m http.server -b 127.0.0.1 -d "$work/page" "$mp" > "$work/http.log" 2>&1 &
pids+=($!)
start_prometheus "$work" "$mp" 120
pp=$PROM_PORT
promql() { curl -sf --data-urlencode "query=$1" "http://127.0.0.1:$pp/api/v1/query" |
	python3 -c 'import json,sys; [print(r["metric"].get("rule", ""), r["value"][1]) for r in json.load(sys.stdin)["data"]["result"]]' |
	sort; }
want=$(awk '{ print $2, $1 }' "$out/findings.2.logged" | sort)
for _ in $(seq 60); do
	got=$(promql 'sum by (rule) (daxtrace_findings_total{job="daxtrace"})' 2>/dev/null || true)
	[ -n "$got" ] && break
	sleep 0.5
done
[ -n "$got" ] || { cat "$work/prom.log"; fail "Prometheus never scraped the page"; }
[ "$got" = "$want" ] || fail "PromQL findings by rule '$(echo $got)', logged at the scrape '$(echo $want)'"
echo "ok: Prometheus (PromQL sum by (rule) (daxtrace_findings_total)): $(echo $got) = the log's at the scrape"
echo PASS

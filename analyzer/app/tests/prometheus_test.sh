#!/bin/bash
# daxtrace's /metrics under Debian's real Prometheus server: replay a
# recorded lab trace with --metrics/--linger, let Prometheus (loopback, own
# temp dir) scrape it, and check through its HTTP API that the numbers
# Prometheus holds are the replay's own (events, findings by rule, near-miss
# histogram counts); `promtool check metrics` on the page; the alert rules
# load in the server and pass `promtool test rules`.
#   prometheus_test.sh DAXTRACE TRACE.dxt            (KTAP output)
# Each step needs the one before: the first failure ends the test.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../../../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../../ci/lib.sh"
# shellcheck source=SCRIPTDIR/../../../tests/ktap.sh
. "$REPO_DIR/tests/ktap.sh"
# shellcheck source=SCRIPTDIR/prometheus_lib.sh
. "$REPO_DIR/analyzer/app/tests/prometheus_lib.sh"
DAXTRACE=$(readlink -f "${1:?usage: prometheus_test.sh DAXTRACE TRACE.dxt}")
TRACE=$(readlink -f "${2:?usage: prometheus_test.sh DAXTRACE TRACE.dxt}")
RULES=$REPO_DIR/dashboards/prometheus
ktap_header
for t in prometheus promtool curl python3; do
	# 77: ctest's SKIP_RETURN_CODE for this test.
	command -v $t >/dev/null || { echo "1..0 # SKIP $t not installed (ci/packages.txt)"; exit 77; }
done
make_workdir T
pids=()
on_exit 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true'
fail() { ktap_not_ok "$*"; ktap_finish || true; exit 1; }

# What the replay itself says.
"$DAXTRACE" replay --json "$TRACE" > "$T/replay.json" || [ $? = 3 ]
python3 - "$T/replay.json" > "$T/expected" <<'PY'
import json, sys, collections
events = findings = 0
rules = collections.Counter()
nm = {}
for line in open(sys.argv[1]):
    j = json.loads(line)
    if j["type"] == "finding":
        rules[j["rule"]] += 1
    if j["type"] == "summary":
        events = j["events"] if "events" in j else j["stats"]["events"]
        for c, v in j.get("near_misses", {}).items():
            nm[c] = v["total"]["count"]
print("events", events)
for c, n in sorted(nm.items()):
    print("nearmiss", c, n)
for r, n in sorted(rules.items()):
    print("rule", r, n)
PY
sed 's/^/# /' "$T/expected"
grep -q "^rule " "$T/expected" || fail "the trace has no findings: pick one with findings"

MP=$(free_port)
"$DAXTRACE" replay "$TRACE" --json --metrics 127.0.0.1:$MP --linger 120 > "$T/replay-metrics.json" 2>"$T/replay.err" &
pids+=($!)
for i in $(seq 50); do curl -sf "http://127.0.0.1:$MP/metrics" -o "$T/page" && grep -q '^daxtrace_session_finished 1' "$T/page" && break; sleep 0.2; done
grep -q '^daxtrace_session_finished 1' "$T/page" || fail "no finished /metrics page on 127.0.0.1:$MP"
promtool check metrics < "$T/page" > "$T/lint" 2>&1 || { sed "s/^/# /" "$T/lint"; fail "promtool check metrics"; }
[ ! -s "$T/lint" ] || { sed "s/^/# /" "$T/lint"; fail "promtool check metrics has remarks"; }
ktap_ok "promtool check metrics: clean ($(grep -c '^daxtrace' "$T/page") samples)"

promtool check rules "$RULES/daxtrace.rules.yml" >/dev/null || fail "promtool check rules"
(cd "$RULES" && promtool test rules daxtrace.rules.test.yml) >/dev/null || fail "promtool test rules"
ktap_ok "promtool check rules, promtool test rules"

start_prometheus "$T" "$MP" 150 "$RULES/daxtrace.rules.yml"
PP=$PROM_PORT
q() { curl -sf --data-urlencode "query=$1" "http://127.0.0.1:$PP/api/v1/query" |
	python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "none")'; }
got=none
for i in $(seq 60); do got=$(q 'daxtrace_events_total{job="daxtrace"}' 2>/dev/null || echo none); [ "$got" != none ] && break; sleep 0.5; done
[ "$got" != none ] || { sed "s/^/# /" "$T/prom.log"; fail "Prometheus never scraped daxtrace"; }
promql() { # QUERY EXPECTED
	local v; v=$(q "$1")
	python3 -c "import sys; sys.exit(0 if abs(float('$v' if '$v'!='none' else 'nan') - float('$2')) < 1e-9 else 1)" ||
		fail "PromQL $1 = $v, expected $2"
	ktap_ok "PromQL $1 = $v"
}
promql 'up{job="daxtrace"}' 1
promql 'daxtrace_events_total' "$(awk '$1=="events"{print $2}' "$T/expected")"
total=0
while read -r _ r n; do
	promql "sum(daxtrace_findings_total{rule=\"$r\"})" "$n"
	total=$((total + n))
done < <(grep '^rule ' "$T/expected")
promql 'sum(daxtrace_findings_total)' "$total"
# A rule the trace did not trigger has no series (negative case).
for r in Z1 Z2 W1 W2 L1 L2 L3 T1; do
	grep -q "^rule $r " "$T/expected" && continue
	[ "$(q "sum(daxtrace_findings_total{rule=\"$r\"})")" = none ] || fail "rule $r has findings in Prometheus but not in the replay"
done
# Histograms: +Inf bucket = count, buckets cumulative, quantile answers.
promql 'sum(daxtrace_near_miss_distance_seconds_bucket{fs="all",le="+Inf"}) - sum(daxtrace_near_miss_distance_seconds_count{fs="all"})' 0
nm=$(q 'sum(daxtrace_near_miss_distance_seconds_count{fs="all"})')
echo "# near misses in Prometheus: $nm"
if [ "$nm" != 0 ]; then
	v=$(q 'histogram_quantile(0.5, sum by (le) (daxtrace_near_miss_distance_seconds_bucket{fs="all"}))')
	python3 -c "import sys,math; v=float('$v'); sys.exit(0 if v>0 and math.isfinite(v) else 1)" || fail "median near miss $v"
	ktap_ok "PromQL median near-miss distance = ${v}s"
fi
# Per class, the count Prometheus holds is the replay's own.
while read -r _ c n; do
	promql "sum(daxtrace_near_miss_distance_seconds_count{class=\"$c\",fs=\"all\"})" "$n"
done < <(grep '^nearmiss ' "$T/expected")
promql 'count(daxtrace_hook_attached == 1) > 0' "$(q 'count(daxtrace_hook_attached == 1)')"
# The rules were loaded and evaluate without error.
rules=$(curl -sf "http://127.0.0.1:$PP/api/v1/rules" | python3 -c '
import json, sys
g = json.load(sys.stdin)["data"]["groups"]
rules = [r for x in g for r in x["rules"]]
bad = [r["name"] for r in rules if r.get("health") != "ok"]
assert len(rules) == 5 and not bad, (len(rules), bad)
print("Prometheus loaded %d alert rules, all healthy" % len(rules))') || fail "alert rules in Prometheus"
ktap_ok "$rules"
ktap_finish

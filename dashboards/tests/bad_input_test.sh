#!/bin/bash
# daxtrace --clickhouse with bad input: each a clear message, and detection
# goes on while the export fails (the replay's findings are unchanged).
#   bad_input_test.sh DAXTRACE [TRACE]            (KTAP output)
set -u
# shellcheck source=SCRIPTDIR/ch_test.sh
. "$(dirname "${BASH_SOURCE[0]}")/ch_test.sh" "$@"
HTTPD_PID=
ch_test_server bad 'ch_stop; [ -z "$HTTPD_PID" ] || kill "$HTTPD_PID" 2>/dev/null'
export DAXTRACE_CLICKHOUSE_FLUSH_TIMEOUT=2
unset DAXTRACE_CLICKHOUSE_USER DAXTRACE_CLICKHOUSE_PASSWORD

ktap_plan 11

"$DT" replay --json "$TRACE" 2>/dev/null | grep -v '"type":"start"' > "$WORK/plain.jsonl"
same_findings() { cmp -s "$WORK/plain.jsonl" <(grep -v '"type":"start"' "$1"); }

# expect_run NAME RC PATTERN [env...] -- args: run, check status, stderr
# pattern, and (when RC is 0) that detection's output is unchanged.
expect_run() {
	local name=$1 want_rc=$2 pat=$3
	shift 3
	local envs=()
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	env "${envs[@]}" "$DT" replay --json "$@" "$TRACE" > "$WORK/out" 2> "$WORK/err"
	local rc=$? why=()
	[ $rc -eq "$want_rc" ] || why+=("exit status $rc, want $want_rc")
	grep -qE "$pat" "$WORK/err" || why+=("stderr lacks /$pat/")
	# An export that failed exits 1, but detection's output is the same.
	if grep -q '"type":"summary"' "$WORK/out" && ! same_findings "$WORK/out"; then why+=("findings/summary differ from a plain replay"); fi
	if grep -q "s3cret-pw\|wrong-pw" "$WORK/err"; then why+=("a password shows in the messages"); fi
	local warns
	warns=$(grep -c "warning: clickhouse" "$WORK/err")
	[ "$warns" -le 6 ] || why+=("$warns warnings: not rate-limited")
	if [ ${#why[@]} -eq 0 ]; then
		ktap_ok "$name: $(grep -m1 -E "$pat" "$WORK/err" | cut -c1-230)"
	else
		mapfile -t e < "$WORK/err"
		ktap_not_ok "$name" "${why[@]}" "${e[@]:0:8}"
	fi
}

expect_run "URL without http://" 1 "error: --clickhouse: 'localhost:8123' is not an http" -- \
	--clickhouse localhost:8123
expect_run "credentials in the URL are refused" 1 "credentials do not belong in the URL" -- \
	--clickhouse "http://dtwriter:s3cret-pw@127.0.0.1:$port/"
expect_run "nothing listens at the URL: detection goes on, batches spill" 1 \
	"cannot reach ClickHouse at http://127.0.0.1:1/: Couldn't connect" -- \
	--clickhouse http://127.0.0.1:1/ --clickhouse-spill "$WORK/s1"

python3 -m http.server --bind 127.0.0.1 $((port + 2)) --directory "$WORK" > /dev/null 2>&1 &
# shellcheck disable=SC2034 # on_exit kills it
HTTPD_PID=$!
# a loaded machine can take seconds to start python: wait until it answers
for _ in $(seq 100); do curl -s -o /dev/null -m 1 "http://127.0.0.1:$((port + 2))/" && break; sleep 0.1; done
expect_run "the URL is some other HTTP server" 1 "is not ClickHouse's HTTP interface \(GET /ping answered HTTP 404" -- \
	--clickhouse "http://127.0.0.1:$((port + 2))/" --clickhouse-spill "$WORK/s2"

expect_run "wrong password (environment)" 1 "refused the credentials .*(Code: 193|assword)" \
	DAXTRACE_CLICKHOUSE_USER=dtwriter DAXTRACE_CLICKHOUSE_PASSWORD=wrong-pw -- \
	--clickhouse "$URL" --clickhouse-spill "$WORK/s3"

expect_run "credentials file missing" 1 "error: --clickhouse: --clickhouse-credentials $WORK/nofile: No such file" -- \
	--clickhouse "$URL" --clickhouse-credentials "$WORK/nofile"

printf 'dtwriter:s3cret-pw\n' > "$WORK/creds"
chmod 600 "$WORK/creds"
expect_run "good credentials from a file" 0 "delivered [0-9]+ rows" -- \
	--clickhouse "$URL" --clickhouse-credentials "$WORK/creds" --clickhouse-spill "$WORK/s4"

expect_run "readonly user: the server refuses to create the schema" 1 \
	"refused daxtrace's schema \(database fresh\): .*Code: 164" \
	DAXTRACE_CLICKHOUSE_USER=ro DAXTRACE_CLICKHOUSE_PASSWORD=ro-pw -- \
	--clickhouse "$URL" --clickhouse-db fresh --clickhouse-spill "$WORK/s5"

ch_query "CREATE DATABASE clash" && ch_query "CREATE TABLE clash.events (x UInt8) ENGINE = Log"
expect_run "a table of another shape is in the way" 1 \
	"do not fit daxtrace's schema \(.*events lacks wall_ns" \
	DAXTRACE_CLICKHOUSE_USER=dtwriter DAXTRACE_CLICKHOUSE_PASSWORD=s3cret-pw -- \
	--clickhouse "$URL" --clickhouse-db clash --clickhouse-spill "$WORK/s6"

# The schema problem fixed: the waiting batches go in.
ch_query "DROP TABLE clash.events"
expect_run "schema fixed: the batches that waited are delivered" 0 "delivered [0-9]+ rows in [0-9]+ batches.*database clash" \
	DAXTRACE_CLICKHOUSE_USER=dtwriter DAXTRACE_CLICKHOUSE_PASSWORD=s3cret-pw -- \
	--clickhouse "$URL" --clickhouse-db clash --clickhouse-spill "$WORK/s6"
expect_run "server down and the spill directory full: events give way, findings kept" 1 \
	"spill directory .* is full \(2 MiB" DAXTRACE_CLICKHOUSE_SPILL_MAX_MB=2 -- \
	--clickhouse http://127.0.0.1:1/ --clickhouse-spill "$WORK/s7"
ktap_finish

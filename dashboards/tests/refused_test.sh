#!/bin/bash
# The server answers but refuses daxtrace's database or a table: a readonly
# user, a user without access to the database, write permission taken away
# in the middle of an export, a table detached in the middle of an export.
# Each time the batches wait in the spill directory, the run says how many
# batches and rows of it wait there (and exits 1 when they are left), and
# once the server takes them they are delivered: every table exact, nothing
# twice.  Against Debian's real clickhouse-server (18.16) on loopback.
#   refused_test.sh DAXTRACE [TRACE]            (KTAP output)
set -u
# shellcheck source=SCRIPTDIR/ch_test.sh
. "$(dirname "${BASH_SOURCE[0]}")/ch_test.sh" "$@"
ch_test_server refused
unset DAXTRACE_CLICKHOUSE_USER DAXTRACE_CLICKHOUSE_PASSWORD
writer=(DAXTRACE_CLICKHOUSE_USER=dtwriter DAXTRACE_CLICKHOUSE_PASSWORD=s3cret-pw)

ktap_plan 6
ch_expected "$DT" "$TRACE" "$WORK/expected"
"$DT" replay --json "$TRACE" 2>/dev/null | grep -v '"type":"start"' > "$WORK/plain.jsonl"

# export NAME ENV... -- ARGS...: one replay into $SPILL; $WORK/NAME.{err,rc}
export_run() {
	local name=$1 envs=()
	shift
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	env "${envs[@]}" "$DT" replay --json --clickhouse "$URL" --clickhouse-spill "$SPILL" "$@" "$TRACE" \
		> "$WORK/$name.jsonl" 2> "$WORK/$name.err"
	echo $? > "$WORK/$name.rc"
}
sealed_of() { sed -n 's/^daxtrace: clickhouse: run [0-9a-f]*: \([0-9]*\) rows in \([0-9]*\) batches.*/\1 \2/p' "$1"; }
spill_rows() {	# rows in the batch files waiting in $SPILL (their headers)
	local f s=0
	for f in "$SPILL"/*.batch; do
		[ -e "$f" ] && s=$((s + $(head -1 "$f" | cut -f4)))
	done
	echo $s
}

# refused_then_delivered NAME USER PASSWORD PATTERN DB: a run as USER is
# refused (PATTERN on stderr), its rows wait counted; the next run as the
# writer delivers them.
refused_then_delivered() {
	local name=$1 user=$2 pw=$3 pat=$4 db=$5 why=() rid rid2 sealed batches waiting
	export_run "$name" DAXTRACE_CLICKHOUSE_USER="$user" DAXTRACE_CLICKHOUSE_PASSWORD="$pw" \
		DAXTRACE_CLICKHOUSE_FLUSH_TIMEOUT=2 -- --clickhouse-db "$db"
	rid=$(ch_run_id "$WORK/$name.err")
	read -r sealed batches <<< "$(sealed_of "$WORK/$name.err")"
	waiting=$(spill_rows)
	[ "$(cat "$WORK/$name.rc")" = 1 ] || why+=("exit $(cat "$WORK/$name.rc"), want 1")
	grep -qE "$pat" "$WORK/$name.err" || why+=("stderr lacks /$pat/")
	grep -q "warning: clickhouse: $batches batches ($batches of this run: $sealed rows) wait in $SPILL" \
		"$WORK/$name.err" || why+=("no count of the $batches batches / $sealed rows waiting")
	grep -q "^daxtrace: error: clickhouse: $batches of $batches batches of this run ($sealed rows) not delivered" \
		"$WORK/$name.err" || why+=("no error line with the rows not delivered")
	[ "$waiting" = "$sealed" ] || why+=("$waiting rows in the spill directory, $sealed sealed")
	cmp -s "$WORK/plain.jsonl" <(grep -v '"type":"start"' "$WORK/$name.jsonl") || why+=("findings differ")
	if [ ${#why[@]} -eq 0 ]; then
		ktap_ok "$name: refused, $sealed rows in $batches batches wait, counted: $(grep -m1 -oE "$pat.{0,60}" "$WORK/$name.err")"
	else
		mapfile -t e < "$WORK/$name.err"
		ktap_not_ok "$name: refused, rows wait, counted" "${why[@]}" "${e[@]:0:8}"
	fi
	export_run "$name-later" "${writer[@]}" -- --clickhouse-db "$db"
	rid2=$(ch_run_id "$WORK/$name-later.err")
	why=()
	[ "$(cat "$WORK/$name-later.rc")" = 0 ] || why+=("exit $(cat "$WORK/$name-later.rc")")
	mapfile -t p < <(ch_check_run "$rid" "$WORK/expected" "$db"; ch_check_run "$rid2" "$WORK/expected" "$db")
	[ ${#p[@]} -eq 0 ] || why+=("${p[@]}")
	[ -z "$(ls "$SPILL"/*.batch 2>/dev/null)" ] || why+=("batches left in $SPILL")
	if [ ${#why[@]} -eq 0 ]; then
		ktap_ok "$name: the writer's next run delivered the $sealed waiting rows and its own: both runs exact"
	else
		mapfile -t e < "$WORK/$name-later.err"
		ktap_not_ok "$name: delivered later" "${why[@]}" "${e[@]:0:8}"
	fi
}

# 1-2. readonly user: the database cannot even be created
refused_then_delivered readonly ro ro-pw "refused daxtrace's schema \(database fresh\): .*Code: 164" fresh
# 3-4. the database exists, the user may not use it
refused_then_delivered no_access nodb nodb-pw "Code: 291" fresh

# mid_export NAME WHAT UNDO: an export as the writer; after 5000 of its
# event rows, WHAT is done to the server, undone 3 s later; the run
# finishes exact.
mid_export() {
	local name=$1 what=$2 undo=$3 why=() before c at='' rid
	before=$(ch_num "SELECT count() FROM daxtrace.events")
	export_run "$name" "${writer[@]}" DAXTRACE_CLICKHOUSE_TEST_PACE_MS=40 DAXTRACE_CLICKHOUSE_FLUSH_TIMEOUT=60 \
		-- --clickhouse-batch-rows 500 &
	local pid=$!
	for _ in $(seq 1 600); do
		c=$(ch_num "SELECT count() FROM daxtrace.events")
		if [ $((c - before)) -ge 5000 ]; then at=$((c - before)); break; fi
		sleep 0.05
	done
	eval "$what"
	sleep 3
	eval "$undo"
	wait $pid
	rid=$(ch_run_id "$WORK/$name.err")
	[ "$(cat "$WORK/$name.rc")" = 0 ] || why+=("exit $(cat "$WORK/$name.rc")")
	[ -n "$at" ] || why+=("the export never reached 5000 event rows")
	grep -q "warning: clickhouse: " "$WORK/$name.err" || why+=("the refusal was not reported")
	grep -q "answers again" "$WORK/$name.err" || why+=("no recovery reported")
	mapfile -t p < <(ch_check_run "$rid" "$WORK/expected")
	[ ${#p[@]} -eq 0 ] || why+=("${p[@]}")
	if [ ${#why[@]} -eq 0 ]; then
		ktap_ok "$name after $at event rows: $(grep -m1 -o 'warning: clickhouse: .\{0,100\}' "$WORK/$name.err"); run exact"
	else
		mapfile -t e < "$WORK/$name.err"
		ktap_not_ok "$name mid-export" "${why[@]}" "${e[@]:0:10}"
	fi
}

# 5. write permission taken away (users.xml: the writer becomes readonly;
# the server reloads it within seconds) and given back
cp "$CH_DIR/users.xml" "$WORK/users.xml.orig"
python3 - "$CH_DIR/users.xml" > "$WORK/users.xml.ro" <<'PY'
import sys
s = open(sys.argv[1]).read()
i, j = s.index('<dtwriter>'), s.index('</dtwriter>')
print(s[:i] + s[i:j].replace('<profile>default</profile>', '<profile>readonly</profile>') + s[j:], end='')
PY
mid_export write_revoked "cp '$WORK/users.xml.ro' '$CH_DIR/users.xml'" "cp '$WORK/users.xml.orig' '$CH_DIR/users.xml'"
# 6. the events table detached (the exporter cannot recreate it: its data
# directory is still there) and attached again
mid_export table_detached "ch_query 'DETACH TABLE daxtrace.events'" "ch_query 'ATTACH TABLE daxtrace.events'"
ktap_finish

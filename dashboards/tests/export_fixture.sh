#!/bin/bash
# Export a recorded trace with daxtrace --clickhouse into a private
# clickhouse-server (18.16) and dump every table in Native format:
#   export_fixture.sh DAXTRACE OUTDIR [TRACE]
# OUTDIR/<table>.native, loadable into any later ClickHouse (panels_test.mjs).
set -eu
# shellcheck source=SCRIPTDIR/../../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
DT=${1:?usage: export_fixture.sh DAXTRACE OUTDIR [TRACE]} OUT=${2:?usage: export_fixture.sh DAXTRACE OUTDIR [TRACE]}
TRACE=${3:-$REPO_DIR/dashboards/tests/data/stock-ext4.dxt}
# shellcheck source=SCRIPTDIR/ch_server.sh
. "$REPO_DIR/dashboards/tests/ch_server.sh"
WORK=$(mktemp -d /tmp/dt-ch-fixture.XXXXXX) || die "cannot create a temporary directory"
# With KEEP_SERVER the caller queries the server too and stops it
# (OUT/server.env says where): then the server and WORK outlive this script.
on_exit '[ -n "${KEEP_SERVER:-}" ] && [ -f "$OUT/server.env" ] || { ch_stop; rm -rf "$WORK"; }'
port=$((20000 + RANDOM % 20000))
ch_setup "$WORK/ch" "$port" "$((port + 1))"
ch_start >&2
DAXTRACE_CLICKHOUSE_USER=dtwriter DAXTRACE_CLICKHOUSE_PASSWORD=s3cret-pw \
	"$DT" replay --clickhouse "http://127.0.0.1:$port/" --clickhouse-spill "$WORK/spill" \
	"$TRACE" > /dev/null 2> "$WORK/err" || { cat "$WORK/err" >&2; die "replay --clickhouse of $TRACE failed"; }
# A short live run too, where the probes can attach here (root, BTF): it
# brings the race-class coverage rows only live runs have.  Optional.
DAXTRACE_CLICKHOUSE_USER=dtwriter DAXTRACE_CLICKHOUSE_PASSWORD=s3cret-pw \
	timeout 30 "$DT" --json -d 2 --clickhouse "http://127.0.0.1:$port/" --clickhouse-spill "$WORK/spill" \
	> /dev/null 2>&1 || log "no live run here (probes cannot attach); replay data only"
mkdir -p "$OUT"
for t in $(ch_query "SELECT name FROM system.tables WHERE database = 'daxtrace' FORMAT TabSeparated"); do
	ch_query "SELECT * FROM daxtrace.$t FORMAT Native" > "$OUT/$t.native"
done
if [ -n "${KEEP_SERVER:-}" ]; then
	printf 'CH_HTTP=%s\nCH_PID=%s\nCH_WORK=%s\n' "$port" "$CH_PID" "$WORK" > "$OUT/server.env"
fi

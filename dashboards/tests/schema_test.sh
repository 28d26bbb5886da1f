#!/bin/bash
# clickhouse/schema.sql and schema-cluster.sql are what the exporter
# creates: its column specification (exporter/schema.cpp) printed by
# clickhouse_schema.
# usage: schema_test.sh CLICKHOUSE_SCHEMA
set -euo pipefail
# shellcheck source=SCRIPTDIR/../../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
# shellcheck source=SCRIPTDIR/../../tests/ktap.sh
. "$REPO_DIR/tests/ktap.sh"
ch_schema=${1:?usage: schema_test.sh CLICKHOUSE_SCHEMA}
ktap_plan 2
same() {	# same FILE ARGS...
	local f=$1
	shift
	if "$ch_schema" "$@" | diff -u "$REPO_DIR/dashboards/clickhouse/$f" -; then
		ktap_ok "clickhouse/$f is exporter/schema.cpp's specification"
	else
		ktap_not_ok "clickhouse/$f differs from exporter/schema.cpp" \
			"regenerate it with clickhouse_schema $* > dashboards/clickhouse/$f"
	fi
}
same schema.sql
same schema-cluster.sql --cluster daxtrace_fleet
ktap_finish

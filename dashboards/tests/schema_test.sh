#!/bin/bash
# clickhouse/schema.sql is what the exporter creates: its column
# specification (exporter/schema.cpp) printed by clickhouse_schema; and
# clickhouse/cluster-schema.sh makes from it the cluster variant the
# exporter creates on a cluster.
# usage: schema_test.sh CLICKHOUSE_SCHEMA
set -euo pipefail
# shellcheck source=SCRIPTDIR/../../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
# shellcheck source=SCRIPTDIR/../../tests/ktap.sh
. "$REPO_DIR/tests/ktap.sh"
ch_schema=${1:?usage: schema_test.sh CLICKHOUSE_SCHEMA}
ktap_plan 3
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
cluster() {	# cluster NAME DB
	"$REPO_DIR/dashboards/clickhouse/cluster-schema.sh" "$1" "$2" < "$REPO_DIR/dashboards/clickhouse/schema.sql" |
		diff -u <("$ch_schema" --cluster "$1" --db "$2") -
}
check "cluster-schema.sh daxtrace_fleet daxtrace is clickhouse_schema --cluster's" cluster daxtrace_fleet daxtrace
check "cluster-schema.sh c2 other_db is clickhouse_schema --cluster's" cluster c2 other_db
ktap_finish

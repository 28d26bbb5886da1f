#!/bin/sh
# clickhouse/schema.sql and schema-cluster.sql are what the exporter
# creates: its column specification (exporter/schema.cpp) printed by
# clickhouse_schema.
# usage: schema_test.sh CLICKHOUSE_SCHEMA
set -eu
here=$(dirname "$0")
rc=0
check() {	# check FILE ARGS...
	f=$1
	shift
	if "$CH_SCHEMA" "$@" | diff -u "$here/../clickhouse/$f" -; then
		echo "ok - clickhouse/$f is exporter/schema.cpp's specification"
	else
		echo "not ok - clickhouse/$f differs from exporter/schema.cpp: regenerate it with" \
		     "clickhouse_schema $* > dashboards/clickhouse/$f"
		rc=1
	fi
}
CH_SCHEMA=$1
check schema.sql
check schema-cluster.sql --cluster daxtrace_fleet
exit $rc

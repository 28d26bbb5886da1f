#!/bin/sh
# clickhouse/schema.sql is what the exporter creates: its column
# specification (exporter/schema.cpp) printed by clickhouse_schema.
# usage: schema_test.sh CLICKHOUSE_SCHEMA
set -eu
here=$(dirname "$0")
if "$1" | diff -u "$here/../clickhouse/schema.sql" -; then
	echo "ok - clickhouse/schema.sql is exporter/schema.cpp's specification"
else
	echo "not ok - clickhouse/schema.sql differs from exporter/schema.cpp: regenerate it with" \
	     "clickhouse_schema > dashboards/clickhouse/schema.sql"
	exit 1
fi

#!/bin/sh
# The cluster variant of schema.sql, for a DBA without a daxtrace build:
#   cluster-schema.sh CLUSTER [DB] < schema.sql > cluster.sql
# then run it on every server of the cluster (dashboards/README.md,
# "Fleet").  Each table but schema_info becomes NAME_local (the shard's
# rows) plus a Distributed table NAME over every shard's NAME_local in
# database DB (default daxtrace), which every query reads.  The same text
# as `clickhouse_schema --cluster CLUSTER --db DB` prints from the
# exporter's specification (the dashboards.schema_sql test checks that);
# the exporter creates these tables itself when it may.
set -eu
cluster=${1:?usage: cluster-schema.sh CLUSTER [DB] < schema.sql}
db=${2:-daxtrace}
exec awk -v cluster="$cluster" -v db="$db" '
# The preamble ends at the first empty line: the variant says so there.
!told && /^$/ {
	print "--"
	print "-- CLUSTER VARIANT for cluster " cluster ", database " db
	print "-- (clickhouse_schema --cluster NAME --db DB): run it on every server of"
	print "-- the cluster.  Each holds NAME_local tables (its shard'"'"'s"
	print "-- rows) and Distributed tables NAME over all shards, which every query"
	print "-- uses.  The exporter (daxtrace --clickhouse URL1,URL2,..."
	print "-- --clickhouse-cluster " cluster ") writes each host'"'"'s rows into the"
	print "-- NAME_local tables of one shard (dashboards/README.md, \"Fleet\")."
	told = 1
}
/^CREATE TABLE IF NOT EXISTS [a-z_]+$/ {
	name = $6
	# schema_info stays per server: each server says which schema it has.
	sharded = name != "schema_info"
	if (sharded)
		$0 = $0 "_local"
}
{ print }
/^\) ENGINE = / && sharded {
	print "CREATE TABLE IF NOT EXISTS " name " AS " name "_local ENGINE = Distributed(" cluster ", " db ", " name "_local);"
}
'

// clickhouse_schema: daxtrace's ClickHouse schema as SQL, from schema.cpp.
//   clickhouse_schema > dashboards/clickhouse/schema.sql
//   clickhouse_schema --cluster NAME [--db DB]   (= clickhouse/cluster-schema.sh NAME DB < schema.sql)
#include <cstdio>
#include <cstring>
#include <string>

#include "schema.h"

int main(int argc, char **argv)
{
	std::string cluster, db = "daxtrace";
	for (int i = 1; i < argc; i++) {
		if (i + 1 < argc && !strcmp(argv[i], "--cluster")) {
			cluster = argv[++i];
		} else if (i + 1 < argc && !strcmp(argv[i], "--db")) {
			db = argv[++i];
		} else {
			fprintf(stderr, "usage: clickhouse_schema [--cluster NAME [--db DB]]\n");
			return 2;
		}
	}
	fputs(dtch::schema_sql(cluster, db).c_str(), stdout);
	return 0;
}

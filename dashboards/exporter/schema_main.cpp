// clickhouse_schema: daxtrace's ClickHouse schema as SQL, from schema.cpp.
//   clickhouse_schema > dashboards/clickhouse/schema.sql
#include <cstdio>

#include "schema.h"

int main()
{
	fputs(dtch::schema_sql().c_str(), stdout);
	return 0;
}

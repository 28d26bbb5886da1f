// daxtrace's ClickHouse tables: one specification per table (schema.cpp),
// and applying it to a server.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace dtch {

class ClickHouseHttp;

constexpr unsigned kSchemaVersion = 1;

struct Column {
	std::string_view name, type;
	std::string_view default_expr;   // "": the exporter writes it
	std::string_view comment;
};

struct Table {
	std::string_view name, comment;
	std::span<const Column> columns;
	std::string_view engine;         // "ENGINE = ... ORDER BY ..."

	size_t inserted() const;             // columns an INSERT names
	std::string insert_columns() const;  // "wall_ns,ts_ns,host,..."
	// CREATE TABLE IF NOT EXISTS ...; comments: the columns' (schema.sql).
	std::string create_sql(bool comments) const;
};

std::span<const Table> tables();         // schema_info first
const Table &table(std::string_view name);   // throws std::logic_error
std::string schema_sql();                // the whole schema, as schema.sql

// Makes database `db` on the server fit the specification: creates the
// database and missing tables.  Returns "" when it fits, else one line for
// a person; *reachability is set when the server did not answer at all or
// is not ClickHouse.
std::string apply_schema(ClickHouseHttp &http, const std::string &db, bool *unreachable);

}  // namespace dtch

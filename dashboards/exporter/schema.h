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

// What a Row writes into a column: a number, a string, or an array of
// either (Row::num/str/nums/strs).  Other types are never inserted.
enum class FieldKind { Number, String, Numbers, Strings, Other };

constexpr FieldKind field_kind(std::string_view type)
{
	auto number = [](std::string_view t) {
		return t.starts_with("UInt") || t.starts_with("Int") || t.starts_with("Float");
	};
	if (type == "String")
		return FieldKind::String;
	if (number(type))
		return FieldKind::Number;
	if (type == "Array(String)")
		return FieldKind::Strings;
	if (type.starts_with("Array(") && number(type.substr(6)))
		return FieldKind::Numbers;
	return FieldKind::Other;
}

struct Column {
	std::string_view name, type;
	std::string_view default_expr;   // "": the exporter writes it
	std::string_view comment;
	FieldKind kind = field_kind(type);
};

struct Table {
	std::string_view name, comment;
	std::span<const Column> columns;
	std::string_view engine;         // "ENGINE = ... ORDER BY ..."

	size_t inserted() const;             // columns an INSERT names
	std::string insert_columns() const;  // "wall_ns,ts_ns,host,..."
	// CREATE TABLE IF NOT EXISTS ...; comments: the columns' (schema.sql).
	// suffix: appended to the table's name (kLocalSuffix on a cluster).
	std::string create_sql(bool comments, std::string_view suffix = "") const;
	// On a cluster: the Distributed table of this name over every shard's
	// NAME_local in database db.
	std::string distributed_sql(const std::string &cluster, const std::string &db) const;
	// Is it sharded on a cluster?  (schema_info stays per server.)
	bool sharded() const { return name != "schema_info"; }
	// The table an exporter INSERTs into: NAME, or NAME_local on a cluster.
	std::string insert_table(bool cluster) const;
};

// A cluster's shards hold NAME_local (MergeTree); NAME is the Distributed
// table over them, so every query (dashboards, tests) reads NAME alike.
inline constexpr std::string_view kLocalSuffix = "_local";

std::span<const Table> tables();         // schema_info first
const Table &table(std::string_view name);   // throws std::logic_error
// The whole schema, as schema.sql; with a cluster name the cluster
// variant (schema-cluster.sql: per-shard tables plus Distributed ones
// reading database db on every shard).
std::string schema_sql(const std::string &cluster = "", const std::string &db = "daxtrace");

// Makes database `db` on the server fit the specification: creates the
// database and missing tables (on a cluster, this server's local tables
// and the Distributed tables).  Returns "" when it fits, else one line for
// a person; *reachability is set when the server did not answer at all or
// is not ClickHouse.
std::string apply_schema(ClickHouseHttp &http, const std::string &db, const std::string &cluster,
			 bool *unreachable);

}  // namespace dtch

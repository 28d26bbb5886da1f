// daxtrace's ClickHouse tables: one specification per table (schema.cpp),
// each column with its name, type and what it is written from, and applying
// it to a server.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace dtch {

class ClickHouseHttp;
class Row;
struct Origin;

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

// The kind a value of type T is written as.
template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};

template <class T>
constexpr FieldKind value_kind()
{
	using U = std::remove_cvref_t<T>;
	if constexpr (std::is_arithmetic_v<U>)
		return FieldKind::Number;
	else if constexpr (std::is_convertible_v<const U &, std::string_view>)
		return FieldKind::String;
	else if constexpr (is_vector<U>::value && std::is_arithmetic_v<typename U::value_type>)
		return FieldKind::Numbers;
	else if constexpr (is_vector<U>::value && std::is_same_v<typename U::value_type, std::string>)
		return FieldKind::Strings;
	else
		return FieldKind::Other;
}

struct Column {
	std::string_view name, type;
	std::string_view default_expr;   // "": the exporter writes it
	std::string_view comment;
	FieldKind kind = field_kind(type);
	// Writes this column's field of a row: source is the table's row
	// source (rows.h).  nullptr for a column the server derives (DEFAULT).
	void (*put)(Row &, const Origin &, const void *source) = nullptr;
};

struct Table {
	std::string_view name, comment;
	std::span<const Column> columns;
	std::string_view engine;         // "ENGINE = ... ORDER BY ..."
	const void *source = nullptr;    // identifies its row source (table_of)

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
// The table whose rows are made from a Source of rows.h (EventRow: events).
template <class Source>
const Table &table_of();
// The whole schema, as schema.sql; with a cluster name the cluster
// variant (clickhouse/cluster-schema.sh: per-shard tables plus Distributed ones
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

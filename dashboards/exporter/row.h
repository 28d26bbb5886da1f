// One TabSeparated row of a table, its fields in the table's column order
// (schema.cpp).  append_row() writes one from the table's row source: each
// column's own writer, in the specification's order.  The number of fields
// and each field's kind (number, string, array of either) are checked
// against the specification again as the row is written: a row that does
// not fit its table is a bug, and fails loudly in every export test
// instead of reaching the server as a shifted or refused row.
#pragma once

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "schema.h"

namespace dtch {

class Row {
public:
	Row(std::string &out, const Table &t) : out_(out), table_(t) {}
	~Row()
	{
		out_ += '\n';
		if (fields_ != table_.inserted()) {
			fprintf(stderr, "daxtrace: bug: a %.*s row has %zu fields, the table %zu\n",
				int(table_.name.size()), table_.name.data(), fields_, table_.inserted());
			abort();
		}
	}
	Row(const Row &) = delete;
	Row &operator=(const Row &) = delete;

	// The field for the next column, written as its kind (value_kind).
	template <typename T>
	void put(const T &v)
	{
		constexpr FieldKind k = value_kind<T>();
		static_assert(k != FieldKind::Other, "a Row cannot write this type");
		if constexpr (std::is_same_v<T, bool>)
			num(unsigned(v));
		else if constexpr (k == FieldKind::Number)
			num(v);
		else if constexpr (k == FieldKind::String)
			str(v);
		else if constexpr (k == FieldKind::Strings)
			strs(v);
		else
			nums(v);
	}

private:
	template <typename T>
	Row &num(T v)
	{
		sep(FieldKind::Number);
		append_num(v);
		return *this;
	}
	Row &str(std::string_view s)
	{
		sep(FieldKind::String);
		escape(s, false);
		return *this;
	}
	Row &strs(const std::vector<std::string> &v)
	{
		sep(FieldKind::Strings);
		out_ += '[';
		for (size_t i = 0; i < v.size(); i++) {
			if (i)
				out_ += ',';
			out_ += '\'';
			escape(v[i], true);
			out_ += '\'';
		}
		out_ += ']';
		return *this;
	}
	template <typename T>
	Row &nums(const std::vector<T> &v)
	{
		sep(FieldKind::Numbers);
		out_ += '[';
		for (size_t i = 0; i < v.size(); i++) {
			if (i)
				out_ += ',';
			append_num(v[i]);
		}
		out_ += ']';
		return *this;
	}

	template <typename T>
	void append_num(T v)
	{
		char buf[32];
		auto r = std::to_chars(buf, buf + sizeof(buf), v);
		out_.append(buf, r.ptr);
	}
	// The next inserted column (one the exporter writes, no DEFAULT)
	// must take this kind of field.
	void sep(FieldKind kind)
	{
		const auto &cols = table_.columns;
		while (col_ < cols.size() && !cols[col_].default_expr.empty())
			++col_;
		if (col_ < cols.size() && cols[col_].kind != kind) {
			fprintf(stderr, "daxtrace: bug: field %zu of a %.*s row does not fit column %.*s %.*s\n",
				fields_ + 1, int(table_.name.size()), table_.name.data(),
				int(cols[col_].name.size()), cols[col_].name.data(),
				int(cols[col_].type.size()), cols[col_].type.data());
			abort();
		}
		++col_;
		if (fields_++)
			out_ += '\t';
	}
	void escape(std::string_view s, bool quoted)
	{
		for (char c : s) {
			switch (c) {
			case '\\': out_ += "\\\\"; break;
			case '\t': out_ += "\\t"; break;
			case '\n': out_ += "\\n"; break;
			case '\r': out_ += "\\r"; break;
			case '\0': out_ += "\\0"; break;
			case '\'':
				if (quoted)
					out_ += "\\'";
				else
					out_ += c;
				break;
			default: out_ += c;
			}
		}
	}
	std::string &out_;
	const Table &table_;
	size_t fields_ = 0;
	size_t col_ = 0;   // the column of the next field
};

// Appends the row made from source (a struct of rows.h) to out.
template <class Source>
void append_row(std::string &out, const Origin &origin, const Source &source)
{
	const Table &t = table_of<Source>();
	Row row(out, t);
	for (const Column &c : t.columns)
		if (c.put)
			c.put(row, origin, &source);
}

}  // namespace dtch

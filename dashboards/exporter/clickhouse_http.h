// A small client for ClickHouse's HTTP interface (libcurl): one keep-alive
// connection, credentials as X-ClickHouse-User / X-ClickHouse-Key headers.
#pragma once

#include <string>

typedef void CURL;

namespace dtch {

struct ChResult {
	bool ok = false;
	long http_status = 0;     // 0: no HTTP answer (connection failed)
	int ch_code = 0;          // ClickHouse exception code ("Code: 60"), 0 if none
	std::string body;         // response (result, or the server's error text)
	std::string error;        // one line, for a person
	bool transport_error() const { return http_status == 0; }
};

class ClickHouseHttp {
public:
	// url: http[s]://host[:port][/]; throws std::runtime_error if malformed.
	ClickHouseHttp(const std::string &url, std::string user, std::string password);
	~ClickHouseHttp();
	ClickHouseHttp(const ClickHouseHttp &) = delete;
	ClickHouseHttp &operator=(const ClickHouseHttp &) = delete;

	// POST sql (no body) or, with data, "query=sql" in the URL and data as
	// the body (INSERT ... FORMAT ...).  database sets the default database.
	ChResult query(const std::string &sql, const std::string &database = "",
		       const std::string *data = nullptr, long timeout_s = 60);
	ChResult ping(long timeout_s = 5);
	const std::string &url() const { return base_; }

private:
	std::string base_, user_, password_;
	CURL *curl_ = nullptr;
};

// One line for a person about a failed query (connection, credentials, or
// the server's own message).
std::string describe(const ChResult &r, const std::string &url);
// `name` quoted as a ClickHouse identifier, `s` as a string literal.
std::string ident(const std::string &name);
std::string sql_quote(const std::string &s);

// "user:password" from a file (first line), or from DAXTRACE_CLICKHOUSE_USER
// and DAXTRACE_CLICKHOUSE_PASSWORD; empty user = ClickHouse's "default".
// Throws std::runtime_error with a one-line message.
void clickhouse_credentials(const std::string &file, std::string *user, std::string *password);

}  // namespace dtch

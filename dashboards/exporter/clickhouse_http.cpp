#include "clickhouse_http.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <sys/stat.h>

#include <curl/curl.h>

#include "ch_errors.h"
#include "delivery.h"

namespace dtch {
namespace {

size_t collect(char *p, size_t size, size_t n, void *ud)
{
	static_cast<std::string *>(ud)->append(p, size * n);
	return size * n;
}

int parse_code(const std::string &body)
{
	auto at = body.find("Code: ");
	return at == std::string::npos ? 0 : atoi(body.c_str() + at + 6);
}

std::string first_line(const std::string &s, size_t max = 300)
{
	std::string l = s.substr(0, s.find('\n'));
	if (l.size() > max)
		l = l.substr(0, max) + "...";
	return l;
}

std::string url_escape(CURL *c, const std::string &s)
{
	char *e = curl_easy_escape(c, s.data(), int(s.size()));
	std::string r = e ? e : "";
	curl_free(e);
	return r;
}

}  // namespace

ClickHouseHttp::ClickHouseHttp(const std::string &url, std::string user, std::string password)
	: user_(std::move(user)), password_(std::move(password))
{
	static bool inited = (curl_global_init(CURL_GLOBAL_DEFAULT), true);
	(void)inited;
	if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
		throw std::runtime_error("'" + url + "' is not an http:// or https:// URL (ClickHouse's HTTP "
					 "interface, e.g. http://127.0.0.1:8123/)");
	CURLU *u = curl_url();
	CURLUcode rc = curl_url_set(u, CURLUPART_URL, url.c_str(), 0);
	char *host = nullptr;
	if (rc == CURLUE_OK)
		rc = curl_url_get(u, CURLUPART_HOST, &host, 0);
	char *q = nullptr;
	bool has_query = curl_url_get(u, CURLUPART_QUERY, &q, 0) == CURLUE_OK && q && *q;
	char *userpart = nullptr;
	bool has_user = curl_url_get(u, CURLUPART_USER, &userpart, 0) == CURLUE_OK && userpart;
	curl_free(q);
	curl_free(userpart);
	curl_free(host);
	curl_url_cleanup(u);
	if (rc != CURLUE_OK)
		throw std::runtime_error("'" + url + "' is not a valid URL (" + curl_url_strerror(rc) + ")");
	if (has_user)
		throw std::runtime_error("credentials do not belong in the URL (it shows in ps): use "
					 "DAXTRACE_CLICKHOUSE_USER/_PASSWORD or --clickhouse-credentials FILE");
	if (has_query)
		throw std::runtime_error("'" + url + "': give the server's base URL, without ?parameters");
	base_ = url;
	if (base_.back() != '/')
		base_ += '/';
	curl_ = curl_easy_init();
	if (!curl_)
		throw std::runtime_error("curl_easy_init failed");
}

ClickHouseHttp::~ClickHouseHttp()
{
	if (curl_)
		curl_easy_cleanup(curl_);
}

ChResult ClickHouseHttp::query(const std::string &sql, const std::string &database,
			       const std::string *data, long timeout_s)
{
	ChResult r;
	CURL *c = curl_;
	curl_easy_reset(c);
	std::string url = base_;
	std::string params;
	if (!database.empty())
		params += "database=" + url_escape(c, database);
	if (data)
		params += std::string(params.empty() ? "" : "&") + "query=" + url_escape(c, sql);
	if (!params.empty())
		url += "?" + params;
	curl_easy_setopt(c, CURLOPT_URL, url.c_str());
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	const std::string &body = data ? *data : sql;
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.size());
	struct curl_slist *h = nullptr;
	h = curl_slist_append(h, "Content-Type: text/plain; charset=utf-8");
	h = curl_slist_append(h, "Expect:");
	if (!user_.empty()) {
		h = curl_slist_append(h, ("X-ClickHouse-User: " + user_).c_str());
		h = curl_slist_append(h, ("X-ClickHouse-Key: " + password_).c_str());
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 3L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
	char errbuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	CURLcode rc = curl_easy_perform(c);
	curl_slist_free_all(h);
	if (rc != CURLE_OK) {
		r.error = std::string(curl_easy_strerror(rc)) + (errbuf[0] ? std::string(": ") + errbuf : "");
		return r;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.http_status);
	if (r.http_status == 200) {
		r.ok = true;
		return r;
	}
	r.ch_code = parse_code(r.body);
	r.error = "HTTP " + std::to_string(r.http_status) +
		  (r.body.empty() ? "" : ": " + first_line(r.body));
	return r;
}

ChResult ClickHouseHttp::ping(long timeout_s)
{
	ChResult r;
	CURL *c = curl_;
	curl_easy_reset(c);
	std::string url = base_ + "ping";
	curl_easy_setopt(c, CURLOPT_URL, url.c_str());
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 3L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r.body);
	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		r.error = curl_easy_strerror(rc);
		return r;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.http_status);
	r.ok = r.http_status == 200 && r.body.rfind("Ok.", 0) == 0;
	if (!r.ok)
		r.error = "GET /ping answered HTTP " + std::to_string(r.http_status) + " '" +
			  first_line(r.body, 60) + "', not ClickHouse's 'Ok.'";
	return r;
}

void clickhouse_credentials(const std::string &file, std::string *user, std::string *password)
{
	if (!file.empty()) {
		std::ifstream in(file);
		if (!in)
			throw std::runtime_error("--clickhouse-credentials " + file + ": " + strerror(errno));
		struct stat st;
		if (stat(file.c_str(), &st) == 0 && (st.st_mode & 0077))
			message(true, "%s is readable by group/others (chmod 600 it)", file.c_str());
		std::string line;
		std::getline(in, line);
		while (!line.empty() && (line.back() == '\r' || line.back() == '\n' || line.back() == ' '))
			line.pop_back();
		auto colon = line.find(':');
		if (line.empty() || colon == 0)
			throw std::runtime_error("--clickhouse-credentials " + file +
						 ": expected one line 'user:password'");
		*user = line.substr(0, colon);
		*password = colon == std::string::npos ? "" : line.substr(colon + 1);
		return;
	}
	const char *u = getenv("DAXTRACE_CLICKHOUSE_USER");
	const char *p = getenv("DAXTRACE_CLICKHOUSE_PASSWORD");
	*user = u ? u : "";
	*password = p ? p : "";
	if (user->empty() && !password->empty())
		*user = "default";
}

std::string describe(const ChResult &r, const std::string &url)
{
	if (r.transport_error())
		return "cannot reach ClickHouse at " + url + ": " + r.error;
	if (ch_error::bad_credentials(r.ch_code))
		return "ClickHouse at " + url + " refused the credentials (" + r.error + ")";
	return "ClickHouse at " + url + ": " + r.error;
}

namespace {
std::string quoted(const std::string &s, char q)
{
	std::string r(1, q);
	for (char c : s) {
		if (c == q || c == '\\')
			r += '\\';
		r += c;
	}
	return r + q;
}
}  // namespace

std::string ident(const std::string &s) { return quoted(s, '`'); }
std::string sql_quote(const std::string &s) { return quoted(s, '\''); }

}  // namespace dtch

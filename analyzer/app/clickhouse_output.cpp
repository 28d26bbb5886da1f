// The Output that feeds the ClickHouse exporter: the session's view
// (start object, counters, engine state) turned into the exporter's own
// types, so that the exporter does not depend on the application.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sys/stat.h>

#include "clickhouse_http.h"
#include "delivery.h"
#include "export_options.h"
#include "output.h"
#include "session.h"
#include "spill_queue.h"

namespace dtcli {
namespace {

dtch::Snapshot snapshot_of(const Session &s, double elapsed_s)
{
	dtch::Snapshot x;
	x.elapsed_s = elapsed_s;
	x.events = s.events();
	x.lost = s.lost();
	x.filtered = s.filtered();
	x.findings = s.findings().size();
	x.last_ts = s.events() ? s.last_ts() : 0;
	x.engine = s.engine().stats();
	x.near_misses = &s.engine().near_misses();
	return x;
}

class ClickHouseOutput : public Output {
public:
	explicit ClickHouseOutput(const ClickHouseOptions &opt) : exp_(opt) {}

	void start(const nlohmann::json &meta) override
	{
		dtch::RunInfo r;
		r.live = meta.value("source", std::string()) == "live";
		r.host = meta.value("host", std::string());
		r.kernel = meta.value("kernel", std::string());
		r.trace_file = meta.value("trace", std::string());
		if (meta.contains("hooks") && meta["hooks"].is_array())
			for (auto &h : meta["hooks"])
				r.hooks.push_back(h.get<std::string>());
		if (meta.contains("coverage"))
			r.coverage = meta["coverage"];
		r.start_wallclock_ns = meta.value("start_wallclock_ns", uint64_t(0));
		r.start_monotonic_ns = meta.value("start_monotonic_ns", uint64_t(0));
		exp_.start(r);
	}
	void events(const dt_event *ev, size_t n) override
	{
		for (size_t i = 0; i < n; i++)
			exp_.event(ev[i]);
	}
	void finding(const daxtrace::Finding &f) override { exp_.finding(f); }
	void tick(const Session &s, double elapsed_s) override { exp_.tick(snapshot_of(s, elapsed_s)); }
	void summary(const Session &s, double elapsed_s) override { exp_.finish(snapshot_of(s, elapsed_s)); }
	void warning(const std::string &) override {}
	std::string failure() const override { return exp_.failure(); }

private:
	dtch::Exporter exp_;
};

}  // namespace

std::unique_ptr<Output> make_clickhouse_output(const ClickHouseOptions &opt)
{
	return std::make_unique<ClickHouseOutput>(opt);
}

// The exporter's own sender, on a directory no run of this process wrote:
// every batch is "in doubt", so each is first looked up by its batch_id and
// inserted only if the server does not have it.  Flushing a directory (or
// a copy of it) twice therefore inserts nothing the second time.
int flush_spill(const std::string &dir, const ClickHouseOptions &opt, double timeout_s)
{
	auto fail = [](const std::string &m, int code) {
		fprintf(stderr, "daxtrace: error: %s\n", m.c_str());
		return code;
	};
	if (opt.url.find(',') != std::string::npos)
		return fail("flush: --clickhouse takes one server; on a cluster flush each shard's subdirectory "
			    "of the spill directory with that shard's URL and --clickhouse-cluster",
			    2);
	struct stat st;
	if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
		return fail("flush: " + dir + ": not a spill directory", 1);
	std::unique_ptr<dtch::SpillQueue> spill;
	std::unique_ptr<dtch::ClickHouseHttp> http;
	try {
		std::string user, password;
		dtch::clickhouse_credentials(opt.credentials_file, &user, &password);
		http = std::make_unique<dtch::ClickHouseHttp>(opt.url, user, password);
		spill = std::make_unique<dtch::SpillQueue>(dir);
	} catch (const std::exception &e) {
		return fail(std::string("flush: ") + e.what(), 2);
	}
	size_t before = spill->list().size();
	std::string url = http->url();
	// '/' never starts a batch name: no batch counts as this run's own.
	dtch::Delivery d(std::move(http), opt.database, opt.cluster, *spill, "/");
	d.drain(timeout_s, opt.interrupts);
	auto left = spill->list();
	uint64_t left_rows = 0;
	std::string content;
	for (auto &n : left)
		if (spill->read(n, &content)) {
			// header: magic, table, batch_id, rows, columns
			size_t t1 = content.find('\t'), t2 = content.find('\t', t1 + 1), t3 = content.find('\t', t2 + 1);
			if (t3 != std::string::npos)
				left_rows += strtoull(content.c_str() + t3 + 1, nullptr, 10);
		}
	printf("flush %s: %zu batches; delivered %lu rows in %lu batches to %s database %s; %lu already there "
	       "(not sent twice); %lu refused (set aside in %s/rejected); %zu batches (%lu rows) left\n",
	       dir.c_str(), before, (unsigned long)d.delivered_rows(), (unsigned long)d.delivered_batches(),
	       url.c_str(), opt.database.c_str(), (unsigned long)d.duplicates_skipped(),
	       (unsigned long)d.rejected(), spill->dir().c_str(), left.size(), (unsigned long)left_rows);
	fflush(stdout);
	if (!left.empty())
		return fail("flush: " + std::to_string(left.size()) + " batches not delivered (" +
				    (spill->locked() ? (d.last_error().empty() ? std::string("no progress for ") +
									 std::to_string(int(timeout_s)) + " s"
								       : d.last_error())
						     : std::string("another daxtrace holds the directory")) +
				    "); they stay in " + dir,
			    1);
	if (d.rejected())
		return fail("flush: " + std::to_string(d.rejected()) + " batches refused by the server", 1);
	return 0;
}

}  // namespace dtcli

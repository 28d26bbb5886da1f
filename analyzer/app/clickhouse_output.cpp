// The Output that feeds the ClickHouse exporter: the session's view
// (start object, counters, engine state) turned into the exporter's own
// types, so that the exporter does not depend on the application.
#include <memory>

#include "export_options.h"
#include "output.h"
#include "session.h"

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
	void event(const dt_event &e) override { exp_.event(e); }
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

}  // namespace dtcli

// daxtrace: detect Linux DAX race windows live (BPF) or in a recorded trace.
//
//   daxtrace [options]            live: attach the probes, analyse, show
//   daxtrace replay FILE          analyse a trace recorded with --record
//   daxtrace doctor               what this kernel lets daxtrace see
//   daxtrace flush DIR --clickhouse URL   deliver a ClickHouse spill directory
//
// Exit status: 0 ok, 1 error, 2 bad usage, 3 trace damaged (everything
// before the damage was analysed and reported).
#include <atomic>
#include <cerrno>
#include <cmath>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>
#include <vector>
#include <sys/utsname.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "daxtrace/events.h"
#include "daxtrace/trace.h"
#include "export_options.h"
#include "filters.h"
#include "json_output.h"
#include "metrics.h"
#include "output.h"
#include "probe_set.h"
#include "registry.h"
#include "service.h"
#include "session.h"
#include "text_output.h"
#include "version.h"

namespace {

using namespace dtcli;
using Clock = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};
std::atomic<bool> g_broken_pipe{false};
// SIGINT/SIGTERM count: the first stops the run, the second also ends the
// wait for ClickHouse delivery.
std::atomic<int> g_interrupts{0};

void on_signal(int sig)
{
	if (sig == SIGPIPE)
		g_broken_pipe = true;
	else if (sig == SIGINT || sig == SIGTERM)
		g_interrupts++;
	g_stop = true;
}

// A write error on stdout (a full disk, EIO, a closed pipe): "" if none.
// Checked after each batch of output and at the end, so that a run whose
// findings went nowhere does not exit 0.
std::string stdout_error()
{
	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return {};
	int err = g_stdout_errno ? g_stdout_errno : errno;
	if (g_broken_pipe || err == EPIPE)
		return "standard output closed (broken pipe); stopped";
	return std::string("writing standard output: ") + (err ? strerror(err) : "write error");
}

// The exit status after the output's end: 1 if stdout or an exporter
// failed (each says why on one line), else `status`.
int finish_status(const Output &out, int status)
{
	if (auto e = stdout_error(); !e.empty()) {
		fprintf(stderr, "daxtrace: error: %s\n", e.c_str());
		status = status ? status : 1;
	}
	if (auto f = out.failure(); !f.empty()) {
		fprintf(stderr, "daxtrace: error: %s\n", f.c_str());
		status = status ? status : 1;
	}
	return status;
}

[[noreturn]] void die(const std::string &msg, int code = 1)
{
	fprintf(stderr, "daxtrace: error: %s\n", msg.c_str());
	exit(code);
}


struct Common {
	bool json = false;
	FilterArgs filters;
	double interval = 0;    // s between stats lines / view refreshes
	ClickHouseOptions clickhouse;
	std::string metrics;    // --metrics ADDR: Prometheus /metrics
};

// The /metrics endpoint, if --metrics: live mode feeds it the ring-buffer
// counters, replay keeps it up for --linger.
MetricsOutput *g_metrics = nullptr;

// A seconds option: a finite number in [min, max].  CLI11's own number
// checks let nan and inf through and print DBL_MAX in full.
CLI::Validator seconds_in(double min, double max, bool zero_ok = false)
{
	char range[96];
	snprintf(range, sizeof(range), "%s%g to %g seconds", zero_ok ? "0 or " : "", min, max);
	std::string what = range;
	return CLI::Validator(
		[=](std::string &v) -> std::string {
			char *end = nullptr;
			errno = 0;
			double d = strtod(v.c_str(), &end);
			bool ok = !v.empty() && end && *end == '\0' && errno != ERANGE && std::isfinite(d) &&
				  ((d >= min && d <= max) || (zero_ok && d == 0));
			return ok ? std::string() : "'" + v + "' is not " + what;
		},
		"SECONDS");
}

// --ringbuf-mb: the kernel wants a power-of-two ring of at least a page,
// and its size goes to libbpf as 32 bits.
constexpr unsigned long kRingbufMinMb = 1, kRingbufMaxMb = 1024;

CLI::Validator ringbuf_mb_check()
{
	return CLI::Validator(
		[](std::string &v) -> std::string {
			char *end = nullptr;
			errno = 0;
			unsigned long n = v.empty() || v[0] == '-' ? 0 : strtoul(v.c_str(), &end, 10);
			bool ok = end && *end == '\0' && errno == 0 && n >= kRingbufMinMb && n <= kRingbufMaxMb &&
				  (n & (n - 1)) == 0;
			return ok ? std::string()
				  : "'" + v + "' is not a power of two from " + std::to_string(kRingbufMinMb) + " to " +
					    std::to_string(kRingbufMaxMb) + " (MiB)";
		},
		"MiB");
}

void add_common(CLI::App *app, Common &c)
{
	app->add_flag("--json", c.json, "one JSON object per line on stdout");
	app->add_option("-p,--pid", c.filters.pid, "only this process (thread-group id)");
	app->add_option("--cgroup", c.filters.cgroup, "only tasks in this cgroup v2 directory (live only)");
	app->add_option("--dev", c.filters.dev,
			"only this filesystem: MAJ:MIN, its block device, or a path on it");
	app->add_option("--ino", c.filters.ino, "only this inode number");
	app->add_option("--clickhouse", c.clickhouse.url,
			"also export to ClickHouse over HTTP (e.g. http://127.0.0.1:8123/); credentials from "
			"DAXTRACE_CLICKHOUSE_USER/_PASSWORD or --clickhouse-credentials");
	app->add_option("--clickhouse-db", c.clickhouse.database, "ClickHouse database (default daxtrace)");
	app->add_option("--clickhouse-cluster", c.clickhouse.cluster,
			"--clickhouse lists the shards (URL1,URL2,...) of this ClickHouse cluster: each host "
			"writes into one shard, Distributed tables read them all");
	app->add_option("--clickhouse-hostname", c.clickhouse.host_name,
			"host column of the exported rows (default: the run's host name)");
	app->add_option("--clickhouse-credentials", c.clickhouse.credentials_file,
			"file holding user:password for ClickHouse");
	app->add_option("--clickhouse-spill", c.clickhouse.spill_dir,
			"directory for batches ClickHouse could not take yet (delivered later)");
	app->add_option("--clickhouse-sample", c.clickhouse.event_sample,
			"export every Nth event to the events table (1 = all, 0 = none)");
	app->add_option("--metrics", c.metrics,
			"serve Prometheus metrics on http://ADDR/metrics (e.g. 127.0.0.1:9477)");
	app->add_option("--clickhouse-batch-rows", c.clickhouse.batch_rows,
			"rows per INSERT batch (default 10000)")->check(CLI::Range(size_t(1), size_t(10000000)));
	app->add_option("--clickhouse-batch-seconds", c.clickhouse.batch_seconds,
			"send a partial batch after this many seconds (default 2)")->check(seconds_in(0.001, 3600));
}

// Live stdout is gone (a full disk, a closed pipe): the summary goes to
// stderr instead of being lost with the rest, since a live run cannot be
// run again (a replay can, so replay keeps stderr to the one error line).
void summary_to_stderr(const Common &c, const Session &s, double elapsed_s)
{
	fflush(stdout);
	if (!ferror(stdout) && !g_broken_pipe)
		return;
	if (c.json)
		JsonOutput(stderr).summary(s, elapsed_s);
	else
		TextOutput(false, stderr).summary(s, elapsed_s);
}

std::unique_ptr<Output> make_output(const Common &c, bool live)
{
	std::unique_ptr<Output> local;
	if (c.json)
		local = std::make_unique<JsonOutput>();
	else
		local = std::make_unique<TextOutput>(live && isatty(STDOUT_FILENO));
	if (c.clickhouse.url.empty() && c.metrics.empty())
		return local;
	auto tee = std::make_unique<TeeOutput>();
	tee->add(std::move(local));
	if (!c.metrics.empty()) {
		try {
			auto m = std::make_unique<MetricsOutput>(c.metrics);
			g_metrics = m.get();
			tee->add(std::move(m));
		} catch (const std::exception &e) {
			die(e.what());
		}
	}
	if (c.clickhouse.url.empty())
		return tee;
#ifdef DAXTRACE_HAVE_CLICKHOUSE
	try {
		ClickHouseOptions o = c.clickhouse;
		o.interrupts = &g_interrupts;
		tee->add(make_clickhouse_output(o));
	} catch (const std::exception &e) {
		die(std::string("--clickhouse: ") + e.what());
	}
#else
	die("--clickhouse: this daxtrace was built without the ClickHouse exporter");
#endif
	return tee;
}

void install_signals()
{
	// No SA_RESTART: a signal must interrupt the ring-buffer wait.
	struct sigaction sa = {};
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, nullptr);
	sigaction(SIGTERM, &sa, nullptr);
	sigaction(SIGHUP, &sa, nullptr);
	// `daxtrace -r t.dxt | head -1`: stop as on SIGINT, so that the
	// recording is closed instead of being cut short by the signal.
	sigaction(SIGPIPE, &sa, nullptr);
}

void attach_or_die(dtprobe::ProbeSet &probes)
{
	try {
		probes.attach();
	} catch (const dtprobe::ProbeError &e) {
		die(e.what());
	}
}

// --- live -------------------------------------------------------------------

struct LiveArgs {
	Common common;
	std::string record;
	bool force = false;  // overwrite an existing --record file
	double duration = 0;
	size_t ringbuf_mb = 8;
	std::vector<std::string> forbid;
	bool join_faults = true;
};

int run_live(LiveArgs &a)
{
	dtprobe::Options opt;
	try {
		opt.filters = resolve_filters(a.common.filters);
	} catch (const UsageError &e) {
		die(e.what(), 2);
	}
	for (auto &m : a.forbid) {
		dtprobe::Mechanism mech;
		if (!dtprobe::parse_mechanism(m, &mech))
			die("--forbid: unknown mechanism '" + m + "' (tp_btf, raw_tp, fentry, kprobe)", 2);
		opt.forbid.insert(mech);
	}
	opt.ringbuf_bytes = a.ringbuf_mb << 20;
	opt.join_faults = a.join_faults;
	if (auto missing = dtprobe::missing_privileges(); !missing.empty())
		die(missing);

	dtprobe::ProbeSet probes(opt);
	attach_or_die(probes);

	daxtrace::TraceHeader hdr = live_trace_header(probes);
	std::unique_ptr<daxtrace::TraceWriter> recorder;
	if (!a.record.empty()) {
		try {
			daxtrace::TraceWriter::Options o;
			o.mode = a.force ? daxtrace::TraceWriter::Mode::Truncate
					 : daxtrace::TraceWriter::Mode::Exclusive;
			recorder = std::make_unique<daxtrace::TraceWriter>(a.record, hdr, o);
		} catch (const daxtrace::TraceError &e) {
			die(a.record + ": " + e.what());
		}
	}

	auto out = make_output(a.common, true);
	// Rules that infer from a missing event must know which hooks could
	// have seen it; replay reads the same list from the trace header.
	daxtrace::EngineConfig cfg;
	cfg.hooks_attached = daxtrace::hooks_from_names(hdr.hooks);
	Session session(cfg, *out, {}, std::move(recorder));
	out->start(start_meta({true, hdr.kernel_release, hdr.hostname, a.record, DT_ABI_VERSION, hdr.hooks,
				probes.coverage_json(), hdr.start_wallclock_ns, hdr.start_monotonic_ns}));

	install_signals();
	double tick = a.common.interval > 0 ? a.common.interval : (a.common.json ? 5.0 : 1.0);
	auto t0 = Clock::now();
	auto period = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(tick));
	auto next_tick = t0 + period;
	auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };
	auto deliver = [&](const dt_event *ev, size_t n) { session.on_events(ev, n); };
	int status = 0;
	while (!g_stop && (a.duration <= 0 || elapsed() < a.duration)) {
		int rc = probes.poll(100, deliver);
		if (rc < 0 && rc != -EINTR) {
			// Stop, but still drain, summarise and close the recording.
			fprintf(stderr, "daxtrace: error: reading the ring buffer: %s\n", strerror(-rc));
			status = 1;
			break;
		}
		if (ferror(stdout)) {
			status = 1;   // finish_status() says why
			break;
		}
		if (session.recorder() && session.recorder()->failed()) {
			// Disk full, EIO, a dead pipe: stop, but still summarise
			// and close the recording with what fit.
			fprintf(stderr, "daxtrace: error: %s\n", session.recorder()->error()->what());
			status = 1;
			break;
		}
		session.after_poll(rc);
		if (Clock::now() >= next_tick) {
			if (g_metrics) {
				auto rb = probes.total_stats();
				g_metrics->set_ringbuf(rb.emitted, rb.dropped, rb.filtered);
			}
			out->tick(session, elapsed());
			next_tick += period;
		}
	}
	// Stop producing, then take everything already in the ring buffer.
	probes.detach();
	while (probes.poll(0, deliver) > 0) {
	}
	session.finish();
	auto st = probes.total_stats();
	if (st.dropped)
		out->warning(std::to_string(st.dropped) +
			     " events were dropped (ring buffer full); findings near the gaps are marked uncertain;"
			     " a larger --ringbuf-mb helps");
	out->summary(session, elapsed());
	summary_to_stderr(a.common, session, elapsed());
	if (auto *rec = session.recorder()) {
		fprintf(stderr, "daxtrace: recorded %lu events to %s", (unsigned long)rec->events_on_disk(),
			a.record.c_str());
		if (rec->failed())
			fprintf(stderr, " (%lu events did not fit; recorded as lost)",
				(unsigned long)rec->events_dropped());
		fprintf(stderr, "\n");
		if (rec->failed())
			status = 1;
	}
	if (g_broken_pipe && !ferror(stdout)) {
		fprintf(stderr, "daxtrace: error: standard output closed (broken pipe); stopped\n");
		status = 1;
	}
	return finish_status(*out, status);
}

// --- replay -----------------------------------------------------------------

// --linger: keep serving /metrics after a replay so that Prometheus can
// scrape the final numbers; SIGINT/SIGTERM end it early.
void linger(double seconds)
{
	if (!g_metrics || seconds <= 0)
		return;
	install_signals();
	auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
	while (!g_stop && Clock::now() < end)
		usleep(100 * 1000);
}

int run_replay(const std::string &path, Common &c, double linger_s)
{
	if (!c.filters.cgroup.empty())
		die("--cgroup: trace files do not record cgroups; filter when recording", 2);
	dtprobe::Filters filters;
	try {
		filters = resolve_filters(c.filters, FilterFor::Replay);
	} catch (const UsageError &e) {
		die(e.what(), 2);
	}
	std::unique_ptr<daxtrace::TraceReader> reader;
	try {
		reader = std::make_unique<daxtrace::TraceReader>(path);
	} catch (const daxtrace::TraceError &e) {
		die(path + ": " + e.what() + " (at byte " + std::to_string(e.offset()) + ")");
	}
	auto &hdr = reader->header();
	auto out = make_output(c, false);
	daxtrace::EngineConfig cfg;
	cfg.hooks_attached = daxtrace::hooks_from_names(hdr.hooks);
	Session session(cfg, *out, filters);
	out->start(start_meta({false, hdr.kernel_release, hdr.hostname, path, hdr.abi_version, hdr.hooks,
				nullptr, hdr.start_wallclock_ns, hdr.start_monotonic_ns}));
	install_signals();
	// In runs, as live (Session::on_events()): a call per event into the
	// engine cost more than its work.
	std::vector<dt_event> run(256);
	int status = 0;
	for (size_t k = run.size(); !g_stop && k == run.size();) {
		k = 0;
		while (k < run.size() && reader->next(run[k]))
			k++;
		session.on_events(run.data(), k);
		// The output fflush()es each line; a failed write stays in ferror.
		if (ferror(stdout)) {
			status = 1;
			break;
		}
	}
	session.finish();
	double span = session.last_ts() > session.first_ts()
			      ? (session.last_ts() - session.first_ts()) / 1e9 : 0.0;
	if (reader->error()) {
		// One warning per damaged stretch; the reader skipped to the
		// next intact block and put a DT_LOST there, so the findings
		// across a gap are already marked uncertain.
		for (auto &g : reader->gaps())
			out->warning(path + ": trace damaged at byte " + std::to_string(g.offset) + " (block " +
				     std::to_string(g.block) + "): " + g.what +
				     (g.resumed ? "; resumed at byte " + std::to_string(g.resume_offset) + ", gap of " +
							  std::to_string(g.blocks_lost) + " blocks (~" +
							  std::to_string(g.events_lost) +
							  " events lost, findings across it marked uncertain)"
						: "; nothing readable after it"));
		out->warning(path + ": damaged trace: " + std::to_string(reader->events_read()) +
			     " events in " + std::to_string(reader->blocks_read()) + " intact blocks analysed, " +
			     std::to_string(reader->gaps().size()) + " gaps");
		out->summary(session, span);
		linger(linger_s);
		return finish_status(*out, 3);
	}
	out->summary(session, span);
	linger(linger_s);
	return finish_status(*out, status);
}

// --- doctor -----------------------------------------------------------------

// CONFIG_FS_DAX of the running kernel: "y", "n", or "unknown" when neither
// /proc/config.gz nor /boot/config-RELEASE is readable.
std::string kernel_config_fs_dax()
{
	std::string cmd = "{ zcat /proc/config.gz 2>/dev/null || cat /boot/config-" + kernel_release() +
			  " 2>/dev/null; } | grep -E '^(# )?CONFIG_FS_DAX[= ]'";
	FILE *p = popen(cmd.c_str(), "r");
	if (!p)
		return "unknown";
	char line[256];
	std::string v = "unknown";
	while (fgets(line, sizeof(line), p)) {
		std::string l = line;
		if (l.rfind("CONFIG_FS_DAX=y", 0) == 0)
			v = "y";
		else if (l.rfind("# CONFIG_FS_DAX is not set", 0) == 0)
			v = "n";
	}
	pclose(p);
	return v;
}

// Mounted filesystems with DAX on ("dax" or "dax=always" in their options).
std::vector<std::string> dax_mounts()
{
	std::vector<std::string> out;
	FILE *f = fopen("/proc/self/mounts", "r");
	if (!f)
		return out;
	char dev[512], dir[512], type[64], opts[1024];
	while (fscanf(f, "%511s %511s %63s %1023s %*d %*d", dev, dir, type, opts) == 4) {
		std::string o = std::string(",") + opts + ",";
		if (o.find(",dax,") != std::string::npos || o.find(",dax=always,") != std::string::npos)
			out.push_back(std::string(dir) + " (" + type + " on " + dev + ")");
	}
	fclose(f);
	return out;
}

// Exit status: 0 when daxtrace can see every race class on a DAX-capable
// kernel; 1 when something is missing (privileges, probes, a blind class,
// a kernel without CONFIG_FS_DAX).  No DAX filesystem mounted is reported,
// not an error: one may be mounted later.
int run_doctor(bool json)
{
	nlohmann::json j;
	j["kernel"] = dtabi::json_safe(kernel_release());
	std::string fs_dax = kernel_config_fs_dax();
	j["config_fs_dax"] = fs_dax;
	j["dax_mounts"] = nlohmann::json::array();
	for (auto &m : dax_mounts())
		j["dax_mounts"].push_back(dtabi::json_safe(m));
	bool vmlinux_btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	j["btf"] = {{"vmlinux", vmlinux_btf},
		    {"ext4", access("/sys/kernel/btf/ext4", R_OK) == 0},
		    {"xfs", access("/sys/kernel/btf/xfs", R_OK) == 0}};
	std::string missing = dtprobe::missing_privileges();
	j["privileges"] = missing.empty() ? "ok" : missing;
	int rc = 0;
	if (!missing.empty()) {
		rc = 1;
	} else {
		dtprobe::ProbeSet probes;
		try {
			probes.attach();
			j["coverage"] = probes.coverage_json();
		} catch (const dtprobe::ProbeError &e) {
			j["error"] = e.what();
			rc = 1;
		}
	}
	std::vector<std::string> blind;
	if (j.contains("coverage"))
		for (auto &c : j["coverage"]["classes"])
			if (c.value("coverage", std::string()) == "blind")
				blind.push_back(c.value("class", std::string("?")));
	j["blind_classes"] = blind;
	if (!blind.empty() || fs_dax == "n")
		rc = 1;
	j["ok"] = rc == 0;
	if (json) {
		printf("%s\n", j.dump().c_str());
		return rc;
	}
	printf("kernel:      %s\n", dtabi::terminal_safe(j["kernel"].get<std::string>()).c_str());
	printf("FS_DAX:      %s\n", fs_dax == "y" ? "CONFIG_FS_DAX=y"
				 : fs_dax == "n" ? "NOT SET: this kernel cannot map files with DAX"
						 : "unknown (no /proc/config.gz or /boot/config-RELEASE)");
	if (j["dax_mounts"].empty())
		printf("DAX mounts:  none (mount a pmem-backed ext4 or xfs with -o dax to trace it)\n");
	for (auto &m : j["dax_mounts"])
		printf("DAX mount:   %s\n", dtabi::terminal_safe(m.get<std::string>()).c_str());
	printf("BTF:         vmlinux %s, ext4 module %s, xfs module %s\n",
	       vmlinux_btf ? "yes" : "NO (CO-RE needs CONFIG_DEBUG_INFO_BTF)",
	       j["btf"]["ext4"].get<bool>() ? "yes" : "no/built-in",
	       j["btf"]["xfs"].get<bool>() ? "yes" : "no/built-in");
	printf("privileges:  %s\n", missing.empty() ? "ok" : missing.c_str());
	if (j.contains("error"))
		printf("probes:      cannot attach: %s\n", j["error"].get<std::string>().c_str());
	if (!j.contains("coverage"))
		return rc;
	printf("\n%-28s %-9s %s\n", "HOOK", "VIA", "DETAIL");
	for (auto &h : j["coverage"]["hooks"]) {
		std::string detail = h.value("attached", false)
					     ? h.value("what", std::string())
					     : "NOT ATTACHED: " + h.value("reason", std::string());
		printf("%-28s %-9s %s\n", h.value("name", std::string()).c_str(),
		       h.value("attached", false) ? h.value("mechanism", std::string()).c_str() : "-",
		       detail.c_str());
		for (auto &t : h["tried"])
			printf("%-28s %-9s   tried %s\n", "", "", t.get<std::string>().c_str());
	}
	printf("\nrace classes:\n");
	for (auto &c : j["coverage"]["classes"]) {
		printf("  %s %-40s %s\n", c.value("class", std::string()).c_str(),
		       c.value("title", std::string()).c_str(), c.value("coverage", std::string()).c_str());
		for (auto &m : c["missing"])
			printf("      missing: %s\n", m.get<std::string>().c_str());
	}
	if (!blind.empty())
		printf("\nblind race classes: %zu (exit status 1)\n", blind.size());
	return rc;
}

}  // namespace

int main(int argc, char **argv)
{
	CLI::App app{"daxtrace: detect Linux DAX race windows (block zeroing vs. faults, writeback vs. "
		     "pfn_mkwrite, truncate/punch vs. DMA pins, faults vs. truncate)"};
	app.set_version_flag("--version", std::string("daxtrace ") + DAXTRACE_VERSION + " (" +
						  DAXTRACE_GIT_DESCRIBE + "), event ABI " +
						  std::to_string(DT_ABI_VERSION));
	app.footer("Live mode is the default. See daxtrace(8). Exit status: 0 ok, 1 error, 2 usage, "
		   "3 damaged trace.");

	LiveArgs live;
	add_common(&app, live.common);
	app.add_option("-r,--record", live.record, "also record the event stream to FILE (replay it later)");
	app.add_flag("--force", live.force, "let --record overwrite an existing file");
	app.add_option("-d,--duration", live.duration, "stop after SECONDS (default: until Ctrl-C)")
		->check(seconds_in(0.001, 1e9));
	app.add_option("-i,--interval", live.common.interval,
		       "seconds between view refreshes / JSON stats lines (default 1 / 5)")
		->check(seconds_in(0.01, 86400));
	app.add_option("--ringbuf-mb", live.ringbuf_mb, "ring buffer size in MiB (power of two, 1 to 1024)")
		->check(ringbuf_mb_check());
	app.add_option("--forbid", live.forbid,
		       "never attach with this mechanism (tp_btf, raw_tp, fentry, kprobe); repeatable");
	app.add_flag("!--no-join-faults", live.join_faults,
		     "send each DAX fault's events and each entry deletion one by one, "
		     "not a fault as one record at its end and deletions in runs");

	Common replay_common;
	std::string replay_file;
	auto *replay = app.add_subcommand("replay", "analyse a trace file recorded with --record");
	add_common(replay, replay_common);
	replay->add_option("FILE", replay_file, "trace file")->required();
	double replay_linger = 0;
	replay->add_option("--linger", replay_linger,
			   "with --metrics: keep serving metrics this many seconds after the replay")
		->check(seconds_in(0.001, 1e9, true));

	std::string service_config = "/etc/daxtrace/daxtrace.conf";
	bool service_check = false;
	auto *service = app.add_subcommand(
		"service", "run as a long-lived service (systemd): config file, rotating recording, metrics, export");
	service->add_option("-c,--config", service_config, "configuration file (default /etc/daxtrace/daxtrace.conf; "
			    "FILE.d/*.conf override it)");
	service->add_flag("--check", service_check, "validate the configuration, print it merged, exit");

	bool doctor_json = false;
	auto *doctor = app.add_subcommand("doctor",
					  "kernel, BTF, privileges, which hooks attach how, race-class coverage");
	doctor->add_flag("--json", doctor_json, "one JSON object");

	// A spill directory from elsewhere (a host without a route to
	// ClickHouse, a stopped service) delivered by hand.
	ClickHouseOptions flush_ch;
	std::string flush_dir;
	double flush_timeout = 15;
	auto *flush = app.add_subcommand(
		"flush", "deliver the ClickHouse batches waiting in a spill directory (each at most once)");
	flush->add_option("DIR", flush_dir, "spill directory (--clickhouse-spill, clickhouse.spill_dir)")->required();
	flush->add_option("--clickhouse", flush_ch.url, "ClickHouse HTTP URL (e.g. http://127.0.0.1:8123/)")
		->required();
	flush->add_option("--clickhouse-db", flush_ch.database, "ClickHouse database (default daxtrace)");
	flush->add_option("--clickhouse-cluster", flush_ch.cluster,
			  "the server is a shard of this cluster (DIR: that shard's subdirectory)");
	flush->add_option("--clickhouse-credentials", flush_ch.credentials_file,
			  "file holding user:password for ClickHouse");
	flush->add_option("--timeout", flush_timeout, "give up after SECONDS without progress (default 15)")
		->check(seconds_in(0.1, 86400));

	// Bad usage is one line, like every other daxtrace error.
	app.failure_message([](const CLI::App *, const CLI::Error &e) {
		return std::string("daxtrace: error: ") + e.what() + " (see --help)\n";
	});
	try {
		app.parse(argc, argv);
	} catch (const CLI::ParseError &e) {
		// --help and --version are "errors" with status 0; anything
		// else is bad usage, status 2 as documented.
		return app.exit(e) == 0 ? 0 : 2;
	}
	if (*replay)
		return run_replay(replay_file, replay_common, replay_linger);
	if (*service)
		return run_service(service_config, service_check);
	if (*doctor)
		return run_doctor(doctor_json);
	if (*flush)
		return flush_spill(flush_dir, flush_ch, flush_timeout);
	return run_live(live);
}

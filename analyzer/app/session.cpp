#include "session.h"

#include <algorithm>
#include <cstring>
#include <ctime>
#include <sys/utsname.h>
#include <unistd.h>

#include "filters.h"
#include "output.h"
#include "registry.h"

namespace dtcli {
namespace {

// The live view's columns: which event starts an operation of each kind.
int activity_kind(uint16_t type)
{
	switch (type) {
	case DT_FAULT_ENTER:
	case DT_MKWRITE_ENTER: return InodeActivity::Fault;
	case DT_ZERO: return InodeActivity::Zero;
	case DT_WB_ENTRY: return InodeActivity::Writeback;
	case DT_BREAK_ENTER: return InodeActivity::Break;
	case DT_REMOVE_ENTER: return InodeActivity::Remove;
	default: return -1;
	}
}

}  // namespace

std::string kernel_release()
{
	struct utsname u;
	return uname(&u) == 0 ? u.release : "unknown";
}

daxtrace::TraceHeader live_trace_header(const dtprobe::ProbeSet &probes)
{
	daxtrace::TraceHeader hdr;
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	hdr.hostname = host;
	hdr.kernel_release = kernel_release();
	for (auto &h : probes.hooks())
		if (h.attached)
			for (uint16_t id : h.hook_ids)
				hdr.hooks.push_back(std::string(dtabi::hook_name(id)) + "@" +
						    dtprobe::mechanism_name(h.mechanism));
	hdr.start_wallclock_ns = clock_ns(CLOCK_REALTIME);
	hdr.start_monotonic_ns = clock_ns(CLOCK_MONOTONIC);
	return hdr;
}

uint64_t InodeActivity::total() const
{
	uint64_t t = 0;
	for (uint64_t c : count)
		t += c;
	return t;
}

Session::Session(const daxtrace::EngineConfig &cfg, Output &out, dtprobe::Filters filters,
		 std::unique_ptr<daxtrace::TraceWriter> recorder)
	: engine_(cfg), out_(out), filters_(filters), recorder_(std::move(recorder)),
	  track_inodes_(out.shows_inodes())
{
	engine_.set_callback([this](const daxtrace::Finding &f) {
		findings_.push_back(f);
		out_.finding(f);
	});
}

// The counters per event; the events that pass the filters go on to the
// recorder, the engine and the output in runs, not one by one: live, a
// run is a whole ring-buffer poll, and the engine's loop over a run keeps
// its state in registers (a call per event cost more than its work).
void Session::on_events(const dt_event *ev, size_t n)
{
	bool filtering = filters_.dev || filters_.ino || filters_.pid;
	size_t run = 0;   // the current run starts here
	for (size_t i = 0; i < n; i++) {
		const dt_event &e = ev[i];
		if (filtering && e.type != DT_LOST && !event_passes(filters_, e.dev, e.ino, e.pid)) {
			filtered_++;
			analyse(ev + run, i - run);
			run = i + 1;
			continue;
		}
		// A DT_LOST marker stands for events that did not arrive; it
		// is counted in lost_, not as an event.
		if (e.type != DT_LOST)
			events_++;
		else
			lost_ += uint64_t(e.ret);
		if (!first_ts_ || e.ts < first_ts_)
			first_ts_ = e.ts;
		last_ts_ = std::max<uint64_t>(last_ts_, e.ts);
		if (track_inodes_)
			if (int kind = activity_kind(e.type); kind >= 0 && e.ino)
				count_activity(e, kind);
	}
	analyse(ev + run, n - run);
}

void Session::analyse(const dt_event *ev, size_t n)
{
	if (!n)
		return;
	// Record first: the trace must hold exactly what the engine saw.
	if (recorder_)
		for (size_t i = 0; i < n; i++)
			recorder_->append(ev[i]);
	engine_.push(ev, n);
	out_.events(ev, n);
}

void Session::count_activity(const dt_event &e, int kind)
{
	InodeActivity *a = last_inode_;
	if (!a || a->ino != e.ino || a->dev != e.dev) {
		if (inodes_.size() >= kMaxInodes) {
			std::vector<std::pair<uint64_t, std::pair<uint64_t, uint64_t>>> by_total;
			by_total.reserve(inodes_.size());
			for (auto &[k, v] : inodes_)
				by_total.emplace_back(v.total(), k);
			std::nth_element(by_total.begin(), by_total.begin() + kMaxInodes / 2, by_total.end(),
					 [](auto &x, auto &y) { return x.first > y.first; });
			for (size_t i = kMaxInodes / 2; i < by_total.size(); i++)
				inodes_.erase(by_total[i].second);
		}
		a = &inodes_[{e.dev, e.ino}];
		a->dev = e.dev;
		a->ino = e.ino;
		last_inode_ = a;
	}
	a->count[kind]++;
	a->last_ts = e.ts;
	memcpy(a->last_comm, e.comm, DT_COMM_LEN);
}

uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return uint64_t(ts.tv_sec) * 1000000000ULL + ts.tv_nsec;
}

void Session::after_poll(int delivered)
{
	// Stay a second behind the clock: an event can reach the ring
	// buffer long after its bpf_ktime_get_ns() stamp (a vCPU preempted
	// between stamping and submit), and advancing past it would make it
	// late live but not in a replay of the same trace.  Only after a
	// poll found the ring empty: behind a backlog (a burst, a slow spill
	// disk) the clock is ahead of the events still queued, and the
	// service once saw half of a session's events go late that way.
	// While events flow, their own timestamps move the engine on.
	constexpr uint64_t kDeliverySlackNs = 1'000'000'000;
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	if (delivered == 0 && now > kDeliverySlackNs)
		engine_.advance_to(now - kDeliverySlackNs);
	if (recorder_)
		recorder_->tick();
}

void Session::finish()
{
	engine_.flush();
	if (recorder_)
		recorder_->close();
}

std::vector<InodeActivity> Session::busiest_inodes(size_t n) const
{
	std::vector<InodeActivity> v;
	v.reserve(inodes_.size());
	for (auto &[k, a] : inodes_)
		v.push_back(a);
	std::sort(v.begin(), v.end(), [](auto &a, auto &b) { return a.total() > b.total(); });
	if (v.size() > n)
		v.resize(n);
	return v;
}

}  // namespace dtcli

#include "session.h"

#include <algorithm>

#include "filters.h"
#include "output.h"

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

uint64_t InodeActivity::total() const
{
	uint64_t t = 0;
	for (uint64_t c : count)
		t += c;
	return t;
}

Session::Session(const daxtrace::EngineConfig &cfg, Output &out, dtprobe::Filters filters,
		 std::unique_ptr<daxtrace::TraceWriter> recorder)
	: engine_(cfg), out_(out), filters_(filters), recorder_(std::move(recorder))
{
	engine_.set_callback([this](const daxtrace::Finding &f) {
		findings_.push_back(f);
		out_.finding(f);
	});
}

void Session::on_event(const dt_event &e)
{
	if (e.type != DT_LOST && !event_passes(filters_, e.dev, e.ino, e.pid)) {
		filtered_++;
		return;
	}
	// Record first: the trace must hold exactly what the engine saw.
	if (recorder_)
		recorder_->append(e);
	events_++;
	if (!first_ts_ || e.ts < first_ts_)
		first_ts_ = e.ts;
	last_ts_ = std::max<uint64_t>(last_ts_, e.ts);
	if (e.type == DT_LOST)
		lost_ += uint64_t(e.ret);
	int kind = activity_kind(e.type);
	if (kind >= 0 && e.ino) {
		auto &a = inodes_[{e.dev, e.ino}];
		a.dev = e.dev;
		a.ino = e.ino;
		a.count[kind]++;
		a.last_ts = e.ts;
		a.last_comm.assign(e.comm, strnlen(e.comm, sizeof(e.comm)));
	}
	engine_.push(e);
	out_.event(e);
}

void Session::advance_to(uint64_t now_ns)
{
	engine_.advance_to(now_ns);
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

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "probe_set.h"
#include "held_fault_order.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <algorithm>
#include <cstring>
#include <map>
#include <unordered_map>
#include <mutex>
#include <set>

// The skeleton names struct dt_cpu_slot (the .bss counters).
#include "daxtrace_ring.h"
#include "daxtrace.skel.h"
#include "kernel_probe.h"

namespace dtprobe {

const char *mechanism_name(Mechanism m)
{
	switch (m) {
	case Mechanism::TpBtf: return "tp_btf";
	case Mechanism::RawTp: return "raw_tp";
	case Mechanism::Fentry: return "fentry";
	case Mechanism::Kprobe: return "kprobe";
	default: return "none";
	}
}

bool parse_mechanism(const std::string &s, Mechanism *out)
{
	for (Mechanism m : {Mechanism::TpBtf, Mechanism::RawTp, Mechanism::Fentry,
			    Mechanism::Kprobe})
		if (s == mechanism_name(m) || (m == Mechanism::Fentry && s == "fexit") ||
		    (m == Mechanism::Kprobe && s == "kretprobe")) {
			*out = m;
			return true;
		}
	return false;
}

const char *coverage_name(CoverageLevel c)
{
	switch (c) {
	case CoverageLevel::Full: return "full";
	case CoverageLevel::Partial: return "partial";
	default: return "blind";
	}
}

// ---- libbpf's messages: captured so a failed load can name the program.

namespace {

std::mutex g_log_mu;
std::string *g_log = nullptr;
bool g_log_echo = false;

int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	// Whole: a verifier log is one message, and its reason is at the end.
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(nullptr, 0, fmt, ap2);
	va_end(ap2);
	if (n <= 0)
		return 0;
	std::string buf((size_t)n + 1, '\0');
	vsnprintf(buf.data(), buf.size(), fmt, ap);
	buf.resize((size_t)n);
	if (g_log_echo)
		fputs(buf.c_str(), stderr);
	if (g_log && level != LIBBPF_DEBUG)
		g_log->append(buf);
	return 0;
}

std::string target_of(const struct bpf_program *p)
{
	const char *sec = bpf_program__section_name(p);
	const char *slash = sec ? strchr(sec, '/') : nullptr;
	return slash ? slash + 1 : "";
}

std::string errstr(int err)
{
	err = err < 0 ? -err : err;
	std::string s = strerror(err);
	const char *name = nullptr;
	switch (err) {
	case EPERM: name = "EPERM"; break;
	case EACCES: name = "EACCES"; break;
	case ENOENT: name = "ENOENT"; break;
	case EINVAL: name = "EINVAL"; break;
	case EOPNOTSUPP: name = "EOPNOTSUPP"; break;
	case ESRCH: name = "ESRCH"; break;
	case EBUSY: name = "EBUSY"; break;
	case E2BIG: name = "E2BIG"; break;
	}
	return name ? s + " (" + name + ")" : s;
}

uint64_t now_ns()
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

// A section "kind/target": the mechanism that attaches it, and whether
// the target is a tracepoint event (else a function).
Mechanism section_mechanism(const std::string &sec, bool *tracepoint)
{
	std::string kind = sec.substr(0, sec.find('/'));
	*tracepoint = kind == "tp_btf" || kind == "raw_tp";
	if (kind == "tp_btf")
		return Mechanism::TpBtf;
	if (kind == "raw_tp")
		return Mechanism::RawTp;
	if (kind == "fentry" || kind == "fexit")
		return Mechanism::Fentry;
	if (kind == "kprobe" || kind == "kretprobe")
		return Mechanism::Kprobe;
	return Mechanism::None;
}

// The registry hook point a program section implements: a tracepoint
// section names the event (the part of "subsystem:event" after ':'), a
// function section the function.  DT_HOOK_MAX when none.
uint16_t section_hook(const std::string &sec)
{
	bool tp;
	if (section_mechanism(sec, &tp) == Mechanism::None)
		return DT_HOOK_MAX;
	std::string target = sec.substr(sec.find('/') + 1);
	for (const dtabi::HookInfo &h : dtabi::hooks()) {
		bool want = tp ? h.kind == dtabi::HookKind::Tracepoint
			       : h.kind == dtabi::HookKind::Function;
		if (want && h.target() == target)
			return h.id;
	}
	return DT_HOOK_MAX;
}

constexpr Mechanism kMechOrder[] = {Mechanism::TpBtf, Mechanism::RawTp, Mechanism::Fentry,
				    Mechanism::Kprobe};

}  // namespace

// One way to attach a logical hook: the programs of one registry tier
// for one mechanism.
struct Candidate {
	unsigned tier = 0;
	Mechanism mech = Mechanism::None;
	std::vector<std::pair<std::string, uint16_t>> progs;  // program, dt_hook
	std::string label;  // "fentry" or, when the group has tiers, "fentry (dax_iomap_fault)"
};

// Per registry group, its candidates in fallback order: tier, then
// tp_btf, raw_tp, fentry(+fexit), kprobe(+kretprobe).
std::vector<std::vector<Candidate>> build_candidates(struct bpf_object *obj)
{
	std::vector<std::vector<Candidate>> out(dtabi::kGroupCount);
	for (uint16_t g = 0; g < dtabi::kGroupCount; g++) {
		std::set<unsigned> tiers;
		for (const dtabi::HookInfo &h : dtabi::hooks())
			if (h.group == g && (h.kind == dtabi::HookKind::Tracepoint ||
					     h.kind == dtabi::HookKind::Function))
				tiers.insert(h.tier);
		for (unsigned tier : tiers)
			for (Mechanism m : kMechOrder) {
				Candidate c;
				c.tier = tier;
				c.mech = m;
				std::string targets;
				struct bpf_program *p;
				bpf_object__for_each_program(p, obj) {
					std::string sec = bpf_program__section_name(p);
					bool tp;
					if (section_mechanism(sec, &tp) != m)
						continue;
					uint16_t id = section_hook(sec);
					const dtabi::HookInfo *hi = dtabi::hook_info(id);
					if (!hi || hi->group != g || hi->tier != tier)
						continue;
					c.progs.emplace_back(bpf_program__name(p), id);
					std::string tg(hi->target());
					if (targets.find(tg) == std::string::npos)
						targets += (targets.empty() ? "" : ", ") + tg;
				}
				if (c.progs.empty())
					continue;
				c.label = mechanism_name(m);
				if (tiers.size() > 1)
					c.label += " (" + targets + ")";
				out[g].push_back(std::move(c));
			}
	}
	return out;
}

struct ProbeSet::Impl {
	Options opt;
	KernelInfo kinfo;
	std::vector<HookStatus> status;  // per registry group
	std::vector<std::vector<Candidate>> cands;  // per registry group
	std::vector<size_t> choice;     // per group: index into cands, or cands.size()
	// pfn_mkwrite_ext4 served by the fault tracepoints this round (no
	// programs of its own; see mkwrite_from_fault_tp in core.bpf.h).
	bool mkwrite_derived = false;
	daxtrace_bpf *skel = nullptr;
	std::vector<struct bpf_link *> links;
	std::map<std::string, size_t> prog_hook;  // enabled program -> group index
	std::map<std::string, uint16_t> prog_id;  // enabled program -> dt_hook
	struct ring_buffer *rb = nullptr;
	std::vector<uint64_t> last_dropped;
	int ncpus = 0;
	const EventsFn *cur_fn = nullptr;
	int delivered = 0;
	// libbpf's ring_buffer__poll()/consume() keep reading for as long as
	// producers keep writing, so under a steady event stream they would
	// never return: the caller could not notice a dead stdout, a signal or
	// its deadline.  A callback that returns < 0 stops them after the
	// record it was handed has been consumed, so ending a call at this
	// budget loses nothing; the next poll() carries on from there.
	static constexpr unsigned kRecordsPerPoll = 16384;
	static constexpr int kBudgetSpent = -ECANCELED;
	unsigned records = 0;
	// What the ring's task records said: tid -> pid and comm.  A tid
	// reused by a new task is re-announced before its first event.
	struct TaskInfo {
		uint32_t pid;
		char comm[DT_COMM_LEN];
	};
	std::unordered_map<uint32_t, TaskInfo> tasks;
	// The task of the last record: a CPU's records mostly come in runs of
	// one task (a joined fault is four events of it).  Map nodes do not
	// move, so the pointer stays valid until tasks is cleared.
	uint32_t last_tid = 0;
	const TaskInfo *last_task = nullptr;

	// Stop the probes but keep the ring buffer and the counters, so that
	// what is already in the ring can still be drained and the drop
	// counters read.
	void stop()
	{
		for (auto *l : links)
			bpf_link__destroy(l);
		links.clear();
	}

	void destroy()
	{
		if (rb)
			ring_buffer__free(rb);
		rb = nullptr;
		stop();
		tasks.clear();
		last_task = nullptr;
		order = HeldFaultOrder{};
		if (skel)
			daxtrace_bpf__destroy(skel);
		skel = nullptr;
		prog_hook.clear();
		prog_id.clear();
	}

	// Is this program's target present in the running kernel?
	bool target_exists(struct bpf_program *p, Mechanism m)
	{
		std::string t = target_of(p);
		switch (m) {
		case Mechanism::TpBtf:
		case Mechanism::RawTp:
			return kinfo.has_tracepoint(t);
		case Mechanism::Fentry:
			return kinfo.has_function_btf(t) && kinfo.has_symbol(t);
		case Mechanism::Kprobe:
			return kinfo.has_symbol(t);
		default:
			return false;
		}
	}

	struct bpf_program *prog_by_name(const char *name)
	{
		return bpf_object__find_program_by_name(skel->obj, name);
	}

	// Is dax_fault attached through its tracepoints this round?
	bool fault_tracepoints_chosen() const
	{
		size_t f = dtabi::kGroup_dax_fault;
		if (choice[f] >= cands[f].size())
			return false;
		Mechanism m = cands[f][choice[f]].mech;
		return m == Mechanism::TpBtf || m == Mechanism::RawTp;
	}

	// Is the block layer's zeroing hook attached this round?
	bool blkdev_zeroing_chosen() const
	{
		size_t b = dtabi::kGroup_zero_blkdev;
		return choice[b] < cands[b].size();
	}

	// Groups left out this round because others report what they would
	// (choose()), and the choice each had then.
	std::vector<bool> pruned = std::vector<bool>(dtabi::kGroupCount);
	std::vector<size_t> saved_choice = std::vector<size_t>(dtabi::kGroupCount);

	// Each group's choice: its first viable candidate, unless it is not
	// needed.
	void choose()
	{
		mkwrite_derived = false;
		std::vector<size_t> after_blkdev_zero;
		for (size_t h = 0; h < cands.size(); h++) {
			HookStatus &s = status[h];
			if (!s.applicable || opt.disable.count(s.name)) {
				choice[h] = cands[h].size();
				continue;
			}
			// ext4's ->pfn_mkwrite is ext4_dax_fault(), its ->fault as
			// well: fs_dax:dax_pte_fault(_done) see the same calls with
			// FAULT_FLAG_MKWRITE, so no trampoline on every fault.
			if (h == dtabi::kGroup_pfn_mkwrite_ext4 && fault_tracepoints_chosen()) {
				mkwrite_derived = true;
				continue;
			}
			// Only the fault tracepoints hold a fault to join.
			if (h == dtabi::kGroup_fault_join &&
			    (!opt.join_faults || !fault_tracepoints_chosen())) {
				if (choice[h] < cands[h].size())
					s.tried.push_back(!opt.join_faults
						? "off (Options::join_faults, daxtrace --no-join-faults)"
						: "not needed: the faults are not traced by their "
						  "tracepoints, nothing is held");
				choice[h] = cands[h].size();
				continue;
			}
			if (h == dtabi::kGroup_zero_ext4) {
				after_blkdev_zero.push_back(h);
				continue;
			}
			advance(h);
		}
		// ext4_issue_zeroout() zeroes through sb_issue_zeroout(), i.e.
		// blkdev_issue_zeroout() on the filesystem's own device (DAX
		// excludes fscrypt, its other way): the block layer's hook
		// reports the same zeroing with the same device and sectors,
		// which is all the Z rules match on (the task's iomap gives the
		// file page), and inside a fault it joins the fault's record
		// as ext4's hook did; with the series, the allocator's
		// tracepoint reports new blocks first.  So the function's
		// trampoline on every allocating fault buys nothing.  (Not
		// xfs_zero_extent(): a realtime file's zeroing goes to another
		// device than the filesystem's.)
		for (size_t h : after_blkdev_zero) {
			bool needed = !blkdev_zeroing_chosen();
			if (!needed && !pruned[h]) {
				status[h].tried.push_back(
					"not needed: blkdev_issue_zeroout reports its zeroing");
				pruned[h] = true;
				saved_choice[h] = choice[h];
			} else if (needed && pruned[h]) {
				// blkdev_issue_zeroout failed to load or attach after all.
				pruned[h] = false;
				choice[h] = saved_choice[h];
			}
			if (pruned[h])
				choice[h] = cands[h].size();
			else
				advance(h);
		}
	}

	// Advance group H's choice to its first viable candidate.
	void advance(size_t h)
	{
		const auto &cl = cands[h];
		HookStatus &s = status[h];
		while (choice[h] < cl.size()) {
			const Candidate &c = cl[choice[h]];
			std::string why;
			if (opt.forbid.count(c.mech)) {
				why = "not allowed by the options";
			} else if (int r = kinfo.mechanism_support(c.mech); r < 0) {
				why = r == -EOPNOTSUPP
					? std::string("not available in this kernel (no kprobe PMU or kprobe_events: CONFIG_KPROBES off?)")
					: std::string("refused by this kernel: ") + errstr(r);
			} else {
				bool any = false;
				std::string missing;
				for (const auto &[pn, id] : c.progs) {
					struct bpf_program *p = prog_by_name(pn.c_str());
					if (p && target_exists(p, c.mech))
						any = true;
					else if (p && missing.find(target_of(p)) == std::string::npos)
						missing += (missing.empty() ? "" : ", ") + target_of(p);
				}
				if (any)
					break;
				why = (c.mech == Mechanism::TpBtf || c.mech == Mechanism::RawTp
					       ? "tracepoint not in this kernel: "
					       : "function not in this kernel (or inlined): ") + missing;
			}
			s.tried.push_back(c.label + ": " + why);
			choice[h]++;
		}
	}

	void demote(size_t h, const std::string &why)
	{
		if (choice[h] >= cands[h].size())
			return;
		status[h].tried.push_back(cands[h][choice[h]].label + ": " + why);
		choice[h]++;
	}

	void configure()
	{
		auto *ro = skel->rodata;
		ro->filter_dev = opt.filters.dev;
		ro->filter_ino = opt.filters.ino;
		ro->filter_pid = opt.filters.pid;
		ro->filter_cgroup = opt.filters.cgroup_id;
		ro->vmemmap_base_addr = kinfo.vmemmap_base_addr;
		// Whatever the option says, all CPUs together leave at most a
		// quarter of the ring unwoken: a burst on every CPU at once
		// still wakes the consumer long before the ring is full.
		long online = sysconf(_SC_NPROCESSORS_ONLN);
		size_t cap = opt.ringbuf_bytes / 4 / size_t(online > 0 ? online : 1);
		ro->wakeup_bytes = std::min(opt.wakeup_bytes, std::max<size_t>(cap, 1));
		ro->mkwrite_from_fault_tp = mkwrite_derived;
		size_t join = dtabi::kGroup_fault_join;
		joining = ro->join_faults = choice[join] < cands[join].size();
		ro->join_fentry_parts = !kinfo.kernel_code_preemptible;
		ro->empty_programs = opt.empty_programs;
		bpf_map__set_max_entries(skel->maps.dt_events, (uint32_t)opt.ringbuf_bytes);

		struct bpf_program *p;
		bpf_object__for_each_program(p, skel->obj)
			bpf_program__set_autoload(p, false);
		bool busy_tp = false;
		for (size_t h = 0; h < cands.size(); h++) {
			if (choice[h] >= cands[h].size() ||
			    (h == dtabi::kGroup_pfn_mkwrite_ext4 && mkwrite_derived))
				continue;
			const Candidate &c = cands[h][choice[h]];
			for (const auto &[pn, id] : c.progs) {
				struct bpf_program *pp = prog_by_name(pn.c_str());
				if (!pp || !target_exists(pp, c.mech))
					continue;
				bpf_program__set_autoload(pp, true);
				prog_hook[pn] = h;
				prog_id[pn] = id;
			}
			if (h == dtabi::kGroup_busy_page)
				busy_tp = true;
		}
		ro->tp_busy_page_attached = busy_tp;
	}

	// Which enabled program does libbpf's log blame?
	long blamed_hook(const std::string &log)
	{
		for (const auto &[name, h] : prog_hook) {
			std::string key = "prog '" + name + "'";
			if (log.find(key) != std::string::npos)
				return (long)h;
		}
		return -1;
	}

	static std::string last_lines(const std::string &log, size_t n)
	{
		std::vector<std::string> lines;
		size_t pos = 0;
		while (pos < log.size()) {
			size_t e = log.find('\n', pos);
			if (e == std::string::npos)
				e = log.size();
			if (e > pos)
				lines.push_back(log.substr(pos, e - pos));
			pos = e + 1;
		}
		std::string out;
		for (size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); i++)
			out += lines[i] + "\n";
		return out;
	}

	void attach()
	{
		if (std::string m = missing_privileges(); !m.empty())
			throw ProbeError(m);
		kinfo.scan();
		for (const auto &name : opt.disable)
			if (!dtabi::group_by_name(name))
				throw ProbeError("unknown hook '" + name + "' in the disable list");
		status.clear();
		for (const dtabi::GroupInfo &g : dtabi::groups()) {
			HookStatus s;
			s.name = g.name;
			s.what = g.what;
			s.classes = g.classes;
			s.fs = dtabi::group_fs(dtabi::group_id(g));
			s.new_tracepoint = g.needs_series;
			s.applicable = kinfo.has_fs(s.fs);
			if (!s.applicable)
				s.reason = s.fs + " is not in this kernel (module not loaded)";
			status.push_back(std::move(s));
		}
		choice.assign(status.size(), 0);

		std::string log;
		{
			std::lock_guard<std::mutex> g(g_log_mu);
			g_log = &log;
			g_log_echo = opt.libbpf_debug;
			libbpf_set_print(libbpf_print);
		}
		struct LogReset {
			~LogReset()
			{
				std::lock_guard<std::mutex> g(g_log_mu);
				g_log = nullptr;
			}
		} log_reset;

		// Each round: open, enable one candidate per hook, load, attach.
		// A program the kernel rejects demotes its hook to the next
		// candidate and the round is repeated.
		for (int round = 0; round < 64; round++) {
			skel = daxtrace_bpf__open();
			if (!skel)
				throw ProbeError("cannot open the BPF object: " + errstr(errno));
			if (round == 0) {
				std::vector<std::string> secs;
				struct bpf_program *p;
				bpf_object__for_each_program(p, skel->obj)
					secs.push_back(bpf_program__section_name(p));
				if (auto bad = registry_mismatches(secs); !bad.empty()) {
					destroy();
					std::string msg = "the BPF object and the hook registry disagree:";
					for (const auto &b : bad)
						msg += "\n  " + b;
					throw ProbeError(msg);
				}
				cands = build_candidates(skel->obj);
			}
			choose();
			configure();
			if (prog_hook.empty()) {
				destroy();
				throw ProbeError("no daxtrace hook can attach on this kernel (" +
						 kinfo.release + "); see the per-hook reasons");
			}
			log.clear();
			int err = daxtrace_bpf__load(skel);
			if (err) {
				long h = blamed_hook(log);
				if (h < 0) {
					std::string msg = "loading the BPF programs failed: " + errstr(err);
					if (err == -EPERM || err == -EACCES)
						msg += "; the kernel refused: needs CAP_BPF and CAP_PERFMON "
						       "(or CAP_SYS_ADMIN), and kernel.unprivileged_bpf_disabled "
						       "/ lockdown may forbid it";
					msg += "\nlibbpf: " + last_lines(log, 8);
					destroy();
					throw ProbeError(msg);
				}
				demote(h, "load failed: " + errstr(err) + ": " + last_lines(log, 2));
				destroy();
				continue;
			}
			bool retry = false;
			for (const auto &[name, h] : prog_hook) {
				struct bpf_program *p = prog_by_name(name.c_str());
				struct bpf_link *l = bpf_program__attach(p);
				if (!l) {
					int e = -errno;
					demote(h, "attach " + target_of(p) + " failed: " + errstr(e));
					retry = true;
					break;
				}
				links.push_back(l);
			}
			if (retry) {
				destroy();
				continue;
			}
			finish();
			return;
		}
		destroy();
		throw ProbeError("could not settle on a working set of hooks");
	}

	void finish()
	{
		for (size_t h = 0; h < status.size(); h++) {
			HookStatus &s = status[h];
			if (h == dtabi::kGroup_pfn_mkwrite_ext4 && mkwrite_derived) {
				s.attached = true;
				s.mechanism = cands[dtabi::kGroup_dax_fault][choice[dtabi::kGroup_dax_fault]].mech;
				s.reason.clear();
				s.targets.clear();
				s.hook_ids.clear();
				for (const auto &[name, hh] : prog_hook)
					if (hh == dtabi::kGroup_dax_fault) {
						uint16_t id = prog_id[name];
						if (id != DT_HOOK_TP_PTE_FAULT && id != DT_HOOK_TP_PTE_FAULT_DONE)
							continue;
						std::string t = target_of(prog_by_name(name.c_str()));
						if (std::find(s.targets.begin(), s.targets.end(), t) == s.targets.end())
							s.targets.push_back(t);
						if (std::find(s.hook_ids.begin(), s.hook_ids.end(), id) ==
						    s.hook_ids.end())
							s.hook_ids.push_back(id);
					}
				std::sort(s.hook_ids.begin(), s.hook_ids.end());
				s.tried.push_back(std::string("fentry/kprobe ext4_dax_fault: not needed, ") +
						  "the fault tracepoints carry FAULT_FLAG_MKWRITE");
				continue;
			}
			if (choice[h] < cands[h].size()) {
				s.attached = true;
				s.mechanism = cands[h][choice[h]].mech;
				s.reason.clear();
				for (const auto &[name, hh] : prog_hook)
					if (hh == h) {
						struct bpf_program *p = prog_by_name(name.c_str());
						std::string t = target_of(p);
						if (std::find(s.targets.begin(), s.targets.end(), t) ==
						    s.targets.end())
							s.targets.push_back(t);
						uint16_t id = prog_id[name];
						if (std::find(s.hook_ids.begin(), s.hook_ids.end(), id) ==
						    s.hook_ids.end())
							s.hook_ids.push_back(id);
					}
				std::sort(s.hook_ids.begin(), s.hook_ids.end());
			} else if (s.applicable) {
				if (opt.disable.count(s.name))
					s.reason = "disabled by the options";
				else if (s.new_tracepoint)
					s.reason = "tracepoint not in this kernel (added by patches/)";
				else
					s.reason = s.tried.empty() ? "no candidate" : s.tried.back();
			}
		}
		rb = ring_buffer__new(bpf_map__fd(skel->maps.dt_events), on_event, this, nullptr);
		if (!rb)
			throw ProbeError("cannot set up the ring buffer: " + errstr(errno));
		ncpus = libbpf_num_possible_cpus();
		last_dropped.assign(ncpus > 0 ? ncpus : 1, 0);
	}

	// While the probes hold PTE faults (fault_join), what a poll() reads
	// goes through `order` (held_fault_order.h says why); else straight on.
	bool joining = false;
	HeldFaultOrder order;

	void scan_held()
	{
		if (!skel || !skel->bss)
			return;
		for (int c = 0; c < ncpus && c < DT_MAX_CPUS; c++) {
			const volatile dt_held &h = skel->bss->dt_held[c];
			uint64_t ts = h.rec.enter.ts;
			if (h.task)
				order.held(ts);
			const volatile dt_del_held &d = skel->bss->dt_dels[c];
			ts = d.rec.head.ts;
			if (d.task)
				order.held(ts);
		}
	}

	// Detached: no program will end what the CPUs still hold, so deliver
	// it from the slots (complete records: a program's writes ended with
	// it) and count it as emitted, as the probes would have.
	void salvage_held()
	{
		if (!skel || !skel->bss)
			return;
		for (int c = 0; c < ncpus && c < DT_MAX_CPUS; c++) {
			volatile dt_held &h = skel->bss->dt_held[c];
			volatile dt_del_held &d = skel->bss->dt_dels[c];
			uint64_t n = 0;
			if (h.task) {
				dt_rec_fault f;
				memcpy(&f, (const void *)&h.rec, sizeof(f));
				n += h.nev + DT_PART_COUNT(f.enter.reserved);
				h.task = 0;
				expand_joined(f, false);
			}
			if (d.task) {
				dt_rec_deletes r;
				memcpy(&r, (const void *)&d.rec, sizeof(r));
				n += std::min<uint32_t>(r.head.reserved, DT_DEL_BATCH);
				d.task = 0;
				expand_deletes(r);
			}
			skel->bss->dt_cpu[c].emitted += n;
		}
		order.give_up();
	}

	void pass(const dt_event *ev, size_t n)
	{
		(*cur_fn)(ev, n);
		delivered += int(n);
	}

	// Events built while not joining, in ring order, handed on in runs
	// of up to kStaged (a run small enough to stay in the cache).
	static constexpr size_t kStaged = 256;
	EventBuffer staged;
	void pass_staged()
	{
		if (staged.empty())
			return;
		pass(staged.data(), staged.size());
		staged.clear();
	}

	// The event BUILD (void(dt_event &), which writes every field) makes,
	// built in place: in the order's batch while joining, else in the
	// staged run.
	template <class Build> void take_built(Build &&build)
	{
		if (joining) {
			order.take_built(build);
			return;
		}
		build(staged.append());
		if (staged.size() == kStaged)
			pass_staged();
	}

	// One ring record (daxtrace_ring.h) -> the dt_events it stands for.
	static int on_event(void *ctx, void *data, size_t size)
	{
		auto *self = static_cast<Impl *>(ctx);
		self->expand(data, size);
		return ++self->records >= kRecordsPerPoll ? kBudgetSpent : 0;
	}

	void expand(const void *data, size_t size)
	{
		if (size < sizeof(dt_rec_task))
			return;
		const auto *hdr = static_cast<const dt_rec *>(data);
		if (hdr->type == DT_REC_TASK) {
			dt_rec_task t;
			memcpy(&t, data, sizeof(t));
			TaskInfo &ti = tasks[t.tid];
			ti.pid = t.pid;
			memcpy(ti.comm, t.comm, DT_COMM_LEN);
			return;
		}
		// Read in place: ring records are 8-byte aligned, and every field
		// is read once.
		if (size == sizeof(dt_rec_fault)) {
			expand_joined(*static_cast<const dt_rec_fault *>(data), true);
			return;
		}
		if (size == sizeof(dt_rec_ext)) {
			const auto &x = *static_cast<const dt_rec_ext *>(data);
			expand_rec(x.r, &x);
			return;
		}
		if (size == sizeof(dt_rec_deletes)) {
			expand_deletes(*static_cast<const dt_rec_deletes *>(data));
			return;
		}
		if (size != sizeof(dt_rec))
			return;
		expand_rec(*static_cast<const dt_rec *>(data), nullptr);
	}

	// A PTE fault sent as one record (struct dt_rec_fault): its events in
	// time order; ENDED: with its FAULT_EXIT (else still held at detach).
	void expand_joined(const dt_rec_fault &f, bool ended)
	{
		// Read in place, the records built here not zeroed first: under
		// the lab's emulated CPU every store costs.  (fill() ignores a
		// record's reserved field, which holds the DT_PART_* bits here.)
		uint32_t parts = f.enter.reserved;
		expand_rec(f.enter, nullptr);
		dt_rec_ext dirty;
		const dt_rec_ext *inside[3];
		size_t n = 0;
		if (parts & DT_PART_ZERO)
			inside[n++] = &f.zero;
		if (parts & DT_PART_IOMAP)
			inside[n++] = &f.iomap;
		if (parts & DT_PART_DIRTY) {
			// What dax_entry_mkdirty would have sent: the fault's page.
			dirty.r = f.enter;
			dirty.r.ts = f.dirty_ts;
			dirty.r.type = DT_MKWRITE_DIRTY;
			dirty.r.hook = DT_HOOK_TP_MKWRITE_DIRTY;
			dirty.r.flags = DT_F_WRITE;
			dirty.r.nr_pages = 1;
			dirty.block = f.dirty_pfn;
			dirty.len = 0;
			dirty.iomap_type = 0;
			dirty.iomap_flags = 0;
			inside[n++] = &dirty;
		}
		// In time order, ties as listed: an insertion sort, since
		// std::stable_sort takes a temporary buffer from the heap on
		// every call (a malloc and a free per fault in the live profile).
		for (size_t i = 1; i < n; i++)
			for (size_t j = i; j > 0 && inside[j]->r.ts < inside[j - 1]->r.ts; j--)
				std::swap(inside[j], inside[j - 1]);
		for (size_t i = 0; i < n; i++)
			expand_rec(inside[i]->r, inside[i]);
		if (!ended)
			return;
		dt_rec x = f.enter;
		x.ts = f.exit_ts;
		x.type = DT_FAULT_EXIT;
		x.hook = DT_HOOK_TP_PTE_FAULT_DONE;
		x.ret = f.exit_ret;
		expand_rec(x, nullptr);
	}

	// A removal's run of deletions (struct dt_rec_deletes): one
	// DT_ENTRY_DELETE each, with its own time and index.
	void expand_deletes(const dt_rec_deletes &d)
	{
		dt_rec x = d.head;
		uint32_t n = std::min<uint32_t>(d.head.reserved, DT_DEL_BATCH);
		for (uint32_t i = 0; i < n; i++) {
			x.ts = d.page[i].ts;
			x.pgoff = d.page[i].index;
			expand_rec(x, nullptr);
		}
	}

	// R with, for a struct dt_rec_ext, its block range and iomap answer
	// (EXT; else nullptr, and they are 0).
	void expand_rec(const dt_rec &r, const dt_rec_ext *ext)
	{
		if (!last_task || r.tid != last_tid) {
			auto it = tasks.find(r.tid);
			last_task = it != tasks.end() ? &it->second : nullptr;
			last_tid = r.tid;
		}
		auto plain = [this, &r, ext](dt_event &e) { fill(e, r, ext); };
		if (!(r.flags & DT_RF_MKWRITE)) {
			take_built(plain);
			return;
		}
		// The first write to a read-mapped ext4 page, seen by the fault
		// tracepoint: ->pfn_mkwrite brackets the fault.
		bool enter = r.type == DT_FAULT_ENTER;
		auto mkwrite = [this, &r, ext, enter](dt_event &m) {
			fill(m, r, ext);
			m.type = enter ? DT_MKWRITE_ENTER : DT_MKWRITE_EXIT;
			m.nr_pages = 1;
			m.flags = DT_F_WRITE;
			if (enter)
				m.ret = 0;
		};
		if (enter) {
			take_built(mkwrite);
			take_built(plain);
		} else {
			take_built(plain);
			take_built(mkwrite);
		}
	}

	// The dt_event a record stands for, its task's pid and comm from
	// last_task (what expand_rec() looked up).  Every field is written:
	// E is not zeroed first (EventBuffer).
	void fill(dt_event &e, const dt_rec &r, const dt_rec_ext *ext) const
	{
		e.ts = r.ts;
		e.type = r.type;
		e.hook = r.hook;
		e.cpu = r.cpu;
		e.op = r.op;
		e.tid = r.tid;
		if (last_task) {
			e.pid = last_task->pid;
			memcpy(e.comm, last_task->comm, DT_COMM_LEN);
		} else {
			e.pid = 0;
			memset(e.comm, 0, DT_COMM_LEN);
		}
		e.dev = r.dev;
		e.ino = r.ino;
		e.pgoff = r.pgoff;
		e.nr_pages = r.nr_pages;
		e.ret = r.ret;
		e.flags = r.flags & ~DT_RF_MKWRITE;
		e.refcount = r.refcount;
		if (ext) {
			e.block = ext->block;
			e.len = ext->len;
			e.iomap_type = ext->iomap_type;
			e.iomap_flags = ext->iomap_flags;
		} else {
			e.block = 0;
			e.len = 0;
			e.iomap_type = 0;
			e.iomap_flags = 0;
		}
		e.reserved = 0;
	}

	// The BPF side's per-CPU counters, read straight from its .bss.
	std::vector<dt_cpu_stats> read_stats() const
	{
		std::vector<dt_cpu_stats> v(ncpus > 0 ? ncpus : 1);
		if (!skel || !skel->bss)
			return v;
		for (size_t c = 0; c < v.size(); c++) {
			const volatile dt_cpu_slot &s = skel->bss->dt_cpu[c % DT_MAX_CPUS];
			v[c].emitted = s.emitted;
			v[c].dropped = s.dropped;
			v[c].filtered = s.filtered;
			v[c].folded = s.folded;
			v[c].joined = s.joined;
		}
		if (v.size() > DT_MAX_CPUS) {
			// CPUs above DT_MAX_CPUS share slots: count each slot once.
			for (size_t c = DT_MAX_CPUS; c < v.size(); c++)
				v[c] = dt_cpu_stats{};
		}
		return v;
	}
};

ProbeSet::ProbeSet(Options opt) : impl_(std::make_unique<Impl>())
{
	impl_->opt = std::move(opt);
}

ProbeSet::~ProbeSet() { impl_->destroy(); }

void ProbeSet::attach()
{
	impl_->destroy();
	impl_->attach();
}

void ProbeSet::detach() { impl_->stop(); }

bool ProbeSet::attached() const { return !impl_->links.empty(); }

const std::vector<HookStatus> &ProbeSet::hooks() const { return impl_->status; }

std::vector<std::string> ProbeSet::attached_hook_names() const
{
	std::vector<std::string> out;
	for (const auto &s : impl_->status)
		for (uint16_t id : s.hook_ids)
			out.emplace_back(dtabi::hook_name(id));
	return out;
}

std::vector<std::string> registry_mismatches(const std::vector<std::string> &sections)
{
	std::vector<std::string> out;
	std::set<uint16_t> seen;
	for (const auto &sec : sections) {
		bool tp;
		if (section_mechanism(sec, &tp) == Mechanism::None) {
			out.push_back("program section '" + sec + "': not a tracing attach type");
			continue;
		}
		uint16_t id = section_hook(sec);
		if (id == DT_HOOK_MAX)
			out.push_back("program section '" + sec + "': no registry hook point is " +
				      (tp ? "a tracepoint \"<subsystem>:" : "a function \"") +
				      sec.substr(sec.find('/') + 1) +
				      "\" (add a DT_HOOK to bpf/abi/daxtrace_registry.def)");
		else
			seen.insert(id);
	}
	for (const dtabi::HookInfo &h : dtabi::hooks())
		if ((h.kind == dtabi::HookKind::Tracepoint || h.kind == dtabi::HookKind::Function) &&
		    !seen.count(h.id))
			out.push_back("registry hook point '" + std::string(h.name) +
				      "': no BPF program attaches to it");
	return out;
}

std::vector<std::string> object_sections()
{
	std::vector<std::string> out;
	daxtrace_bpf *s = daxtrace_bpf__open();
	if (!s)
		throw ProbeError("cannot open the BPF object: " + errstr(errno));
	struct bpf_program *p;
	bpf_object__for_each_program(p, s->obj)
		out.push_back(bpf_program__section_name(p));
	daxtrace_bpf__destroy(s);
	return out;
}

int ProbeSet::ring_fd() const { return impl_->rb ? ring_buffer__epoll_fd(impl_->rb) : -1; }

int ProbeSet::poll(int timeout_ms, const EventsFn &fn)
{
	if (!impl_->rb)
		return -EBADF;
	impl_->cur_fn = &fn;
	impl_->delivered = 0;
	impl_->records = 0;
	int err = ring_buffer__poll(impl_->rb, timeout_ms);
	// Wake-ups are batched (Options::wakeup_bytes): whatever arrived
	// without one is taken now.
	if (err >= 0 || err == -EINTR)
		err = ring_buffer__consume(impl_->rb);
	impl_->pass_staged();
	// Drops: one DT_LOST per CPU whose counter grew.  A held fault's
	// record may be among them: stop waiting for any.
	auto st = impl_->read_stats();
	for (size_t c = 0; c < st.size() && c < impl_->last_dropped.size(); c++)
		if (st[c].dropped > impl_->last_dropped[c])
			impl_->order.give_up();
	if (impl_->joining) {
		if (impl_->links.empty())
			impl_->salvage_held();
		else
			impl_->scan_held();
		impl_->order.deliver([&](const dt_event *ev, size_t n) { impl_->pass(ev, n); });
	}
	impl_->cur_fn = nullptr;
	if (err == Impl::kBudgetSpent)
		err = 0;
	if (err < 0 && err != -EINTR)
		return err;
	for (size_t c = 0; c < st.size() && c < impl_->last_dropped.size(); c++) {
		if (st[c].dropped <= impl_->last_dropped[c])
			continue;
		dt_event e = dtabi::make_lost_event(now_ns(), (uint16_t)c,
						    st[c].dropped - impl_->last_dropped[c]);
		strncpy(e.comm, "daxtrace", sizeof(e.comm) - 1);
		impl_->last_dropped[c] = st[c].dropped;
		fn(&e, 1);
		impl_->delivered++;
	}
	return impl_->delivered;
}

std::vector<dt_cpu_stats> ProbeSet::cpu_stats() const { return impl_->read_stats(); }

HoldBackStats ProbeSet::hold_back_stats() const
{
	return {impl_->order.held_back(), impl_->order.given_up()};
}

dt_cpu_stats ProbeSet::total_stats() const
{
	dt_cpu_stats t{};
	for (const auto &s : impl_->read_stats()) {
		t.emitted += s.emitted;
		t.dropped += s.dropped;
		t.filtered += s.filtered;
		t.folded += s.folded;
		t.joined += s.joined;
	}
	return t;
}

std::vector<ProgStats> ProbeSet::prog_stats() const
{
	std::vector<ProgStats> out;
	if (!impl_->skel)
		return out;
	for (const auto &[name, h] : impl_->prog_hook) {
		struct bpf_program *p = impl_->prog_by_name(name.c_str());
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
			continue;
		out.push_back({name, impl_->status[h].name, info.run_cnt, info.run_time_ns});
	}
	return out;
}

std::vector<ClassCoverage> ProbeSet::coverage() const
{
	std::vector<ClassCoverage> out;
	for (unsigned c : {DT_CLASS_Z, DT_CLASS_W, DT_CLASS_L, DT_CLASS_T}) {
		ClassCoverage cc;
		cc.cls = c;
		bool essential_missing = false;
		for (size_t h = 0; h < impl_->status.size(); h++) {
			if (!(dtabi::groups()[h].classes & c))
				continue;
			const HookStatus &s = impl_->status[h];
			if (!s.applicable) {
				cc.not_applicable.push_back(s.name + ": " + s.reason);
			} else if (s.attached) {
				cc.attached.push_back(s.name);
			} else {
				cc.missing.push_back(s.name + ": " + s.reason);
				if (dtabi::groups()[h].essential & c)
					essential_missing = true;
			}
		}
		if (cc.attached.empty() || essential_missing)
			cc.level = CoverageLevel::Blind;
		else if (cc.missing.empty())
			cc.level = CoverageLevel::Full;
		else
			cc.level = CoverageLevel::Partial;
		out.push_back(std::move(cc));
	}
	return out;
}

nlohmann::json ProbeSet::coverage_json() const
{
	nlohmann::json j;
	j["kernel"] = impl_->kinfo.release;
	j["abi_version"] = DT_ABI_VERSION;
	j["hooks"] = nlohmann::json::array();
	for (const auto &s : impl_->status) {
		nlohmann::json h = {{"name", s.name},
				    {"what", s.what},
				    {"attached", s.attached},
				    {"mechanism", mechanism_name(s.mechanism)},
				    {"targets", s.targets},
				    {"tried", s.tried},
				    {"applicable", s.applicable},
				    {"new_tracepoint", s.new_tracepoint}};
		std::string cls;
		for (unsigned c : {DT_CLASS_Z, DT_CLASS_W, DT_CLASS_L, DT_CLASS_T})
			if (s.classes & c)
				cls += dtabi::class_letter(c);
		h["hook_points"] = nlohmann::json::array();
		for (uint16_t id : s.hook_ids)
			h["hook_points"].push_back(dtabi::hook_name(id));
		h["classes"] = cls;
		if (!s.fs.empty())
			h["fs"] = s.fs;
		if (!s.reason.empty())
			h["reason"] = s.reason;
		j["hooks"].push_back(h);
	}
	j["classes"] = nlohmann::json::array();
	for (const auto &c : coverage())
		j["classes"].push_back({{"class", dtabi::class_letter(c.cls)},
					{"title", dtabi::class_title(c.cls)},
					{"coverage", coverage_name(c.level)},
					{"attached", c.attached},
					{"missing", c.missing},
					{"not_applicable", c.not_applicable}});
	return j;
}

}  // namespace dtprobe

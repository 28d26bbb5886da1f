// Class W: writeback vs. pfn_mkwrite (DESIGN.md §1 "W").
//
// A first-write fault is the task-local bracket DT_MKWRITE_ENTER ..
// DT_MKWRITE_EXIT (or DT_FAULT_EXIT when the dirtying happened inside a
// write fault); DT_MKWRITE_DIRTY marks the moment the mapping entry was
// tagged dirty.  Writeback reports each entry it cleaned (DT_WB_ENTRY).
//
//  W1 writeback-during-mkwrite.  Task B's writeback cleans page P
//     (DT_WB_ENTRY) after task A tagged P's entry dirty (DT_MKWRITE_DIRTY)
//     and before A's fault completed, and A's completion comes more than
//     config.w1_exit_slack_ns after the writeback.
//     Why the slack (limitation, chosen to avoid false positives): on a
//     correct kernel the fault holds the entry lock from dirtying to the
//     PTE install and unlocks shortly *before* its exit event; writeback
//     takes the same lock, so it can legally clean P in the short gap
//     between that unlock and the exit event.  The events cannot tell
//     this apart from the race, so a writeback that close to the exit is
//     counted as a near miss, not a finding.  A racing writeback that
//     lands within the slack of the exit is therefore missed.
//     Window: [A's dirtying, A's completion].  Gap sensitive.
//     Only a dirtying seen *before* the PTE became writable opens the
//     window.  The hooks real kernels have report it after: 6.1's own
//     fs_dax:dax_insert_pfn_mkwrite fires after dax_unlock_entry(), and
//     the series' fs_dax:dax_entry_mkdirty fires under the entry lock once
//     the PTE is installed.  A writeback after either is serialised by the
//     entry lock and write-protects the PTE again, so it is a near miss
//     (distance = writeback - dirtying), never W1.  Found in the lab: the
//     patched kernel's wb_mkwrite_race produced a writeback 145 us after
//     dax_entry_mkdirty and 26 us before the fault's exit.
//  Near miss (class W): the gap between a writeback of P and the nearest
//     mkwrite dirtying of P on either side (and writebacks inside the
//     slack, distance = completion - writeback).  Without a dirtying event
//     (stock kernels have no such tracepoint) the mkwrite's successful
//     completion stands in for it in near misses; W1 itself then cannot
//     fire, since the moment the entry was dirtied is unknown.
#include <algorithm>
#include <string>

#include "engine_impl.h"

namespace daxtrace {

using namespace detail;

void Engine::Impl::on_mkwrite(TaskState &t, const dt_event &ev) {
	if (ev.type == DT_MKWRITE_ENTER) {
		t.mk_active = true;
		t.mk_enter = ev;
		t.mk_dirty = false;
		t.w1_cand = false;
		return;
	}
	// DT_MKWRITE_DIRTY
	PageState &ps = page(ev.dev, ev.ino, ev.pgoff);
	uint64_t w = ps.w_ts(epoch);
	if (w && !(w & 1) && ev.ts >= w)
		near_miss(RaceClass::W, ev.dev, ev.ino, ev.ts - w);
	ps.set_w(ev.ts | 1, epoch);
	if (!t.mk_active) {
		t.mk_active = true;
		t.mk_enter = dt_event{};
	}
	t.mk_dirty = true;
	t.mk_dirty_ev = ev;
	t.w1_cand = false;
	if (std::find(mk_inflight.begin(), mk_inflight.end(), t.tid) == mk_inflight.end())
		mk_inflight.push_back(t.tid);
}

void Engine::Impl::on_mkwrite_done(TaskState &t, const dt_event &ev) {
	if (t.mk_dirty) {
		if (t.w1_cand) {
			uint64_t gap = ev.ts - t.w1_wb.ts;
			if (gap > cfg.w1_exit_slack_ns) {
				Finding f;
				f.rule = Rule::W1_WRITEBACK_DURING_MKWRITE;
				f.dev = t.mk_dirty_ev.dev;
				f.ino = t.mk_dirty_ev.ino;
				f.pgoff_first = f.pgoff_last = t.mk_dirty_ev.pgoff;
				f.tasks.push_back(task_ref(t.mk_dirty_ev, "mkwrite"));
				f.tasks.push_back(task_ref(t.w1_wb, "writeback"));
				f.window_start_ns = t.mk_dirty_ev.ts;
				f.window_end_ns = ev.ts;
				if (t.mk_enter.type)
					f.evidence.push_back(t.mk_enter);
				f.evidence.push_back(t.mk_dirty_ev);
				f.evidence.push_back(t.w1_wb);
				f.evidence.push_back(ev);
				f.summary = "writeback cleaned page " + std::to_string(f.pgoff_first) + " of inode " +
					    std::to_string(f.ino) + " " +
					    std::to_string(t.w1_wb.ts - t.mk_dirty_ev.ts) +
					    " ns after a first-write fault tagged it dirty and " + std::to_string(gap) +
					    " ns before that fault completed: the page can stay dirty in the PTE "
					    "but clean in the mapping, and the next fsync skips it";
				emit(std::move(f), t.mk_enter.type ? t.mk_enter.ts : t.mk_dirty_ev.ts, true);
			} else {
				near_miss(RaceClass::W, t.mk_dirty_ev.dev, t.mk_dirty_ev.ino, gap);
			}
		}
		auto it = std::find(mk_inflight.begin(), mk_inflight.end(), t.tid);
		if (it != mk_inflight.end()) {
			*it = mk_inflight.back();
			mk_inflight.pop_back();
		}
	} else if (t.mk_active && t.mk_enter.type == DT_MKWRITE_ENTER && fault_mapped(ev.ret)) {
		// No dirtying event (stock kernels lack the tracepoint): the
		// completion of the first-write fault stands in for it, for near
		// misses only; W1 needs the dirtying moment and cannot fire.
		const dt_event &m = t.mk_enter;
		PageState &ps = page(m.dev, m.ino, m.pgoff);
		uint64_t w = ps.w_ts(epoch);
		if (w && !(w & 1) && ev.ts >= w)
			near_miss(RaceClass::W, m.dev, m.ino, ev.ts - w);
		ps.set_w(ev.ts | 1, epoch);
	}
	t.mk_active = t.mk_dirty = t.w1_cand = false;
}

// See W1 above: these hooks report a dirtying whose PTE is already writable.
static bool dirtied_after_pte_install(uint16_t hook) {
	return hook == DT_HOOK_TP_MKWRITE_DIRTY || hook == DT_HOOK_TP_INSERT_PFN_MKWRITE;
}

void Engine::Impl::on_wb_entry(TaskState &t, const dt_event &ev) {
	bool cand = false;
	for (uint32_t tid : mk_inflight) {
		if (tid == t.tid)
			continue;
		TaskState *a = find_task(tid);
		if (!a || !a->mk_dirty)
			continue;
		const dt_event &d = a->mk_dirty_ev;
		if (d.dev != ev.dev || d.ino != ev.ino || d.pgoff != ev.pgoff || d.ts > ev.ts ||
		    dirtied_after_pte_install(d.hook))
			continue;
		if (!a->w1_cand) {
			a->w1_cand = true;
			a->w1_wb = ev;
		}
		cand = true;
	}
	PageState &ps = page(ev.dev, ev.ino, ev.pgoff);
	uint64_t w = ps.w_ts(epoch);
	if (!cand && (w & 1) && ev.ts >= (w & ~1ULL))
		near_miss(RaceClass::W, ev.dev, ev.ino, ev.ts - (w & ~1ULL));
	ps.set_w(ev.ts & ~1ULL, epoch);
}

} // namespace daxtrace

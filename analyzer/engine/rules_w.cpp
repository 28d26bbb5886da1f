// Class W: writeback vs. pfn_mkwrite (docs/ARCHITECTURE.md §1 "W").
//
// A first-write fault is the task-local bracket DT_MKWRITE_ENTER ..
// DT_MKWRITE_EXIT (or DT_FAULT_EXIT when the dirtying happened inside a
// write fault); DT_MKWRITE_DIRTY marks the moment the mapping entry was
// tagged dirty.  Writeback reports each entry it cleaned (DT_WB_ENTRY).
//
//  W1 writeback-during-mkwrite.  Task B's writeback cleans page P
//     (DT_WB_ENTRY) after task A tagged P's entry dirty (DT_MKWRITE_DIRTY)
//     and before A's fault completed, and A's store, retried when the
//     fault returns, does not fault on P again within
//     config.w1_refault_horizon_ns.
//     Why the refault decides: whatever the hook, a writeback that
//     cleaned P on a correct kernel took P's entry lock, so it ran after
//     the fault had installed the writable PTE and unlocked (the fault
//     unlocks a little before its exit event), and it write-protected the
//     PTE again (dax_entry_mkclean()).  The retried store then faults on P
//     once more.  In the race the writeback cleans P while the fault still
//     holds it between dirtying and the PTE install (the race lab kernel's
//     dax_reopen.w=1 holds it there for 50 ms): the PTE becomes writable
//     over a clean entry, the store lands without a fault, and no later
//     fsync writes P back.  The first version judged by timing (a 20 us
//     slack before the exit) and by which hook reported the dirtying; the
//     race lab showed both wrong: the patched kernel's own tracepoint
//     legally preceded a writeback by 145 us with the exit 26 us later,
//     and in all 40 damaged race-lab rounds the dirtying came from that
//     same tracepoint, moved before the PTE install, so the hook said
//     nothing about the order.  A's next fault is the evidence instead.
//     Decided when the horizon passes (in live mode as time advances), or
//     when the trace ends: a writer that never faulted on P again in the
//     rest of the trace stored into a clean entry.  Missed: a refault
//     inside the horizon for another reason (P unmapped and faulted back
//     in), which only makes W1 conservative.
//     Window: [A's dirtying, A's completion].  Gap sensitive, through the
//     horizon: a lost event could be the refault.
//  Near miss (class W): the gap between a writeback of P and the nearest
//     mkwrite dirtying of P on either side (and writebacks inside the
//     slack, distance = completion - writeback).  Without a dirtying event
//     (stock kernels have no such tracepoint) the mkwrite's successful
//     completion stands in for it in near misses; W1 itself then cannot
//     fire, since the moment the entry was dirtied is unknown.
//
//  W2 fsync-skipped-dirty-entry.  Task B's writeback walk (DT_WB_RANGE_ENTER
//     .. EXIT, fsync/msync/sync) returns without writing back page P of its
//     range although P was dirtied (a write fault or first-write fault
//     completed, or DT_MKWRITE_DIRTY) before the walk began and was not
//     written back (DT_WB_ENTRY by anyone) nor torn down since, while a
//     fault of another task on P's entry overlapped the walk.
//     Why: 6.1's dax_writeback_one() (and 6.12's, and upstream's) calls
//     get_unlocked_entry() for a locked entry on the walking xa_state of
//     dax_writeback_mapping_range(); xas_find_conflict() there returns
//     NULL at once for an order-0 entry (and for a PMD entry seen from the
//     order-0 walk), which reads as "entry got punched out": the entry is
//     skipped instead of waited for.  Anyone holding the entry lock for a
//     moment (a read fault through another mapping is enough) makes fsync
//     return 0 with P's data not flushed.  Stock kernels show everything
//     needed: fs_dax:dax_writeback_range/_done bracket the walk,
//     dax_writeback_one reports each entry flushed (pgoff + pglen, so a
//     PMD entry is one event for 512 pages), dax_pte/pmd_fault/_done
//     bracket the fault that holds the lock.  The lab taught three things:
//     the walk must be judged on the tracepoint bracket or inside a
//     vfs_fsync_range bracket (the function bracket alone also covers
//     WB_SYNC_NONE calls that return without walking); the fault events
//     carry the faulting page, not the entry's index, so a PMD fault or
//     writeback covers the aligned 512 pages; and a page skipped once
//     stays dirty without any further fault (its PTE stays writable), so
//     dirtiness is kept from the first dirtying, not the last.
//     Not judged (conservative): walks that overlapped another walk of the
//     same inode (it may have taken P's TOWRITE mark and be flushing P),
//     walks whose function returned an error (fsync reported it), walks
//     without a fault overlapping on a skipped page (a lock holder we
//     cannot see, e.g. dax_lock_page(), is not claimed).
//     Window: [walk start, walk end].  Gap sensitive from the dirtying: a
//     lost DT_WB_ENTRY would look like a skip.
//     Memory: dirtiness lives in the page's existing W slot (bit 0 = dirty,
//     no extra bytes per page); an open walk keeps its overlapping faults
//     on dirty pages (capped), and a ring of the last 512 dirtying events
//     gives the evidence.
//  Near miss (class W): a fault on a dirty page overlapped the walk and the
//     page was written back all the same: distance = writeback - the
//     fault's end (or its start, if it was still running).
#include <algorithm>
#include <bit>
#include <string>

#include "engine_impl.h"

namespace daxtrace {

using namespace detail;

void Engine::Impl::on_mkwrite_enter(TaskState &t, const dt_event &ev) {
	t.mk_active = true;
	t.mk_enter = ev;
	t.mk_dirty = false;
	t.w1_cand = false;
	if (!w1_await.empty()) [[unlikely]]
		return w1_refault(t, ev); // reads the task's tid only
}

// The near miss last (nothing else reads the table), so that the common
// case ends in a tail call.
void Engine::Impl::on_mkwrite_dirty(TaskState &t, const dt_event &ev) {
	PageState &ps = page(ev.dev, ev.ino, ev.pgoff);
	uint64_t w = ps.w_ts(epoch);
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
	// W2's dirtiness is the W slot just set: only its evidence ring is
	// left of w2_on_dirty() (a second page-table lookup per dirtying).
	if (!(w && !(w & 1) && ev.ts >= w))
		return dirty_put(ev);
	dirty_put(ev);
	near_miss(RaceClass::W, ev.dev, ev.ino, ev.ts - w);
}

// The common ends (no W1 candidate, a dirtying seen) make no call; the
// others are tail calls.  Neither reads the flags cleared first.
void Engine::Impl::on_mkwrite_done(TaskState &t, const dt_event &ev) {
	bool dirty = t.mk_dirty, cand = t.w1_cand;
	bool standin = !dirty && t.mk_active && t.mk_enter.type == DT_MKWRITE_ENTER && fault_mapped(ev.ret);
	t.mk_active = t.mk_dirty = t.w1_cand = false;
	if (dirty) {
		auto it = std::find(mk_inflight.begin(), mk_inflight.end(), t.tid);
		if (it != mk_inflight.end()) {
			*it = mk_inflight.back();
			mk_inflight.pop_back();
		}
		if (cand) [[unlikely]]
			return w1_candidate(t, ev);
	} else if (standin) {
		return mkwrite_done_undirtied(t, ev);
	}
}

// A W1 candidate's first-write fault completed (ev): held until the
// writer's store is seen faulting again, or not (w1_decide()).
void Engine::Impl::w1_candidate(const TaskState &t, const dt_event &ev) {
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
		    std::to_string(f.ino) + " " + std::to_string(t.w1_wb.ts - t.mk_dirty_ev.ts) +
		    " ns after a first-write fault tagged it dirty and " + std::to_string(ev.ts - t.w1_wb.ts) +
		    " ns before that fault completed, and the writer's store did not fault again: "
		    "the page is writable in the PTE but clean in the mapping, and the next fsync "
		    "skips it";
	uint64_t deadline = ev.ts + cfg.w1_refault_horizon_ns;
	w1_await.push_back({t.tid, ev.ts, deadline, std::move(f), t.mk_enter.type ? t.mk_enter.ts : t.mk_dirty_ev.ts});
	w1_deadline = std::min(w1_deadline, deadline);
	set_rare_lim();
}

// No dirtying event (stock kernels lack the tracepoint): the completion
// of the first-write fault stands in for it, for near misses only; W1
// needs the dirtying moment and cannot fire.
void Engine::Impl::mkwrite_done_undirtied(const TaskState &t, const dt_event &ev) {
	const dt_event &m = t.mk_enter;
	PageState &ps = page(m.dev, m.ino, m.pgoff);
	uint64_t w = ps.w_ts(epoch);
	if (w && !(w & 1) && ev.ts >= w)
		near_miss(RaceClass::W, m.dev, m.ino, ev.ts - w);
	if (!(w & 1))
		ps.set_w(ev.ts | 1, epoch);
	dt_event d = ev;
	d.dev = m.dev;
	d.ino = m.ino;
	d.pgoff = m.pgoff;
	dirty_put(d); // the page is dirty (above): as in on_mkwrite_dirty()
}

// A write fault of a W1 candidate's writer on its page: the retried store
// faulted, so the writeback had write-protected the page in time (see W1).
// Distance: how close the writeback came to the fault's completion.
void Engine::Impl::w1_refault(const TaskState &t, const dt_event &ev) {
	for (size_t i = 0; i < w1_await.size(); ++i) {
		W1Await &a = w1_await[i];
		if (a.tid != t.tid || a.f.dev != ev.dev || a.f.ino != ev.ino || a.f.pgoff_first != ev.pgoff)
			continue;
		const dt_event &wb = a.f.evidence[a.f.evidence.size() - 2];
		near_miss(RaceClass::W, a.f.dev, a.f.ino, a.completion_ts - wb.ts);
		w1_await[i] = std::move(w1_await.back());
		w1_await.pop_back();
		--i;
	}
	w1_deadline = UINT64_MAX;
	for (const W1Await &a : w1_await)
		w1_deadline = std::min(w1_deadline, a.deadline);
	set_rare_lim();
}

// The candidates whose horizon has passed by `now` become W1, uncertain if
// events were lost between the completion and now (the refault may be
// among them).
void Engine::Impl::w1_decide(uint64_t now) {
	w1_deadline = UINT64_MAX;
	size_t k = 0;
	for (size_t i = 0; i < w1_await.size(); ++i) {
		W1Await &a = w1_await[i];
		if (a.deadline > now) {
			w1_deadline = std::min(w1_deadline, a.deadline);
			if (k != i)
				w1_await[k] = std::move(a);
			++k;
			continue;
		}
		uint64_t end = std::min(now, a.deadline);
		for (const auto &li : losses) {
			if (li.from < end && li.to >= a.completion_ts && !a.f.uncertain) {
				a.f.uncertain = true;
				a.f.uncertain_reason = "events were lost before the writer's store could be "
						       "seen faulting again";
			}
		}
		emit(std::move(a.f), a.dep_start, true);
	}
	w1_await.resize(k);
	set_rare_lim();
}

// W1: writers whose dirtied page P this writeback of P cleaned before their
// fault completed (any: true).
bool Engine::Impl::w1_on_wb(const TaskState &t, const dt_event &ev) {
	bool cand = false;
	for (uint32_t tid : mk_inflight) {
		if (tid == t.tid)
			continue;
		TaskState *a = find_task(tid);
		if (!a || !a->mk_dirty)
			continue;
		const dt_event &d = a->mk_dirty_ev;
		if (d.dev != ev.dev || d.ino != ev.ino || d.pgoff != ev.pgoff || d.ts > ev.ts)
			continue;
		if (!a->w1_cand) {
			a->w1_cand = true;
			a->w1_wb = ev;
		}
		cand = true;
	}
	return cand;
}

// The pages of a PMD entry's writeback after its first (pglen 512).
void Engine::Impl::wb_clean_rest(const dt_event &ev, uint64_t n) {
	for (uint64_t i = 1; i < n; ++i)
		if (PageState *p = find_page(ev.dev, ev.ino, ev.pgoff + i))
			p->set_w(ev.ts & ~1ULL, epoch);
}

// W2 near misses: the faults on dirty pages that overlapped an open walk
// of the inode and whose entry this writeback [ev.pgoff, hi] flushed all
// the same.  Called only while some walk may hold candidates
// (wb_cands), which it clears once none does.
void Engine::Impl::w2_on_wb(const dt_event &ev, uint64_t hi) {
	bool any = false;
	for (WbWalk &wk : wb_walks) {
		if (!wk.cands.empty() && wk.dev == ev.dev && wk.ino == ev.ino) {
			size_t k = 0;
			for (size_t i = 0; i < wk.cands.size(); ++i) {
				WbWalk::Cand &c = wk.cands[i];
				if (c.hi < ev.pgoff || c.lo > hi) {
					if (k != i)
						wk.cands[k] = c;
					++k;
					continue;
				}
				uint64_t end = c.fault_exit.type && c.fault_exit.ts <= ev.ts ? c.fault_exit.ts
											       : c.fault_enter.ts;
				if (ev.ts >= end)
					near_miss(RaceClass::W, ev.dev, ev.ino, ev.ts - end);
			}
			wk.cands.resize(k);
		}
		any |= !wk.cands.empty();
	}
	wb_cands = any;
}

// The common case (no first-write fault in flight, one page, no fault
// overlapping a walk: one test of the three) makes no call but the
// page's lookup and a near miss, the last thing done (it adds to the
// same histogram as the walks' near misses, so the order does not
// matter); it keeps nothing but the event across the lookup.  The rest
// is on_wb_entry_full(), the same work in the same order.
void Engine::Impl::on_wb_entry(TaskState &t, const dt_event &ev) {
	if (!mk_inflight.empty() || ev.nr_pages > 1 || wb_cands) [[unlikely]]
		return on_wb_entry_full(t, ev);
	PageState &ps = page(ev.dev, ev.ino, ev.pgoff);
	uint64_t w = ps.w_ts(epoch);
	ps.set_w(ev.ts & ~1ULL, epoch);
	if ((w & 1) && ev.ts >= (w & ~1ULL))
		near_miss(RaceClass::W, ev.dev, ev.ino, ev.ts - (w & ~1ULL));
}

void Engine::Impl::on_wb_entry_full(TaskState &t, const dt_event &ev) {
	bool cand = !mk_inflight.empty() && w1_on_wb(t, ev);
	PageState &ps = page(ev.dev, ev.ino, ev.pgoff);
	uint64_t w = ps.w_ts(epoch);
	ps.set_w(ev.ts & ~1ULL, epoch);
	// dax_writeback_one reports a PMD entry once (pglen 512): all of its
	// pages are clean now.  Only pages already tracked can be dirty.
	uint64_t n = std::min<uint64_t>(ev.nr_pages, 512);
	if (n > 1) [[unlikely]]
		wb_clean_rest(ev, n);
	uint64_t hi = ev.pgoff + (n ? n - 1 : 0);
	if (wb_cands) [[unlikely]]
		w2_on_wb(ev, hi);
	if (!cand && (w & 1) && ev.ts >= (w & ~1ULL))
		near_miss(RaceClass::W, ev.dev, ev.ino, ev.ts - (w & ~1ULL));
}

// ---------------------------------------------------------------- W2

namespace {

// The entry an event touches: a PMD entry is the aligned 512 pages (the
// fault events carry the faulting page).
void entry_pages(const dt_event &ev, uint64_t &lo, uint64_t &hi) {
	if (ev.flags & DT_F_PMD) {
		lo = ev.pgoff & ~511ULL;
		hi = lo + 511;
	} else {
		lo = hi = ev.pgoff;
	}
}

bool dirty_before(const PageState &ps, uint64_t epoch, uint64_t ts) {
	uint64_t w = ps.w_ts(epoch);
	return (w & 1) && (w & ~1ULL) < ts;
}

bool tp_hook(uint16_t hook) {
	return hook == DT_HOOK_TP_WRITEBACK_RANGE || hook == DT_HOOK_TP_WRITEBACK_RANGE_DONE;
}

constexpr size_t kMaxCands = 256, kMaxWalks = 64, kMaxFsync = 256;

} // namespace

// Dirtiness is kept from the first dirtying (see W2 above): a page that is
// dirty already keeps its time.
// One page (all but PMD entries) here; the loop over a PMD entry's pages
// is w2_on_dirty_range(), out of line, so that the common path saves no
// registers for the loop's state.
void Engine::Impl::w2_on_dirty(const dt_event &ev, uint64_t lo, uint64_t hi) {
	if (lo != hi) [[unlikely]]
		return w2_on_dirty_range(ev, lo, hi);
	w2_mark_dirty(ev, lo);
	dirty_put(ev);
}

void Engine::Impl::w2_on_dirty_range(const dt_event &ev, uint64_t lo, uint64_t hi) {
	for (uint64_t pg = lo; pg <= hi; ++pg)
		w2_mark_dirty(ev, pg);
	dirty_put(ev);
}

// A fault's exit that mapped no block: W2 sees it as the rules do (a
// copy, built here).
void Engine::Impl::w2_on_fault_exit(TaskState &t, const dt_event &ev, bool in_fault) {
	dt_event own = ev;
	fault_exit_as_seen(t, in_fault, own);
	w2_on_fault_exit_seen(own);
}

// m: a fault's exit as the rules see it (T builds it for a mapping fault,
// in TaskState::last_map_exit).  Apart from w2_on_fault_exit(), whose copy
// on the stack kept this from ending in a tail call.
void Engine::Impl::w2_on_fault_exit_seen(const dt_event &m) {
	for (WbWalk &wk : wb_walks)
		for (WbWalk::Cand &c : wk.cands)
			if (c.fault_enter.tid == m.tid && !c.fault_exit.type)
				c.fault_exit = m;
	if (!(m.flags & DT_F_WRITE) || !fault_mapped(m.ret))
		return;
	uint64_t lo, hi;
	entry_pages(m, lo, hi);
	w2_on_dirty(m, lo, hi);
}

// A fault of another task on a page dirty since before the walk began.
template <class Impl>
static void add_cand(WbWalk &wk, const dt_event &fe, Impl &m) {
	if (fe.tid == wk.tid || fe.dev != wk.dev || fe.ino != wk.ino)
		return;
	uint64_t lo, hi;
	entry_pages(fe, lo, hi);
	uint64_t a = std::max(lo, wk.lo), b = std::min(hi, wk.hi);
	if (a > b)
		return;
	for (const auto &c : wk.cands)
		if (c.lo == lo && c.hi == hi)
			return; // the first overlapping fault is evidence enough
	bool dirty = false;
	for (uint64_t pg = a; pg <= b && !dirty; ++pg) {
		PageState *ps = m.find_page(fe.dev, fe.ino, pg);
		dirty = ps && dirty_before(*ps, m.epoch, wk.start_ts);
	}
	if (!dirty)
		return;
	if (wk.cands.size() >= kMaxCands) {
		++wk.cand_overflow;
		return;
	}
	wk.cands.push_back(WbWalk::Cand{lo, hi, fe, dt_event{}});
	m.wb_cands = true;
}

void Engine::Impl::w2_on_fault_enter(const dt_event &ev) {
	for (WbWalk &wk : wb_walks)
		add_cand(wk, ev, *this);
}

void Engine::Impl::w2_on_fsync(const dt_event &ev) {
	auto it = std::find(fsync_open.begin(), fsync_open.end(), ev.tid);
	if (ev.type == DT_FSYNC_ENTER) {
		if (it != fsync_open.end())
			return;
		if (fsync_open.size() >= kMaxFsync) // exits lost: forget the oldest
			fsync_open.erase(fsync_open.begin());
		fsync_open.push_back(ev.tid);
	} else if (it != fsync_open.end()) {
		fsync_open.erase(it);
	}
}

void Engine::Impl::w2_on_teardown(const dt_event &ev) {
	PageState *ps = find_page(ev.dev, ev.ino, ev.pgoff);
	if (ps && (ps->w_ts(epoch) & 1))
		ps->b &= ~kTsMask; // gone: neither dirty nor written back
}

void Engine::Impl::w2_on_range(const dt_event &ev) {
	uint8_t bit = tp_hook(ev.hook) ? WbWalk::kWalkTp : WbWalk::kWalkFn;
	// A plain loop: there are a walk or two open, and std::find_if's
	// unrolled search divided the vector's size by a walk's first.
	auto it = wb_walks.begin();
	while (it != wb_walks.end() && it->tid != ev.tid)
		++it;
	if (ev.type == DT_WB_RANGE_EXIT) {
		if (it == wb_walks.end())
			return;
		if (bit == WbWalk::kWalkFn && ev.ret < 0)
			it->error = true;
		if (it->depth && --it->depth)
			return;
		if (!it->cands.empty()) // else nothing to judge (most walks)
			w2_judge(*it, ev); // in place: judging does not touch wb_walks
		wb_walks.erase(it);
		return;
	}
	if (it != wb_walks.end() && (it->hooks & bit)) {
		wb_walks.erase(it); // its exit was lost: not judged
		it = wb_walks.end();
	}
	uint64_t lo = ev.pgoff, hi = ev.nr_pages ? ev.pgoff + ev.nr_pages - 1 : UINT64_MAX;
	if (it != wb_walks.end()) {
		it->hooks |= bit;
		++it->depth;
		if (bit == WbWalk::kWalkTp) { // the walk's own range
			it->lo = lo;
			it->hi = hi;
		}
		return;
	}
	if (wb_walks.size() >= kMaxWalks)
		wb_walks.erase(wb_walks.begin());
	// Built in place (a walk is two events' worth of bytes to move).
	WbWalk &w = wb_walks.emplace_back(ev, bit, lo, hi);
	for (WbWalk *o = wb_walks.data(); o != &w; ++o) // by pointer: no size() (a division)
		if (o->dev == w.dev && o->ino == w.ino)
			o->concurrent = w.concurrent = true;
	// Faults already running when the walk began overlap it too.
	for (size_t wi = 0; wi < in_fault_bits.size(); ++wi)
		for (uint64_t bits = in_fault_bits[wi]; bits; bits &= bits - 1) {
			const TaskState &t = tasks[wi * 64 + std::countr_zero(bits)];
			if (t.used && t.in_fault && t.tid != ev.tid)
				add_cand(w, t.fault_enter, *this);
		}
}

void Engine::Impl::w2_judge(WbWalk &w, const dt_event &exit) {
	bool in_fsync = std::find(fsync_open.begin(), fsync_open.end(), w.tid) != fsync_open.end();
	if (w.concurrent || w.error || w.cands.empty() || !((w.hooks & WbWalk::kWalkTp) || in_fsync))
		return;
	struct Skip {
		uint64_t pg, dirty_ts;
		size_t cand;
	};
	std::vector<Skip> skipped;
	for (size_t i = 0; i < w.cands.size(); ++i) {
		const WbWalk::Cand &c = w.cands[i];
		uint64_t a = std::max(c.lo, w.lo), b = std::min(c.hi, w.hi);
		for (uint64_t pg = a; pg <= b; ++pg) {
			PageState *ps = find_page(w.dev, w.ino, pg);
			if (ps && dirty_before(*ps, epoch, w.start_ts))
				skipped.push_back(Skip{pg, ps->w_ts(epoch) & ~1ULL, i});
		}
	}
	if (skipped.empty())
		return;
	std::sort(skipped.begin(), skipped.end(), [](const Skip &x, const Skip &y) { return x.pg < y.pg; });
	skipped.erase(std::unique(skipped.begin(), skipped.end(),
				  [](const Skip &x, const Skip &y) { return x.pg == y.pg; }),
		      skipped.end());
	uint64_t first_dirty = UINT64_MAX;
	for (const Skip &k : skipped)
		first_dirty = std::min(first_dirty, k.dirty_ts);
	const Skip &s0 = skipped.front();

	Finding f;
	f.rule = Rule::W2_FSYNC_SKIPPED_DIRTY;
	f.dev = w.dev;
	f.ino = w.ino;
	f.pgoff_first = s0.pg;
	f.pgoff_last = skipped.back().pg;
	f.tasks.push_back(task_ref(w.enter, "writeback"));
	f.window_start_ns = w.start_ts;
	f.window_end_ns = exit.ts;
	// The dirtying of the first skipped page, if the ring still has it
	// (page state keeps its time with bit 0 used for the kind).
	for (size_t i = 0; i < dirty_ring.size(); ++i) {
		const dt_event d = dirty_get((dirty_head - 1 - i) % kDirtyRing);
		if (!d.type || d.dev != w.dev || d.ino != w.ino)
			continue;
		uint64_t lo, hi;
		entry_pages(d, lo, hi);
		if (s0.pg >= lo && s0.pg <= hi && (d.ts | 1) == (s0.dirty_ts | 1)) {
			f.evidence.push_back(d);
			f.tasks.push_back(task_ref(d, "dirtier"));
			break;
		}
	}
	f.evidence.push_back(w.enter);
	// The overlapping faults on the skipped pages (at most 4 entries).
	std::vector<size_t> shown;
	for (const Skip &k : skipped) {
		if (shown.size() >= 4)
			break;
		if (std::find(shown.begin(), shown.end(), k.cand) != shown.end())
			continue;
		shown.push_back(k.cand);
		const WbWalk::Cand &c = w.cands[k.cand];
		f.evidence.push_back(c.fault_enter);
		if (c.fault_exit.type && c.fault_exit.ts <= exit.ts)
			f.evidence.push_back(c.fault_exit);
		bool have = false;
		for (const TaskRef &r : f.tasks)
			have |= r.tid == c.fault_enter.tid && r.role == "faulter";
		if (!have)
			f.tasks.push_back(task_ref(c.fault_enter, "faulter"));
	}
	f.evidence.push_back(exit);
	std::string pages;
	// Appended piece by piece: (i ? "," : "") + std::to_string() inserts
	// at the front of a temporary, which GCC 12 warns about (-Wrestrict,
	// a false positive in its basic_string).
	for (size_t i = 0; i < skipped.size() && i < 8; ++i) {
		if (i)
			pages += ',';
		pages += std::to_string(skipped[i].pg);
	}
	if (skipped.size() > 8)
		pages += ",...";
	f.summary = "writeback of inode " + std::to_string(w.ino) + " returned without writing back " +
		    std::to_string(skipped.size()) + " page(s) dirty since before it began (page " + pages +
		    "; dirtied " + std::to_string(w.start_ts - s0.dirty_ts) +
		    " ns before the walk) while a fault of another task held the entry: "
		    "get_unlocked_entry() on the walk's xa_state skips a locked entry, so the "
		    "fsync returned with that data not flushed";
	emit(std::move(f), first_dirty, true);
}

} // namespace daxtrace

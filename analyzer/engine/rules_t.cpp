// Class T: fault vs. truncate/punch (docs/ARCHITECTURE.md §1 "T"), and the fault
// bracket bookkeeping every class relies on.
//
// A fault is the task-local bracket DT_FAULT_ENTER .. DT_FAULT_EXIT.  It
// "maps" its page(s) when DT_FAULT_EXIT's vm_fault_t has no error, RETRY,
// FALLBACK or NEEDDSYNC bit, and the fault's DT_IOMAP (if one was seen)
// is a block (MAPPED/UNWRITTEN) rather than a hole (zero page).  A PMD
// fault maps 512 pages (or nr_pages).
//
//  T1 fault-maps-torn-down-page.  A fault by task F maps page P of inode I
//     after the open removal of another task R on I has already torn P
//     down (DT_ENTRY_DELETE/DISASSOC of P before the mapping), and R then
//     goes on with teardown work (any further DT_ENTRY_*, DT_BREAK_*,
//     DT_BUSY_SCAN or DT_ZERO by R).  Plain overlap of the two brackets is
//     not a race: the removal waits for the invalidate lock after ENTER.
//     The filesystem drops the invalidate lock a little before
//     REMOVE_EXIT, so a fault mapping P after R's last teardown event but
//     before its EXIT can be legal; by timing alone it is
//     indistinguishable from a racing fault that came after the last
//     teardown.  But a hole punch (and a truncate) emits nothing between
//     tearing the pages down and freeing their blocks (the freeing,
//     ext4_ext_remove_space()/xfs_unmap_extent(), is not hooked), which is
//     exactly where the race lab kernel's punch holds the window open
//     (tests/reopen, dax_reopen.t=1): the racing fault maps there, and no
//     teardown follows.  What tells it apart is the block: after a punch
//     or truncate the torn-down page is a hole (or beyond EOF), so a fault
//     serialised with it maps the zero page, a block it allocates
//     (IOMAP_F_NEW), or nothing.  So at a successful PUNCH/TRUNCATE's
//     REMOVE_EXIT, a candidate whose fault's own DT_IOMAP was an existing
//     MAPPED block (not new) is T1 too: that block is the one being freed.
//     Without the fault's iomap, for other ops (collapse/insert shift
//     blocks, zero range leaves unwritten ones) or after a failed removal
//     it stays a near miss.
//     A page that was never mapped before the removal has no entry to
//     tear down, so no DT_ENTRY_* marks it; the race lab's T rounds are
//     all of that kind (the pattern is written with write(2), and the
//     racing fault is the page's first mapping), and the rule missed all
//     of them until it learned this: a punch or truncate takes the fault
//     lock (invalidate lock / MMAPLOCK) before it breaks layouts, and holds
//     it until the blocks are freed, so on a correct kernel no fault of
//     another task completes between its first DT_BREAK_ENTER (the fence)
//     and the unlock just before REMOVE_EXIT; one that maps a page of the
//     op's range there with the old block is T1 the same way.
//     Window: [teardown of P (or the fence), R's next teardown event or its
//     REMOVE_EXIT].  Gap sensitive (dep. from REMOVE_ENTER).
//
//  Near miss (class T): the first fault by another task that maps a page
//     inside the range a completed removal on the inode tore down:
//     distance = mapping - REMOVE_EXIT; and an unconfirmed T1 candidate:
//     distance = REMOVE_EXIT - mapping.
#include <algorithm>
#include <string>

#include "engine_impl.h"

namespace daxtrace {

using namespace detail;

// A fault's start for every rule that follows it (idx: t's index), one
// call (it was two deep).  A walk open or a W1 candidate waiting (one
// test) is on_fault_enter_full()'s, so that the common path, which makes
// no call, saves no registers.
void Engine::Impl::on_fault_enter(TaskState &t, uint32_t idx, const dt_event &ev) {
	set_in_fault(idx, true);
	if (!wb_walks.empty() || !w1_await.empty()) [[unlikely]]
		return on_fault_enter_full(t, ev);
	t.in_fault = true;
	t.fault_has_iomap = false;
	t.fault_enter = ev;
}

void Engine::Impl::on_fault_enter_full(TaskState &t, const dt_event &ev) {
	if (!wb_walks.empty())
		w2_on_fault_enter(ev);
	if (!w1_await.empty() && (ev.flags & DT_F_WRITE))
		w1_refault(t, ev);
	t.in_fault = true;
	t.fault_has_iomap = false;
	t.fault_enter = ev;
}

// The T1 candidates of a mapping of page pg while removals are open.  Out
// of line: most mappings see none open, and the candidate's copies of
// three events made on_fault_exit()'s frame.
void Engine::Impl::t1_candidates(TaskState &t, const dt_event &ev, uint64_t pg) {
	for (Removal &r : removals) {
		if (!r.used || r.tid == t.tid || r.t1.size() >= 64)
			continue;
		// The teardown may be on this inode even if the bracket's
		// own ino differs (SWAP_BOOT touches two inodes): check
		// the teardown records, whose pgoff is per inode of r.
		if (r.dev != ev.dev && r.dev)
			continue;
		uint64_t del_ts = 0;
		bool hit = false;
		const dt_event *del_ev = nullptr;
		for (size_t i = r.deleted.size(); i-- > 0;) {
			if (r.deleted[i].first == pg) {
				del_ts = r.deleted[i].second;
				hit = true;
				break;
			}
		}
		if (!hit && pg >= r.deleted_overflow_lo && pg <= r.deleted_overflow_hi) {
			del_ts = r.deleted_overflow_ts;
			hit = true;
		}
		// A page that had no mapping entry to tear down: the
		// fence stands in for its teardown (see T1 above).
		bool fenced = false;
		if (!hit && r.fence_ts && (r.op == DT_ROP_PUNCH || r.op == DT_ROP_TRUNCATE) &&
		    pg >= r.rm_lo && pg <= r.rm_hi) {
			del_ts = r.fence_ts;
			hit = fenced = true;
		}
		if (!hit || del_ts > ev.ts || r.ino != ev.ino)
			continue;
		r.each_evidence([&](const dt_event &e) {
			if ((e.type == DT_ENTRY_DELETE || e.type == DT_ENTRY_DISASSOC) && e.pgoff == pg &&
			    e.ts == del_ts)
				del_ev = &e;
		});
		Removal::T1Candidate c{};
		c.tid = t.tid;
		c.pgoff = pg;
		c.map_ts = ev.ts;
		c.delete_ts = del_ts;
		c.fenced = fenced;
		c.fault_enter = t.fault_enter;
		c.fault_exit = ev;
		if (del_ev)
			c.delete_ev = *del_ev;
		r.t1.push_back(c);
	}
}

// Inlined into on_fault_exit(), its one caller: most faults map one page,
// and the call cost a frame per mapping.
[[gnu::always_inline]] inline void Engine::Impl::on_mapped(TaskState &t, const dt_event &ev, uint64_t pg) {
	PageState &ps = page(ev.dev, ev.ino, pg);
	ps.set_map(ev.ts, epoch, t.tid);

	check_z_on_map(t, ev, pg);

	// T1 candidates: a page another task's open removal already tore down.
	if (open_removals) [[unlikely]]
		t1_candidates(t, ev, pg);

	// T near miss: the first mapping after a completed removal of this page.
	// The page's key is still last_pkey (page() set it, and neither Z's
	// part nor T1's looks a page up): read here, not kept across the calls.
	InodeInfo &ii = inodes[last_pkey >> 32];
	if (ii.rm_valid && ii.rm_tid != t.tid && pg >= ii.rm_lo && pg <= ii.rm_hi &&
	    ev.ts >= ii.rm_exit_ts) {
		ii.rm_valid = false;
		near_miss(RaceClass::T, ev.dev, ev.ino, ev.ts - ii.rm_exit_ts);
	}
}

// A fault's exit for every rule that follows it (idx: t's index): the
// in-fault bit, the mapping (T, Z) and W2's part, a tail call given the
// exit as the rules see it if the fault mapped a block.  (It was two
// calls deep, and the outer frame kept t, ev and the bit across the
// inner.)
void Engine::Impl::on_fault_exit(TaskState &t, uint32_t idx, const dt_event &ev) {
	bool in = t.in_fault;
	if (in)
		set_in_fault(idx, false);
	t.in_fault = false;
	if (t.mk_active || t.mk_dirty)
		on_mkwrite_done(t, ev);
	if (!fault_mapped(ev.ret))
		return w2_on_fault_exit(t, ev, in);
	if (in && t.fault_has_iomap && t.iomap.iomap_type != DT_IOMAP_MAPPED &&
	    t.iomap.iomap_type != DT_IOMAP_UNWRITTEN) // a hole or inline data: the zero page, no block mapped
		return w2_on_fault_exit(t, ev, in);
	// The mapping as the rules see it is built where it is kept (one copy
	// of the event, not two); nothing below reads the previous one.
	dt_event &m = t.last_map_exit;
	m = ev;
	fault_exit_as_seen(t, in, m);
	uint64_t n = m.nr_pages ? m.nr_pages : ((m.flags & DT_F_PMD) ? 512 : 1);
	n = std::min<uint64_t>(n, 512);
	if (in)
		check_z2(t, m);
	// The mapping's iomap before the pages' part, which does not read it
	// (Z reads t.iomap, T1 the fault's start): then nothing but t is
	// kept across the page's lookup and Z's call.
	t.has_last_map = true;
	if (in && t.fault_has_iomap)
		t.last_map_iomap = t.iomap;
	else
		t.last_map_iomap = dt_event{};
	if (n == 1) [[likely]] // no loop state to keep across the calls
		on_mapped(t, m, m.pgoff);
	else
		on_mapped_range(t, m, n);
	return w2_on_fault_exit_seen(m);
}

// A PMD fault's (or a fault of nr_pages) mapping of n pages.
void Engine::Impl::on_mapped_range(TaskState &t, const dt_event &ev, uint64_t n) {
	for (uint64_t i = 0; i < n; ++i)
		on_mapped(t, ev, ev.pgoff + i);
}

void Engine::Impl::t1_on_teardown(Removal &r, const dt_event &ev) {
	if (ev.ino != r.ino || ev.dev != r.dev)
		return; // e.g. SWAP_BOOT's boot-loader inode: not tracked for T1
	if (!r.deleted.empty() && r.deleted.back().first == ev.pgoff)
		return;
	if (r.deleted.size() < 4096) {
		r.deleted.emplace_back(ev.pgoff, ev.ts);
	} else {
		// Beyond the cap the record degrades to one range (earliest ts).
		if (r.deleted_overflow_lo == UINT64_MAX)
			r.deleted_overflow_ts = ev.ts;
		r.deleted_overflow_lo = std::min<uint64_t>(r.deleted_overflow_lo, ev.pgoff);
		r.deleted_overflow_hi = std::max<uint64_t>(r.deleted_overflow_hi, ev.pgoff);
	}
}

// The block a T1 candidate's fault mapped, when it must be the block the
// removal is freeing: a punch or truncate leaves a torn-down page a hole
// (or beyond EOF), so a fault serialised with it maps the zero page, a
// newly allocated block (IOMAP_F_NEW) or nothing; a block that already
// existed can only be the old one.  Only for pages the op frees whole.
// Needs the faulter's iomap of that very mapping; null when it is not
// known or the removal failed.
static const dt_event *t1_old_block(const Removal &r, const Removal::T1Candidate &c,
				     const dt_event &exit, const TaskState *t) {
	if ((r.op != DT_ROP_PUNCH && r.op != DT_ROP_TRUNCATE) || exit.ret != 0)
		return nullptr;
	if (c.pgoff < r.rm_lo || c.pgoff > r.rm_hi)
		return nullptr; // a page kept in part keeps its block

	if (!t || !t->has_last_map || t->last_map_exit.ts != c.map_ts || !t->last_map_iomap.type)
		return nullptr;
	const dt_event &io = t->last_map_iomap;
	if (io.iomap_type != DT_IOMAP_MAPPED || (io.iomap_flags & DT_IOMAP_F_NEW))
		return nullptr;
	return &io;
}

static Finding t1_finding(const Removal &r, const Removal::T1Candidate &c, const dt_event &ev,
			  const dt_event *old_block, TaskRef faulter, TaskRef remover) {
	Finding f;
	f.rule = Rule::T1_FAULT_MAPS_TORN_DOWN;
	f.dev = c.fault_exit.dev;
	f.ino = c.fault_exit.ino;
	f.pgoff_first = f.pgoff_last = c.pgoff;
	f.tasks.push_back(std::move(faulter));
	f.tasks.push_back(std::move(remover));
	if (!f.tasks[0].tid)
		f.tasks[0].tid = c.tid;
	f.window_start_ns = c.delete_ts;
	f.window_end_ns = ev.ts;
	if (c.delete_ev.type)
		f.evidence.push_back(c.delete_ev);
	if (c.fault_enter.type && c.fault_enter.tid == c.tid)
		f.evidence.push_back(c.fault_enter);
	if (old_block)
		f.evidence.push_back(*old_block);
	f.evidence.push_back(c.fault_exit);
	f.evidence.push_back(ev);
	f.summary = "a fault mapped page " + std::to_string(c.pgoff) + " of inode " +
		    std::to_string(f.ino) + " " + std::to_string(c.map_ts - c.delete_ts) +
		    " ns after a concurrent " + std::string(remove_op_name(r.op)) +
		    (c.fenced ? " had locked faults out (its layout break began), "
			      : " had torn it down, ") +
		    (old_block ? "to the block that removal was freeing (sector " +
				 std::to_string(old_block->block) + ")"
			       : std::string("while that removal was still tearing down"));
	return f;
}

void Engine::Impl::t1_confirm(Removal &r, const dt_event &ev) {
	if (ev.type == DT_REMOVE_EXIT || ev.type == DT_REMOVE_ENTER)
		return;
	for (const auto &c : r.t1)
		if (ev.ts >= c.map_ts)
			emit(t1_finding(r, c, ev, nullptr, task_ref(c.fault_exit, "faulter"),
					task_ref(r.tid, "remover")),
			     r.enter_ts, true);
	r.t1.clear();
}

void Engine::Impl::t1_on_removal_exit(Removal &r, const dt_event *exit) {
	if (exit)
		for (const auto &c : r.t1) {
			if (exit->ts < c.map_ts)
				continue;
			if (const dt_event *old = t1_old_block(r, c, *exit, find_task(c.tid)))
				emit(t1_finding(r, c, *exit, old, task_ref(c.fault_exit, "faulter"),
						task_ref(r.tid, "remover")),
				     r.enter_ts, true);
			else
				near_miss(RaceClass::T, c.fault_exit.dev, c.fault_exit.ino, exit->ts - c.map_ts);
		}
	r.t1.clear();
}

} // namespace daxtrace

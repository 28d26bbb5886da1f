// Class L: block removal vs. DMA pins (docs/ARCHITECTURE.md §1 "L").
//
// A removal is a task-local bracket DT_REMOVE_ENTER .. DT_REMOVE_EXIT on
// (dev, ino); brackets nest (SWAP_BOOT -> PAGECACHE), the outermost one
// counts.  Layout-break events (DT_BREAK_*, DT_BUSY_SCAN) and teardown
// events (DT_ENTRY_DELETE, DT_ENTRY_DISASSOC) are attributed to the open
// removal of the task that emitted them (they run in the remover's task).
//
// Rules (documented in full in RULES.md):
//
//  L1 remove-without-layout-break.  Inside one removal, an entry is torn
//     down (DELETE or DISASSOC) for a page that is known to be in use —
//     pinned (DISASSOC refcount > 1) or mapped (a fault mapped it and no
//     teardown since) — and the remover had not completed a layout break
//     covering that page before (BREAK_EXIT ret 0, or a busy scan that
//     answered idle, over a range containing the page).  One finding per
//     removal, page range aggregated, emitted at REMOVE_EXIT.
//     Window: [REMOVE_ENTER, last unprotected teardown].  Gap sensitive
//     (a lost BREAK_* would make it harmless): uncertain if events were
//     lost in the window or no layout-break hook was attached.
//
//  L2 disassociate-pinned-entry.  DT_ENTRY_DISASSOC with DT_F_TRUNC and
//     refcount > 1: the blocks of a page that someone still holds are
//     being freed — exactly the kernel's WARN_ON_ONCE in
//     dax_disassociate_entry().  Emitted at once, per event.  Window:
//     [REMOVE_ENTER (or the event itself outside a bracket), DISASSOC].
//     Not gap sensitive: the refcount is observed, no lost event can
//     undo it, so losses never make L2 uncertain.
//
//  L3 busy-scan-missed-pin.  Inside one removal a busy scan or a layout
//     break answered "idle" for a range (BUSY_SCAN without DT_F_BUSY, or
//     BREAK_EXIT ret 0) and an entry in that range is then disassociated
//     with refcount > 1 (and no busy observation came in between).  That
//     is the 6.1 dax_layout_busy_page_range() skip-locked-entry / unmapped
//     -file bug.  One finding per removal, at REMOVE_EXIT.  Window:
//     [idle answer, last pinned disassociation].  Gap sensitive.
//
//  Near miss (class L): a removal whose break saw a busy page (BREAK_BUSY,
//     BREAK_WAIT or BUSY_SCAN+DT_F_BUSY), then completed, and then tore
//     down entries with no pin left: distance = first teardown after the
//     break - last busy observation (how long after the pin went away the
//     blocks were freed).  Once per removal.
#include <algorithm>
#include <cstring>
#include <string>

#include "engine_impl.h"

namespace daxtrace {

using namespace detail;

namespace {

uint64_t range_last(uint64_t pgoff, uint64_t nr) {
	if (nr == 0)
		return UINT64_MAX; // to end of file
	uint64_t last = pgoff + nr - 1;
	return last < pgoff ? UINT64_MAX : last;
}

bool covers(uint64_t lo, uint64_t hi, uint64_t pg) { return pg >= lo && pg <= hi; }

// Grows [lo, hi] over [a, b]; a range not set yet becomes [a, b].
void cover(bool &set, uint64_t &lo, uint64_t &hi, uint64_t a, uint64_t b) {
	lo = set ? std::min(lo, a) : a;
	hi = set ? std::max(hi, b) : b;
	set = true;
}


} // namespace

// The pages a removal frees whole ([lo, hi], empty when lo > hi): a page
// that the range covers only in part keeps its block (it is zeroed in
// place), so a fault may legally map that block at any time.  The event
// carries pgoff, nr_pages and the byte length: a range that starts on a
// page boundary covers exactly len / 4096 pages.  A truncate's pgoff is
// the page holding the new size, kept in part unless the size is aligned,
// which the event does not say.
static void whole_pages_removed(const dt_event &ev, uint64_t &lo, uint64_t &hi) {
	constexpr uint64_t kPage = 4096;
	if (!ev.nr_pages) { // truncate: to the end of the file
		lo = ev.pgoff + 1;
		hi = UINT64_MAX;
		return;
	}
	bool aligned = ev.len % kPage == 0 && ev.nr_pages * kPage == ev.len;
	lo = aligned ? ev.pgoff : ev.pgoff + 1;
	hi = aligned ? ev.pgoff + ev.nr_pages - 1 : ev.pgoff + ev.nr_pages - 2;
	if (!aligned && ev.nr_pages < 2)
		lo = 1, hi = 0; // one partial page: nothing freed whole
}

void Engine::Impl::on_removal_event(TaskState &t, const dt_event &ev) {
	Removal *r = removal_of(t);

	if (ev.type == DT_REMOVE_ENTER) {
		if (!r) {
			uint32_t i = take_slot(removals, removal_free);
			r = &removals[i];
			r->reset();
			r->used = true;
			r->tid = t.tid;
			r->pid = ev.pid;
			memcpy(r->comm, ev.comm, DT_COMM_LEN);
			r->dev = ev.dev;
			r->ino = ev.ino;
			r->op = ev.op;
			r->enter_ts = ev.ts;
			whole_pages_removed(ev, r->rm_lo, r->rm_hi);
			r->ops[0] = ev.op;
			r->depth = 1;
			t.removal = int32_t(i);
			++open_removals;
		} else {
			if (r->depth < 8)
				r->ops[r->depth] = ev.op;
			if (r->depth < 255)
				++r->depth;
		}
		r->add_evidence(ev);
		return;
	}

	if (ev.type == DT_REMOVE_EXIT) {
		if (!r)
			return; // the trace started inside the bracket
		t1_on_remover_event(*r, ev);
		r->add_evidence(ev);
		// Pop to the innermost open bracket of the same op (an inner
		// bracket whose exit was not seen is closed with it).
		int d = std::min<int>(r->depth, 8) - 1;
		int k = d;
		while (k >= 0 && r->ops[k] != ev.op)
			--k;
		r->depth = uint8_t(k >= 0 ? k : r->depth - 1);
		if (r->depth == 0)
			finish_removal(t, *r, &ev, false);
		return;
	}

	bool teardown = ev.type == DT_ENTRY_DELETE || ev.type == DT_ENTRY_DISASSOC;
	bool pinned = ev.type == DT_ENTRY_DISASSOC && ev.refcount > 1;
	PageState *ps = nullptr;
	if (teardown)
		ps = find_page(ev.dev, ev.ino, ev.pgoff);

	if (!r) {
		if (teardown) {
			++st.teardown_outside_removal;
			if (ev.type == DT_ENTRY_DISASSOC && (ev.flags & DT_F_TRUNC) && pinned) {
				Finding f;
				f.rule = Rule::L2_DISASSOCIATE_PINNED;
				f.dev = ev.dev;
				f.ino = ev.ino;
				f.pgoff_first = ev.pgoff;
				f.pgoff_last = ev.pgoff + (ev.nr_pages ? ev.nr_pages - 1 : 0);
				f.tasks.push_back(task_ref(ev, "remover"));
				if (ps && ps->mapped())
					f.tasks.push_back(task_ref(ps->map_tid(), "mapper"));
				f.window_start_ns = f.window_end_ns = ev.ts;
				f.evidence.push_back(ev);
				f.summary = "page " + std::to_string(ev.pgoff) + " of inode " +
					    std::to_string(ev.ino) + " disassociated on truncate with refcount " +
					    std::to_string(ev.refcount) + " (outside any traced removal)";
				emit(std::move(f), ev.ts, false);
			}
			if (ps)
				ps->clear_map();
		}
		return;
	}

	t1_on_remover_event(*r, ev);
	r->add_evidence(ev);

	switch (ev.type) {
	case DT_BREAK_ENTER: {
		if (!r->fence_ts)
			r->fence_ts = ev.ts;
		cover(r->break_entered, r->break_lo, r->break_hi, ev.pgoff, range_last(ev.pgoff, ev.nr_pages));
		return;
	}
	case DT_BREAK_BUSY:
	case DT_BREAK_WAIT:
		r->busy_seen = true;
		r->last_busy_ts = ev.ts;
		r->idle_claim = false;
		return;
	case DT_BUSY_SCAN:
		if (ev.flags & DT_F_BUSY) {
			r->busy_seen = true;
			r->last_busy_ts = ev.ts;
			r->idle_claim = false;
		} else {
			// "No busy page in this range": the break is complete for it.
			uint64_t hi = range_last(ev.pgoff, ev.nr_pages);
			r->idle_claim = true;
			r->idle_ts = ev.ts;
			r->idle_lo = ev.pgoff;
			r->idle_hi = hi;
			cover(r->break_ok, r->break_lo, r->break_hi, ev.pgoff, hi);
		}
		return;
	case DT_BREAK_EXIT:
		if (ev.ret == 0) {
			if (!r->break_entered) {
				r->break_lo = ev.pgoff;
				r->break_hi = range_last(ev.pgoff, ev.nr_pages);
			}
			r->break_ok = true;
			r->break_exit_ts = ev.ts;
			r->idle_claim = true;
			r->idle_ts = ev.ts;
			r->idle_lo = r->break_lo;
			r->idle_hi = r->break_hi;
		}
		return;
	default:
		break;
	}
	if (!teardown)
		return;

	t1_on_teardown(*r, ev);
	bool mapped = ps && ps->mapped();
	uint32_t mapper = mapped ? ps->map_tid() : 0;
	uint64_t pg = ev.pgoff;

	// L2: the WARN condition, per event, not gap sensitive.
	if (ev.type == DT_ENTRY_DISASSOC && (ev.flags & DT_F_TRUNC) && pinned) {
		Finding f;
		f.rule = Rule::L2_DISASSOCIATE_PINNED;
		f.dev = ev.dev;
		f.ino = ev.ino;
		f.pgoff_first = pg;
		f.pgoff_last = pg + (ev.nr_pages ? ev.nr_pages - 1 : 0);
		f.tasks.push_back(task_ref(ev, "remover"));
		if (mapper && mapper != ev.tid)
			f.tasks.push_back(task_ref(mapper, "mapper"));
		f.window_start_ns = r->enter_ts;
		f.window_end_ns = ev.ts;
		f.evidence = r->ordered_evidence();
		f.evidence_omitted = r->evidence_omitted;
		f.summary = std::string(remove_op_name(r->op)) + " on " + dtabi::dev_name(ev.dev) + " inode " +
			    std::to_string(ev.ino) + " disassociated the entry of page " + std::to_string(pg) +
			    " with page refcount " + std::to_string(ev.refcount) +
			    " (> 1): its blocks are freed while the page is still held (the "
			    "dax_disassociate_entry WARN condition)";
		emit(std::move(f), r->enter_ts, false);
	}

	// L1: teardown of a page in use with no completed break covering it.
	bool broken = r->break_ok && covers(r->break_lo, r->break_hi, pg);
	if (!broken && (pinned || mapped)) {
		if (!r->l1) {
			r->l1 = true;
			r->l1_lo = r->l1_hi = pg;
			r->l1_first_ts = ev.ts;
		}
		r->l1_lo = std::min<uint64_t>(r->l1_lo, pg);
		r->l1_hi = std::max<uint64_t>(r->l1_hi, pg);
		r->l1_last_ts = ev.ts;
		if (mapper && !r->l1_mapper_tid)
			r->l1_mapper_tid = mapper;
	}

	// L3: the scan said idle over this page, yet it is pinned.
	if (pinned && r->idle_claim && covers(r->idle_lo, r->idle_hi, pg)) {
		if (!r->l3) {
			r->l3 = true;
			r->l3_lo = r->l3_hi = pg;
			r->l3_idle_ts = r->idle_ts;
		}
		r->l3_lo = std::min<uint64_t>(r->l3_lo, pg);
		r->l3_hi = std::max<uint64_t>(r->l3_hi, pg);
		r->l3_last_ts = ev.ts;
		r->l3_max_ref = std::max<uint64_t>(r->l3_max_ref, ev.refcount);
	}

	// Near miss: the break waited for a pin, then the blocks were freed.
	if (!pinned && broken && r->busy_seen && !r->near_recorded && ev.ts >= r->last_busy_ts) {
		r->near_recorded = true;
		near_miss(RaceClass::L, ev.dev, ev.ino, ev.ts - r->last_busy_ts);
	}

	if (ps)
		ps->clear_map(); // torn down: no longer mapped
}

void Engine::Impl::finish_removal(TaskState &t, Removal &r, const dt_event *exit, bool at_flush) {
	const std::string op = std::string(remove_op_name(r.op));
	if (r.l1) {
		Finding f;
		f.rule = Rule::L1_REMOVE_WITHOUT_BREAK;
		f.dev = r.dev;
		f.ino = r.ino;
		f.pgoff_first = r.l1_lo;
		f.pgoff_last = r.l1_hi;
		f.tasks.push_back(task_ref(r.tid, "remover"));
		if (r.l1_mapper_tid && r.l1_mapper_tid != r.tid)
			f.tasks.push_back(task_ref(r.l1_mapper_tid, "mapper"));
		f.window_start_ns = r.enter_ts;
		f.window_end_ns = r.l1_last_ts;
		f.evidence = r.ordered_evidence();
		f.evidence_omitted = r.evidence_omitted;
		f.summary = op + " on " + dtabi::dev_name(r.dev) + " inode " + std::to_string(r.ino) +
			    " removed blocks of pages " + std::to_string(r.l1_lo) + ".." +
			    std::to_string(r.l1_hi) + " that were mapped or pinned, " +
			    (r.break_entered ? "without a completed layout break covering them"
					     : "without any layout break");
		if (at_flush)
			f.summary += " (removal still open at the end of the trace)";
		if (hooks_missing(DT_E(BREAK_ENTER) | DT_E(BREAK_EXIT) | DT_E(BUSY_SCAN))) {
			f.uncertain = true;
			f.uncertain_reason = "no layout-break hook was attached: a break may have gone unseen";
		}
		emit(std::move(f), r.enter_ts, true);
		r.l1 = false;
	}
	if (r.l3) {
		Finding f;
		f.rule = Rule::L3_SCAN_MISSED_PIN;
		f.dev = r.dev;
		f.ino = r.ino;
		f.pgoff_first = r.l3_lo;
		f.pgoff_last = r.l3_hi;
		f.tasks.push_back(task_ref(r.tid, "remover"));
		f.window_start_ns = r.l3_idle_ts;
		f.window_end_ns = r.l3_last_ts;
		f.evidence = r.ordered_evidence();
		f.evidence_omitted = r.evidence_omitted;
		f.summary = op + " on " + dtabi::dev_name(r.dev) + " inode " + std::to_string(r.ino) +
			    ": the busy-page scan answered idle, yet pages " + std::to_string(r.l3_lo) + ".." +
			    std::to_string(r.l3_hi) + " were then disassociated with refcount up to " +
			    std::to_string(r.l3_max_ref);
		emit(std::move(f), r.l3_idle_ts, true);
		r.l3 = false;
	}
	t1_on_removal_exit(r, exit);
	if (at_flush)
		return;
	// Remember the removal for T near misses (faults that map a torn-down
	// page after the removal ended).
	if (!r.deleted.empty() || r.deleted_overflow_lo != UINT64_MAX) {
		uint64_t lo = r.deleted_overflow_lo, hi = r.deleted_overflow_hi;
		for (auto &d : r.deleted) {
			lo = std::min<uint64_t>(lo, d.first);
			hi = std::max<uint64_t>(hi, d.first);
		}
		InodeInfo &ii = inodes[inode_id(r.dev, r.ino, lo)];
		ii.rm_valid = true;
		ii.rm_tid = r.tid;
		ii.rm_exit_ts = exit ? exit->ts : released_ts;
		ii.rm_lo = lo;
		ii.rm_hi = hi;
	}
	uint32_t idx = uint32_t(&r - removals.data());
	r.reset();
	removal_free.push_back(idx);
	t.removal = -1;
	--open_removals;
}

} // namespace daxtrace

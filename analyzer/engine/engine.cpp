// The pipeline: reorder window -> dispatch to the rules -> loss tracking ->
// publication of findings.  State retirement and memory accounting.
#include <algorithm>
#include <cstring>

#include <nlohmann/json.hpp>

#include "engine_impl.h"

namespace daxtrace {

using namespace detail;

void Removal::reset() {
	auto d = std::move(deleted);
	auto t = std::move(t1);
	auto e = std::move(evidence);
	*this = Removal{};
	d.clear();
	t.clear();
	e.clear();
	deleted = std::move(d); // keep capacity: no allocation per removal
	t1 = std::move(t);
	evidence = std::move(e);
}

Engine::Impl::Impl(EngineConfig c) : cfg(c), nm(c.max_inode_histograms) {
	zeros.resize(kZeroRing);
	inodes.reserve(64);
	tasks.reserve(64);
}

// ---------------------------------------------------------------- pipeline

// Warm the page-table slot an upcoming event will touch.  The inode id is
// looked up through its own one-entry cache: the events a few positions
// ahead are of another operation than the one being analysed (last_ikey),
// and an operation's events share their inode.
//
// The types that look a page up, as a mask tested by the type's low six
// bits: a type beyond them (an invalid event) may pass the test, and only
// its prefetch is wasted, which spares the range test a switch made.
static_assert(DT_TYPE_MAX <= 64);
[[gnu::always_inline]] inline void Engine::Impl::prefetch(const ReorderBuffer::Peek &ev) {
	constexpr uint64_t kPageTypes = DT_E(FAULT_EXIT) | DT_E(MKWRITE_DIRTY) | DT_E(WB_ENTRY) |
					DT_E(ENTRY_DELETE) | DT_E(ENTRY_DISASSOC);
	if (!((kPageTypes >> (ev.type & 63)) & 1))
		return;
	// An inode found beyond the direct-mapped cache is not
	// remembered, so that k need not outlive that call (it was
	// kept on the stack for every lookup).
	InodeKey k{ev.dev, ev.ino, ev.pgoff >> 32};
	uint32_t id;
	if (k == ahead_ikey) {
		id = ahead_iid;
	} else if (icache_lookup(k, id)) {
		ahead_ikey = k;
		ahead_iid = id;
	} else if ((id = inode_lookup_slow(k.dev, k.ino, k.hi)) == kNoInode) {
		return;
	}
	pages.prefetch(uint64_t(id) << 32 | (ev.pgoff & 0xffffffffULL));
}

// Later than the window: the rules have already moved past this time.
// Counted, not analysed, and treated like a loss so that findings
// depending on that period are marked uncertain.  Out of line: rare.
[[gnu::noinline]] void Engine::Impl::push_late(const dt_event &ev) {
	++st.late;
	if (ev.type == DT_LOST) {
		++st.lost_markers;
		st.lost_events += uint64_t(ev.ret > 0 ? ev.ret : 0);
	}
	losses.push_back(LossInterval{ev.ts ? ev.ts - 1 : 0, released_ts, true});
	if (losses.size() > 1024)
		losses.pop_front();
	for (auto &p : pending)
		if (p.gap_sensitive && !p.f.uncertain && ev.ts >= p.dep_start && ev.ts <= p.f.window_end_ns) {
			p.f.uncertain = true;
			p.f.uncertain_reason = "an event inside the window arrived later than the reorder window";
		}
}

// push() and release() are inlined into Engine::push's loop: per event,
// their calls (prologues, reloaded members) cost more than their work.
[[gnu::always_inline]] inline void Engine::Impl::push(const dt_event &ev) {
	++st.events_in;
	// released_ts is 0 until something was released (or time advanced),
	// and no timestamp is below 0: no separate "anything released" test.
	if (ev.ts < released_ts) [[unlikely]] {
		push_late(ev);
		return;
	}
	if (!epoch_set) [[unlikely]] {
		uint64_t back = cfg.reorder_window_ns + 16;
		epoch = (ev.ts > back ? ev.ts - back : 0) & ~1ULL;
		epoch_set = true;
		set_rare_lim();
	}
	// A DT_LOST marker does not move trace time: live, the loader stamps
	// it when it reads the drop counters, which is after every event
	// still queued in the ring (a ring that overflowed holds a backlog).
	// Moving the clock to it made that whole backlog late (seen in the
	// lab: 110078 of 174594 events of a service session).  It still
	// waits in the reorder buffer and is processed in timestamp order.
	if (ev.ts < max_seen_ts)
		++st.reordered;
	else if (ev.type != DT_LOST)
		max_seen_ts = ev.ts;
	uint64_t depth = rb.push(ev);
	if (depth > st.reorder_depth_max)
		st.reorder_depth_max = depth;
	if (max_seen_ts >= cfg.reorder_window_ns)
		release(max_seen_ts - cfg.reorder_window_ns);
}

[[gnu::always_inline]] inline void Engine::Impl::release(uint64_t limit) {
	auto analyse = [this](const dt_event &ev) { process(ev); };
	if (pages.capacity() >= kLookaheadFromSlots)
		rb.release(limit, analyse, [this](const ReorderBuffer::Peek &ev) { prefetch(ev); });
	else
		rb.release(limit, analyse, [](const ReorderBuffer::Peek &) {});
	// Trace time has reached `limit` even if no event was due: anything
	// older that still arrives is late, and held findings may be due.
	if (limit > released_ts)
		released_ts = limit;
	if (released_ts >= release_due) [[unlikely]] {
		if (released_ts >= w1_deadline)
			w1_decide(released_ts);
		if (released_ts >= next_publish_ts)
			maybe_publish();
	}
}

// Every analysed event comes here.  The common path (no housekeeping due,
// the task known) ends in one tail call to a rule's handler and saves no
// registers; what is rare (housekeeping, DT_LOST, a task not cached) goes
// to process_rare(), which does the same work in the same order.
void Engine::Impl::process(const dt_event &ev) {
	++st.events_analysed;
	released_ts = ev.ts;
	if (!--sweep_left || ev.ts - epoch >= rare_lim) [[unlikely]]
		return process_rare(ev, false); // DT_LOST: from dispatch()
	dispatch(ev, false);
}

[[gnu::noinline]] void Engine::Impl::process_rare(const dt_event &ev, bool new_task) {
	if (!new_task) {
		if (ev.ts - epoch > (1ULL << 47)) [[unlikely]]
			rebase(ev.ts);
		if (ev.ts >= w1_deadline) [[unlikely]]
			w1_decide(ev.ts);
		if (!sweep_left) {
			sweep_left = kSweepEvery;
			sweep();
		}
		if (ev.type == DT_LOST) {
			++st.lost_markers;
			uint64_t n = uint64_t(ev.ret > 0 ? ev.ret : 0);
			st.lost_events += n;
			// The events were lost on ev.cpu some time since the previous
			// marker for that CPU (or since the start of the trace).
			uint64_t &prev = lost_prev[ev.cpu];
			LossInterval li{prev, ev.ts, false};
			prev = ev.ts;
			if (n == 0)
				return;
			losses.push_back(li);
			if (losses.size() > 1024)
				losses.pop_front();
			for (auto it = published_windows.begin(); it != published_windows.end();) {
				if (li.from < it->second && li.to >= it->first) {
					++st.findings_before_late_loss; // each finding counted once
					it = published_windows.erase(it);
				} else {
					++it;
				}
			}
			for (auto &p : pending)
				if (p.gap_sensitive && !p.f.uncertain && li.from < p.f.window_end_ns &&
				    li.to >= p.dep_start) {
					p.f.uncertain = true;
					p.f.uncertain_reason = std::to_string(n) + " events lost on cpu " +
							       std::to_string(ev.cpu) + " during the window";
				}
			return;
		}
	}
	dispatch(ev, true);
}

// The rules for ev.  slow: the task may be new (process_rare()); else a
// task missing from the caches is looked up there.  One switch on the
// type: each case that needs the task looks it up itself (the lookup is
// inlined in each), so that an event is not tested for the types without
// task state first and then switched on again.
[[gnu::always_inline]] inline void Engine::Impl::dispatch(const dt_event &ev, bool slow) {
	// The task of ev, pid and comm refreshed, then handler(t, idx); the
	// type is not loaded again after task_at()'s stores.
	auto to = [&](auto handler) {
		uint32_t idx;
		TaskState *tp;
		if (!task_cached(ev, idx, tp)) {
			if (!slow)
				return process_rare(ev, true);
			idx = task_slow(ev);
			tp = last_task;
		}
		return handler(task_at(*tp, ev), idx);
	};
	switch (ev.type) {
	case DT_LOST:
		return process_rare(ev, false); // the time tests again: all false
	case DT_WB_RANGE_ENTER:
	case DT_WB_RANGE_EXIT:
		return w2_on_range(ev); // no task state: the walk is kept by tid
	case DT_FSYNC_ENTER:
	case DT_FSYNC_EXIT:
		return w2_on_fsync(ev);
	case DT_FAULT_ENTER:
		return to([&](TaskState &t, uint32_t idx) { return on_fault_enter(t, idx, ev); });
	case DT_FAULT_EXIT:
		return to([&](TaskState &t, uint32_t idx) { return on_fault_exit(t, idx, ev); });
	// Direct calls: a handler looked up through a member-function
	// pointer cost a call more per event.
	case DT_IOMAP:
		return to([&](TaskState &t, uint32_t) { return on_iomap(t, ev); });
	case DT_ZERO:
		return to([&](TaskState &t, uint32_t) { return on_zero(t, ev); });
	case DT_MKWRITE_ENTER:
		return to([&](TaskState &t, uint32_t) { return on_mkwrite_enter(t, ev); });
	case DT_MKWRITE_DIRTY:
		return to([&](TaskState &t, uint32_t) { return on_mkwrite_dirty(t, ev); });
	case DT_MKWRITE_EXIT:
		return to([&](TaskState &t, uint32_t) { return on_mkwrite_done(t, ev); });
	case DT_WB_ENTRY:
		return to([&](TaskState &t, uint32_t) { return on_wb_entry(t, ev); });
	case DT_BREAK_ENTER:
	case DT_BREAK_BUSY:
	case DT_BREAK_WAIT:
	case DT_BREAK_EXIT:
	case DT_BUSY_SCAN:
	case DT_REMOVE_ENTER:
	case DT_REMOVE_EXIT:
		return to([&](TaskState &t, uint32_t) { return on_removal_event(t, ev); });
	case DT_ENTRY_DELETE:
	case DT_ENTRY_DISASSOC:
		return to([&](TaskState &t, uint32_t) { return on_teardown_all(t, ev); });
	default:
		// A type no rule follows (none today): its task is still seen.
		if (ev.type != DT_NONE && ev.type < DT_TYPE_MAX)
			return to([](TaskState &, uint32_t) {});
		++st.invalid;
		return;
	}
}

// The handler of the event types that more than one rule follows (the
// faults': on_fault_enter() and on_fault_exit(), rules_t.cpp).  The rules'
// parts do not depend on each other's, nor on the in-fault bits (only a
// walk's start reads them): it ends in a tail call.
void Engine::Impl::on_teardown_all(TaskState &t, const dt_event &ev) {
	on_removal_event(t, ev);
	w2_on_teardown(ev);
}

void Engine::Impl::flush() {
	rb.release(UINT64_MAX, [this](const dt_event &ev) { process(ev); });
	w1_decide(UINT64_MAX); // the writer did not fault again in the rest of the trace
	for (uint32_t i = 0; i < removals.size(); ++i) {
		Removal &r = removals[i];
		if (!r.used)
			continue;
		TaskState *t = find_task(r.tid);
		if (t)
			finish_removal(*t, r, nullptr, true);
	}
	set_next_publish(0);
	for (auto &p : pending)
		publish(std::move(p.f));
	pending.clear();
	set_next_publish(UINT64_MAX);
}

void Engine::Impl::publish(Finding &&f) {
	++st.findings;
	if (f.uncertain)
		++st.uncertain_findings;
	if (cb)
		cb(f);
	out.push_back(std::move(f));
}

void Engine::Impl::maybe_publish() {
	if (released_ts < next_publish_ts)
		return;
	uint64_t next = UINT64_MAX;
	size_t w = 0;
	for (size_t i = 0; i < pending.size(); ++i) {
		Pending &p = pending[i];
		uint64_t due = p.f.window_end_ns + cfg.loss_grace_ns;
		if (due < p.f.window_end_ns)
			due = UINT64_MAX;
		if (!p.gap_sensitive || due <= released_ts) {
			if (p.gap_sensitive && !p.f.uncertain) {
				published_windows.emplace_back(p.dep_start, p.f.window_end_ns);
				if (published_windows.size() > 1024)
					published_windows.pop_front();
			}
			publish(std::move(p.f));
		} else {
			next = std::min(next, due);
			if (w != i)
				pending[w] = std::move(p);
			++w;
		}
	}
	pending.resize(w);
	set_next_publish(next);
}

// A finding is "gap sensitive" when it infers something from the absence
// or the order of events: a loss in [dep_start, window end] could have
// hidden the event that would make it harmless.  Those are marked
// uncertain (never dropped).  Findings that rest on one positive
// observation (L2: refcount > 1 at disassociation) are not.
void Engine::Impl::emit(Finding &&f, uint64_t dep_start, bool gap_sensitive) {
	if (gap_sensitive && !f.uncertain) {
		for (const auto &li : losses) {
			if (li.from < f.window_end_ns && li.to >= dep_start) {
				f.uncertain = true;
				f.uncertain_reason = li.late
					? "an event inside the window arrived later than the reorder window"
					: "events were lost during the window";
				break;
			}
		}
	}
	std::sort(f.evidence.begin(), f.evidence.end(),
		  [](const dt_event &a, const dt_event &b) { return a.ts < b.ts; });
	Pending p{std::move(f), dep_start, gap_sensitive};
	uint64_t due = gap_sensitive ? p.f.window_end_ns + cfg.loss_grace_ns : 0;
	set_next_publish(std::min(next_publish_ts, due));
	pending.push_back(std::move(p));
}

void Engine::Impl::near_miss(RaceClass c, uint64_t dev, uint64_t ino, uint64_t d) {
	if (d > cfg.near_miss_horizon_ns)
		return;
	++st.near_misses;
	nm.record(c, dev, ino, d);
}

// True when the trace says which hooks were attached and none of them
// emits any of the event types in `emits` (DT_E() bits): the registry,
// not a list per rule, says which hooks can show a fact.
bool Engine::Impl::hooks_missing(uint64_t emits) const {
	if (cfg.hooks_attached.none())
		return false; // unknown: assume attached
	for (const dtabi::HookInfo &h : dtabi::hooks())
		if ((h.emits & emits) && h.id < DT_HOOK_MAX && cfg.hooks_attached.test(h.id))
			return false;
	return true;
}

TaskRef Engine::Impl::task_ref(const dt_event &ev, const char *role) {
	TaskRef r;
	r.pid = ev.pid;
	r.tid = ev.tid;
	r.comm.assign(ev.comm, strnlen(ev.comm, DT_COMM_LEN));
	r.role = role;
	return r;
}

TaskRef Engine::Impl::task_ref(uint32_t tid, const char *role) {
	TaskRef r;
	r.tid = tid;
	r.role = role;
	if (TaskState *t = find_task(tid)) {
		r.pid = t->pid;
		r.comm.assign(t->comm, strnlen(t->comm, DT_COMM_LEN));
	}
	return r;
}

// ---------------------------------------------------------------- state

// The direct-mapped cache missed (inode_lookup() in engine_impl.h).
uint32_t Engine::Impl::inode_lookup_slow(uint64_t dev, uint64_t ino, uint64_t hi) {
	InodeKey k{dev, ino, hi};
	uint32_t &ce = icache[icache_index(k)];
	uint32_t *p = inode_hash.find(ikey_hash(k));
	if (p) {
		const InodeInfo &ii = inodes[*p];
		if (ii.dev == k.dev && ii.ino == k.ino && ii.hi == k.hi) {
			ce = *p + 1;
			return *p;
		}
	}
	if (inode_collide.empty())
		return kNoInode;
	auto it = inode_collide.find(k);
	if (it == inode_collide.end())
		return kNoInode;
	return it->second;
}

void Engine::Impl::inode_erase(const InodeKey &k) {
	uint32_t &ce = icache[icache_index(k)];
	if (ce) {
		const InodeInfo &ii = inodes[ce - 1];
		if (ii.dev == k.dev && ii.ino == k.ino && ii.hi == k.hi)
			ce = 0;
	}
	uint64_t h = ikey_hash(k);
	uint32_t *p = inode_hash.find(h);
	if (p) {
		const InodeInfo &ii = inodes[*p];
		if (ii.dev == k.dev && ii.ino == k.ino && ii.hi == k.hi) {
			inode_hash.erase(h);
			--inode_count;
			return;
		}
	}
	if (inode_collide.erase(k))
		--inode_count;
}

// A new inode id for k (inode_id() in engine_impl.h found none).
uint32_t Engine::Impl::inode_new(uint64_t dev, uint64_t ino, uint64_t hi) {
	InodeKey k{dev, ino, hi};
	uint32_t id = take_slot(inodes, inode_free);
	InodeInfo &ii = inodes[id];
	ii = InodeInfo{};
	ii.used = true;
	ii.dev = k.dev;
	ii.ino = k.ino;
	ii.hi = uint32_t(k.hi);
	bool ins = false;
	uint32_t &slot = inode_hash.get_or_insert(ikey_hash(k), &ins);
	if (ins)
		slot = id;
	else
		inode_collide.emplace(k, id);
	++inode_count;
	return id;
}

// The table's growth is a tail call away: the common path makes no call
// and saves no registers.
PageState &Engine::Impl::page_slow(uint64_t key) {
	bool ins;
	PageState *ps = pages.get_or_insert_in_place(key, ins);
	if (!ps) [[unlikely]]
		return page_grow(key);
	if (ins)
		++inodes[key >> 32].pages;
	last_pkey = key;
	last_ps = ps;
	return *ps;
}

[[gnu::noinline]] PageState &Engine::Impl::page_new_inode(uint64_t dev, uint64_t ino, uint64_t pgoff) {
	uint64_t key = page_key(dev, ino, pgoff);
	if (key == last_pkey)
		return *last_ps;
	return page_slow(key);
}

[[gnu::noinline]] PageState &Engine::Impl::page_grow(uint64_t key) {
	pages.grow();
	return page_slow(key);
}

PageState *Engine::Impl::find_page(uint64_t dev, uint64_t ino, uint64_t pgoff) {
	InodeKey k{dev, ino, pgoff >> 32};
	uint32_t id;
	if (k == last_ikey)
		id = last_iid;
	else if (!inode_lookup(k, id))
		return nullptr;
	uint64_t key = uint64_t(id) << 32 | (pgoff & 0xffffffffULL);
	if (key == last_pkey)
		return last_ps;
	PageState *ps = pages.find(key);
	if (ps) {
		last_pkey = key;
		last_ps = ps;
	}
	return ps;
}

// The task of an event whose tid neither the previous event nor the
// direct-mapped cache (task_cached() in engine_impl.h) knew: the hash
// table, the task created if new.  Returns its index; the cache and the
// last-task fields remember it.
uint32_t Engine::Impl::task_slow(const dt_event &ev) {
	uint64_t key = ev.tid ? ev.tid : ev.pid;
	uint32_t idx;
	if (!task_lookup(uint32_t(key), idx)) {
		bool ins = false;
		uint32_t &slot = task_ids.get_or_insert(key, &ins);
		if (ins) {
			uint32_t i = take_slot(tasks, task_free);
			if (i / 64 >= in_fault_bits.size())
				in_fault_bits.resize(i / 64 + 1);
			slot = i;
			tasks[i] = TaskState{};
			tasks[i].used = true;
			tasks[i].tid = uint32_t(key);
		}
		idx = slot;
		tcache[key & (kTCache - 1)] = idx + 1;
	}
	remember_task(ev, idx);
	return idx;
}

bool Engine::Impl::task_lookup(uint32_t tid, uint32_t &idx) {
	uint32_t c = tcache[tid & (kTCache - 1)];
	if (c && tasks[c - 1].used && tasks[c - 1].tid == tid) {
		idx = c - 1;
		return true;
	}
	uint32_t *i = task_ids.find(tid);
	if (!i)
		return false;
	idx = *i;
	tcache[tid & (kTCache - 1)] = idx + 1;
	return true;
}

// The common case (the ring in use, the event packed with its comm
// cached) makes no call; the rest is dirty_put_slow().
void Engine::Impl::dirty_put(const dt_event &ev) {
	size_t i = dirty_head % kDirtyRing;
	if (dirty_ring.empty() || !rb.pack_cached(ev, dirty_ring[i])) [[unlikely]]
		return dirty_put_slow(ev);
	++dirty_head;
	if (!dirty_full.empty()) [[unlikely]]
		dirty_full[i].type = DT_NONE;
}

[[gnu::noinline]] void Engine::Impl::dirty_put_slow(const dt_event &ev) {
	if (dirty_ring.empty())
		dirty_ring.resize(kDirtyRing);
	size_t i = dirty_head++ % kDirtyRing;
	if (rb.pack(ev, dirty_ring[i])) {
		if (!dirty_full.empty())
			dirty_full[i].type = DT_NONE;
		return;
	}
	if (dirty_full.empty())
		dirty_full.resize(kDirtyRing);
	dirty_full[i] = ev;
}

dt_event Engine::Impl::dirty_get(size_t i) const {
	if (!dirty_full.empty() && dirty_full[i].type)
		return dirty_full[i];
	dt_event ev;
	rb.unpack(dirty_ring[i], ev);
	return ev;
}

TaskState *Engine::Impl::find_task(uint32_t tid) {
	uint32_t i;
	return task_lookup(tid, i) ? &tasks[i] : nullptr;
}

// Retire idle state.  Pages: a slice of the table per call (amortised two
// slots per analysed event).  Tasks and inodes: whole scan, they are few.
void Engine::Impl::sweep() {
	if (released_ts <= cfg.idle_horizon_ns)
		return;
	uint64_t cutoff = released_ts - cfg.idle_horizon_ns;
	forget_last_page(); // the sweep erases and shifts slots
	sweep_cursor = pages.sweep(sweep_cursor, 2048, [&](uint64_t key, PageState &ps) {
		uint64_t last = std::max<uint64_t>(ps.map_ts(epoch), ps.w_ts(epoch) & ~1ULL);
		if (last >= cutoff)
			return false;
		InodeInfo &ii = inodes[key >> 32];
		if (ii.pages)
			--ii.pages;
		++st.retired_pages;
		return true;
	});
	if (sweep_cursor < 2048 && pages.capacity() > 4096 && pages.size() * 5 < pages.capacity())
		pages.shrink_to_fit(), sweep_cursor = 0;
	static_assert(sizeof(TaskState) > 0);
	if ((st.events_analysed & 0xffff) < 1024) {
		for (uint32_t i = 0; i < tasks.size(); ++i) {
			TaskState &t = tasks[i];
			if (!t.used || t.last_ts >= cutoff || t.removal >= 0 || t.mk_dirty)
				continue;
			task_ids.erase(t.tid);
			if (i == last_task_idx)
				last_task_pt = ~0ULL;
			set_in_fault(i, false);
			t.used = false;
			task_free.push_back(i);
		}
		for (uint32_t i = 0; i < inodes.size(); ++i) {
			InodeInfo &ii = inodes[i];
			if (!ii.used || ii.pages || ii.last_ts >= cutoff)
				continue;
			inode_erase(InodeKey{ii.dev, ii.ino, ii.hi});
			ii.used = false;
			inode_free.push_back(i);
		}
		last_ikey = ahead_ikey = InodeKey{~0ULL, ~0ULL, ~0ULL};
	}
}

// Move the epoch forward so that 48-bit offsets cannot overflow; offsets
// older than the new epoch become "ancient" (1, or 2|kind for W).
void Engine::Impl::rebase(uint64_t now) {
	uint64_t ne = (now - (1ULL << 46)) & ~1ULL;
	uint64_t delta = ne - epoch;
	pages.for_each_mut([&](uint64_t, PageState &ps) {
		uint64_t m = ps.a & kTsMask, w = ps.b & kTsMask;
		if (m)
			m = m > delta ? m - delta : 1;
		if (w)
			w = w > delta + 2 ? w - delta : (2 | (w & 1));
		ps.a = (ps.a & ~kTsMask) | m;
		ps.b = (ps.b & ~kTsMask) | w;
	});
	epoch = ne;
	set_rare_lim();
}

uint64_t Engine::Impl::memory_bytes() const {
	// rb and nm count their own object (sizeof included): not twice.
	uint64_t b = sizeof(*this) - sizeof(rb) - sizeof(nm);
	b += pages.memory_bytes();
	b += rb.memory_bytes();
	b += inodes.capacity() * sizeof(InodeInfo) + inode_free.capacity() * 4;
	// unordered_map: one node (key, value, next, cached hash) per entry + buckets
	b += inode_hash.memory_bytes() +
	     inode_collide.size() * (sizeof(InodeKey) + 4 + 2 * sizeof(void *)) +
	     inode_collide.bucket_count() * sizeof(void *);
	b += tasks.capacity() * sizeof(TaskState) + task_free.capacity() * 4 + task_ids.memory_bytes();
	b += removals.capacity() * sizeof(Removal) + removal_free.capacity() * 4;
	for (const auto &r : removals)
		b += r.deleted.capacity() * 16 + r.t1.capacity() * sizeof(Removal::T1Candidate) +
		     r.evidence.capacity() * sizeof(dt_event);
	b += mk_inflight.capacity() * 4 + in_fault_bits.capacity() * 8;
	b += wb_walks.capacity() * sizeof(WbWalk) + fsync_open.capacity() * 4 +
	     dirty_ring.capacity() * sizeof(ReorderBuffer::Slot) + dirty_full.capacity() * sizeof(dt_event);
	for (const auto &w : wb_walks)
		b += w.cands.capacity() * sizeof(WbWalk::Cand);
	b += zeros.capacity() * sizeof(ZeroRecord);
	b += losses.size() * sizeof(LossInterval) + lost_prev.size() * 32;
	b += published_windows.size() * 16;
	for (const auto &p : pending)
		b += sizeof(Pending) + p.f.evidence.capacity() * sizeof(dt_event);
	b += nm.memory_bytes();
	return b;
}

// ---------------------------------------------------------------- Engine

Engine::Engine(EngineConfig cfg) : impl_(std::make_unique<Impl>(cfg)) {}
Engine::~Engine() = default;

void Engine::push(const dt_event &ev) { impl_->push(ev); }
void Engine::push(const dt_event *ev, size_t n) {
	// A batch is read once, in order: its events are fetched a few ahead
	// (both lines of each), since every field of each is read at once.
	// The last few prefetches go past the batch, harmlessly (a prefetch
	// never faults), rather than test every event for the end.
	constexpr size_t kAhead = 8;
	Impl &m = *impl_;
	for (const dt_event *e = ev, *end = ev + n; e != end; ++e) {
		uintptr_t p = reinterpret_cast<uintptr_t>(e) + kAhead * sizeof(dt_event);
		__builtin_prefetch(reinterpret_cast<const void *>(p));
		__builtin_prefetch(reinterpret_cast<const void *>(p + sizeof(dt_event) - 1));
		m.push(*e);
	}
}
void Engine::flush() { impl_->flush(); }
void Engine::advance_to(uint64_t now_ns) {
	Impl &m = *impl_;
	if (now_ns > m.max_seen_ts)
		m.max_seen_ts = now_ns;
	if (m.max_seen_ts >= m.cfg.reorder_window_ns)
		m.release(m.max_seen_ts - m.cfg.reorder_window_ns);
}
void Engine::set_callback(std::function<void(const Finding &)> cb) { impl_->cb = std::move(cb); }
std::vector<Finding> Engine::take_findings() {
	std::vector<Finding> v;
	v.swap(impl_->out);
	return v;
}
const NearMissTable &Engine::near_misses() const { return impl_->nm; }
const EngineConfig &Engine::config() const { return impl_->cfg; }

EngineStats Engine::stats() const {
	EngineStats s = impl_->st;
	s.active_pages = impl_->pages.size();
	s.active_tasks = impl_->task_ids.size();
	s.active_inodes = impl_->inode_count;
	s.open_removals = impl_->open_removals;
	s.reorder_depth = impl_->rb.size();
	s.page_state_bytes = impl_->pages.memory_bytes();
	s.reorder_bytes = impl_->rb.memory_bytes();
	s.memory_bytes = impl_->memory_bytes();
	return s;
}

nlohmann::json to_json(const EngineStats &s) {
	return nlohmann::json{
		{"events_in", s.events_in},
		{"events_analysed", s.events_analysed},
		{"reordered", s.reordered},
		{"late", s.late},
		{"lost_markers", s.lost_markers},
		{"lost_events", s.lost_events},
		{"invalid", s.invalid},
		{"findings", s.findings},
		{"uncertain_findings", s.uncertain_findings},
		{"findings_before_late_loss", s.findings_before_late_loss},
		{"near_misses", s.near_misses},
		{"unmatched_zeroing", s.unmatched_zeroing},
		{"teardown_outside_removal", s.teardown_outside_removal},
		{"retired_pages", s.retired_pages},
		{"active_pages", s.active_pages},
		{"active_tasks", s.active_tasks},
		{"active_inodes", s.active_inodes},
		{"open_removals", s.open_removals},
		{"reorder_depth", s.reorder_depth},
		{"reorder_depth_max", s.reorder_depth_max},
		{"page_state_bytes", s.page_state_bytes},
		{"reorder_bytes", s.reorder_bytes},
		{"memory_bytes", s.memory_bytes},
	};
}

} // namespace daxtrace

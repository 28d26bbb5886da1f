// Engine internals shared by engine.cpp and the rules_*.cpp modules.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "daxtrace/engine.h"
#include "daxtrace/events.h"
#include "flat_map.h"
#include "reorder_buffer.h"

namespace daxtrace {

namespace detail {

// An index into `slots` for a new entry: a freed one if any, else a new
// default-constructed one at the end.  The caller resets and claims it.
template <typename T>
uint32_t take_slot(std::vector<T> &slots, std::vector<uint32_t> &free_list)
{
	if (!free_list.empty()) {
		uint32_t i = free_list.back();
		free_list.pop_back();
		return i;
	}
	slots.emplace_back();
	return uint32_t(slots.size() - 1);
}

// Per (dev, ino, page) state: a 24-byte slot (8-byte key + 16 bytes).
// Key = inode_id << 32 | (pgoff & 0xffffffff); the inode id also encodes
// pgoff >> 32, so files beyond 16 TiB simply use more inode ids.
// Timestamps are stored as 48-bit offsets from the engine's epoch (even,
// so bit 0 survives the conversion); 0 means "never".  The mapper's tid
// is split over the two top 16-bit fields.  Impl::rebase() moves the epoch
// before offsets could overflow (after ~39 hours of trace time).
inline constexpr uint64_t kTsMask = (1ULL << 48) - 1;
struct PageState {
	uint64_t a; // map offset (0 = not mapped / torn down) | tid low 16 << 48
	uint64_t b; // W offset: bit 0 = 1 mkwrite-dirty, 0 writeback | tid high 16 << 48

	bool mapped() const { return a & kTsMask; }
	uint64_t map_ts(uint64_t epoch) const {
		uint64_t r = a & kTsMask;
		return r ? r + epoch : 0;
	}
	uint32_t map_tid() const { return uint32_t(a >> 48) | uint32_t(b >> 48) << 16; }
	void set_map(uint64_t ts, uint64_t epoch, uint32_t tid) {
		uint64_t r = ts - epoch;
		a = (r ? r : 1) | uint64_t(tid & 0xffff) << 48;
		b = (b & kTsMask) | uint64_t(tid >> 16) << 48;
	}
	void clear_map() { a &= ~kTsMask; }
	// Last W event: absolute ts with the kind in bit 0, or 0.
	uint64_t w_ts(uint64_t epoch) const {
		uint64_t r = b & kTsMask;
		return r ? r + epoch : 0;
	}
	void set_w(uint64_t ts_kind, uint64_t epoch) {
		uint64_t r = ts_kind - epoch;
		if (r < 2)
			r = 2 | (ts_kind & 1);
		b = (b & ~kTsMask) | (r & kTsMask);
	}
};
static_assert(sizeof(PageState) == 16);
inline constexpr uint64_t kNoKey = ~0ULL;
// A slot per page, its key beside its state.  Not kept: the pages grouped
// four to a cache line behind an index of 16-byte slots, so that a
// writeback's neighbouring pages share a line, with a lookahead in two
// steps (the index's slot, then the group's line): 14% more instructions
// per event and ~13% slower (3 alternating rounds), the index's probe in
// the lookahead stalling where a prefetch does not.
using PageTable = FlatMap<uint64_t, PageState, kNoKey>;

struct InodeInfo {
	uint64_t dev = 0, ino = 0;
	uint32_t hi = 0;    // pgoff >> 32
	uint32_t pages = 0; // page-table entries referencing this id (< 2^32 by the key)
	uint64_t last_ts = 0;
	bool used = false;
	// The last completed removal on this inode (T near misses).
	bool rm_valid = false;
	uint32_t rm_tid = 0;
	uint64_t rm_exit_ts = 0, rm_lo = 0, rm_hi = 0;
};
static_assert(sizeof(InodeInfo) == 64);

struct InodeKey {
	uint64_t dev, ino, hi;
	bool operator==(const InodeKey &o) const { return dev == o.dev && ino == o.ino && hi == o.hi; }
};
struct InodeKeyHash {
	size_t operator()(const InodeKey &k) const {
		return mix64(k.dev * 0x9e3779b97f4a7c15ULL ^ k.ino ^ (k.hi << 40));
	}
};

// A removal bracket (DT_REMOVE_ENTER..EXIT) of one task, possibly nested
// (e.g. SWAP_BOOT -> PAGECACHE).  Exists only while the bracket is open.
struct Removal {
	bool used = false;
	uint32_t tid = 0, pid = 0;
	char comm[DT_COMM_LEN] = {};
	uint64_t dev = 0, ino = 0;
	uint16_t op = 0;
	uint8_t depth = 0;
	uint16_t ops[8] = {};
	uint64_t enter_ts = 0;
	// layout break by the remover
	bool break_entered = false, break_ok = false;
	uint64_t break_lo = 0, break_hi = 0, break_exit_ts = 0;
	bool busy_seen = false;
	uint64_t last_busy_ts = 0;
	// last "idle" answer of a busy scan / break (L3)
	bool idle_claim = false;
	uint64_t idle_ts = 0, idle_lo = 0, idle_hi = 0;
	bool near_recorded = false;
	// L1 / L3 aggregation (one finding per removal)
	bool l1 = false, l3 = false;
	uint64_t l1_lo = 0, l1_hi = 0, l1_first_ts = 0, l1_last_ts = 0;
	uint64_t l3_lo = 0, l3_hi = 0, l3_last_ts = 0, l3_idle_ts = 0;
	uint32_t l1_mapper_tid = 0, l3_max_ref = 0;
	// T1: the pages the removal's op covers (REMOVE_ENTER's range; no
	// length = to the end), and when it fenced faults off (its first
	// layout break: the fault lock is taken before it)
	uint64_t rm_lo = 0, rm_hi = UINT64_MAX, fence_ts = 0;
	// teardown record (T1): (pgoff, ts), capped
	std::vector<std::pair<uint64_t, uint64_t>> deleted;
	uint64_t deleted_overflow_lo = UINT64_MAX, deleted_overflow_hi = 0, deleted_overflow_ts = 0;
	struct T1Candidate {
		uint32_t tid;
		uint64_t pgoff, map_ts, delete_ts; // delete_ts: teardown of the page, or the fence
		bool fenced;                        // no teardown of the page seen: the fence
		dt_event fault_enter, fault_exit, delete_ev;
	};
	std::vector<T1Candidate> t1;
	// The removal's first kEvidenceHead events, then its last kEvidenceTail
	// as a ring whose oldest is at kEvidenceHead + evidence_tail_next once
	// events were omitted (not shifted down one per event: a page-by-page
	// teardown moved 15 events per deletion, 1.5% of live daxtrace's CPU
	// in a lab profile).  Read them with each_evidence() or
	// ordered_evidence().
	std::vector<dt_event> evidence;
	size_t evidence_tail_next = 0;
	uint64_t evidence_omitted = 0;

	void reset();
	// Keep the first 48 events and the last 16; BREAK_WAIT storms and
	// page-by-page teardown of big ranges are elided in the middle.
	static constexpr size_t kEvidenceHead = 48, kEvidenceTail = 16;
	void add_evidence(const dt_event &ev) {
		if (evidence.size() < kEvidenceHead + kEvidenceTail) {
			evidence.push_back(ev);
			return;
		}
		evidence[kEvidenceHead + evidence_tail_next] = ev;
		evidence_tail_next = (evidence_tail_next + 1) % kEvidenceTail;
		++evidence_omitted;
	}
	// The kept events in the order they came.
	template <typename Fn>
	void each_evidence(Fn &&fn) const {
		size_t n = evidence.size(), head = std::min(n, kEvidenceHead);
		for (size_t i = 0; i < head; ++i)
			fn(evidence[i]);
		for (size_t i = 0; i + head < n; ++i)
			fn(evidence[head + (evidence_tail_next + i) % kEvidenceTail]);
	}
	std::vector<dt_event> ordered_evidence() const {
		std::vector<dt_event> v;
		v.reserve(evidence.size());
		each_evidence([&v](const dt_event &e) { v.push_back(e); });
		return v;
	}
};

// The flags are grouped ahead of the events they qualify: no padding
// between them (one of these per task).
struct TaskState {
	bool used = false;
	// fault bracket
	bool in_fault = false, fault_has_iomap = false;
	// latest DT_IOMAP seen in this task (inside or outside a fault)
	bool has_iomap = false;
	// last completed mapping fault (Z1 evidence)
	bool has_last_map = false;
	// first-write fault (W)
	bool mk_active = false, mk_dirty = false;
	bool w1_cand = false;
	uint32_t tid = 0, pid = 0;
	char comm[DT_COMM_LEN] = {};
	uint64_t last_ts = 0;
	dt_event fault_enter{};
	dt_event iomap{};
	dt_event last_map_exit{}, last_map_iomap{};
	dt_event mk_enter{}, mk_dirty_ev{};
	dt_event w1_wb{};
	int32_t removal = -1; // index into Impl::removals
	// where this task's last zeroing went in Impl::zeros (in the padding
	// after `removal`; the record may have been replaced since)
	uint32_t zero_slot = 0;
	// this task's last zeroing (Z2 checks it first: the allocator zeroes
	// in the faulting task, whatever the other CPUs zero meanwhile)
	uint64_t zero_ts = 0, zero_dev = 0, zero_sector = 0, zero_len = 0;
};

// A recent zeroing (ring of the last kZeroRing).
struct ZeroRecord {
	uint64_t ts = 0, dev = 0, sector = 0, len = 0;
	uint32_t tid = 0;
};

// Which 2 MiB regions of the disk the zeroings in the ring touch, as
// counts per hashed region (a counting Bloom filter): a mapped page whose
// sector lies in no counted region cannot be covered by any of them, and
// the scan of the newest zeroings (the costliest part of every mapping) is
// skipped.  Conservative: hash collisions and zeroings of more than
// kMaxRegions regions ("wide") only make the scan happen.
struct ZeroFilter {
	// At most 64 records x 3 regions count in one bin: 8 bits suffice.
	static constexpr unsigned kBins = 512, kMaxRegions = 3, kShift = 12; // 4096 sectors
	uint8_t bins[kBins] = {};
	uint32_t wide = 0;

	static unsigned bin(uint64_t region) { return unsigned((region * 0x9e3779b97f4a7c15ULL) >> 55); }
	// The same end as the rules' coverage test (wrapping included).
	template <int Delta>
	void update(const ZeroRecord &z) {
		uint64_t end = z.sector + (z.len + 511) / 512;
		if (end <= z.sector)
			return; // covers nothing, whatever the sector
		uint64_t first = z.sector >> kShift, last = (end - 1) >> kShift;
		if (last - first >= kMaxRegions) {
			wide += Delta;
			return;
		}
		for (uint64_t r = first; r <= last; ++r)
			bins[bin(r)] += Delta;
	}
	void add(const ZeroRecord &z) { update<1>(z); }
	void remove(const ZeroRecord &z) { update<-1>(z); }
	bool may_cover(uint64_t sector) const { return wide || bins[bin(sector >> kShift)]; }
	// True if record z (in the ring, hence counted) accounts for the whole
	// count of sector's bin and nothing is wide: then no other record of
	// the ring can cover the sector.
	bool only(const ZeroRecord &z, uint64_t sector) const {
		if (wide)
			return false;
		unsigned b = bin(sector >> kShift);
		uint64_t end = z.sector + (z.len + 511) / 512;
		if (end <= z.sector)
			return false; // z counts nowhere
		unsigned own = 0;
		for (uint64_t r = z.sector >> kShift; r <= (end - 1) >> kShift; ++r)
			own += bin(r) == b;
		return bins[b] == own;
	}
};

// An open DAX writeback walk of one task (W2): DT_WB_RANGE_ENTER ..
// EXIT, the function and the tracepoint brackets nested in each other.
struct WbWalk {
	// Every field set once, from the walk's first event (value-initialising
	// the whole walk and then setting them cost twice the stores).
	WbWalk(const dt_event &ev, uint8_t hook, uint64_t first, uint64_t last)
	    : tid(ev.tid), dev(ev.dev), ino(ev.ino), lo(first), hi(last), hooks(hook), depth(1),
	      start_ts(ev.ts), enter(ev) {}

	uint32_t tid = 0;
	uint64_t dev = 0, ino = 0;
	uint64_t lo = 0, hi = UINT64_MAX; // pages [lo, hi]
	uint8_t hooks = 0;                // kWalkFn | kWalkTp entered
	uint8_t depth = 0;
	bool error = false;      // the function returned < 0 (fsync saw it)
	bool concurrent = false; // another walk of the inode overlapped
	uint64_t start_ts = 0;
	dt_event enter{};
	// A fault of another task on a page (entry) that was dirty before the
	// walk began, overlapping the walk; fault_exit.type == 0 while running.
	struct Cand {
		uint64_t lo, hi;
		dt_event fault_enter, fault_exit;
	};
	std::vector<Cand> cands;
	uint64_t cand_overflow = 0;
	static constexpr uint8_t kWalkFn = 1, kWalkTp = 2;
};

// An iomap that hands out an extent not written yet (unwritten or new).
inline bool is_fresh(const dt_event &io) {
	return io.iomap_type == DT_IOMAP_UNWRITTEN || (io.iomap_flags & DT_IOMAP_F_NEW);
}

// A fault's exit as the rules see it (m: a copy of the exit): inside a
// fault bracket, the file and the kind of fault come from its
// DT_FAULT_ENTER where the exit lacks them.
inline void fault_exit_as_seen(const TaskState &t, bool in_fault, dt_event &m) {
	if (!in_fault)
		return;
	if (!m.ino && !m.dev) {
		m.dev = t.fault_enter.dev;
		m.ino = t.fault_enter.ino;
	}
	m.flags |= t.fault_enter.flags & (DT_F_WRITE | DT_F_PMD);
}

struct LossInterval {
	uint64_t from, to; // events lost with ts in (from, to]
	bool late;         // a late event (beyond the window), not a DT_LOST
};

} // namespace detail

struct Engine::Impl {
	explicit Impl(EngineConfig c);

	// --- pipeline (engine.cpp)
	void push(const dt_event &ev);
	void push_late(const dt_event &ev);
	void release(uint64_t limit);
	void process(const dt_event &ev);
	void process_rare(const dt_event &ev, bool new_task);
	void dispatch(const dt_event &ev, bool slow);
	void on_teardown_all(detail::TaskState &t, const dt_event &ev);
	void prefetch(const detail::ReorderBuffer::Peek &ev);
	void flush();
	void maybe_publish();
	void publish(Finding &&f);
	void sweep();
	uint64_t memory_bytes() const;

	// --- shared helpers (engine.cpp)
	// The id of (dev, ino, pgoff >> 32), created if new.  Inlined: it is
	// on every page event's path, and its hits are a few compares.
	uint32_t inode_id(uint64_t dev, uint64_t ino, uint64_t pgoff) {
		detail::InodeKey k{dev, ino, pgoff >> 32};
		if (k == last_ikey)
			return last_iid;
		uint32_t id;
		if (!inode_lookup(k, id)) [[unlikely]]
			id = inode_new(dev, ino, k.hi);
		inodes[id].last_ts = released_ts;
		last_ikey = k;
		last_iid = id;
		return id;
	}
	// Scalars, not an InodeKey, for the calls out of line (here and
	// inode_lookup_slow()): the key then need not be built in memory on
	// the inline paths, which only compare it.
	uint32_t inode_new(uint64_t dev, uint64_t ino, uint64_t hi);
	uint64_t page_key(uint64_t dev, uint64_t ino, uint64_t pgoff) {
		return uint64_t(inode_id(dev, ino, pgoff)) << 32 | (pgoff & 0xffffffffULL);
	}
	// The page's state, created if new.  The inode's part inline (its
	// branches then learn each handler's pattern: a writeback's pages
	// share their inode, a fault's exit seldom has the previous event's);
	// an inode beyond the caches is page_new_inode(), whose answer is
	// returned as it is, so that nothing is kept across that call; and
	// the table's probe is page_slow(), which makes no call on its
	// common path.  (With the inode's lookup inlined and then going on,
	// the key's parts were kept across its call, and every page handler
	// saved and restored six registers for it.)
	detail::PageState &page(uint64_t dev, uint64_t ino, uint64_t pgoff) {
		detail::InodeKey k{dev, ino, pgoff >> 32};
		uint32_t id;
		if (k == last_ikey) {
			id = last_iid;
		} else if (icache_lookup(k, id)) [[likely]] {
			inodes[id].last_ts = released_ts;
			last_ikey = k;
			last_iid = id;
		} else {
			return page_new_inode(dev, ino, pgoff);
		}
		uint64_t key = uint64_t(id) << 32 | (pgoff & 0xffffffffULL);
		if (key == last_pkey)
			return *last_ps;
		return page_slow(key);
	}
	detail::PageState &page_new_inode(uint64_t dev, uint64_t ino, uint64_t pgoff);
	detail::PageState &page_slow(uint64_t key);
	detail::PageState &page_grow(uint64_t key);
	detail::PageState *find_page(uint64_t dev, uint64_t ino, uint64_t pgoff);
	// The page the previous page() or find_page() found or made: a page's
	// events come together (a write fault maps the page, then W2 marks it
	// dirty), and a hit saves the hash and the probe.  Valid while the
	// table keeps its slots in place: forgotten when it grows (page_slow()
	// sets it anew) and when entries are erased (sweep()).
	uint64_t last_pkey = detail::kNoKey;
	detail::PageState *last_ps = nullptr;
	void forget_last_page() { last_pkey = detail::kNoKey; }
	// The task of ev, if the previous event's (most events: a task's
	// events come in runs) or the direct-mapped cache (checked against the
	// task it names) has it.  task_slow() finds or makes any other.  The
	// previous event's task is known by the event's (pid, tid) pair as
	// one word, and kept as a pointer beside its index: the hit is a
	// compare and two loads.
	bool task_cached(const dt_event &ev, uint32_t &idx, detail::TaskState *&t) {
		static_assert(offsetof(dt_event, tid) == offsetof(dt_event, pid) + 4);
		uint64_t pt;
		memcpy(&pt, &ev.pid, sizeof(pt));
		if (pt == last_task_pt) [[likely]] {
			idx = last_task_idx;
			t = last_task;
			return true;
		}
		uint64_t key = ev.tid ? ev.tid : ev.pid;
		uint32_t c = tcache[key & (kTCache - 1)];
		if (!c || !tasks[c - 1].used || tasks[c - 1].tid != key)
			return false;
		idx = c - 1;
		t = remember_task(ev, idx);
		return true;
	}
	detail::TaskState *remember_task(const dt_event &ev, uint32_t idx) {
		memcpy(&last_task_pt, &ev.pid, sizeof(last_task_pt));
		last_task_idx = idx;
		last_task = &tasks[idx];
		return last_task;
	}
	// t, the task of ev: pid and comm refreshed.
	// (The comm last: its copy could alias ev, whose fields would be
	// loaded again after it.)
	detail::TaskState &task_at(detail::TaskState &t, const dt_event &ev) {
		t.last_ts = ev.ts;
		t.pid = ev.pid;
		if (ev.comm[0])
			memcpy(t.comm, ev.comm, DT_COMM_LEN);
		return t;
	}
	uint32_t task_slow(const dt_event &ev); // remembers it as the last task
	bool task_lookup(uint32_t tid, uint32_t &idx);
	detail::TaskState *find_task(uint32_t tid);
	detail::Removal *removal_of(detail::TaskState &t) {
		return t.removal >= 0 ? &removals[t.removal] : nullptr;
	}
	void emit(Finding &&f, uint64_t dep_start, bool gap_sensitive);
	void near_miss(RaceClass c, uint64_t dev, uint64_t ino, uint64_t distance);
	bool hooks_missing(uint64_t emits) const;
	static TaskRef task_ref(const dt_event &ev, const char *role);
	TaskRef task_ref(uint32_t tid, const char *role);

	// --- rules
	// The faults' handlers for all rules (idx: t's index; T's, W2's and
	// the in-fault bits).
	void on_fault_enter(detail::TaskState &t, uint32_t idx, const dt_event &ev); // rules_t.cpp
	[[gnu::noinline]] void on_fault_enter_full(detail::TaskState &t, const dt_event &ev); // rules_t.cpp
	void on_iomap(detail::TaskState &t, const dt_event &ev);        // rules_z.cpp
	// Ends in W2's part: w2_on_fault_exit_seen() given the exit as the
	// rules see it (TaskState::last_map_exit) if the fault mapped a
	// block, else w2_on_fault_exit(), which builds it.
	void on_fault_exit(detail::TaskState &t, uint32_t idx, const dt_event &ev); // rules_t.cpp
	void on_mapped(detail::TaskState &t, const dt_event &ev, uint64_t pg); // rules_t.cpp
	[[gnu::noinline]] void on_mapped_range(detail::TaskState &t, const dt_event &ev, uint64_t n); // rules_t.cpp
	[[gnu::noinline]] void t1_candidates(detail::TaskState &t, const dt_event &ev, uint64_t pg); // rules_t.cpp
	void check_z_on_map(detail::TaskState &t, const dt_event &ev, uint64_t pg); // rules_z.cpp
	[[gnu::noinline]] void z1_scan(const detail::TaskState &t, const dt_event &ev, uint64_t sector); // rules_z.cpp
	// Z2 judges write faults that mapped a fresh extent; the test, most
	// mappings' answer, inline (a call to it cost more than it).
	void check_z2(detail::TaskState &t, const dt_event &ev) {
		if ((ev.flags & DT_F_WRITE) && t.fault_has_iomap && detail::is_fresh(t.iomap))
			z2_on_fresh_map(t, ev);
	}
	void z2_on_fresh_map(detail::TaskState &t, const dt_event &ev); // rules_z.cpp
	void on_zero(detail::TaskState &t, const dt_event &ev);         // rules_z.cpp
	void on_mkwrite_enter(detail::TaskState &t, const dt_event &ev); // rules_w.cpp
	void on_mkwrite_dirty(detail::TaskState &t, const dt_event &ev); // rules_w.cpp
	void on_mkwrite_done(detail::TaskState &t, const dt_event &ev); // rules_w.cpp
	[[gnu::noinline]] void w1_candidate(const detail::TaskState &t, const dt_event &ev); // rules_w.cpp
	[[gnu::noinline]] void mkwrite_done_undirtied(const detail::TaskState &t, const dt_event &ev); // rules_w.cpp
	void on_wb_entry(detail::TaskState &t, const dt_event &ev);     // rules_w.cpp
	[[gnu::noinline]] void on_wb_entry_full(detail::TaskState &t, const dt_event &ev); // rules_w.cpp
	[[gnu::noinline]] bool w1_on_wb(const detail::TaskState &t, const dt_event &ev); // rules_w.cpp
	[[gnu::noinline]] void wb_clean_rest(const dt_event &ev, uint64_t n); // rules_w.cpp
	[[gnu::noinline]] void w2_on_wb(const dt_event &ev, uint64_t hi); // rules_w.cpp
	void w2_on_range(const dt_event &ev);                           // rules_w.cpp
	void w2_on_fsync(const dt_event &ev);                           // rules_w.cpp
	void w2_on_fault_enter(const dt_event &ev);                     // rules_w.cpp
	[[gnu::noinline]] void w2_on_fault_exit(detail::TaskState &t, const dt_event &ev, bool in_fault); // rules_w.cpp
	void w2_on_fault_exit_seen(const dt_event &m);                  // rules_w.cpp
	void w2_on_dirty(const dt_event &ev, uint64_t lo, uint64_t hi); // rules_w.cpp
	[[gnu::noinline]] void w2_on_dirty_range(const dt_event &ev, uint64_t lo, uint64_t hi); // rules_w.cpp
	void w2_mark_dirty(const dt_event &ev, uint64_t pg) {
		detail::PageState &ps = page(ev.dev, ev.ino, pg);
		uint64_t w = ps.w_ts(epoch);
		if (!(w & 1))
			ps.set_w(ev.ts | 1, epoch);
	}
	void w2_on_teardown(const dt_event &ev);                        // rules_w.cpp
	void w2_judge(detail::WbWalk &w, const dt_event &exit);         // rules_w.cpp
	void on_removal_event(detail::TaskState &t, const dt_event &ev);// rules_l.cpp
	void finish_removal(detail::TaskState &t, detail::Removal &r, const dt_event *exit, bool at_flush); // rules_l.cpp
	// T1's part of any event of a remover: only a removal with candidates
	// has one (inlined: most have none).
	void t1_on_remover_event(detail::Removal &r, const dt_event &ev) {
		if (!r.t1.empty()) [[unlikely]]
			t1_confirm(r, ev);
	}
	void t1_confirm(detail::Removal &r, const dt_event &ev);        // rules_t.cpp
	void t1_on_removal_exit(detail::Removal &r, const dt_event *exit); // rules_t.cpp
	void t1_on_teardown(detail::Removal &r, const dt_event &ev);    // rules_t.cpp

	EngineConfig cfg;
	EngineStats st;
	NearMissTable nm;
	std::function<void(const Finding &)> cb;
	std::vector<Finding> out;

	detail::ReorderBuffer rb;
	uint64_t max_seen_ts = 0;   // newest pushed
	uint64_t released_ts = 0;   // newest analysed ("now" for the rules); 0 = none yet

	detail::PageTable pages{1024};
	// The lookahead (prefetch()) pays for a page table that misses the
	// cache: below this size the table stays in it, and the lookahead's
	// work per event (an inode lookup, a hash) is all it adds.
	static constexpr size_t kLookaheadFromSlots = (size_t(1) << 20) / sizeof(detail::PageTable::Slot);
	uint64_t epoch = 0; // page-state timestamps are offsets from this (even)
	bool epoch_set = false;
	void rebase(uint64_t now);
	size_t sweep_cursor = 0;
	// Events analysed until the next sweep() (every kSweepEvery): counted
	// down, so that the test is the decrement's own result.
	static constexpr uint32_t kSweepEvery = 1024;
	uint32_t sweep_left = kSweepEvery;

	std::vector<detail::InodeInfo> inodes;
	std::vector<uint32_t> inode_free;
	// (dev, ino, pgoff>>32) -> id: a flat map keyed by a 64-bit hash of the
	// key (verified against inodes[id]); a hash collision between two live
	// keys (~2^-64) falls back to the exact map.
	detail::FlatMap<uint64_t, uint32_t, ~0ULL> inode_hash{64};
	std::unordered_map<detail::InodeKey, uint32_t, detail::InodeKeyHash> inode_collide;
	size_t inode_count = 0;
	static uint64_t ikey_hash(const detail::InodeKey &k) {
		uint64_t h = detail::mix64(k.dev * 0x9e3779b97f4a7c15ULL ^ detail::mix64(k.ino ^ (k.hi << 48)));
		return h == ~0ULL ? h - 1 : h;
	}
	// Direct-mapped cache in front of inode_hash (hot inodes, no hashing):
	// id + 1 (0 = empty), verified against inodes[id], which is hot anyway.
	static constexpr size_t kICache = 256;
	uint32_t icache[kICache] = {};
	// The device unscaled: its low bits are the minor number, which is
	// what tells two filesystems' inodes of one number apart (the
	// multiply cost two instructions on every lookup, twice per page
	// event).  Any index is correct: a hit is verified.
	static size_t icache_index(const detail::InodeKey &k) {
		return (k.ino ^ (k.ino >> 9) ^ k.dev ^ k.hi) & (kICache - 1);
	}
	// Inlined: the cache hit is most lookups (twice per page event, the
	// prefetch's and the rule's), and a call cost as much as the hit.
	bool inode_lookup(const detail::InodeKey &k, uint32_t &id) {
		if (icache_lookup(k, id)) [[likely]]
			return true;
		id = inode_lookup_slow(k.dev, k.ino, k.hi);
		return id != kNoInode;
	}
	bool icache_lookup(const detail::InodeKey &k, uint32_t &id) const {
		uint32_t ce = icache[icache_index(k)];
		if (ce) {
			const detail::InodeInfo &ii = inodes[ce - 1];
			// No test of ii.used: an entry is only ever made for a
			// live inode, at its own key's index, and inode_erase()
			// clears it there.
			if (ii.dev == k.dev && ii.ino == k.ino && ii.hi == k.hi) [[likely]] {
				id = ce - 1;
				return true;
			}
		}
		return false;
	}
	static constexpr uint32_t kNoInode = ~0u;
	uint32_t inode_lookup_slow(uint64_t dev, uint64_t ino, uint64_t hi); // kNoInode: none
	void inode_erase(const detail::InodeKey &k);
	detail::InodeKey last_ikey{~0ULL, ~0ULL, ~0ULL};
	uint32_t last_iid = 0;
	// The same for the lookahead (prefetch()), which runs kAhead events
	// ahead of the rules, usually in another operation.
	detail::InodeKey ahead_ikey{~0ULL, ~0ULL, ~0ULL};
	uint32_t ahead_iid = 0;

	std::vector<detail::TaskState> tasks;
	std::vector<uint32_t> task_free;
	detail::FlatMap<uint64_t, uint32_t, ~0ULL> task_ids{64};
	// The task of the previous event: a task's events come in runs
	// (enter, iomap, exit), so most lookups end here.  last_task_pt is
	// that event's pid and tid as one word (~0: none); last_task points
	// into tasks (set anew when the vector grows: task_slow()).
	uint64_t last_task_pt = ~0ULL;
	uint32_t last_task_idx = 0;
	detail::TaskState *last_task = nullptr;
	// Direct-mapped tid -> task index + 1 (0 = empty), in front of
	// task_ids; verified against the task it names.
	static constexpr size_t kTCache = 256;
	uint32_t tcache[kTCache] = {};
	// Which tasks (a bit per task index) are inside a fault bracket: W2
	// looks at them when a writeback walk begins, in index order, the
	// order a scan of the task table would visit them (scanning every
	// task cost a cache line each; a sorted index list cost an insert and
	// an erase per fault).  It has a bit for every task slot from the
	// slot's creation (task_slow()), so that setting one never grows it.
	std::vector<uint64_t> in_fault_bits;
	[[gnu::always_inline]] void set_in_fault(uint32_t idx, bool on) {
		size_t w = idx / 64;
		uint64_t m = 1ULL << (idx % 64);
		if (on)
			in_fault_bits[w] |= m;
		else
			in_fault_bits[w] &= ~m;
	}

	std::vector<detail::Removal> removals;
	std::vector<uint32_t> removal_free;
	uint32_t open_removals = 0;
	std::vector<uint32_t> mk_inflight; // tids with a dirtied, unfinished mkwrite
	// W1 candidates whose fault has completed, waiting to see whether the
	// writer's store faults again (rules_w.cpp); w1_deadline is the
	// earliest of their horizons.
	struct W1Await {
		uint32_t tid;
		uint64_t completion_ts, deadline;
		Finding f;
		uint64_t dep_start;
	};
	std::vector<W1Await> w1_await;
	uint64_t w1_deadline = UINT64_MAX;
	// process()'s one test for the rare work an event's time may bring:
	// ev.ts - epoch >= rare_lim when the epoch is due to move (more than
	// 2^47 ahead, or behind it) or a W1 deadline has passed.  Set anew
	// whenever the epoch or w1_deadline changes.
	uint64_t rare_lim = (1ULL << 47) + 1;
	void set_rare_lim() {
		uint64_t w = w1_deadline >= epoch ? w1_deadline - epoch : 0;
		rare_lim = std::min<uint64_t>((1ULL << 47) + 1, w);
		release_due = std::min(w1_deadline, next_publish_ts);
	}
	void w1_refault(const detail::TaskState &t, const dt_event &ev);
	void w1_decide(uint64_t now);
	std::vector<detail::WbWalk> wb_walks; // open writeback walks (W2)
	// Some open walk may hold candidates: set when one is added, cleared
	// by w2_on_wb() once none does, so that a writeback's entry need not
	// look at the walks (most hold none).
	bool wb_cands = false;
	std::vector<uint32_t> fsync_open;     // tids inside vfs_fsync_range (W2)
	// Recent dirtying events (write-fault / mkwrite completions), W2's
	// evidence for the page it finds skipped; the page state itself only
	// keeps the time.
	// Held compact (a reorder-buffer slot, comm interned); an event that
	// does not fit a slot is kept whole in dirty_full at the same index.
	static constexpr size_t kDirtyRing = 512;
	std::vector<detail::ReorderBuffer::Slot> dirty_ring;
	std::vector<dt_event> dirty_full; // allocated on the first such event
	size_t dirty_head = 0;
	void dirty_put(const dt_event &ev);
	void dirty_put_slow(const dt_event &ev);
	dt_event dirty_get(size_t i) const;

	static constexpr size_t kZeroRing = 64;
	std::vector<detail::ZeroRecord> zeros;
	size_t zero_head = 0, zero_count = 0;
	detail::ZeroFilter zero_filter; // over every record in the ring
	static_assert(kZeroRing * detail::ZeroFilter::kMaxRegions <= 255, "ZeroFilter bins are 8 bits");

	std::unordered_map<uint16_t, uint64_t> lost_prev; // cpu -> previous DT_LOST ts
	std::deque<detail::LossInterval> losses;

	struct Pending {
		Finding f;
		uint64_t dep_start;
		bool gap_sensitive;
	};
	std::vector<Pending> pending;
	// Windows of the last published gap-sensitive findings (dep start, end).
	std::deque<std::pair<uint64_t, uint64_t>> published_windows;
	uint64_t next_publish_ts = UINT64_MAX;
	// The same for release(): min(w1_deadline, next_publish_ts), set anew
	// whenever either changes (set_rare_lim(), set_next_publish()).
	uint64_t release_due = UINT64_MAX;
	void set_next_publish(uint64_t ts) {
		next_publish_ts = ts;
		release_due = std::min(w1_deadline, ts);
	}
};

} // namespace daxtrace

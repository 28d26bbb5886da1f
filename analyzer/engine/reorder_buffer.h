// Bounded reorder window.  Events from different CPUs arrive slightly out
// of timestamp order; they are held until the newest timestamp seen is
// `window` ahead of them, then released in (ts, arrival) order.
//
// Most events arrive in order: those go to a FIFO ring (O(1)).  Only an
// event older than the FIFO's tail goes to a binary heap (16-byte items
// pointing into a slab), so the cost of reordering is paid only by the
// events that need it.  Nothing is allocated per event once the buffers
// have grown to the window's size.
//
// A ring slot is the event itself (112 bytes), released by reference: the
// rules read it where it lies.  An earlier ring of 64-byte slots (comm
// interned, narrow fields, big events spilled to a side FIFO) streamed
// fewer bytes, but its encoding and decoding cost ~200 instructions per
// event, a third of the engine's work, while the copy in and the read in
// place are a few vector moves; the window (every event of the last
// 10 ms, 100k+ on a busy host) fits no cache in either form.  The compact
// form stays for state kept beyond the window (pack()/unpack()).
//
// Nor would a ring small enough for a cache pay by itself: the benchmark
// ran no faster with a 1 ms window (a ring of ~3.7 MB) than with 10 ms
// (measured again after the page table's layout changed, see below; only
// a 0.1 ms window, a ring that fits the L2 cache, ran faster: 5% beside
// a kernel build, ~27% beside a QEMU guest competing for memory), and
// non-temporal stores into the ring (sparing the cache) made it about a
// third slower.  Nor did a ring of 64 KiB segments whose tail took the
// segment the head had freed last (its lines just read, so that a push
// writes into the cache instead of fetching a line a window old): no
// faster (medians of 5 alternating rounds, 27.8 M events/s against the
// one array's 27.9, host load ~2), 2% more instructions; and with a
// straggler not allowed to slide across a segment (sent to the heap),
// the heap hardly ever emptied: 13% slower.  The ring is streamed, and
// the prefetches below keep up; what does miss is the page table, hit
// at random, which the consumer's lookahead prefetches (without it the
// benchmark ran at ~60%).
//
// With the lookahead the table's memory no longer costs: an engine that
// hashed each page's key and loaded its home slot, but kept the state in
// a few shared dummy slots, ran as fast as one with no table at all, both
// ~20% faster than the real one; what a page costs now is the probe's
// loop and the rules' branches on the page's state.  (Measured again: with
// the page's real lookup but the state kept in dummy slots the engine ran
// as fast as the real one, without the lookup a third faster: the probe
// is the cost.  Its loop is shorter since the table's home slots follow
// Fibonacci hashing, FlatMap::index(): 1.21 slots per lookup instead of
// 1.81 on the benchmark's pages.)  A probe that tested
// three slots without branches cost 15 instructions per event and was no
// faster; nor, within the ~5% noise of short A/B runs on a shared host,
// were a prefetch of the table into L1 (prefetcht0, not t2), a lookahead
// of 4 or 12 events instead of 8, the ring's slot prefetched 64 events
// ahead instead of 32, non-temporal prefetches of the input or the ring,
// or a prefetch of the W2 dirty ring's next slot.  (Without the rules,
// the reorder pipeline alone ran at ~3x the engine's rate.)  The
// prefetches that are left do pay, though the hardware sees sequential
// streams: without the input batch's (Engine::push()) or without the
// ring slot's for writing (push()), 2 instructions per event fewer, the
// benchmark ran 3-7% slower (medians of 3 alternating rounds, no guest
// running, load below 1).
// Nor did pushing a run of 16 or 64 events and releasing once after the
// run, instead of after every push: 10% fewer instructions per event
// (255 against 285 on the mix), yet 5-6% slower (medians of 6 and 8
// alternating rounds, load ~1).  Presumably the release that follows
// each push overlaps the ring head's and the page table's misses with
// the push's work, and a run released at once waits on them back to
// back.
// Nor can callgrind's branch model (--branch-sim) tell which branches
// mispredict: it aliases them by address, and after unrelated code moved
// it charged a test in Impl::process() that is never true with ~1 M
// mispredicts on the mix.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "big_array.h"
#include "daxtrace_abi.h"

namespace daxtrace::detail {

class ReorderBuffer {
public:
	ReorderBuffer() {
		ring_.reset(1024);
		head_slot_ = tail_slot_ = ring_.data();
		ring_end_ = ring_.data() + ring_.size();
		ring_bytes_ = ring_.size() * sizeof(dt_event);
	}

	size_t size() const { return size_t(ring_tail_ - ring_head_) + heap_.size(); }
	size_t memory_bytes() const {
		return ring_.memory_bytes() + heap_.capacity() * sizeof(HeapItem) +
		       slab_.capacity() * sizeof(dt_event) + free_.capacity() * sizeof(uint32_t) +
		       comms_.capacity() * sizeof(Comm) +
		       comm_ids_.size() * (sizeof(std::string) + DT_COMM_LEN + 4 + 2 * sizeof(void *)) +
		       comm_ids_.bucket_count() * sizeof(void *) + sizeof(*this);
	}

	// What the consumer may look at before an event's release (prefetch).
	struct Peek {
		uint16_t type;
		uint64_t dev, ino, pgoff;
	};

	// Returns size() after the push.  The in-order path works on copies
	// of the ring's ends: the event's store could alias them otherwise,
	// and they were loaded again after it.
	size_t push(const dt_event &ev) {
		uint64_t tail = ring_tail_, head = ring_head_;
		if (tail == head || ev.ts >= ring_tail_ts_) {
			if (tail - head == ring_.size()) [[unlikely]]
				grow_ring();
			dt_event *slot = tail_slot_, *const end = ring_end_;
			// The slot a few pushes on, for writing (both of its
			// lines).  Near the ring's end, past it, not wrapped: a
			// prefetch never faults, and a few missed ones per lap
			// cost less than a wrap test per push.
			uintptr_t ahead = reinterpret_cast<uintptr_t>(slot) + 8 * sizeof(dt_event);
			__builtin_prefetch(reinterpret_cast<const void *>(ahead), 1);
			__builtin_prefetch(reinterpret_cast<const void *>(ahead + 64), 1);
			*slot = ev;
			tail_slot_ = wrap(slot + 1, end);
			ring_tail_ = ++tail;
			ring_tail_ts_ = ev.ts;
			return size_t(tail - head) + heap_n_;
		}
		push_out_of_order(ev);
		return size_t(ring_tail_ - ring_head_) + heap_n_;
	}

	// Kept out of line: only the few stragglers come here, and the
	// in-order path above stays small enough to inline into the engine.
	[[gnu::noinline]] bool push_out_of_order(const dt_event &ev) {
		// Not beside a straggler of the same timestamp in the heap: so
		// every ring event of a heap event's timestamp arrived before
		// it, and ties between the two go to the ring without arrival
		// numbers.  (The heap's events are old; slid ones are recent.)
		if ((heap_.empty() || ev.ts > heap_max_ts_) && insert_near_tail(ev))
			return true;
		return push_to_heap(ev);
	}

	// Out of line, a tail call: the slide into the ring (the common
	// straggler) then sets up no frame.
	[[gnu::noinline]] bool push_to_heap(const dt_event &ev) {
		heap_max_ts_ = std::max<uint64_t>(heap_max_ts_, ev.ts);
		uint32_t slot;
		if (!free_.empty()) {
			slot = free_.back();
			free_.pop_back();
		} else {
			slot = uint32_t(slab_.size());
			slab_.emplace_back();
		}
		slab_[slot] = ev;
		heap_.push_back(HeapItem{ev.ts, heap_seq_++, slot});
		std::push_heap(heap_.begin(), heap_.end(), later);
		++heap_n_;
		return true;
	}

	// Oldest timestamp held; only valid if size() > 0.
	uint64_t min_ts() const {
		if (ring_tail_ == ring_head_)
			return heap_.front().ts;
		uint64_t r = ring_[ring_head_ & (ring_.size() - 1)].ts;
		if (heap_.empty())
			return r;
		return std::min<uint64_t>(r, heap_.front().ts);
	}

	// Release, in order, every event with ts <= limit.  `ahead` is called
	// for the in-order event kAhead positions further, so the consumer can
	// prefetch the state it will need (hash-table slots are cache misses).
	// fn gets the event where it lies (valid until it returns).
	//
	// Inlined into the engine's push loop: in steady state every push
	// releases about one event, and a call per push (its prologue, the
	// members reloaded into registers) cost more than the release itself.
	// Only the rare case with stragglers in the heap goes out of line.
	static constexpr size_t kAhead = 8;
	template <typename Fn, typename Ahead>
	[[gnu::always_inline]] void release(uint64_t limit, Fn &&fn, Ahead &&ahead) {
		if (!heap_.empty()) [[unlikely]] {
			// By value: the callables are a pointer or two, and passed
			// by reference they were built in memory on every call.
			release_merging(limit, fn, ahead);
			return;
		}
		release_ring(limit, fn, ahead);
	}

	template <typename Fn>
	void release(uint64_t limit, Fn &&fn) {
		release(limit, fn, [](const Peek &) {});
	}

	// The compact form of an event, one cache line: comm interned, the
	// narrow fields stored narrow.  Only for events that fit (pack()).
	// The head (ts .. tid) and ino, pgoff keep the event's own layout, so
	// that they move as a few wide words instead of field by field.
	struct alignas(64) Slot {
		unsigned char head[24]; // dt_event bytes [0, 24): ts, type, hook, cpu, op, pid, tid
		uint64_t ino, pgoff;
		uint32_t dev, nr_pages;
		int32_t ret;
		uint32_t flags;
		uint16_t refcount, comm;
		uint8_t iomap_type8, iomap_flags8;
	};
	static constexpr size_t kSlotHead = offsetof(dt_event, dev);
	static_assert(kSlotHead == sizeof(Slot::head) && offsetof(dt_event, pgoff) == offsetof(dt_event, ino) + 8);

	// The compact form for events kept beyond the window (comms interned
	// in this buffer's table): false, slot untouched, if ev does not fit.
	// A value-initialised slot unpacks to a zero event.
	bool pack(const dt_event &ev, Slot &s) { return encode<true>(s, ev); }
	// The same, but false also when ev's comm is not among the recently
	// interned ones (pack() then interns it): no call on its way, so that
	// a caller can keep its common path free of one.
	bool pack_cached(const dt_event &ev, Slot &s) { return encode<false>(s, ev); }
	void unpack(const Slot &s, dt_event &ev) const {
		if (s.comm >= comms_.size()) {
			ev = dt_event{};
			return;
		}
		decode(s, ev);
	}

private:
	// The ring's events with ts <= limit, in order.  The ring's bounds
	// and the count it holds in locals: the consumer does not push from
	// inside fn, so they stay put, and the compiler need not load them
	// again after every call it cannot see into.  The slots are walked by
	// pointer from head_slot_, wrapping at the end, and ring_head_ and
	// head_slot_ are written once, after the walk (fn does not read
	// them): no index is scaled by the slot's size per event, nor per
	// release.  Once per slot, when it is released, the consumer looks
	// kAhead slots further.
	template <typename Fn, typename Ahead>
	[[gnu::always_inline]] void release_ring(uint64_t limit, Fn &fn, Ahead &ahead) {
		const uint64_t tail = ring_tail_;
		uint64_t n = tail - ring_head_;
		if (!n)
			return;
		dt_event *e = head_slot_;
		if (e->ts > limit)
			return;
		dt_event *const end = ring_end_;
		do {
			// Not tested against the tail: with fewer than kAhead
			// events held (a quiet stream, where time does not
			// matter), the slot peeked at holds an event released
			// before, or zeros, and its lookahead is merely wasted.
			const dt_event *a = wrap(e + kAhead, end);
			ahead(Peek{a->type, a->dev, a->ino, a->pgoff});
			// the slot ahead's own lines, before it is peeked at
			// (not wrapped, as push()'s)
			uintptr_t p = reinterpret_cast<uintptr_t>(e) + 4 * kAhead * sizeof(dt_event);
			__builtin_prefetch(reinterpret_cast<const void *>(p));
			__builtin_prefetch(reinterpret_cast<const void *>(p + 64));
			fn(*e);
			e = wrap(e + 1, end);
		} while (--n && e->ts <= limit);
		ring_head_ = tail - n;
		head_slot_ = e;
	}

	// p, less than a ring's length past its end, back into the ring: in
	// bytes, a member, so that no slot count is scaled by the slot's size.
	template <typename T>
	T *wrap(T *p, const dt_event *end) const {
		if (p < end)
			return p;
		return reinterpret_cast<T *>(reinterpret_cast<uintptr_t>(p) - ring_bytes_);
	}

	// The ring and the heap of stragglers merged by (ts, arrival): the
	// ring's events up to the heap's oldest go first (on equal timestamps
	// the ring's event arrived first, see push_out_of_order()), then that
	// one.
	template <typename Fn, typename Ahead>
	[[gnu::noinline]] void release_merging(uint64_t limit, Fn fn, Ahead ahead) {
		while (!heap_.empty()) {
			uint64_t oldest = heap_.front().ts;
			release_ring(std::min(limit, oldest), fn, ahead);
			if (oldest > limit)
				return;
			uint32_t slot = heap_.front().slot;
			std::pop_heap(heap_.begin(), heap_.end(), later);
			heap_.pop_back();
			--heap_n_;
			fn(static_cast<const dt_event &>(slab_[slot]));
			free_.push_back(slot);
		}
		release_ring(limit, fn, ahead);
	}

	// Stragglers are mostly a few events late (two CPUs' events trading
	// places): such an event is slid into the ring just before the newer
	// events, which keeps the ring sorted by (ts, arrival) and saves the
	// heap.
	static constexpr size_t kMaxSlide = 32;
	// The slots are walked by pointer, as in push() and release_ring(),
	// not by index (each index was scaled by the slot's size).
	bool insert_near_tail(const dt_event &ev) {
		const uint64_t held = ring_tail_ - ring_head_;
		if (held == ring_.size())
			return false;
		dt_event *const begin = ring_.data(), *const end = ring_end_;
		// k: how many of the newest events ev goes before
		uint64_t k = 0;
		for (dt_event *p = tail_slot_; k != held; ++k) {
			p = (p == begin ? end : p) - 1;
			if (p->ts <= ev.ts)
				break;
			if (k >= kMaxSlide)
				return false;
		}
		dt_event *dst = tail_slot_;
		for (uint64_t i = 0; i < k; ++i) {
			dt_event *src = (dst == begin ? end : dst) - 1;
			*dst = *src;
			dst = src;
		}
		*dst = ev;
		++ring_tail_;
		tail_slot_ = wrap(tail_slot_ + 1, end);
		return true;
	}

	static_assert(sizeof(Slot) == 64);
	struct Comm {
		char c[DT_COMM_LEN];
	};
	struct CommCache {
		uint32_t tid = ~0u;
		uint16_t id = 0;
		char c[DT_COMM_LEN] = {};
	};
	static constexpr size_t kCommCache = 256, kMaxComms = 65535;

	// 16 bytes, so that size() divides by a power of two.  seq numbers
	// the heap's events in arrival order (ties between them); its low 32
	// bits suffice while fewer than 2^31 stragglers are held.
	struct HeapItem {
		uint64_t ts;
		uint32_t seq;
		uint32_t slot;
	};
	static_assert(sizeof(HeapItem) == 16);
	static bool later(const HeapItem &a, const HeapItem &b) {
		return a.ts > b.ts || (a.ts == b.ts && int32_t(a.seq - b.seq) > 0);
	}

	// Interned id of ev's comm; false if the table is full (or, unless
	// Intern, if the cache does not have it).  The cache hit (the task's
	// comm as last seen) is inlined: it is nearly every call.
	template <bool Intern>
	[[gnu::always_inline]] bool comm_id(const dt_event &ev, uint16_t &id) {
		CommCache &c = comm_cache_[(ev.tid ^ (ev.tid >> 8)) & (kCommCache - 1)];
		if (c.tid == ev.tid && memcmp(c.c, ev.comm, DT_COMM_LEN) == 0) [[likely]] {
			id = c.id;
			return true;
		}
		return Intern && comm_id_slow(ev, c, id);
	}
	[[gnu::noinline]] bool comm_id_slow(const dt_event &ev, CommCache &c, uint16_t &id) {
		std::string key(ev.comm, DT_COMM_LEN);
		auto it = comm_ids_.find(key);
		if (it == comm_ids_.end()) {
			if (comms_.size() >= kMaxComms)
				return false;
			Comm n;
			memcpy(n.c, ev.comm, DT_COMM_LEN);
			comms_.push_back(n);
			it = comm_ids_.emplace(std::move(key), uint16_t(comms_.size() - 1)).first;
		}
		c.tid = ev.tid;
		c.id = it->second;
		memcpy(c.c, ev.comm, DT_COMM_LEN);
		id = c.id;
		return true;
	}

	// Returns false (slot untouched) if the event does not fit.
	template <bool Intern>
	[[gnu::always_inline]] bool encode(Slot &s, const dt_event &ev) {
		uint16_t cid;
		bool fits = (((ev.dev | ev.nr_pages) >> 32) | (ev.refcount >> 16) |
			     ((ev.iomap_type | ev.iomap_flags) >> 8) | ev.block | ev.len | ev.reserved) == 0 &&
			    ev.ret == int64_t(int32_t(ev.ret)) && comm_id<Intern>(ev, cid);
		if (!fits)
			return false;
		memcpy(s.head, &ev, kSlotHead);
		memcpy(&s.ino, &ev.ino, 16); // ino, pgoff
		s.dev = uint32_t(ev.dev);
		s.nr_pages = uint32_t(ev.nr_pages);
		s.ret = int32_t(ev.ret);
		s.flags = ev.flags;
		s.refcount = uint16_t(ev.refcount);
		s.comm = cid;
		s.iomap_type8 = uint8_t(ev.iomap_type);
		s.iomap_flags8 = uint8_t(ev.iomap_flags);
		return true;
	}

	void decode(const Slot &s, dt_event &ev) const {
		memcpy(&ev, s.head, kSlotHead);
		ev.dev = s.dev;
		memcpy(&ev.ino, &s.ino, 16);
		ev.nr_pages = s.nr_pages;
		ev.block = 0;
		ev.len = 0;
		ev.ret = s.ret;
		ev.flags = s.flags;
		ev.refcount = s.refcount;
		ev.iomap_type = s.iomap_type8;
		ev.iomap_flags = s.iomap_flags8;
		ev.reserved = 0;
		memcpy(ev.comm, comms_[s.comm].c, DT_COMM_LEN);
	}

	// Slots are addressed by absolute position & mask; growing keeps that
	// mapping.  The events move in runs contiguous in both arrays (three
	// at most), not one by one: the ring is full, tens of MB once the
	// window holds 100k+ events.
	[[gnu::noinline]] void grow_ring() {
		BigArray<dt_event> n(ring_.size() * 2);
		for (uint64_t i = ring_head_; i != ring_tail_;) {
			size_t from = i & (ring_.size() - 1), to = i & (n.size() - 1);
			size_t len = std::min<uint64_t>({ring_tail_ - i, ring_.size() - from, n.size() - to});
			memcpy(&n[to], &ring_[from], len * sizeof(dt_event));
			i += len;
		}
		ring_.swap(n);
		head_slot_ = &ring_[ring_head_ & (ring_.size() - 1)];
		tail_slot_ = &ring_[ring_tail_ & (ring_.size() - 1)];
		ring_end_ = ring_.data() + ring_.size();
		ring_bytes_ = ring_.size() * sizeof(dt_event);
	}

	BigArray<dt_event> ring_;
	uint64_t ring_head_ = 0, ring_tail_ = 0;
	// &ring_[ring_head_ & mask], the same for the tail, and the ring's
	// end: push() and release_ring() find their slot without scaling an
	// index by the slot's size.
	dt_event *head_slot_ = nullptr, *tail_slot_ = nullptr, *ring_end_ = nullptr;
	uintptr_t ring_bytes_ = 0; // the ring's length in bytes (wrap())
	uint64_t ring_tail_ts_ = 0;
	std::vector<Comm> comms_;
	std::unordered_map<std::string, uint16_t> comm_ids_;
	CommCache comm_cache_[kCommCache];
	std::vector<HeapItem> heap_;
	size_t heap_n_ = 0; // heap_.size(), one load for push()'s answer
	std::vector<dt_event> slab_;
	std::vector<uint32_t> free_;
	uint32_t heap_seq_ = 0;    // arrival number of the heap's next straggler
	uint64_t heap_max_ts_ = 0; // newest timestamp that went to the heap
};

} // namespace daxtrace::detail

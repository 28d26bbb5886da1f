// Bounded reorder window.  Events from different CPUs arrive slightly out
// of timestamp order; they are held until the newest timestamp seen is
// `window` ahead of them, then released in (ts, arrival) order.
//
// Most events arrive in order: those go to a FIFO ring (O(1)).  Only an
// event older than the FIFO's tail goes to a binary heap (16-byte items
// pointing into a slab), so the cost of reordering is paid only by the
// events that need it.  Nothing is allocated per event once the buffers
// have grown to the window's size.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "daxtrace_abi.h"

namespace daxtrace::detail {

class ReorderBuffer {
public:
	ReorderBuffer() { ring_.resize(1024); }

	size_t size() const { return ring_count_ + heap_.size(); }
	size_t memory_bytes() const {
		return ring_.capacity() * sizeof(Entry) + heap_.capacity() * sizeof(HeapItem) +
		       slab_.capacity() * sizeof(Entry) + free_.capacity() * sizeof(uint32_t);
	}

	// Returns true if the event went out of order (into the heap).
	bool push(const dt_event &ev) {
		uint64_t seq = seq_++;
		if (ring_count_ == 0 || ev.ts >= ring_tail_ts_) {
			if (ring_count_ == ring_.size())
				grow_ring();
			size_t i = (ring_head_ + ring_count_) & (ring_.size() - 1);
			ring_[i].ev = ev;
			ring_[i].seq = seq;
			++ring_count_;
			ring_tail_ts_ = ev.ts;
			return false;
		}
		uint32_t slot;
		if (!free_.empty()) {
			slot = free_.back();
			free_.pop_back();
		} else {
			slot = uint32_t(slab_.size());
			slab_.emplace_back();
		}
		slab_[slot].ev = ev;
		slab_[slot].seq = seq;
		heap_.push_back(HeapItem{ev.ts, seq, slot});
		std::push_heap(heap_.begin(), heap_.end(), later);
		return true;
	}

	// Oldest timestamp held; only valid if size() > 0.
	uint64_t min_ts() const {
		if (ring_count_ == 0)
			return heap_.front().ts;
		if (heap_.empty())
			return ring_[ring_head_].ev.ts;
		return std::min<uint64_t>(ring_[ring_head_].ev.ts, heap_.front().ts);
	}

	// Release, in order, every event with ts <= limit.  `ahead` is called
	// for the in-order event kAhead positions further, so the consumer can
	// prefetch the state it will need (hash-table slots are cache misses).
	static constexpr size_t kAhead = 8;
	template <typename Fn, typename Ahead>
	void release(uint64_t limit, Fn &&fn, Ahead &&ahead) {
		for (;;) {
			if (ring_count_ > kAhead)
				ahead(ring_[(ring_head_ + kAhead) & (ring_.size() - 1)].ev);
			bool have_ring = ring_count_ && ring_[ring_head_].ev.ts <= limit;
			bool have_heap = !heap_.empty() && heap_.front().ts <= limit;
			if (!have_ring && !have_heap)
				return;
			bool take_ring = have_ring;
			if (have_ring && have_heap) {
				const Entry &r = ring_[ring_head_];
				const HeapItem &h = heap_.front();
				take_ring = r.ev.ts < h.ts || (r.ev.ts == h.ts && r.seq < h.seq);
			}
			if (take_ring) {
				fn(ring_[ring_head_].ev);
				ring_head_ = (ring_head_ + 1) & (ring_.size() - 1);
				--ring_count_;
			} else {
				uint32_t slot = heap_.front().slot;
				std::pop_heap(heap_.begin(), heap_.end(), later);
				heap_.pop_back();
				fn(slab_[slot].ev);
				free_.push_back(slot);
			}
		}
	}

	template <typename Fn>
	void release(uint64_t limit, Fn &&fn) {
		release(limit, fn, [](const dt_event &) {});
	}

private:
	struct Entry {
		dt_event ev;
		uint64_t seq;
	};
	struct HeapItem {
		uint64_t ts;
		uint64_t seq;
		uint32_t slot;
	};
	static bool later(const HeapItem &a, const HeapItem &b) {
		return a.ts > b.ts || (a.ts == b.ts && a.seq > b.seq);
	}
	void grow_ring() {
		std::vector<Entry> n(ring_.size() * 2);
		for (size_t i = 0; i < ring_count_; ++i)
			n[i] = ring_[(ring_head_ + i) & (ring_.size() - 1)];
		ring_.swap(n);
		ring_head_ = 0;
	}

	std::vector<Entry> ring_;
	size_t ring_head_ = 0, ring_count_ = 0;
	uint64_t ring_tail_ts_ = 0;
	std::vector<HeapItem> heap_;
	std::vector<Entry> slab_;
	std::vector<uint32_t> free_;
	uint64_t seq_ = 0;
};

} // namespace daxtrace::detail

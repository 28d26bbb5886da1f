// Open-addressing hash map (linear probing, backward-shift deletion) for
// small POD keys and values.  No per-insert allocation: memory is one array
// that doubles when the load factor exceeds 0.8 and halves when it falls
// below 0.2 (on explicit shrink_to_fit()).  Used for the per-page state,
// where sizeof(Slot) * capacity / size is the honest cost of a page.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include "big_array.h"

namespace daxtrace::detail {

inline uint64_t mix64(uint64_t x) {
	// splitmix64 finaliser: a full mix (the inode keys' hash).
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

// Key must be an unsigned integer type; `Empty` is a reserved key value.
template <typename Key, typename Value, Key Empty>
class FlatMap {
public:
	struct Slot {
		Key key;
		Value val;
	};

	explicit FlatMap(size_t initial = 64) { rehash(round_up(initial)); }

	size_t size() const { return size_; }
	size_t capacity() const { return slots_.size(); }
	size_t memory_bytes() const { return slots_.memory_bytes(); }

	// Start loading the slot k hashes to (used a few events ahead) and
	// the next one, where the few probes that go on end (index()): the
	// line of the slot's last byte too, as a 24-byte slot may straddle
	// two.
	void prefetch(Key k) const {
		const char *p = reinterpret_cast<const char *>(&slots_[index(k)]);
		__builtin_prefetch(p, 1, 1);
		__builtin_prefetch(p + 2 * sizeof(Slot) - 1, 1, 1);
	}

	Value *find(Key k) {
		size_t i = index(k);
		for (;;) {
			Slot &s = slots_[i];
			if (s.key == k)
				return &s.val;
			if (s.key == Empty)
				return nullptr;
			i = (i + 1) & mask_;
		}
	}

	// Returns the value for k, inserting a value-initialised one if absent.
	// `inserted` tells which.  Invalidates pointers to other values.
	Value &get_or_insert(Key k, bool *inserted = nullptr) {
		bool ins = false;
		Value *v = get_or_insert_in_place(k, ins);
		if (!v) {
			grow();
			v = get_or_insert_in_place(k, ins);
		}
		if (inserted)
			*inserted = ins;
		return *v;
	}

	// The same, unless the table is due to grow first (the load factor
	// would exceed 0.8): then nullptr, and the caller calls grow() and
	// asks again.  For callers that keep the growth out of their common
	// path, which then makes no call.
	Value *get_or_insert_in_place(Key k, bool &inserted) {
		if (size_ >= grow_at_)
			return nullptr;
		size_t i = index(k);
		for (;;) {
			Slot &s = slots_[i];
			if (s.key == k) {
				inserted = false;
				return &s.val;
			}
			if (s.key == Empty) {
				s.key = k;
				s.val = Value{};
				++size_;
				inserted = true;
				return &s.val;
			}
			i = (i + 1) & mask_;
		}
	}
	[[gnu::noinline]] void grow() { rehash(capacity() * 2); }

	bool erase(Key k) {
		size_t i = index(k);
		for (;;) {
			if (slots_[i].key == k) {
				erase_at(i);
				return true;
			}
			if (slots_[i].key == Empty)
				return false;
			i = (i + 1) & mask_;
		}
	}

	// Visit slots [from, from+n) (wrapping); fn(key, value) returns true to
	// erase the entry.  Returns the next cursor.  Backward-shift deletion may
	// move a not-yet-visited entry behind the cursor; it is then visited on
	// the next pass, which is fine for idle sweeps.
	template <typename Fn>
	size_t sweep(size_t from, size_t n, Fn &&fn) {
		if (n > capacity())
			n = capacity();
		size_t i = from & mask_;
		for (size_t done = 0; done < n; ++done) {
			Slot &s = slots_[i];
			if (s.key != Empty && fn(s.key, s.val)) {
				erase_at(i);
				// slot i now holds a shifted entry (or is empty): look again
				if (slots_[i].key != Empty && done + 1 < n)
					continue;
			}
			i = (i + 1) & mask_;
		}
		return i;
	}

	template <typename Fn>
	void for_each_mut(Fn &&fn) {
		for (size_t i = 0, n = capacity(); i < n; ++i)
			if (slots_[i].key != Empty)
				fn(slots_[i].key, slots_[i].val);
	}

	template <typename Fn>
	void for_each(Fn &&fn) const {
		for (size_t i = 0, n = capacity(); i < n; ++i)
			if (slots_[i].key != Empty)
				fn(slots_[i].key, slots_[i].val);
	}

	void shrink_to_fit() {
		size_t want = round_up(size_ * 2 + 1); // load 0.25 .. 0.5
		if (want < capacity())
			rehash(want);
	}

	void clear() {
		size_ = 0;
		for (size_t i = 0, n = capacity(); i < n; ++i)
			slots_[i].key = Empty;
	}

private:
	static size_t round_up(size_t n) {
		size_t c = 16;
		while (c < n)
			c <<= 1;
		return c;
	}
	// A key's home slot: Fibonacci hashing, the key times 2^64 / phi, of
	// which the top bits are kept (shift_ = 64 - log2(capacity)).
	//
	// Why not a full mixer (mix64(), as before): the page table's keys
	// are (inode id, page) pairs, dense in both (ids are handed out from
	// 0, a file's tracked pages are mostly neighbours).  Multiplying by
	// phi spreads such a lattice of keys almost evenly over the table
	// (consecutive keys land a golden-ratio fraction of the table apart),
	// where a random hash leaves the clusters that linear probing
	// lengthens.  On the benchmark's 324k pages (128 files, load 0.62) a
	// lookup probes 1.21 slots on average, at most 5, against 1.81 and
	// 60 with mix64(); on sparse random pages both probe the same (1.78);
	// with only one page in every 512 tracked (PMD-aligned pages and
	// nothing between) it probes more (3.7 against 1.5), which the engine
	// does not make: a PMD mapping tracks all its 512 pages.  It is also
	// two instructions instead of eight, on every page event's lookahead
	// and lookup.  The benchmark's long-lived engine ran 12-20% faster
	// with it (3 alternating rounds, host load ~3), instructions per event
	// 295.6 -> 283.8.  The other tables' keys are tids (dense as well)
	// and hashes (random already).
	// Not kept: home slots kept together for a run of 4-16 pages of a
	// file (a writeback's neighbours in one line) made clusters that
	// linear probing paid for, 5-20% slower.
	size_t index(Key k) const { return size_t((uint64_t(k) * 0x9e3779b97f4a7c15ULL) >> shift_); }

	void erase_at(size_t i) {
		size_t j = i;
		for (;;) {
			j = (j + 1) & mask_;
			if (slots_[j].key == Empty)
				break;
			size_t home = index(slots_[j].key);
			// Move slots_[j] into the hole at i if its home is not in (i, j].
			bool between = (i <= j) ? (home > i && home <= j)
						: (home > i || home <= j);
			if (!between) {
				slots_[i] = slots_[j];
				i = j;
			}
		}
		slots_[i].key = Empty;
		--size_;
	}

	// Out of line: inlined into get_or_insert() it made every lookup
	// save and restore the registers its loop needs.
	[[gnu::noinline]] void rehash(size_t ncap) {
		BigArray<Slot> old(std::move(slots_));
		size_t ocap = old.size();
		slots_.reset(ncap);
		grow_at_ = ncap * 4 / 5;
		mask_ = ncap - 1;
		shift_ = 64 - unsigned(__builtin_ctzll(ncap));
		for (size_t i = 0; i < ncap; ++i)
			slots_[i].key = Empty;
		size_ = 0;
		for (size_t i = 0; i < ocap; ++i) {
			if (old[i].key == Empty)
				continue;
			size_t j = index(old[i].key);
			while (slots_[j].key != Empty)
				j = (j + 1) & mask_;
			slots_[j] = old[i];
			++size_;
		}
	}

	BigArray<Slot> slots_;
	// The size at which the next insertion would load the table beyond
	// 0.8, ((size + 1) * 5 > capacity * 4), worked out once per capacity.
	size_t grow_at_ = 0, mask_ = 0, size_ = 0;
	unsigned shift_ = 64; // index(): 64 - log2(capacity)
};

} // namespace daxtrace::detail

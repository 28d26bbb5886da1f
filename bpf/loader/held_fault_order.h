// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// The order in which ProbeSet::poll() hands events on while the probes
// hold PTE faults (the fault_join hook group; bpf/README.md).
//
// A held fault reaches the ring at its end, with its FAULT_ENTER's old
// time stamp.  That is normally microseconds, but a CPU can stop under a
// fault without a task switch (a hypervisor taking the vCPU away, long
// interrupt work; in the TCG lab, a vCPU starved for 240 ms while the
// other flushed pmem), and the engine takes an event more than its 10 ms
// reorder window late as lost.  Two things keep the held events in time:
//  - a poll() reads the whole ring before it hands anything on, then reads
//    the held slots, and moves each event it read more than kSortSlackNs
//    older than one read before it to its place in time: a fault held and
//    sent while poll() slept lies behind newer records in the ring, but in
//    the same batch;
//  - a fault still held when poll() looks holds back the events more than
//    kHoldBackNs newer than its FAULT_ENTER until a later poll() reads
//    that FAULT_ENTER; they are then handed on with that poll()'s events,
//    in time order.  One that never comes (its record dropped) is given
//    up after kGiveUpNs of newer events, or when a drop is seen.
// What is left is a fault held and sent within one poll()'s reading of
// the ring, late by at most that reading's length.
//
// A removal's run of deletions held on its CPU (struct dt_rec_deletes)
// is waited for the same way, by its first deletion's time stamp: in what
// follows, "FAULT_ENTER" stands for that DT_ENTRY_DELETE too.
//
// Kept apart from the loader so that a stalled CPU can be replayed in a
// unit test (bpf/tests/held_fault_order_test.cpp).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <set>
#include <vector>

#include "daxtrace_abi.h"

namespace dtprobe {

// Events built where they are kept, in order.  append() hands out the next
// slot uninitialised, not zeroed (the loader writes every field of the
// events it builds, ProbeSet's fill(); zeroing 112 bytes doubled the
// stores per event), and its common path, a compare and an increment, is
// inlined (std::vector's emplace_back() was a call per event).
class EventBuffer {
public:
	dt_event &append()
	{
		if (n_ == cap_) [[unlikely]]
			grow();
		return p_[n_++];
	}
	const dt_event *data() const { return p_.get(); }
	const dt_event *begin() const { return p_.get(); }
	const dt_event *end() const { return p_.get() + n_; }
	size_t size() const { return n_; }
	bool empty() const { return n_ == 0; }
	void clear() { n_ = 0; }

private:
	[[gnu::noinline]] void grow()
	{
		size_t cap = cap_ ? 2 * cap_ : 1024;
		std::unique_ptr<dt_event[]> p(new dt_event[cap]);   // not zeroed
		if (n_)
			memcpy(p.get(), p_.get(), n_ * sizeof(dt_event));
		p_ = std::move(p);
		cap_ = cap;
	}
	std::unique_ptr<dt_event[]> p_;
	size_t n_ = 0, cap_ = 0;
};

class HeldFaultOrder {
public:
	static constexpr uint64_t kHoldBackNs = 5'000'000;
	static constexpr uint64_t kSortSlackNs = 1'000'000;
	static constexpr uint64_t kGiveUpNs = 2'000'000'000;
	static constexpr size_t kHoldBackMax = 1u << 18;

	// An event read from the ring in this poll(), in ring order, built by
	// BUILD (void(dt_event &), which writes every field) where it is kept:
	// the loader writes each event once instead of building and copying it.
	template <class Build> void take_built(Build &&build)
	{
		dt_event &e = batch_.append();
		build(e);
		if (e.ts > batch_newest_)
			batch_newest_ = e.ts;
		else if (e.ts + kSortSlackNs < batch_newest_)
			batch_disordered_ = true;
	}

	void take(const dt_event &e)
	{
		take_built([&e](dt_event &slot) { slot = e; });
	}

	// A CPU holds a fault with this FAULT_ENTER time stamp (read from its
	// slot after the ring was read).
	void held(uint64_t enter_ts)
	{
		if (enter_ts && !held_enters_.count(enter_ts))
			held_enters_.insert(enter_ts);
	}

	// Stop waiting for the faults seen held: a record was dropped (it
	// may be one of theirs), or no program will end them any more.
	void give_up()
	{
		given_up_ += held_enters_.size();
		held_enters_.clear();
	}

	// Hand this poll()'s events on to PASS (void(const dt_event *, size_t):
	// a run of events in order), with those that waited before, in time
	// order: all that are not more than kHoldBackNs newer than the oldest
	// FAULT_ENTER still held.  The held FAULT_ENTERs read in this batch are
	// not waited for: the batch hands each on before the events it held
	// back.  The usual poll is one run, the whole batch where it lies.
	template <class Pass> void deliver(Pass &&pass)
	{
		if (!held_enters_.empty())
			for (const dt_event &e : batch_)
				if (e.type == DT_FAULT_ENTER || e.type == DT_ENTRY_DELETE)
					if (auto it = held_enters_.find(e.ts); it != held_enters_.end())
						held_enters_.erase(it);
		if (batch_newest_ > newest_ts_)
			newest_ts_ = batch_newest_;
		while (!held_enters_.empty() && newest_ts_ > floor() + kGiveUpNs) {
			held_enters_.erase(held_enters_.begin());
			given_up_++;
		}
		if (held_enters_.empty() && waiting() == 0 && !batch_disordered_) {
			if (!batch_.empty())   // the usual poll
				pass(batch_.data(), batch_.size());
			end_batch();
			return;
		}
		arrange();
		uint64_t limit = held_enters_.empty() ? UINT64_MAX : floor() + kHoldBackNs;
		auto past = [limit](const dt_event *e) { return e->ts > limit; };
		auto batch_cut = std::find_if(view_.begin(), view_.end(), past);
		auto behind_begin = behind_.begin() + behind_head_;
		auto behind_cut = std::find_if(behind_begin, behind_.end(),
					       [limit](const dt_event &e) { return e.ts > limit; });
		size_t waits = size_t(behind_.end() - behind_cut) + size_t(view_.end() - batch_cut);
		if (waits > kHoldBackMax) {
			give_up();
			batch_cut = view_.end();
			behind_cut = behind_.end();
		}
		held_back_ += size_t(view_.end() - batch_cut);
		merge(behind_begin, behind_cut, view_.begin(), batch_cut,
		      [&pass](const dt_event &e) { pass(&e, 1); });
		if (batch_cut == view_.end()) {
			// Nothing new waits (the usual poll): step past what was
			// handed on instead of moving what still waits.
			behind_head_ = size_t(behind_cut - behind_.begin());
			if (behind_head_ == behind_.size()) {
				behind_.clear();
				behind_head_ = 0;
			}
		} else {
			std::vector<dt_event> still;
			still.reserve(waits);
			merge(behind_cut, behind_.end(), batch_cut, view_.end(),
			      [&](const dt_event &e) { still.push_back(e); });
			behind_.swap(still);
			behind_head_ = 0;
		}
		end_batch();
	}

	uint64_t held_back() const { return held_back_; }  // events that had to wait
	uint64_t given_up() const { return given_up_; }    // held faults not waited for
	size_t waiting() const { return behind_.size() - behind_head_; }

private:
	using EventIt = std::vector<dt_event>::const_iterator;
	using ViewIt = std::vector<const dt_event *>::const_iterator;

	static bool earlier(const dt_event *a, const dt_event *b) { return a->ts < b->ts; }

	uint64_t floor() const { return *held_enters_.begin(); }

	void end_batch()
	{
		batch_.clear();
		view_.clear();
		batch_newest_ = 0;
		batch_disordered_ = false;
	}

	// view_ = the batch in time order, as far as the engine needs it.  A
	// batch out of order by no more than kSortSlackNs stays in ring order
	// (the engine's reorder window takes that).  Otherwise only its late
	// events, older by more than kSortSlackNs than one read before them
	// (the parts of a fault held across the reading), are sorted and
	// merged back among the others, which keep their ring order: sorting
	// every event of a large batch cost the reader more than the probes
	// saved by joining faults (lab overload, commits 67f681e and ed5a0bf).
	// Pointers, not events, are what moves.  The merge is written out, not
	// std::merge: the others are in order only within kSortSlackNs.
	void arrange()
	{
		view_.reserve(batch_.size());
		if (!batch_disordered_) {
			for (const dt_event &e : batch_)
				view_.push_back(&e);
			return;
		}
		late_.clear();
		in_order_.clear();
		uint64_t newest = 0;
		for (const dt_event &e : batch_) {
			if (e.ts + kSortSlackNs < newest) {
				late_.push_back(&e);
				continue;
			}
			if (e.ts > newest)
				newest = e.ts;
			in_order_.push_back(&e);
		}
		std::stable_sort(late_.begin(), late_.end(), earlier);
		auto a = late_.begin(), b = in_order_.begin();
		while (a != late_.end() && b != in_order_.end())
			view_.push_back(earlier(*a, *b) ? *a++ : *b++);
		view_.insert(view_.end(), a, late_.end());
		view_.insert(view_.end(), b, in_order_.end());
	}

	// Both runs in time order to OUT; on a tie the one that waited first.
	template <class Out>
	static void merge(EventIt a, EventIt a_end, ViewIt b, ViewIt b_end, Out &&out)
	{
		while (a != a_end && b != b_end)
			out((*b)->ts < a->ts ? **b++ : *a++);
		for (; a != a_end; ++a)
			out(*a);
		for (; b != b_end; ++b)
			out(**b);
	}

	EventBuffer batch_;                  // this poll()'s events, ring order
	uint64_t batch_newest_ = 0;
	bool batch_disordered_ = false;
	std::multiset<uint64_t> held_enters_;  // FAULT_ENTERs seen held
	std::vector<const dt_event *> view_;      // batch_ in time order
	std::vector<const dt_event *> late_, in_order_;  // arrange()'s halves
	std::vector<dt_event> behind_;       // held back, in time order,
	size_t behind_head_ = 0;             // from this one on
	uint64_t newest_ts_ = 0;
	uint64_t held_back_ = 0, given_up_ = 0;
};

} // namespace dtprobe

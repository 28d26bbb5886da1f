// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// The loader's ordering of held PTE faults (loader/held_fault_order.h),
// replayed without a kernel: what a poll() reads from the ring, what the
// CPUs' held slots say, and the order the engine is handed.  The stalls
// are the ones seen in the lab (bpf/README.md, "Held faults").
#include <gtest/gtest.h>

#include <vector>

#include "held_fault_order.h"

namespace {

using dtprobe::HeldFaultOrder;
constexpr uint64_t ms = 1'000'000;

dt_event ev(uint64_t ts, uint16_t type = DT_IOMAP, uint32_t tid = 1)
{
	dt_event e{};
	e.ts = ts;
	e.type = type;
	e.tid = tid;
	return e;
}

// One poll(): the events read, the FAULT_ENTERs then seen held; returns
// the time stamps handed on.
std::vector<uint64_t> poll(HeldFaultOrder &o, const std::vector<dt_event> &ring,
			   const std::vector<uint64_t> &held = {})
{
	for (const auto &e : ring)
		o.take(e);
	for (uint64_t h : held)
		o.held(h);
	std::vector<uint64_t> out;
	o.deliver([&](const dt_event *e, size_t n) {
		for (size_t i = 0; i < n; i++)
			out.push_back(e[i].ts);
	});
	return out;
}

TEST(HeldFaultOrder, InOrderStreamPassesUnchanged)
{
	HeldFaultOrder o;
	EXPECT_EQ(poll(o, {ev(1 * ms), ev(2 * ms), ev(3 * ms)}),
		  (std::vector<uint64_t>{1 * ms, 2 * ms, 3 * ms}));
	EXPECT_EQ(o.held_back(), 0u);
	EXPECT_EQ(o.waiting(), 0u);
}

// Disorder within kSortSlackNs is the engine's reorder window's job: the
// ring order is kept (no sort on every poll).
TEST(HeldFaultOrder, SmallDisorderKeepsRingOrder)
{
	HeldFaultOrder o;
	EXPECT_EQ(poll(o, {ev(2 * ms), ev(2 * ms - 500'000), ev(3 * ms)}),
		  (std::vector<uint64_t>{2 * ms, 2 * ms - 500'000, 3 * ms}));
}

// The lab.reopen_matrix.xfs case: a fault held at 1 ms and sent 12 ms
// later while poll() slept, its record behind the other CPU's newer ones.
TEST(HeldFaultOrder, FaultHeldWhilePollSleptIsSortedIntoItsBatch)
{
	HeldFaultOrder o;
	auto out = poll(o, {ev(5 * ms, DT_ZERO, 2), ev(9 * ms, DT_FAULT_EXIT, 2),
			    ev(1 * ms, DT_FAULT_ENTER), ev(1 * ms + 10), ev(13 * ms, DT_FAULT_EXIT)});
	EXPECT_EQ(out, (std::vector<uint64_t>{1 * ms, 1 * ms + 10, 5 * ms, 9 * ms, 13 * ms}));
	EXPECT_EQ(o.held_back(), 0u);
}

// Equal time stamps keep their ring order through the sort.
TEST(HeldFaultOrder, SortIsStable)
{
	HeldFaultOrder o;
	std::vector<dt_event> ring{ev(9 * ms), ev(1 * ms, DT_FAULT_ENTER, 7), ev(1 * ms, DT_IOMAP, 7)};
	std::vector<uint16_t> types;
	for (const auto &e : ring)
		o.take(e);
	o.deliver([&](const dt_event *e, size_t n) {
		for (size_t i = 0; i < n; i++)
			types.push_back(e[i].type);
	});
	EXPECT_EQ(types, (std::vector<uint16_t>{DT_FAULT_ENTER, DT_IOMAP, DT_IOMAP}));
}

// Only the late events move: the others keep their ring order, small
// disorder included, and the late ones go before the first later one.
TEST(HeldFaultOrder, OnlyLateEventsMove)
{
	HeldFaultOrder o;
	EXPECT_EQ(poll(o, {ev(2 * ms), ev(2 * ms - 500'000), ev(10 * ms), ev(1 * ms, DT_FAULT_ENTER),
			   ev(3 * ms, DT_FAULT_EXIT), ev(11 * ms)}),
		  (std::vector<uint64_t>{1 * ms, 2 * ms, 2 * ms - 500'000, 3 * ms, 10 * ms, 11 * ms}));
	EXPECT_EQ(o.held_back(), 0u);
}

// The lab.w2_fsync.stock.ext4 case: a vCPU stalls 240 ms holding a fault
// that poll() sees held.  The other CPU's events more than kHoldBackNs
// newer wait until the held FAULT_ENTER arrives, then follow it.
TEST(HeldFaultOrder, FaultSeenHeldHoldsNewerEventsBack)
{
	HeldFaultOrder o;
	EXPECT_EQ(poll(o, {ev(1 * ms, DT_IOMAP, 2), ev(4 * ms, DT_IOMAP, 2), ev(50 * ms, DT_IOMAP, 2)},
		       {2 * ms}),
		  (std::vector<uint64_t>{1 * ms, 4 * ms}));
	EXPECT_EQ(poll(o, {ev(120 * ms, DT_IOMAP, 2)}, {2 * ms}), std::vector<uint64_t>{});
	EXPECT_EQ(o.waiting(), 2u);
	EXPECT_EQ(poll(o, {ev(241 * ms, DT_IOMAP, 2), ev(2 * ms, DT_FAULT_ENTER), ev(242 * ms, DT_FAULT_EXIT)}),
		  (std::vector<uint64_t>{2 * ms, 50 * ms, 120 * ms, 241 * ms, 242 * ms}));
	EXPECT_EQ(o.held_back(), 2u);
	EXPECT_EQ(o.given_up(), 0u);
	EXPECT_EQ(o.waiting(), 0u);
}

// A removal's run of deletions held on a stalled CPU is waited for like
// a held fault: by its first DT_ENTRY_DELETE's time stamp.
TEST(HeldFaultOrder, HeldDeletionsAreWaitedFor)
{
	HeldFaultOrder o;
	EXPECT_EQ(poll(o, {ev(1 * ms, DT_IOMAP, 2), ev(40 * ms, DT_IOMAP, 2)}, {3 * ms}),
		  std::vector<uint64_t>{1 * ms});
	EXPECT_EQ(poll(o, {ev(3 * ms, DT_ENTRY_DELETE), ev(3 * ms + 10, DT_ENTRY_DELETE),
			   ev(41 * ms, DT_IOMAP, 2)}),
		  (std::vector<uint64_t>{3 * ms, 3 * ms + 10, 40 * ms, 41 * ms}));
	EXPECT_EQ(o.held_back(), 1u);
	EXPECT_EQ(o.given_up(), 0u);
	EXPECT_EQ(o.waiting(), 0u);
}

// A batch's own late events and those that waited merge in time order.
TEST(HeldFaultOrder, BatchAndWaitingEventsMerge)
{
	HeldFaultOrder o;
	EXPECT_EQ(poll(o, {ev(50 * ms, DT_IOMAP, 2), ev(120 * ms, DT_IOMAP, 2)}, {2 * ms}),
		  std::vector<uint64_t>{});
	EXPECT_EQ(poll(o, {ev(242 * ms, DT_FAULT_EXIT), ev(2 * ms, DT_FAULT_ENTER), ev(30 * ms, DT_ZERO, 3)}),
		  (std::vector<uint64_t>{2 * ms, 30 * ms, 50 * ms, 120 * ms, 242 * ms}));
}

// A held fault whose record was dropped is not waited for: at the drop...
TEST(HeldFaultOrder, DropStopsTheWait)
{
	HeldFaultOrder o;
	EXPECT_EQ(poll(o, {ev(30 * ms)}, {1 * ms}), std::vector<uint64_t>{});
	o.give_up();
	EXPECT_EQ(poll(o, {ev(40 * ms)}), (std::vector<uint64_t>{30 * ms, 40 * ms}));
	EXPECT_EQ(o.given_up(), 1u);
}

// ...and without a drop seen, after kGiveUpNs of newer events.
TEST(HeldFaultOrder, GivenUpAfterTwoSeconds)
{
	HeldFaultOrder o;
	EXPECT_EQ(poll(o, {ev(1000 * ms)}, {1 * ms}), std::vector<uint64_t>{});
	EXPECT_EQ(poll(o, {ev(1900 * ms)}), std::vector<uint64_t>{});
	EXPECT_EQ(poll(o, {ev(2002 * ms)}), (std::vector<uint64_t>{1000 * ms, 1900 * ms, 2002 * ms}));
	EXPECT_EQ(o.given_up(), 1u);
	EXPECT_EQ(o.waiting(), 0u);
}

// Events not newer than the held FAULT_ENTER by kHoldBackNs never wait.
TEST(HeldFaultOrder, EventsNearTheHeldFaultPass)
{
	HeldFaultOrder o;
	EXPECT_EQ(poll(o, {ev(1 * ms), ev(10 * ms)}, {6 * ms}), (std::vector<uint64_t>{1 * ms, 10 * ms}));
	EXPECT_EQ(o.held_back(), 0u);
}

} // namespace

// Class W: W1 writeback-during-mkwrite.
#include <gtest/gtest.h>

#include "trace_builder.h"

using namespace dtt;
using daxtrace::Rule;

namespace {

constexpr uint32_t kA = 200, kB = 300;

// Pre-4.10 behaviour: writeback cleans page 2 between the first-write
// fault's dirtying and its completion (PTE made writable much later).
Stream w1_race() {
	return {
		Ev(DT_MKWRITE_ENTER, 1000, kA, 2),
		Ev(DT_MKWRITE_DIRTY, 1100, kA, 2),
		Ev(DT_WB_RANGE_ENTER, 1150, kB, 0).nr(16),
		Ev(DT_WB_ENTRY, 1200, kB, 2),
		Ev(DT_WB_RANGE_EXIT, 1250, kB, 0),
		Ev(DT_MKWRITE_EXIT, 100'000, kA, 2).ret_(kFaultNoPage),
	};
}

// Correctly serialised: writeback after the fault completed.
Stream w_serialised() {
	return {
		Ev(DT_MKWRITE_ENTER, 1000, kA, 2),
		Ev(DT_MKWRITE_DIRTY, 1100, kA, 2),
		Ev(DT_MKWRITE_EXIT, 1300, kA, 2).ret_(kFaultNoPage),
		Ev(DT_WB_RANGE_ENTER, 4900, kB, 0).nr(16),
		Ev(DT_WB_ENTRY, 5000, kB, 2),
		Ev(DT_WB_RANGE_EXIT, 5100, kB, 0),
	};
}

} // namespace

TEST(RuleW1, WritebackInsideMkwriteWindow) {
	Result r = run(w1_race());
	ASSERT_EQ(r.findings.size(), 1u);
	const auto &f = r.findings[0];
	EXPECT_EQ(f.id(), "W1");
	EXPECT_EQ(f.name(), "writeback-during-mkwrite");
	EXPECT_EQ(f.pgoff_first, 2u);
	EXPECT_EQ(f.window_start_ns, kT0 + 1100);
	EXPECT_EQ(f.window_end_ns, kT0 + 100'000);
	ASSERT_EQ(f.tasks.size(), 2u);
	EXPECT_EQ(f.tasks[0].tid, kA);
	EXPECT_EQ(f.tasks[1].tid, kB);
	EXPECT_EQ(f.tasks[1].role, "writeback");
	ASSERT_EQ(f.evidence.size(), 4u);
	EXPECT_EQ(f.evidence[0].type, DT_MKWRITE_ENTER);
	EXPECT_EQ(f.evidence[1].type, DT_MKWRITE_DIRTY);
	EXPECT_EQ(f.evidence[2].type, DT_WB_ENTRY);
	EXPECT_EQ(f.evidence[3].type, DT_MKWRITE_EXIT);
	EXPECT_FALSE(f.uncertain);
}

TEST(RuleW1, WritebackAfterCompletionIsNearMiss) {
	Result r = run(w_serialised());
	EXPECT_TRUE(r.findings.empty());
	EXPECT_EQ(r.nm_count[int(daxtrace::RaceClass::W)], 1u);
	EXPECT_EQ(r.nm_min[int(daxtrace::RaceClass::W)], 3900u);
}

TEST(RuleW1, WritebackInUnlockToExitSlackIsNearMiss) {
	// Legal on a correct kernel: the fault unlocked the entry just before
	// its exit event; 100 ns < w1_exit_slack_ns.
	Stream s = w1_race();
	s.back().ts = kT0 + 1300;
	Result r = run(s);
	EXPECT_TRUE(r.findings.empty());
	EXPECT_EQ(r.nm_count[int(daxtrace::RaceClass::W)], 1u);
	EXPECT_EQ(r.nm_min[int(daxtrace::RaceClass::W)], 100u);
}

TEST(RuleW1, DirtyingReportedAfterThePteInstallCannotOpenTheWindow) {
	// The lab's patched kernel: dax_entry_mkdirty fires under the entry
	// lock after the PTE install, so the same order is a near miss.  So is
	// 6.1's own dax_insert_pfn_mkwrite tracepoint (fires after unlocking).
	for (uint16_t hook : {uint16_t(DT_HOOK_TP_MKWRITE_DIRTY), uint16_t(DT_HOOK_TP_INSERT_PFN_MKWRITE)}) {
		Stream s = w1_race();
		s[1].hook = hook;
		Result r = run(s);
		EXPECT_TRUE(r.findings.empty()) << "hook " << hook;
		EXPECT_EQ(r.nm_count[int(daxtrace::RaceClass::W)], 1u);
		EXPECT_EQ(r.nm_min[int(daxtrace::RaceClass::W)], 100u);  // writeback - dirtying
	}
}

TEST(RuleW1, WritebackBeforeDirtyIsNearMissToo) {
	Stream s = {
		Ev(DT_WB_ENTRY, 1000, kB, 2),
		Ev(DT_MKWRITE_ENTER, 1500, kA, 2),
		Ev(DT_MKWRITE_DIRTY, 1600, kA, 2),
		Ev(DT_MKWRITE_EXIT, 1700, kA, 2),
	};
	Result r = run(s);
	EXPECT_TRUE(r.findings.empty());
	EXPECT_EQ(r.nm_count[int(daxtrace::RaceClass::W)], 1u);
	EXPECT_EQ(r.nm_min[int(daxtrace::RaceClass::W)], 600u);
}

TEST(RuleW1, OwnWritebackOrOtherPageIsNotW1) {
	Stream s = w1_race();
	s[3].tid = s[3].pid = kA; // the faulting task itself (msync from it)
	EXPECT_TRUE(run(s).findings.empty());
	Stream o = w1_race();
	o[3].pgoff = 3;
	EXPECT_TRUE(run(o).findings.empty());
}

TEST(RuleW1, DirtyingInsideWriteFaultCompletesAtFaultExit) {
	Stream s = {
		Ev(DT_FAULT_ENTER, 1000, kA, 2).fl(DT_F_WRITE),
		Ev(DT_MKWRITE_DIRTY, 1100, kA, 2),
		Ev(DT_WB_ENTRY, 1200, kB, 2),
		Ev(DT_FAULT_EXIT, 90'000, kA, 2).ret_(kFaultNoPage),
	};
	Result r = run(s);
	ASSERT_EQ(r.findings.size(), 1u);
	EXPECT_EQ(r.findings[0].rule, Rule::W1_WRITEBACK_DURING_MKWRITE);
}

TEST(RuleW1, Reordered) {
	Result a = run(w1_race());
	Result b = run(reorder(w1_race(), 3));
	EXPECT_GT(b.stats.reordered, 0u);
	EXPECT_EQ(a.json, b.json);
	Result c = run(reorder(w_serialised(), 3));
	EXPECT_TRUE(c.findings.empty());
	EXPECT_EQ(c.nm_count[int(daxtrace::RaceClass::W)], 1u);
}

TEST(RuleW1, WritebackBeyondWindowIsCounted) {
	Stream s = w1_race();
	s.back().ts = kT0 + 50'000'000; // completion 50 ms later
	size_t k = index_of(s, DT_WB_ENTRY, 1200);
	// deliver the WB entry after the clock moved 30 ms past the completion
	Result r = run(deliver_late(s, k));
	EXPECT_EQ(r.stats.late, 1u);
	EXPECT_TRUE(r.findings.empty()); // not invented from an unanalysed event
}

TEST(RuleW1, LostEventsMakeW1Uncertain) {
	Result r = run(with_loss(w1_race(), 50'000));
	ASSERT_EQ(r.findings.size(), 1u);
	EXPECT_TRUE(r.findings[0].uncertain);
}

TEST(RuleW1, WithoutDirtyEventNearMissesStillCount) {
	// Stock 6.1: no DT_MKWRITE_DIRTY.  No W1 can be claimed, but the gap
	// between the mkwrite completion and the writeback is a near miss.
	Stream s = {
		Ev(DT_MKWRITE_ENTER, 1000, kA, 2),
		Ev(DT_MKWRITE_EXIT, 1300, kA, 2).ret_(kFaultNoPage),
		Ev(DT_WB_ENTRY, 2300, kB, 2),
	};
	Result r = run(s);
	EXPECT_TRUE(r.findings.empty());
	EXPECT_EQ(r.nm_count[int(daxtrace::RaceClass::W)], 1u);
	EXPECT_EQ(r.nm_min[int(daxtrace::RaceClass::W)], 1000u);
}

// Class Z: Z1 zero-after-map, Z2 fault-maps-unzeroed-extent.
#include <gtest/gtest.h>

#include "rule_checks.h"
#include "trace_builder.h"

using namespace dtt;
using daxtrace::Rule;

namespace {

constexpr uint32_t kA = 200, kB = 201;

// Pre-4.4 behaviour: A allocates (IOMAP_F_NEW) and zeroes after dropping
// the allocation lock; B faults the same page in between, maps the block,
// and A's zeroing (blkdev_issue_zeroout: sector only, no inode) follows.
Stream z1_race() {
	return {
		Ev(DT_FAULT_ENTER, 1000, kA, 3).fl(DT_F_WRITE),
		Ev(DT_IOMAP, 1100, kA, 3).nr(1).sector(8000, 4096).iomap(DT_IOMAP_MAPPED, DT_IOMAP_F_NEW),
		Ev(DT_FAULT_ENTER, 1200, kB, 3).fl(DT_F_WRITE),
		Ev(DT_IOMAP, 1300, kB, 3).nr(1).sector(8000, 4096).iomap(DT_IOMAP_MAPPED, 0),
		Ev(DT_FAULT_EXIT, 1400, kB, 3).ret_(kFaultNoPage),
		Ev(DT_ZERO, 1500, kA).ino_(0).fl(DT_F_NOINODE).op_(DT_ZOP_BLKDEV).sector(8000, 4096),
		Ev(DT_FAULT_EXIT, 1600, kA, 3).ret_(kFaultNoPage),
	};
}

// Fixed kernels: the allocator zeroes before handing out the extent.
Stream z_serialised() {
	return {
		Ev(DT_FAULT_ENTER, 1000, kA, 3).fl(DT_F_WRITE),
		Ev(DT_ZERO, 1050, kA).ino_(0).fl(DT_F_NOINODE).op_(DT_ZOP_BLKDEV).sector(8000, 4096),
		Ev(DT_IOMAP, 1100, kA, 3).nr(1).sector(8000, 4096).iomap(DT_IOMAP_MAPPED, DT_IOMAP_F_NEW),
		Ev(DT_FAULT_EXIT, 1200, kA, 3).ret_(kFaultNoPage),
		Ev(DT_FAULT_ENTER, 1300, kB, 3).fl(DT_F_WRITE),
		Ev(DT_IOMAP, 1400, kB, 3).nr(1).sector(8000, 4096).iomap(DT_IOMAP_MAPPED, 0),
		Ev(DT_FAULT_EXIT, 1500, kB, 3).ret_(kFaultNoPage),
	};
}

// A write fault handed an unwritten extent, never zeroed.
Stream z2_race() {
	return {
		Ev(DT_FAULT_ENTER, 1000, kA, 7).fl(DT_F_WRITE),
		Ev(DT_IOMAP, 1100, kA, 7).nr(4).sector(9000, 16384).iomap(DT_IOMAP_UNWRITTEN, 0),
		Ev(DT_FAULT_EXIT, 1200, kA, 7).ret_(kFaultNoPage),
	};
}

Stream z2_serialised() {
	return {
		Ev(DT_FAULT_ENTER, 1000, kA, 7).fl(DT_F_WRITE),
		Ev(DT_ZERO, 1050, kA).op_(DT_ZOP_EXT4).sector(9000, 16384),
		Ev(DT_IOMAP, 1100, kA, 7).nr(4).sector(9000, 16384).iomap(DT_IOMAP_MAPPED, DT_IOMAP_F_NEW),
		Ev(DT_FAULT_EXIT, 1200, kA, 7).ret_(kFaultNoPage),
	};
}

} // namespace

TEST(RuleZ1, ZeroAfterAnotherTaskMapped) {
	Result r = run(z1_race());
	auto z1 = with_rule(r, Rule::Z1_ZERO_AFTER_MAP);
	ASSERT_EQ(z1.size(), 1u);
	EXPECT_TRUE(with_rule(r, Rule::Z2_FAULT_MAPS_UNZEROED).empty());
	const auto &f = *z1[0];
	EXPECT_EQ(f.name(), "zero-after-map");
	EXPECT_EQ(f.ino, kIno); // found through A's iomap although DT_ZERO had no inode
	EXPECT_EQ(f.pgoff_first, 3u);
	EXPECT_EQ(f.pgoff_last, 3u);
	EXPECT_EQ(f.window_start_ns, kT0 + 1400);
	EXPECT_EQ(f.window_end_ns, kT0 + 1500);
	ASSERT_EQ(f.tasks.size(), 2u);
	EXPECT_EQ(f.tasks[0].tid, kA);
	EXPECT_EQ(f.tasks[0].role, "zeroer");
	EXPECT_EQ(f.tasks[1].tid, kB);
	EXPECT_EQ(f.tasks[1].role, "mapper");
	EXPECT_TRUE(has_evidence(f, DT_IOMAP, 1100));
	EXPECT_TRUE(has_evidence(f, DT_IOMAP, 1300));
	EXPECT_TRUE(has_evidence(f, DT_FAULT_EXIT, 1400));
	EXPECT_TRUE(has_evidence(f, DT_ZERO, 1500));
	EXPECT_FALSE(f.uncertain);
}

TEST(RuleZ1, ZeroBeforeMapIsNearMiss) {
	Result r = run(z_serialised());
	EXPECT_TRUE(r.findings.empty()) << r.json[0];
	// B mapped 450 ns after the zeroing; A's own fault 150 ns after it.
	EXPECT_EQ(r.nm_count[int(daxtrace::RaceClass::Z)], 2u);
	EXPECT_EQ(r.nm_min[int(daxtrace::RaceClass::Z)], 150u);
}

TEST(RuleZ1, ZeroRangeInsideRemovalIsNotZ1) {
	Stream s = {
		Ev(DT_FAULT_ENTER, 100, kB, 3),
		Ev(DT_IOMAP, 110, kB, 3).nr(1).sector(8000, 4096).iomap(DT_IOMAP_MAPPED, 0),
		Ev(DT_FAULT_EXIT, 120, kB, 3).ret_(kFaultNoPage),
		Ev(DT_REMOVE_ENTER, 1000, kA, 3).nr(1).op_(DT_ROP_ZERO_RANGE),
		Ev(DT_ZERO, 1100, kA, 3).nr(1).op_(DT_ZOP_EXT4).sector(8000, 4096),
		Ev(DT_REMOVE_EXIT, 1200, kA).op_(DT_ROP_ZERO_RANGE),
	};
	Result r = run(s);
	EXPECT_TRUE(with_rule(r, Rule::Z1_ZERO_AFTER_MAP).empty());
}

TEST(RuleZ1, Reordered) {
	expect_same_reordered(z1_race(), 3);
	Result c = expect_clean_reordered(z_serialised(), 2);
	EXPECT_EQ(c.nm_count[int(daxtrace::RaceClass::Z)], 2u);
}

TEST(RuleZ1, MappingBeyondWindowIsCounted) {
	Stream s = z1_race();
	Result r = run_late(s, DT_FAULT_EXIT, 1400);
	EXPECT_TRUE(with_rule(r, Rule::Z1_ZERO_AFTER_MAP).empty()); // not invented
}

TEST(RuleZ1, LostEventsMakeZ1Uncertain) {
	Result r = run(with_loss(z1_race(), 1450));
	auto z1 = with_rule(r, Rule::Z1_ZERO_AFTER_MAP);
	ASSERT_EQ(z1.size(), 1u);
	EXPECT_TRUE(z1[0]->uncertain);
}

TEST(RuleZ2, WriteFaultMapsUnwrittenExtent) {
	Result r = run(z2_race());
	ASSERT_EQ(r.findings.size(), 1u);
	const auto &f = r.findings[0];
	EXPECT_EQ(f.id(), "Z2");
	EXPECT_EQ(f.pgoff_first, 7u);
	EXPECT_EQ(f.window_start_ns, kT0 + 1100);
	EXPECT_EQ(f.window_end_ns, kT0 + 1200);
	EXPECT_EQ(f.tasks.at(0).tid, kA);
	EXPECT_TRUE(has_evidence(f, DT_IOMAP, 1100));
	EXPECT_NE(f.summary.find("unwritten"), std::string::npos);
	EXPECT_FALSE(f.uncertain);
}

TEST(RuleZ2, NewExtentWithoutZeroing) {
	Stream s = z2_race();
	s[1].iomap_type = DT_IOMAP_MAPPED;
	s[1].iomap_flags = DT_IOMAP_F_NEW;
	Result r = run(s);
	ASSERT_EQ(r.findings.size(), 1u);
	EXPECT_NE(r.findings[0].summary.find("new"), std::string::npos);
}

TEST(RuleZ2, ReadFaultOrMappedExtentIsNotZ2) {
	Stream s = z2_race();
	s[0].flags = 0; // read fault
	EXPECT_TRUE(run(s).findings.empty());
	Stream m = z2_race();
	m[1].iomap_type = DT_IOMAP_MAPPED; // an existing block
	EXPECT_TRUE(run(m).findings.empty());
}

TEST(RuleZ2, ZeroedInsideAllocatorIsNearMiss) {
	Result r = run(z2_serialised());
	EXPECT_TRUE(r.findings.empty());
	EXPECT_EQ(r.nm_count[int(daxtrace::RaceClass::Z)], 1u);
	EXPECT_EQ(r.nm_min[int(daxtrace::RaceClass::Z)], 150u);
}

TEST(RuleZ2, Reordered) {
	expect_same_reordered(z2_race(), 3);
	expect_clean_reordered(z2_serialised(), 4);
}

TEST(RuleZ2, ZeroingBeyondWindowIsCountedAndFindingUncertain) {
	// The zeroing arrives too late to be analysed: the fault now looks
	// unzeroed; the late event inside the window makes that uncertain.
	Stream s = z2_serialised();
	Result r = run_late(s, DT_ZERO, 1050);
	ASSERT_EQ(r.findings.size(), 1u);
	EXPECT_TRUE(r.findings[0].uncertain);
}

TEST(RuleZ2, LostEventsMakeZ2Uncertain) {
	Result r = run(with_loss(z2_race(), 1150));
	ASSERT_EQ(r.findings.size(), 1u);
	EXPECT_TRUE(r.findings[0].uncertain);
}

TEST(RuleZ2, ZeroHooksNotAttachedMakesZ2Uncertain) {
	daxtrace::EngineConfig cfg;
	cfg.hooks_attached.set(DT_HOOK_TP_PTE_FAULT);
	cfg.hooks_attached.set(DT_HOOK_FN_IOMAP_ITER);
	Result r = run(z2_race(), cfg);
	ASSERT_EQ(r.findings.size(), 1u);
	EXPECT_TRUE(r.findings[0].uncertain);
	EXPECT_NE(r.findings[0].uncertain_reason.find("zeroing hook"), std::string::npos);
}

TEST(RuleZ2, AnyHookThatEmitsZeroingCountsAsAttached) {
	// Which hooks can see zeroing comes from the registry's emits bits: the
	// xfs allocator tracepoint alone is enough, and so is blkdev_issue_zeroout.
	for (uint16_t zero_hook : {DT_HOOK_TP_XFS_ALLOC_ZERO, DT_HOOK_FN_BLKDEV_ZEROOUT}) {
		daxtrace::EngineConfig cfg;
		cfg.hooks_attached.set(DT_HOOK_TP_PTE_FAULT);
		cfg.hooks_attached.set(DT_HOOK_FN_IOMAP_ITER);
		cfg.hooks_attached.set(zero_hook);
		Result r = run(z2_race(), cfg);
		ASSERT_EQ(r.findings.size(), 1u);
		EXPECT_FALSE(r.findings[0].uncertain) << zero_hook;
	}
}

TEST(RuleZ1, ZeroingOfTheNextAllocationIsNotMatchedToTheOldPage) {
	// Seen on stock xfs: A mapped page 0 (sector 96), B mapped it too, then
	// A faults page 1 and xfs_zero_extent zeroes page 1's new block (sector
	// 104) inside the allocator, before A's next DT_IOMAP.  The zeroing
	// carries the inode and pgoff 0, which is not a file page: no Z1.
	Stream s = {
		Ev(DT_FAULT_ENTER, 1000, kA, 0).fl(DT_F_WRITE),
		Ev(DT_ZERO, 1050, kA, 0).nr(1).op_(DT_ZOP_XFS).sector(96, 4096),
		Ev(DT_IOMAP, 1100, kA, 0).nr(1).sector(96, 4096).iomap(DT_IOMAP_MAPPED, DT_IOMAP_F_NEW),
		Ev(DT_FAULT_EXIT, 1150, kA, 0).ret_(kFaultNoPage),
		Ev(DT_FAULT_ENTER, 1200, kB, 0).fl(DT_F_WRITE),
		Ev(DT_IOMAP, 1300, kB, 0).nr(1).sector(96, 4096).iomap(DT_IOMAP_MAPPED, 0),
		Ev(DT_FAULT_EXIT, 1400, kB, 0).ret_(kFaultNoPage),
		Ev(DT_FAULT_ENTER, 1500, kA, 1).fl(DT_F_WRITE),
		Ev(DT_ZERO, 1600, kA, 0).nr(1).op_(DT_ZOP_XFS).sector(104, 4096),
		Ev(DT_IOMAP, 1700, kA, 1).nr(1).sector(104, 4096).iomap(DT_IOMAP_MAPPED, DT_IOMAP_F_NEW),
		Ev(DT_FAULT_EXIT, 1800, kA, 1).ret_(kFaultNoPage),
	};
	Result r = run(s);
	EXPECT_TRUE(r.findings.empty()) << (r.json.empty() ? "" : r.json[0]);
	EXPECT_GE(r.stats.unmatched_zeroing, 1u);
}

TEST(Hooks, TraceHeaderNamesMapToHooks) {
	auto b = daxtrace::hooks_from_names({"zero_xfs:fentry", "break_ext4:kprobe", "tp:dax_pte_fault", "bogus"});
	EXPECT_TRUE(b.test(DT_HOOK_FN_XFS_ZERO_EXTENT));
	EXPECT_TRUE(b.test(DT_HOOK_FN_EXT4_BREAK_LAYOUTS));
	EXPECT_TRUE(b.test(DT_HOOK_TP_PTE_FAULT));
	EXPECT_EQ(b.count(), 3u);
	// A recording without any zeroing hook: Z2 becomes uncertain on replay.
	daxtrace::EngineConfig cfg;
	cfg.hooks_attached = daxtrace::hooks_from_names({"dax_fault:tp_btf", "iomap:tp_btf"});
	Result r = run(z2_race(), cfg);
	ASSERT_EQ(r.findings.size(), 1u);
	EXPECT_TRUE(r.findings[0].uncertain);
}

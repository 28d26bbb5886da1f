// Class L rules: L1 remove-without-layout-break, L2 disassociate-pinned-
// entry, L3 busy-scan-missed-pin.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "rule_checks.h"
#include "trace_builder.h"

using namespace dtt;
using daxtrace::Rule;

namespace {

constexpr uint32_t kMapper = 200, kRemover = 300;

// Task 200 write-faults page 0 (mapping it); the page is then pinned with
// vmsplice (not traced).
Stream mapping_fault() {
	return {
		Ev(DT_FAULT_ENTER, 100, kMapper, 0).fl(DT_F_WRITE),
		Ev(DT_IOMAP, 110, kMapper, 0).nr(1).sector(2048, 4096).iomap(DT_IOMAP_MAPPED, 0),
		Ev(DT_FAULT_EXIT, 120, kMapper, 0).ret_(kFaultNoPage),
	};
}

// The lab's EXT4_IOC_SWAP_BOOT stream on Debian 6.1: no layout break at
// all, the pinned page's entry is disassociated with refcount 3.
Stream swap_boot_race() {
	return then(mapping_fault(), {
		Ev(DT_REMOVE_ENTER, 1000, kRemover).op_(DT_ROP_SWAP_BOOT),
		Ev(DT_REMOVE_ENTER, 1100, kRemover).op_(DT_ROP_PAGECACHE),
		Ev(DT_ENTRY_DELETE, 1200, kRemover, 0),
		Ev(DT_ENTRY_DISASSOC, 1300, kRemover, 0).fl(DT_F_TRUNC).ref(3),
		Ev(DT_REMOVE_EXIT, 1400, kRemover).op_(DT_ROP_PAGECACHE),
		Ev(DT_REMOVE_EXIT, 1500, kRemover).op_(DT_ROP_SWAP_BOOT),
	});
}

// ext4/xfs punch hole over the busy page, correctly serialised: the break
// finds the page busy, waits, the pin goes away, then the blocks go.
Stream punch_serialised() {
	return then(mapping_fault(), {
		Ev(DT_REMOVE_ENTER, 1000, kRemover, 0).nr(1).op_(DT_ROP_PUNCH),
		Ev(DT_BREAK_ENTER, 1100, kRemover, 0).nr(1),
		Ev(DT_BUSY_SCAN, 1200, kRemover, 0).nr(1).fl(DT_F_BUSY).ref(2),
		Ev(DT_BREAK_BUSY, 1250, kRemover, 0).ref(2),
		Ev(DT_BREAK_WAIT, 1300, kRemover, 0),
		Ev(DT_BREAK_WAIT, 5000, kRemover, 0),
		Ev(DT_BUSY_SCAN, 9000, kRemover, 0).nr(1),
		Ev(DT_BREAK_EXIT, 9100, kRemover, 0).nr(1).ret_(0),
		Ev(DT_ENTRY_DELETE, 9200, kRemover, 0),
		Ev(DT_ENTRY_DISASSOC, 9300, kRemover, 0).fl(DT_F_TRUNC).ref(1),
		Ev(DT_REMOVE_EXIT, 9400, kRemover, 0).op_(DT_ROP_PUNCH),
	});
}

// 6.1's dax_layout_busy_page_range() skips the locked entry: the scan says
// idle, the break returns 0, the entry is disassociated with refcount 2.
Stream punch_scan_missed() {
	return then(mapping_fault(), {
		Ev(DT_REMOVE_ENTER, 1000, kRemover, 0).nr(1).op_(DT_ROP_PUNCH),
		Ev(DT_BREAK_ENTER, 1100, kRemover, 0).nr(1),
		Ev(DT_BUSY_SCAN, 1200, kRemover, 0).nr(1),
		Ev(DT_BREAK_EXIT, 1300, kRemover, 0).nr(1).ret_(0),
		Ev(DT_ENTRY_DELETE, 1400, kRemover, 0),
		Ev(DT_ENTRY_DISASSOC, 1500, kRemover, 0).fl(DT_F_TRUNC).ref(2),
		Ev(DT_REMOVE_EXIT, 1600, kRemover, 0).op_(DT_ROP_PUNCH),
	});
}

} // namespace

// ---------------------------------------------------------------- L1 + L2

// A removal that tears down many pages keeps its first 48 and last 16
// events as evidence, in the order they came, and counts those left out.
TEST(RuleL, LongRemovalKeepsHeadAndTailOfItsEvidence) {
	Stream s = then(mapping_fault(), {Ev(DT_REMOVE_ENTER, 1000, kRemover).op_(DT_ROP_SWAP_BOOT)});
	for (uint64_t pg = 1; pg <= 100; ++pg)   // idle pages first
		s.push_back(Ev(DT_ENTRY_DELETE, 2000 + 10 * pg, kRemover, pg));
	s = then(s, {
		Ev(DT_ENTRY_DELETE, 3200, kRemover, 0),
		Ev(DT_ENTRY_DISASSOC, 3300, kRemover, 0).fl(DT_F_TRUNC).ref(3),
		Ev(DT_REMOVE_EXIT, 3400, kRemover).op_(DT_ROP_SWAP_BOOT),
	});
	Result r = run(s);
	auto l1 = with_rule(r, Rule::L1_REMOVE_WITHOUT_BREAK);
	ASSERT_EQ(l1.size(), 1u);
	const auto &f = *l1[0];
	// 104 events: the bracket, 101 deletions, the disassociation
	ASSERT_EQ(f.evidence.size(), 64u);
	EXPECT_EQ(f.evidence_omitted, 40u);
	EXPECT_EQ(f.evidence[0].type, DT_REMOVE_ENTER);
	for (uint64_t i = 1; i < 48; ++i) {   // pages 1..47
		EXPECT_EQ(f.evidence[i].type, DT_ENTRY_DELETE);
		EXPECT_EQ(f.evidence[i].pgoff, i);
	}
	for (uint64_t i = 48; i < 61; ++i) {  // pages 88..100
		EXPECT_EQ(f.evidence[i].type, DT_ENTRY_DELETE);
		EXPECT_EQ(f.evidence[i].pgoff, i + 40);
	}
	EXPECT_EQ(f.evidence[61].type, DT_ENTRY_DELETE);
	EXPECT_EQ(f.evidence[61].pgoff, 0u);
	EXPECT_EQ(f.evidence[62].type, DT_ENTRY_DISASSOC);
	EXPECT_EQ(f.evidence[63].type, DT_REMOVE_EXIT);
}


TEST(RuleL, SwapBootGivesL1AndL2WithEvidence) {
	Result r = run(swap_boot_race());
	auto l1 = with_rule(r, Rule::L1_REMOVE_WITHOUT_BREAK);
	auto l2 = with_rule(r, Rule::L2_DISASSOCIATE_PINNED);
	ASSERT_EQ(l1.size(), 1u);
	ASSERT_EQ(l2.size(), 1u);
	EXPECT_TRUE(with_rule(r, Rule::L3_SCAN_MISSED_PIN).empty());
	EXPECT_EQ(r.findings.size(), 2u);

	const auto &f1 = *l1[0];
	EXPECT_EQ(f1.id(), "L1");
	EXPECT_EQ(f1.name(), "remove-without-layout-break");
	EXPECT_EQ(f1.dev, kDev);
	EXPECT_EQ(f1.ino, kIno);
	EXPECT_EQ(f1.pgoff_first, 0u);
	EXPECT_EQ(f1.pgoff_last, 0u);
	EXPECT_EQ(f1.window_start_ns, kT0 + 1000);
	EXPECT_EQ(f1.window_end_ns, kT0 + 1300);
	EXPECT_EQ(f1.width_ns(), 300u);
	EXPECT_FALSE(f1.uncertain);
	ASSERT_EQ(f1.tasks.size(), 2u);
	EXPECT_EQ(f1.tasks[0].tid, kRemover);
	EXPECT_EQ(f1.tasks[0].role, "remover");
	EXPECT_EQ(f1.tasks[1].tid, kMapper);
	EXPECT_EQ(f1.tasks[1].comm, "task200");
	// Evidence: the whole removal bracket, in order.
	ASSERT_EQ(f1.evidence.size(), 6u);
	EXPECT_EQ(f1.evidence.front().op, DT_ROP_SWAP_BOOT);
	EXPECT_TRUE(has_evidence(f1, DT_ENTRY_DELETE, 1200));
	EXPECT_TRUE(has_evidence(f1, DT_ENTRY_DISASSOC, 1300));
	for (size_t i = 1; i < f1.evidence.size(); ++i)
		EXPECT_LE(f1.evidence[i - 1].ts, f1.evidence[i].ts);

	const auto &f2 = *l2[0];
	EXPECT_EQ(f2.id(), "L2");
	EXPECT_EQ(f2.pgoff_first, 0u);
	EXPECT_EQ(f2.window_start_ns, kT0 + 1000);
	EXPECT_EQ(f2.window_end_ns, kT0 + 1300);
	EXPECT_FALSE(f2.uncertain);
	EXPECT_TRUE(has_evidence(f2, DT_ENTRY_DISASSOC, 1300));
	EXPECT_NE(f2.summary.find("refcount 3"), std::string::npos);
	EXPECT_EQ(r.nm_count[int(daxtrace::RaceClass::L)], 0u);
	EXPECT_EQ(r.stats.open_removals, 0u);
}

TEST(RuleL, FindingJsonIsOneObjectWithEvidence) {
	Result r = run(swap_boot_race());
	ASSERT_FALSE(r.json.empty());
	auto j = nlohmann::json::parse(r.json[0]);
	EXPECT_TRUE(j.contains("rule"));
	EXPECT_EQ(j["dev_name"], "259:0");
	EXPECT_EQ(j["evidence"][0]["type"], "DT_REMOVE_ENTER");
	EXPECT_EQ(j["evidence"][0]["op"], "swap_boot");
	EXPECT_EQ(r.json[0].find('\n'), std::string::npos);
}

TEST(RuleL, SerialisedPunchIsNearMissNotFinding) {
	Result r = run(punch_serialised());
	EXPECT_TRUE(r.findings.empty()) << (r.json.empty() ? "" : r.json[0]);
	EXPECT_EQ(r.nm_count[int(daxtrace::RaceClass::L)], 1u);
	// pin last seen busy at 5000 (BREAK_WAIT), blocks removed at 9200
	EXPECT_EQ(r.nm_min[int(daxtrace::RaceClass::L)], 4200u);
}

TEST(RuleL, NearMissPerFsAndPerInode) {
	daxtrace::Engine eng;
	for (auto &e : punch_serialised())
		eng.push(e);
	eng.flush();
	const auto *fs = eng.near_misses().per_fs(daxtrace::RaceClass::L, kDev);
	const auto *in = eng.near_misses().per_inode(daxtrace::RaceClass::L, kDev, kIno);
	ASSERT_NE(fs, nullptr);
	ASSERT_NE(in, nullptr);
	EXPECT_EQ(fs->count(), 1u);
	EXPECT_EQ(in->count(), 1u);
	EXPECT_EQ(in->bucket(12), 1u); // 4200 ns is in [4096, 8192)
	EXPECT_EQ(eng.near_misses().per_inode(daxtrace::RaceClass::L, kDev, kIno + 1), nullptr);
}

TEST(RuleL, SwapBootReorderedGivesSameFindings) {
	Stream s = swap_boot_race();
	Result a = run(s);
	Result b = run(reorder(s));
	EXPECT_GT(b.stats.reordered, 0u);
	EXPECT_EQ(b.stats.late, 0u);
	EXPECT_EQ(a.json, b.json);
	Result c = run(reorder(s, 5));
	EXPECT_EQ(a.json, c.json);
}

TEST(RuleL, SerialisedPunchReorderedStaysClean) {
	Result r = expect_clean_reordered(punch_serialised(), 4);
	EXPECT_EQ(r.nm_count[int(daxtrace::RaceClass::L)], 1u);
	EXPECT_EQ(r.nm_min[int(daxtrace::RaceClass::L)], 4200u);
}

TEST(RuleL, DisassocBeyondWindowIsCountedNotAnalysed) {
	Stream s = swap_boot_race();
	Result r = run_late(s, DT_ENTRY_DISASSOC, 1300);
	EXPECT_EQ(r.stats.events_analysed, r.stats.events_in - 1);
	// No L2 is invented from an event that was not analysed.
	EXPECT_TRUE(with_rule(r, Rule::L2_DISASSOCIATE_PINNED).empty());
	// The mapped page still had its blocks removed without a break.
	ASSERT_EQ(with_rule(r, Rule::L1_REMOVE_WITHOUT_BREAK).size(), 1u);
}

TEST(RuleL, DeleteBeyondWindowMarksL1Uncertain) {
	// The late event falls inside L1's window: L1 is marked uncertain.
	Stream s = swap_boot_race();
	Result r = run_late(s, DT_REMOVE_ENTER, 1100);
	auto l1 = with_rule(r, Rule::L1_REMOVE_WITHOUT_BREAK);
	ASSERT_EQ(l1.size(), 1u);
	EXPECT_TRUE(l1[0]->uncertain);
	EXPECT_NE(l1[0]->uncertain_reason.find("later than the reorder window"), std::string::npos);
}

TEST(RuleL, LostEventsMakeL1UncertainButNotL2) {
	Result r = run(with_loss(swap_boot_race(), 1150));
	EXPECT_EQ(r.stats.lost_events, 7u);
	auto l1 = with_rule(r, Rule::L1_REMOVE_WITHOUT_BREAK);
	auto l2 = with_rule(r, Rule::L2_DISASSOCIATE_PINNED);
	ASSERT_EQ(l1.size(), 1u);
	ASSERT_EQ(l2.size(), 1u);
	// A lost DT_BREAK_* could have made L1 harmless: uncertain, not dropped.
	EXPECT_TRUE(l1[0]->uncertain);
	EXPECT_FALSE(l1[0]->uncertain_reason.empty());
	// L2 rests on the observed refcount: no lost event can undo it.
	EXPECT_FALSE(l2[0]->uncertain);
	EXPECT_EQ(r.stats.uncertain_findings, 1u);
}

TEST(RuleL, LossReportedAfterTheRaceStillMarksIt) {
	// DT_LOST arrives 0.5 s after the removal (user space polls the drop
	// counters): the findings are held for loss_grace_ns and marked.
	Stream s = swap_boot_race();
	s.push_back(daxtrace::make_lost_event(kT0 + 500'000'000, 0, 3));
	Result r = run(s);
	auto l1 = with_rule(r, Rule::L1_REMOVE_WITHOUT_BREAK);
	ASSERT_EQ(l1.size(), 1u);
	EXPECT_TRUE(l1[0]->uncertain);
}

TEST(RuleL, LossBeforeTheRemovalDoesNotMatter) {
	Stream s = swap_boot_race();
	// 5 events lost on cpu 2 before ts 900, i.e. before the removal began.
	Result r = run(with_loss(s, 900, 5, 2));
	EXPECT_EQ(r.stats.lost_events, 5u);
	EXPECT_EQ(r.findings.size(), 2u);
	for (const auto &f : r.findings)
		EXPECT_FALSE(f.uncertain);
}

TEST(RuleL, BreakHooksNotAttachedMakesL1Uncertain) {
	daxtrace::EngineConfig cfg;
	cfg.hooks_attached.set(DT_HOOK_TP_PTE_FAULT);
	cfg.hooks_attached.set(DT_HOOK_FN_DISASSOCIATE_ENTRY);
	Result r = run(swap_boot_race(), cfg);
	auto l1 = with_rule(r, Rule::L1_REMOVE_WITHOUT_BREAK);
	ASSERT_EQ(l1.size(), 1u);
	EXPECT_TRUE(l1[0]->uncertain);
	EXPECT_NE(l1[0]->uncertain_reason.find("layout-break hook"), std::string::npos);
	cfg.hooks_attached.set(DT_HOOK_FN_EXT4_BREAK_LAYOUTS);
	Result r2 = run(swap_boot_race(), cfg);
	EXPECT_FALSE(with_rule(r2, Rule::L1_REMOVE_WITHOUT_BREAK)[0]->uncertain);
}

TEST(RuleL, TruncateOfMappedPageWithoutBreakIsL1Only) {
	// ext2 DAX truncate: never breaks layouts.  The page is mapped but not
	// pinned (refcount 1): L1, no L2.
	Stream s = mapping_fault();
	s.push_back(Ev(DT_REMOVE_ENTER, 1000, kRemover).op_(DT_ROP_TRUNCATE));
	s.push_back(Ev(DT_ENTRY_DELETE, 1100, kRemover, 0));
	s.push_back(Ev(DT_ENTRY_DISASSOC, 1200, kRemover, 0).fl(DT_F_TRUNC).ref(1));
	s.push_back(Ev(DT_REMOVE_EXIT, 1300, kRemover).op_(DT_ROP_TRUNCATE));
	Result r = run(s);
	ASSERT_EQ(r.findings.size(), 1u);
	EXPECT_EQ(r.findings[0].rule, Rule::L1_REMOVE_WITHOUT_BREAK);
	EXPECT_EQ(r.findings[0].window_end_ns, kT0 + 1100);
}

TEST(RuleL, UnmappedUnpinnedTeardownIsNotL1) {
	Stream s;
	s.push_back(Ev(DT_REMOVE_ENTER, 1000, kRemover).op_(DT_ROP_TRUNCATE));
	s.push_back(Ev(DT_ENTRY_DELETE, 1100, kRemover, 4));
	s.push_back(Ev(DT_ENTRY_DISASSOC, 1200, kRemover, 4).fl(DT_F_TRUNC).ref(1));
	s.push_back(Ev(DT_REMOVE_EXIT, 1300, kRemover).op_(DT_ROP_TRUNCATE));
	EXPECT_TRUE(run(s).findings.empty());
}

TEST(RuleL, BreakNotCoveringThePageIsL1) {
	Stream s = swap_boot_race();
	// a break over pages 10.. only, before the teardown of page 0
	s.insert(s.begin() + 4, Ev(DT_BREAK_ENTER, 1110, kRemover, 10).nr(5));
	s.insert(s.begin() + 5, Ev(DT_BREAK_EXIT, 1120, kRemover, 10).nr(5).ret_(0));
	Result r = run(s);
	EXPECT_EQ(with_rule(r, Rule::L1_REMOVE_WITHOUT_BREAK).size(), 1u);
	EXPECT_TRUE(with_rule(r, Rule::L3_SCAN_MISSED_PIN).empty());
}

// ---------------------------------------------------------------- L3

TEST(RuleL, ScanMissedPinGivesL3AndL2NotL1) {
	Result r = run(punch_scan_missed());
	auto l3 = with_rule(r, Rule::L3_SCAN_MISSED_PIN);
	ASSERT_EQ(l3.size(), 1u);
	EXPECT_EQ(with_rule(r, Rule::L2_DISASSOCIATE_PINNED).size(), 1u);
	EXPECT_TRUE(with_rule(r, Rule::L1_REMOVE_WITHOUT_BREAK).empty());
	const auto &f = *l3[0];
	EXPECT_EQ(f.name(), "busy-scan-missed-pin");
	EXPECT_EQ(f.window_start_ns, kT0 + 1300); // the break's "idle" answer
	EXPECT_EQ(f.window_end_ns, kT0 + 1500);   // the pinned disassociation
	EXPECT_TRUE(has_evidence(f, DT_BUSY_SCAN, 1200));
	EXPECT_TRUE(has_evidence(f, DT_BREAK_EXIT, 1300));
	EXPECT_TRUE(has_evidence(f, DT_ENTRY_DISASSOC, 1500));
	EXPECT_FALSE(f.uncertain);
}

TEST(RuleL, SerialisedPunchIsNotL3) {
	Result r = run(punch_serialised());
	EXPECT_TRUE(with_rule(r, Rule::L3_SCAN_MISSED_PIN).empty());
	EXPECT_EQ(r.nm_count[int(daxtrace::RaceClass::L)], 1u);
}

TEST(RuleL, ScanMissedPinReordered) {
	Stream s = punch_scan_missed();
	expect_same_reordered(s, 4);
}

TEST(RuleL, ScanAnswerBeyondWindowIsCounted) {
	// Without the (late) idle answers there is no idle claim: no L3 is
	// invented, the late events are counted.
	Stream s = punch_scan_missed();
	size_t k = index_of(s, DT_BREAK_EXIT, 1300);
	Stream late = deliver_late(s, k);
	Result r = run(late);
	EXPECT_EQ(r.stats.late, 1u);
	// The BUSY_SCAN at 1200 still said idle: L3 stands, but the late event
	// lies inside its dependency window -> uncertain.
	auto l3 = with_rule(r, Rule::L3_SCAN_MISSED_PIN);
	ASSERT_EQ(l3.size(), 1u);
	EXPECT_TRUE(l3[0]->uncertain);
	EXPECT_EQ(l3[0]->window_start_ns, kT0 + 1200);
}

TEST(RuleL, LostEventsMakeL3Uncertain) {
	Result r = run(with_loss(punch_scan_missed(), 1350, 2, 3));
	auto l3 = with_rule(r, Rule::L3_SCAN_MISSED_PIN);
	ASSERT_EQ(l3.size(), 1u);
	EXPECT_TRUE(l3[0]->uncertain); // a lost BREAK_BUSY would explain it
	EXPECT_FALSE(with_rule(r, Rule::L2_DISASSOCIATE_PINNED)[0]->uncertain);
}

TEST(RuleL, PinnedDisassocOutsideAnyRemovalIsL2) {
	Stream s = {Ev(DT_ENTRY_DISASSOC, 1000, kRemover, 9).fl(DT_F_TRUNC).ref(2)};
	Result r = run(s);
	ASSERT_EQ(r.findings.size(), 1u);
	EXPECT_EQ(r.findings[0].rule, Rule::L2_DISASSOCIATE_PINNED);
	EXPECT_EQ(r.stats.teardown_outside_removal, 1u);
	EXPECT_EQ(r.findings[0].width_ns(), 0u);
}

TEST(RuleL, OpenRemovalAtFlushStillReportsL1) {
	Stream s = swap_boot_race();
	s.pop_back();
	s.pop_back(); // Ctrl-C before the removal ended
	Result r = run(s);
	auto l1 = with_rule(r, Rule::L1_REMOVE_WITHOUT_BREAK);
	ASSERT_EQ(l1.size(), 1u);
	EXPECT_NE(l1[0]->summary.find("still open"), std::string::npos);
}

TEST(RuleL, LossReportedTooLateIsCountedAgainstPublishedFindings) {
	// As in a lab xfs trace: DT_LOST only at the end, 10 s after L1 was
	// published.  L1 cannot be changed any more; the stats say so.
	Stream s = swap_boot_race();
	s.push_back(Ev(DT_FSYNC_ENTER, 5'000'000'000ULL, 999).ino_(77));
	s.push_back(daxtrace::make_lost_event(kT0 + 10'000'000'000ULL, 0, 100));
	s.push_back(daxtrace::make_lost_event(kT0 + 10'000'000'100ULL, 1, 5));
	Result r = run(s);
	auto l1 = with_rule(r, Rule::L1_REMOVE_WITHOUT_BREAK);
	ASSERT_EQ(l1.size(), 1u);
	EXPECT_FALSE(l1[0]->uncertain);
	EXPECT_EQ(r.stats.findings_before_late_loss, 1u); // L1 (L2 is not gap sensitive)
}

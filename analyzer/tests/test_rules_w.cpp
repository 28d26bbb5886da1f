// Class W: W1 writeback-during-mkwrite.
#include <gtest/gtest.h>

#include "daxtrace/trace.h"
#include "rule_checks.h"
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

TEST(RuleW1, RetriedStoreFaultingAgainIsNearMiss) {
	// A correct kernel: the writeback took the entry lock after the fault
	// installed the PTE and unlocked (just before its exit event), and
	// write-protected the PTE again, so the writer's retried store faults
	// on page 2 once more.  Distance: completion - writeback.
	for (uint16_t refault : {uint16_t(DT_MKWRITE_ENTER), uint16_t(DT_FAULT_ENTER)}) {
		Stream s = w1_race();
		Ev again(refault, 100'400, kA, 2);
		if (refault == DT_FAULT_ENTER)
			again.fl(DT_F_WRITE);
		s.push_back(again);
		Result r = run(s);
		EXPECT_TRUE(r.findings.empty()) << refault;
		EXPECT_EQ(r.nm_count[int(daxtrace::RaceClass::W)], 1u);
		EXPECT_EQ(r.nm_min[int(daxtrace::RaceClass::W)], 100'000u - 1200u);
	}
}

TEST(RuleW1, AReadFaultOrAnotherTaskOrPageIsNoRefault) {
	Stream reads = w1_race();
	reads.push_back(Ev(DT_FAULT_ENTER, 100'400, kA, 2)); // no DT_F_WRITE
	Stream other_task = w1_race();
	other_task.push_back(Ev(DT_MKWRITE_ENTER, 100'400, kB, 2));
	Stream other_page = w1_race();
	other_page.push_back(Ev(DT_MKWRITE_ENTER, 100'400, kA, 3));
	for (const Stream &s : {reads, other_task, other_page})
		EXPECT_EQ(run(s).findings.size(), 1u);
}

TEST(RuleW1, RefaultAfterTheHorizonDoesNotCount) {
	// 2 s later the fault is a new store, not the retried one: W1 was
	// decided when the horizon (1 s) passed.
	Stream s = w1_race();
	s.push_back(Ev(DT_MKWRITE_ENTER, 2'000'100'000, kA, 2));
	Result r = run(s);
	ASSERT_EQ(r.findings.size(), 1u);
	EXPECT_FALSE(r.findings[0].uncertain);
}

TEST(RuleW1, DecidedWhenTheHorizonPassesNotOnlyAtTheEnd) {
	daxtrace::Engine e;
	std::vector<daxtrace::Finding> live;
	e.set_callback([&](const daxtrace::Finding &f) { live.push_back(f); });
	for (const dt_event &ev : w1_race())
		e.push(ev);
	e.advance_to(kT0 + 900'000'000); // inside the horizon
	EXPECT_TRUE(live.empty());
	e.advance_to(kT0 + 2'200'000'000); // horizon and loss grace over
	ASSERT_EQ(live.size(), 1u);
	EXPECT_EQ(live[0].rule, Rule::W1_WRITEBACK_DURING_MKWRITE);
	e.flush();
	EXPECT_EQ(live.size(), 1u);
}

TEST(RuleW1, LossAfterTheCompletionMakesW1Uncertain) {
	// Events lost after the window (a marker with no loss first, so the
	// loss interval starts at 150 us) could have held the refault.
	Result r = run(with_loss(with_loss(w1_race(), 150'000, 0), 300'000));
	ASSERT_EQ(r.findings.size(), 1u);
	EXPECT_TRUE(r.findings[0].uncertain);
}

TEST(RuleW1, TheHookOfTheDirtyingDoesNotDecide) {
	// The patched kernel's dax_entry_mkdirty (after the PTE install) and
	// 6.1's dax_insert_pfn_mkwrite (after the unlock) report late, the race
	// lab kernel's dax_entry_mkdirty early: the refault tells them apart,
	// not the hook.
	for (uint16_t hook : {uint16_t(DT_HOOK_TP_MKWRITE_DIRTY), uint16_t(DT_HOOK_TP_INSERT_PFN_MKWRITE)}) {
		Stream race = w1_race();
		race[1].hook = hook;
		EXPECT_EQ(run(race).findings.size(), 1u) << "hook " << hook;
		Stream legal = race;
		legal.push_back(Ev(DT_MKWRITE_ENTER, 100'400, kA, 2));
		Result r = run(legal);
		EXPECT_TRUE(r.findings.empty()) << "hook " << hook;
		EXPECT_EQ(r.nm_count[int(daxtrace::RaceClass::W)], 1u);
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
	expect_same_reordered(w1_race(), 3);
	Result c = expect_clean_reordered(w_serialised(), 3);
	EXPECT_EQ(c.nm_count[int(daxtrace::RaceClass::W)], 1u);
}

TEST(RuleW1, WritebackBeyondWindowIsCounted) {
	Stream s = w1_race();
	s.back().ts = kT0 + 50'000'000; // completion 50 ms later
	// deliver the WB entry after the clock moved 30 ms past the completion
	Result r = run_late(s, DT_WB_ENTRY, 1200);
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

// ---------------------------------------------------------------- W2

namespace {

constexpr uint32_t kWriter = 100, kSync = 300, kRacer = 400;

Ev wb_range(uint16_t type, uint64_t ts, uint64_t pg, uint64_t nr, uint16_t hook) {
	Ev e(type, ts, kSync, pg);
	e.nr(nr);
	e.hook = hook;
	return e;
}

// What stock 6.1 showed in the lab (fsync_locked_skip): page 5 dirtied by
// a write fault, fsync's walk (tracepoint bracket) writes back page 4 but
// not page 5, while another thread's read fault on page 5 is running.
Stream w2_race() {
	return {
		Ev(DT_FAULT_ENTER, 1000, kWriter, 5).fl(DT_F_WRITE),
		Ev(DT_FAULT_EXIT, 1200, kWriter, 5).fl(DT_F_WRITE).ret_(kFaultNoPage),
		Ev(DT_FAULT_ENTER, 1300, kWriter, 4).fl(DT_F_WRITE),
		Ev(DT_FAULT_EXIT, 1400, kWriter, 4).fl(DT_F_WRITE).ret_(kFaultNoPage),
		Ev(DT_FSYNC_ENTER, 2000, kSync, 0),
		wb_range(DT_WB_RANGE_ENTER, 2100, 0, 16, DT_HOOK_TP_WRITEBACK_RANGE),
		Ev(DT_FAULT_ENTER, 2150, kRacer, 5),
		Ev(DT_WB_ENTRY, 2200, kSync, 4).nr(1),
		Ev(DT_FAULT_EXIT, 2400, kRacer, 5).ret_(kFaultNoPage),
		wb_range(DT_WB_RANGE_EXIT, 2500, 0, 16, DT_HOOK_TP_WRITEBACK_RANGE_DONE),
		Ev(DT_FSYNC_EXIT, 2600, kSync, 0),
	};
}

size_t count_w2(const Result &r) { return with_rule(r, Rule::W2_FSYNC_SKIPPED_DIRTY).size(); }

} // namespace

TEST(RuleW2, FsyncSkipsDirtyPageLockedByConcurrentFault) {
	Result r = run(w2_race());
	ASSERT_EQ(r.findings.size(), 1u);
	const auto &f = r.findings[0];
	EXPECT_EQ(f.id(), "W2");
	EXPECT_EQ(f.name(), "fsync-skipped-dirty-entry");
	EXPECT_EQ(f.race_class(), daxtrace::RaceClass::W);
	EXPECT_EQ(f.pgoff_first, 5u);
	EXPECT_EQ(f.pgoff_last, 5u);
	EXPECT_EQ(f.window_start_ns, kT0 + 2100);
	EXPECT_EQ(f.window_end_ns, kT0 + 2500);
	EXPECT_FALSE(f.uncertain);
	ASSERT_EQ(f.tasks.size(), 3u);
	EXPECT_EQ(f.tasks[0].tid, kSync);
	EXPECT_EQ(f.tasks[0].role, "writeback");
	EXPECT_EQ(f.tasks[1].tid, kWriter);
	EXPECT_EQ(f.tasks[1].role, "dirtier");
	EXPECT_EQ(f.tasks[2].tid, kRacer);
	EXPECT_EQ(f.tasks[2].role, "faulter");
	// dirtying -> walk start -> the fault -> walk end, in time order
	ASSERT_EQ(f.evidence.size(), 5u);
	EXPECT_TRUE(has_evidence(f, DT_FAULT_EXIT, 1200));
	EXPECT_EQ(f.evidence[0].tid, kWriter);
	EXPECT_EQ(f.evidence[1].type, DT_WB_RANGE_ENTER);
	EXPECT_EQ(f.evidence[2].type, DT_FAULT_ENTER);
	EXPECT_EQ(f.evidence[2].tid, kRacer);
	EXPECT_EQ(f.evidence[3].type, DT_FAULT_EXIT);
	EXPECT_EQ(f.evidence[4].type, DT_WB_RANGE_EXIT);
	EXPECT_NE(f.summary.find("page 5"), std::string::npos) << f.summary;
}

TEST(RuleW2, FaultThatFinishedBeforeTheWalkIsNotW2) {
	// Serialised: the racer's fault ended before the walk began.  Page 5
	// not written back is then not explained by a lock holder we saw.
	Stream s = w2_race();
	s[6].ts = kT0 + 1500;
	s[8].ts = kT0 + 1800;
	std::sort(s.begin(), s.end(), [](const dt_event &a, const dt_event &b) { return a.ts < b.ts; });
	Result r = run(s);
	EXPECT_EQ(count_w2(r), 0u);
	// and written back as it should: no finding either
	s.push_back(Ev(DT_WB_ENTRY, 2300, kSync, 5).nr(1));
	std::sort(s.begin(), s.end(), [](const dt_event &a, const dt_event &b) { return a.ts < b.ts; });
	EXPECT_TRUE(run(s).findings.empty());
}

TEST(RuleW2, PageWrittenBackDespiteTheFaultIsNearMiss) {
	Stream s = w2_race();
	s.insert(s.begin() + 9, Ev(DT_WB_ENTRY, 2450, kSync, 5).nr(1));
	Result r = run(s);
	EXPECT_TRUE(r.findings.empty());
	// W: writeback of page 4 vs. its dirtying (800), of page 5 vs. its
	// dirtying (1250), and the W2 near miss writeback - fault end (50)
	EXPECT_EQ(r.nm_count[int(daxtrace::RaceClass::W)], 3u);
	EXPECT_EQ(r.nm_min[int(daxtrace::RaceClass::W)], 50u);
}

TEST(RuleW2, CleanPageIsNotW2) {
	// Page 5 only read-faulted, never dirtied.
	Stream s = w2_race();
	s[0].flags = 0;
	s[1].flags = 0;
	EXPECT_EQ(count_w2(run(s)), 0u);
	// Dirtied, then written back by an earlier fsync: clean at the walk.
	Stream t = w2_race();
	t.insert(t.begin() + 4, Ev(DT_WB_ENTRY, 1500, kSync, 5).nr(1));
	EXPECT_EQ(count_w2(run(t)), 0u);
}

TEST(RuleW2, DirtiedDuringTheWalkIsNotW2) {
	Stream s = w2_race();
	s[0].ts = kT0 + 2110;
	s[1].ts = kT0 + 2120;
	std::sort(s.begin(), s.end(), [](const dt_event &a, const dt_event &b) { return a.ts < b.ts; });
	EXPECT_EQ(count_w2(run(s)), 0u);
}

TEST(RuleW2, PageOutsideTheRangeOrOwnFaultIsNotW2) {
	Stream s = w2_race();
	s[5].nr_pages = 5; // pages 0..4
	s[9].nr_pages = 5;
	EXPECT_EQ(count_w2(run(s)), 0u);
	Stream o = w2_race();
	o[6].tid = o[6].pid = kSync; // the walker's own fault: not concurrent
	o[8].tid = o[8].pid = kSync;
	EXPECT_EQ(count_w2(run(o)), 0u);
}

TEST(RuleW2, TornDownPageIsNotW2) {
	Stream s = w2_race();
	s.insert(s.begin() + 4, Ev(DT_ENTRY_DELETE, 1500, 500, 5));
	EXPECT_EQ(count_w2(run(s)), 0u);
}

TEST(RuleW2, ConcurrentWalkOrFailedWalkIsNotJudged) {
	// Another fsync of the inode may hold page 5's TOWRITE mark.
	Stream s = w2_race();
	Ev other = wb_range(DT_WB_RANGE_ENTER, 2120, 0, 0, DT_HOOK_TP_WRITEBACK_RANGE);
	other.tid = other.pid = 301;
	s.insert(s.begin() + 6, other);
	EXPECT_EQ(count_w2(run(s)), 0u);
	// dax_writeback_mapping_range returned an error: fsync reported it.
	Stream e = w2_race();
	e.insert(e.begin() + 5, wb_range(DT_WB_RANGE_ENTER, 2050, 0, 0, DT_HOOK_FN_DAX_WRITEBACK_RANGE));
	e.insert(e.begin() + 11, wb_range(DT_WB_RANGE_EXIT, 2550, 0, 0, DT_HOOK_FN_DAX_WRITEBACK_RANGE).ret_(-5));
	EXPECT_EQ(count_w2(run(e)), 0u);
	// the same with success: judged at the outer exit, W2
	e[11].ret = 0;
	Result ok = run(e);
	ASSERT_EQ(count_w2(ok), 1u);
	EXPECT_EQ(ok.findings[0].window_start_ns, kT0 + 2050);
	EXPECT_EQ(ok.findings[0].window_end_ns, kT0 + 2550);
}

TEST(RuleW2, FunctionBracketCountsOnlyInsideFsync) {
	// Without the tracepoints only the function bracket is seen; it also
	// covers WB_SYNC_NONE calls that return without walking.
	Stream s = w2_race();
	s[5].hook = DT_HOOK_FN_DAX_WRITEBACK_RANGE;
	s[9].hook = DT_HOOK_FN_DAX_WRITEBACK_RANGE;
	EXPECT_EQ(count_w2(run(s)), 1u);
	Stream n = s;
	n.erase(n.begin() + 10); // no FSYNC_EXIT ...
	n.erase(n.begin() + 4);  // ... and no FSYNC_ENTER: background writeback
	EXPECT_EQ(count_w2(run(n)), 0u);
}

TEST(RuleW2, FaultRunningWhenTheWalkBeganCounts) {
	Stream s = w2_race();
	s[6].ts = kT0 + 2050; // racer entered before the walk
	std::sort(s.begin(), s.end(), [](const dt_event &a, const dt_event &b) { return a.ts < b.ts; });
	EXPECT_EQ(count_w2(run(s)), 1u);
}

TEST(RuleW2, PmdEntrySkippedAsAWhole) {
	// 2 MiB file: one PMD write fault (faulting page 700: entry 512..1023),
	// a PMD read fault from another mapping during the walk, and no
	// dax_writeback_one at all.
	Stream s = {
		Ev(DT_FAULT_ENTER, 1000, kWriter, 700).fl(DT_F_WRITE | DT_F_PMD).nr(512),
		Ev(DT_FAULT_EXIT, 1200, kWriter, 700).fl(DT_F_WRITE | DT_F_PMD).nr(512).ret_(kFaultNoPage),
		Ev(DT_FSYNC_ENTER, 2000, kSync, 0),
		wb_range(DT_WB_RANGE_ENTER, 2100, 0, 0, DT_HOOK_TP_WRITEBACK_RANGE),
		Ev(DT_FAULT_ENTER, 2150, kRacer, 530).fl(DT_F_PMD).nr(512),
		Ev(DT_FAULT_EXIT, 2400, kRacer, 530).fl(DT_F_PMD).nr(512).ret_(kFaultNoPage),
		wb_range(DT_WB_RANGE_EXIT, 2500, 0, 0, DT_HOOK_TP_WRITEBACK_RANGE_DONE),
		Ev(DT_FSYNC_EXIT, 2600, kSync, 0),
	};
	Result r = run(s);
	ASSERT_EQ(count_w2(r), 1u);
	EXPECT_EQ(r.findings[0].pgoff_first, 512u);
	EXPECT_EQ(r.findings[0].pgoff_last, 1023u);
	EXPECT_TRUE(has_evidence(r.findings[0], DT_FAULT_EXIT, 1200));
	EXPECT_NE(r.findings[0].summary.find("512 page(s)"), std::string::npos) << r.findings[0].summary;
	// Twin: the walk wrote the PMD entry back (one event, pglen 512).
	Stream t = s;
	t.insert(t.begin() + 6, Ev(DT_WB_ENTRY, 2450, kSync, 512).nr(512));
	Result q = run(t);
	EXPECT_TRUE(q.findings.empty());
	EXPECT_GE(q.nm_count[int(daxtrace::RaceClass::W)], 1u);
	EXPECT_EQ(q.nm_min[int(daxtrace::RaceClass::W)], 50u);
	// A second round after the write-back: clean, so no W2.
	Stream u = t;
	for (const dt_event &e : s) {
		if (e.type == DT_FAULT_ENTER && e.tid == kWriter)
			continue;
		if (e.type == DT_FAULT_EXIT && e.tid == kWriter)
			continue;
		dt_event c = e;
		c.ts += 10'000;
		u.push_back(c);
	}
	EXPECT_EQ(count_w2(run(u)), 0u);
}

TEST(RuleW2, SkippedPageStaysDirtyAndIsJudgedAgain) {
	// Round 2 has no new fault on page 5 (its PTE stayed writable): it is
	// still dirty from round 1, skipped again -> a second W2.
	Stream s = w2_race();
	for (const dt_event &e : w2_race()) {
		if (e.tid == kWriter)
			continue;
		dt_event c = e;
		c.ts += 10'000;
		s.push_back(c);
	}
	Result r = run(s);
	ASSERT_EQ(count_w2(r), 2u);
	EXPECT_EQ(r.findings[1].pgoff_first, 5u);
}

TEST(RuleW2, ReorderedAndLost) {
	expect_same_reordered(w2_race(), 3);
	Result l = run(with_loss(w2_race(), 1800));
	ASSERT_EQ(count_w2(l), 1u);
	EXPECT_TRUE(l.findings[0].uncertain);
}

// ---------------------------------------------------------------- W2, lab

namespace {

Result replay_lab(const std::string &name, daxtrace::TraceHeader *hdr) {
	daxtrace::TraceReader r(std::string(DAXTRACE_TEST_DATA) + "/" + name);
	auto ev = r.read_all();
	EXPECT_TRUE(r.clean_end());
	*hdr = r.header();
	daxtrace::EngineConfig cfg;
	cfg.hooks_attached = daxtrace::hooks_from_names(r.header().hooks);
	return run(ev, cfg);
}

} // namespace

// Recorded by tests/lab/w2_fsync_test.sh on Debian's stock 6.1.0-57-amd64,
// ext4 (fsync_locked_skip -n 30 -p 100): the reproducer reported round 3
// damaged ("wrote back 99 of 100 dirty pages, missed pgoff 78"), and this
// is that round and the two after it (81.25 s .. 84.0 s of trace time),
// cut out of the recording with TraceReader/TraceWriter.
TEST(LabTrace, StockExt4FsyncLockedSkipIsW2) {
	daxtrace::TraceHeader h;
	Result r = replay_lab("stock-6.1-ext4-fsync-locked-skip.dxt", &h);
	EXPECT_EQ(h.kernel_release, "6.1.0-57-amd64");
	ASSERT_EQ(r.findings.size(), 1u);
	const auto &f = r.findings[0];
	EXPECT_EQ(f.rule, Rule::W2_FSYNC_SKIPPED_DIRTY);
	EXPECT_EQ(f.pgoff_first, 78u);
	EXPECT_EQ(f.pgoff_last, 78u);
	EXPECT_FALSE(f.uncertain);
	// the reproducer's fsync of round 3 ran 81357190964..82517906548 ns
	EXPECT_GE(f.window_start_ns, 81357190964u);
	EXPECT_LE(f.window_end_ns, 82517906548u);
	ASSERT_GE(f.evidence.size(), 4u);
	EXPECT_EQ(f.evidence.front().type, DT_FAULT_EXIT); // the write fault dirtying page 78
	EXPECT_TRUE(f.evidence.front().flags & DT_F_WRITE);
	EXPECT_EQ(f.evidence.back().type, DT_WB_RANGE_EXIT);
	bool racer_fault = false;
	for (const auto &e : f.evidence)
		racer_fault |= e.type == DT_FAULT_ENTER && e.pgoff == 78 && e.tid != f.tasks[0].tid;
	EXPECT_TRUE(racer_fault);
	// the other 99 pages raced too and were written back: near misses
	EXPECT_GT(r.nm_count[int(daxtrace::RaceClass::W)], 100u);
}

// The same run's control (--no-racer, 30 rounds, none damaged), whole.
TEST(LabTrace, StockExt4FsyncWithoutRacerHasNoW2) {
	daxtrace::TraceHeader h;
	Result r = replay_lab("stock-6.1-ext4-fsync-no-racer.dxt", &h);
	EXPECT_EQ(h.kernel_release, "6.1.0-57-amd64");
	EXPECT_GT(r.stats.events_analysed, 10000u);
	EXPECT_TRUE(r.findings.empty()) << (r.json.empty() ? "" : r.json[0]);
}

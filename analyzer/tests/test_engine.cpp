// Engine plumbing: reorder window, late events, retirement, memory.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>

#include "../engine/engine_impl.h"
#include "../engine/flat_map.h"
#include "../engine/reorder_buffer.h"
#include "trace_builder.h"

using namespace dtt;

TEST(ReorderBuffer, ReleasesInTimestampThenArrivalOrder) {
	daxtrace::detail::ReorderBuffer rb;
	std::mt19937_64 rng(1);
	std::vector<uint64_t> in;
	for (int i = 0; i < 5000; ++i) {
		dt_event e{};
		e.ts = 1000 + i * 10 + rng() % 200; // jitter across "CPUs"
		e.pid = uint32_t(i);
		in.push_back(e.ts);
		rb.push(e);
	}
	std::vector<dt_event> out;
	rb.release(UINT64_MAX, [&](const dt_event &e) { out.push_back(e); });
	ASSERT_EQ(out.size(), in.size());
	for (size_t i = 1; i < out.size(); ++i) {
		ASSERT_LE(out[i - 1].ts, out[i].ts);
		if (out[i - 1].ts == out[i].ts) {
			ASSERT_LT(out[i - 1].pid, out[i].pid); // stable for equal ts
		}
	}
	EXPECT_EQ(rb.size(), 0u);
}

TEST(ReorderBuffer, ReleasesOnlyUpToTheLimit) {
	daxtrace::detail::ReorderBuffer rb;
	for (uint64_t ts : {50, 10, 30, 20, 40}) {
		dt_event e{};
		e.ts = ts;
		rb.push(e);
	}
	std::vector<uint64_t> got;
	rb.release(30, [&](const dt_event &e) { got.push_back(e.ts); });
	EXPECT_EQ(got, (std::vector<uint64_t>{10, 20, 30}));
	EXPECT_EQ(rb.size(), 2u);
	EXPECT_EQ(rb.min_ts(), 40u);
}

// The ring slides near stragglers into place and sends the others to the
// heap: whatever the fields and the order, every byte comes back, in
// (ts, arrival) order.
TEST(ReorderBuffer, RoundTripIsExactForAnyFieldsAndOrder) {
	daxtrace::detail::ReorderBuffer rb;
	std::mt19937_64 rng(7);
	std::vector<dt_event> in;
	std::vector<dt_event> out;
	uint64_t ts = 1'000'000;
	for (int i = 0; i < 200000; ++i) {
		dt_event e;
		memset(&e, 0, sizeof(e));
		ts += rng() % 50;
		unsigned late = rng() % 100;
		e.ts = late < 10 ? ts - rng() % 400 : late < 12 ? ts - rng() % 100000 : ts;
		e.type = uint16_t(rng() % 30);
		e.hook = uint16_t(rng() % 300);
		e.cpu = uint16_t(rng() % 64);
		e.op = uint16_t(rng() % 260);
		e.pid = uint32_t(rng() % 50);
		e.tid = e.pid + uint32_t(rng() % 3);
		e.dev = rng() % 8 ? (259ULL << 20) : rng();
		e.ino = rng();
		e.pgoff = rng() % 4096;
		e.nr_pages = rng() % 4 ? rng() % 600 : rng();
		e.block = rng() % 3 ? 0 : rng();
		e.len = rng() % 3 ? 0 : rng() % 65536;
		e.ret = rng() % 4 ? int64_t(rng() % 512) - 256 : int64_t(rng());
		e.flags = uint32_t(rng());
		e.refcount = rng() % 4 ? uint32_t(rng() % 4) : uint32_t(rng());
		e.iomap_type = uint16_t(rng() % 300);
		e.iomap_flags = uint16_t(rng() % 300);
		e.reserved = rng() % 50 ? 0 : 1;
		snprintf(e.comm, DT_COMM_LEN, "task%u", unsigned(e.tid % 7));
		if (rng() % 20 == 0)
			memset(e.comm, 'x', DT_COMM_LEN); // no NUL
		in.push_back(e);
		rb.push(e);
		if (i % 1000 == 999)
			rb.release(ts - 50000, [&](const dt_event &x) { out.push_back(x); });
	}
	rb.release(UINT64_MAX, [&](const dt_event &x) { out.push_back(x); });
	std::vector<size_t> idx(in.size());
	for (size_t i = 0; i < idx.size(); ++i)
		idx[i] = i;
	// Reference: released in (ts, arrival) order within each release, and
	// each event exactly once: compare as multisets of bytes plus order.
	ASSERT_EQ(out.size(), in.size());
	for (size_t i = 1; i < out.size(); ++i)
		ASSERT_LE(out[i - 1].ts, out[i].ts + 100000) << i;
	auto key = [](const dt_event &e) { return std::string(reinterpret_cast<const char *>(&e), sizeof(e)); };
	std::vector<std::string> a, b;
	for (const auto &e : in)
		a.push_back(key(e));
	for (const auto &e : out)
		b.push_back(key(e));
	std::sort(a.begin(), a.end());
	std::sort(b.begin(), b.end());
	EXPECT_TRUE(a == b);
	EXPECT_EQ(rb.size(), 0u);
}

// Release order equals a stable sort by ts of what was pushed.
TEST(ReorderBuffer, SlidStragglersKeepArrivalOrderForEqualTs) {
	daxtrace::detail::ReorderBuffer rb;
	std::mt19937_64 rng(3);
	std::vector<dt_event> in;
	for (int i = 0; i < 20000; ++i) {
		dt_event e{};
		e.ts = 1000 + i / 3 - rng() % 4; // many equal ts, small lateness
		e.pid = uint32_t(i);
		e.tid = uint32_t(i % 5);
		e.block = i % 7 == 0 ? 4096 : 0; // some events do not fit a packed slot
		in.push_back(e);
		rb.push(e);
	}
	std::vector<dt_event> out;
	rb.release(UINT64_MAX, [&](const dt_event &e) { out.push_back(e); });
	std::stable_sort(in.begin(), in.end(), [](const dt_event &x, const dt_event &y) { return x.ts < y.ts; });
	ASSERT_EQ(out.size(), in.size());
	for (size_t i = 0; i < in.size(); ++i)
		ASSERT_EQ(memcmp(&in[i], &out[i], sizeof(dt_event)), 0) << i;
}

TEST(FlatMap, InsertFindEraseSweep) {
	daxtrace::detail::FlatMap<uint64_t, uint64_t, ~0ULL> m(16);
	for (uint64_t i = 0; i < 10000; ++i)
		m.get_or_insert(i * 7919) = i;
	EXPECT_EQ(m.size(), 10000u);
	for (uint64_t i = 0; i < 10000; i += 2)
		EXPECT_TRUE(m.erase(i * 7919));
	for (uint64_t i = 0; i < 10000; ++i) {
		uint64_t *v = m.find(i * 7919);
		if (i % 2) {
			ASSERT_TRUE(v && *v == i);
		} else {
			ASSERT_EQ(v, nullptr);
		}
	}
	size_t cur = 0;
	for (int pass = 0; pass < 3; ++pass)
		for (size_t k = 0; k < m.capacity(); k += 100)
			cur = m.sweep(cur, 100, [](uint64_t, uint64_t &v) { return v % 3 == 0; });
	m.for_each([](uint64_t, uint64_t v) { EXPECT_NE(v % 3, 0u); });
	for (uint64_t i = 1; i < 10000; i += 2)
		if (i % 3) {
			ASSERT_NE(m.find(i * 7919), nullptr);
		}
	m.shrink_to_fit();
	EXPECT_LE(m.capacity(), 8192u);
}

// The page table's keys: (inode id << 32 | page), dense runs of pages of
// a few files, and strided ones (PMD-aligned, 4 KiB apart in pages), which
// Fibonacci hashing (FlatMap::index()) places differently: every key is
// found again through growth, erasure, a sweep and a shrink.
TEST(FlatMap, PageKeyPatternsSurviveGrowthAndShrink) {
	daxtrace::detail::FlatMap<uint64_t, uint64_t, ~0ULL> m(16);
	std::vector<uint64_t> keys;
	for (uint64_t id = 0; id < 64; ++id)
		for (uint64_t pg = 0; pg < 600; ++pg)
			keys.push_back(id << 32 | pg);
	for (uint64_t id = 64; id < 72; ++id)
		for (uint64_t k = 0; k < 2000; ++k)
			keys.push_back(id << 32 | (k * (id % 2 ? 512 : 4096)));
	for (uint64_t i = 0; i < keys.size(); ++i)
		m.get_or_insert(keys[i]) = i;
	ASSERT_EQ(m.size(), keys.size());
	for (uint64_t i = 0; i < keys.size(); ++i) {
		uint64_t *v = m.find(keys[i]);
		ASSERT_TRUE(v && *v == i) << keys[i];
	}
	// Erase all but every 16th through sweeps (an entry that a deletion
	// shifted behind the cursor waits for the next pass), then shrink:
	// the survivors are found at their new homes.
	size_t cur = 0;
	for (int pass = 0; pass < 4; ++pass)
		for (size_t k = 0; k < m.capacity(); k += 256)
			cur = m.sweep(cur, 256, [](uint64_t, uint64_t &v) { return v % 16 != 0; });
	EXPECT_EQ(m.size(), (keys.size() + 15) / 16);
	m.shrink_to_fit();
	EXPECT_LE(m.capacity(), 8192u);
	for (uint64_t i = 0; i < keys.size(); ++i) {
		uint64_t *v = m.find(keys[i]);
		if (i % 16 == 0) {
			ASSERT_TRUE(v && *v == i) << keys[i];
		} else {
			ASSERT_EQ(v, nullptr) << keys[i];
		}
	}
}

TEST(Engine, EventsInsideWindowAreNotLate) {
	daxtrace::Engine eng;
	for (int i = 0; i < 100; ++i) {
		Ev e(DT_WB_ENTRY, uint64_t((i % 2) ? i * 1000 : i * 1000 + 5'000'000), 10, uint64_t(i));
		eng.push(e);
	}
	eng.flush();
	auto st = eng.stats();
	EXPECT_EQ(st.late, 0u);
	EXPECT_GT(st.reordered, 0u);
	EXPECT_EQ(st.events_analysed, 100u);
}

TEST(Engine, LateEventIsCountedAndNotAnalysed) {
	daxtrace::EngineConfig cfg;
	cfg.reorder_window_ns = 1000;
	daxtrace::Engine eng(cfg);
	eng.push(Ev(DT_WB_ENTRY, 10'000, 1, 1));
	eng.push(Ev(DT_WB_ENTRY, 20'000, 1, 2));
	eng.push(Ev(DT_WB_ENTRY, 5'000, 1, 3)); // 15 us late, window 1 us
	eng.flush();
	auto st = eng.stats();
	EXPECT_EQ(st.events_in, 3u);
	EXPECT_EQ(st.late, 1u);
	EXPECT_EQ(st.events_analysed, 2u);
	EXPECT_EQ(st.active_pages, 2u); // page 3 never made it in
}

TEST(Engine, LostMarkerStampedAfterABacklogMakesNothingLate) {
	// Live, the loader stamps DT_LOST when it reads the drop counters:
	// after the backlog still queued in an overflowed ring.  The backlog
	// read after the marker is on time; the marker is processed in order.
	daxtrace::Engine eng;
	eng.push(Ev(DT_WB_ENTRY, 1'000'000, 1, 1));
	eng.push(daxtrace::make_lost_event(kT0 + 900'000'000, 0, 5)); // 0.9 s ahead
	for (int i = 0; i < 100; ++i)
		eng.push(Ev(DT_WB_ENTRY, 2'000'000 + uint64_t(i) * 1'000'000, 1, uint64_t(i)));
	eng.flush();
	auto st = eng.stats();
	EXPECT_EQ(st.late, 0u);
	EXPECT_EQ(st.events_analysed, 102u);
	EXPECT_EQ(st.lost_markers, 1u);
	EXPECT_EQ(st.lost_events, 5u);
	// A real event that far ahead still moves the clock: what follows
	// it by more than the window is late.
	daxtrace::Engine eng2;
	eng2.push(Ev(DT_WB_ENTRY, 900'000'000, 1, 1));
	eng2.push(Ev(DT_WB_ENTRY, 2'000'000, 1, 2));
	eng2.flush();
	EXPECT_EQ(eng2.stats().late, 1u);
}

TEST(Engine, IdleStateIsRetiredAfterHorizon) {
	daxtrace::EngineConfig cfg;
	cfg.idle_horizon_ns = 1'000'000; // 1 ms
	cfg.reorder_window_ns = 1000;
	daxtrace::Engine eng(cfg);
	// 20000 pages touched in the first 100 us ...
	for (uint64_t i = 0; i < 20000; ++i)
		eng.push(Ev(DT_WB_ENTRY, i * 5, 7, i));
	eng.flush();
	EXPECT_EQ(eng.stats().active_pages, 20000u);
	uint64_t before = eng.stats().page_state_bytes;
	// ... then 200 ms of activity on 10 other pages of another inode.
	for (uint64_t i = 0; i < 200000; ++i)
		eng.push(Ev(DT_WB_ENTRY, 1'000'000 + i * 1000, 8, i % 10).ino_(77));
	eng.flush();
	auto st = eng.stats();
	EXPECT_EQ(st.active_pages, 10u);
	EXPECT_EQ(st.retired_pages, 20000u);
	EXPECT_LT(st.page_state_bytes, before / 8); // the table shrank
	EXPECT_LE(st.active_inodes, 2u);
}

TEST(Engine, MemoryAccountingIsPlausible) {
	daxtrace::Engine eng;
	auto empty = eng.stats().memory_bytes;
	for (uint64_t i = 0; i < 100000; ++i)
		eng.push(Ev(DT_WB_ENTRY, i * 10, 7, i));
	eng.flush();
	auto st = eng.stats();
	EXPECT_EQ(st.active_pages, 100000u);
	double per_page = double(st.page_state_bytes) / double(st.active_pages);
	EXPECT_GE(per_page, 30.0); // a 24-byte slot at load <= 0.8 ...
	EXPECT_LE(per_page, 60.0); // ... and >= 0.4
	EXPECT_GT(st.memory_bytes, empty + st.page_state_bytes - 1);
}

TEST(Engine, UnknownTypeIsCountedAndIgnored) {
	daxtrace::Engine eng;
	Ev e(DT_FAULT_ENTER, 10, 1);
	e.type = 200;
	eng.push(e);
	eng.flush();
	EXPECT_EQ(eng.stats().invalid, 1u);
	EXPECT_TRUE(eng.take_findings().empty());
}

TEST(Engine, CallbackSeesEveryFinding) {
	daxtrace::Engine eng;
	int n = 0;
	eng.set_callback([&](const daxtrace::Finding &f) {
		++n;
		EXPECT_FALSE(f.evidence.empty());
	});
	eng.push(Ev(DT_ENTRY_DISASSOC, 10, 1, 0).fl(DT_F_TRUNC).ref(5));
	eng.flush();
	EXPECT_EQ(n, 1);
	EXPECT_EQ(eng.take_findings().size(), 1u);
	EXPECT_EQ(eng.stats().findings, 1u);
}

TEST(Engine, FindingsWaitForLossGraceThenPublish) {
	daxtrace::EngineConfig cfg;
	cfg.reorder_window_ns = 1000;
	cfg.loss_grace_ns = 1'000'000;
	daxtrace::Engine eng(cfg);
	eng.push(Ev(DT_FAULT_ENTER, 1000, 5, 7).fl(DT_F_WRITE));
	eng.push(Ev(DT_IOMAP, 1100, 5, 7).nr(1).sector(100, 4096).iomap(DT_IOMAP_UNWRITTEN, 0));
	eng.push(Ev(DT_FAULT_EXIT, 1200, 5, 7).ret_(0));
	eng.push(Ev(DT_WB_ENTRY, 500'000, 6, 1)); // 0.5 ms later: still held
	EXPECT_TRUE(eng.take_findings().empty());
	eng.push(Ev(DT_WB_ENTRY, 2'000'000, 6, 1)); // past the grace
	EXPECT_EQ(eng.take_findings().size(), 1u);
}

TEST(Engine, AdvanceToPublishesOnAQuietStream) {
	daxtrace::Engine eng; // 10 ms window, 1 s loss grace
	eng.push(Ev(DT_ENTRY_DISASSOC, 1000, 1, 0).fl(DT_F_TRUNC).ref(2)); // L2, not gap sensitive
	eng.push(Ev(DT_FAULT_ENTER, 2000, 5, 7).fl(DT_F_WRITE));
	eng.push(Ev(DT_IOMAP, 2100, 5, 7).nr(1).sector(100, 4096).iomap(DT_IOMAP_UNWRITTEN, 0));
	eng.push(Ev(DT_FAULT_EXIT, 2200, 5, 7).ret_(0)); // Z2, held for the loss grace
	EXPECT_TRUE(eng.take_findings().empty()); // still inside the reorder window
	eng.advance_to(kT0 + 20'000'000);         // 20 ms later, no events
	auto f = eng.take_findings();
	ASSERT_EQ(f.size(), 1u);
	EXPECT_EQ(f[0].rule, daxtrace::Rule::L2_DISASSOCIATE_PINNED);
	eng.advance_to(kT0 + 1'100'000'000);      // past the loss grace
	f = eng.take_findings();
	ASSERT_EQ(f.size(), 1u);
	EXPECT_EQ(f[0].rule, daxtrace::Rule::Z2_FAULT_MAPS_UNZEROED);
	EXPECT_EQ(eng.stats().reorder_depth, 0u);
}

// State kept beyond the window (W2's dirtying evidence) is packed into
// reorder-buffer slots: exact for events that fit, refused for the others,
// and an empty slot reads back as no event.
TEST(ReorderBuffer, PackUnpackIsExactOrRefused) {
	daxtrace::detail::ReorderBuffer rb;
	daxtrace::detail::ReorderBuffer::Slot empty{}, s{};
	dt_event e;
	rb.unpack(empty, e);
	EXPECT_EQ(e.type, 0);
	EXPECT_EQ(e.ts, 0u);
	dt_event a = Ev(DT_FAULT_EXIT, 1234, 77, 9).ret_(kFaultNoPage).fl(DT_F_WRITE).cpu_(3);
	memcpy(a.comm, "writer", 7);
	ASSERT_TRUE(rb.pack(a, s));
	rb.unpack(s, e);
	EXPECT_EQ(memcmp(&a, &e, sizeof(a)), 0);
	dt_event b = Ev(DT_IOMAP, 1300, 77, 9).sector(8000, 4096); // sector and length: no fit
	daxtrace::detail::ReorderBuffer::Slot before = s;
	EXPECT_FALSE(rb.pack(b, s));
	EXPECT_EQ(memcmp(&before, &s, sizeof(s)), 0);
	rb.unpack(empty, e); // once comms are interned, an empty slot is still type 0
	EXPECT_EQ(e.type, 0);
}

// The zeroing filter may say "covered" wrongly, never "not covered" wrongly.
TEST(ZeroFilter, NeverMissesACoveredSector) {
	using daxtrace::detail::ZeroFilter;
	using daxtrace::detail::ZeroRecord;
	std::mt19937_64 rng(11);
	ZeroFilter f;
	std::vector<ZeroRecord> ring(64);
	size_t head = 0, count = 0;
	auto covers = [](const ZeroRecord &z, uint64_t s) {
		return s >= z.sector && s + 8 <= z.sector + (z.len + 511) / 512;
	};
	for (int i = 0; i < 20000; ++i) {
		ZeroRecord &z = ring[head];
		if (count == ring.size())
			f.remove(z);
		unsigned kind = unsigned(rng() % 10);
		z.sector = rng() % (1ULL << 24);
		z.len = kind < 6 ? 4096 : kind < 9 ? (rng() % 64) * 4096 : (rng() % 64) << 21; // some wide
		f.add(z);
		head = (head + 1) % ring.size();
		count = std::min(count + 1, ring.size());
		for (int k = 0; k < 8; ++k) {
			const ZeroRecord &r = ring[rng() % count];
			uint64_t s = r.sector + rng() % (r.len / 512 + 1);
			bool any = false;
			for (size_t j = 0; j < count; ++j)
				any = any || covers(ring[j], s);
			if (any) {
				ASSERT_TRUE(f.may_cover(s)) << "sector " << s;
			}
		}
	}
	// Everything removed: nothing may be covered any more.
	for (size_t j = 0; j < count; ++j)
		f.remove(ring[j]);
	EXPECT_EQ(f.wide, 0u);
	for (unsigned b = 0; b < ZeroFilter::kBins; ++b)
		ASSERT_EQ(f.bins[b], 0u);
}

// More zeroings than the ring holds: a mapping of a block zeroed by an
// evicted record is no near miss, one of the newest records is.
TEST(Engine, ZeroNearMissAfterRingWrap) {
	daxtrace::Engine eng;
	uint64_t t = 1000;
	for (int i = 0; i < 100; ++i, t += 100) // A zeroes 100 separate blocks
		eng.push(Ev(DT_ZERO, t, 5).ino_(0).fl(DT_F_NOINODE).op_(DT_ZOP_BLKDEV).sector(8000 + 64 * i, 4096));
	auto map = [&](uint64_t sector, uint64_t pg) {
		eng.push(Ev(DT_FAULT_ENTER, t, 6, pg).fl(DT_F_WRITE));
		eng.push(Ev(DT_IOMAP, t + 10, 6, pg).nr(1).sector(sector, 4096).iomap(DT_IOMAP_MAPPED, 0));
		eng.push(Ev(DT_FAULT_EXIT, t + 20, 6, pg).ret_(kFaultNoPage));
		t += 100;
	};
	map(8000, 1);           // zeroed by the first record, long evicted
	map(8000 + 64 * 99, 2); // the newest
	eng.flush();
	const auto *h = eng.near_misses().per_inode(daxtrace::RaceClass::Z, kDev, kIno);
	ASSERT_NE(h, nullptr);
	EXPECT_EQ(h->count(), 1u);
}

// The sums per fs and per class are made from the inodes' histograms when
// read: they must equal what was recorded, beyond the inode cap too, and
// follow records made after a read.
TEST(NearMissTable, SumsPerFsAndClassFollowTheRecords) {
	using daxtrace::RaceClass;
	daxtrace::NearMissTable nm(2);
	nm.record(RaceClass::W, 1, 10, 0);
	nm.record(RaceClass::W, 1, 11, 1000);
	nm.record(RaceClass::W, 1, 12, 5);   // beyond the cap: per fs only
	nm.record(RaceClass::W, 2, 10, 70);  // beyond the cap, another fs
	nm.record(RaceClass::Z, 1, 10, 300); // another class, same inode
	const auto &w = nm.total(RaceClass::W);
	EXPECT_EQ(w.count(), 4u);
	EXPECT_EQ(w.sum(), 1075u);
	EXPECT_EQ(w.min(), 0u);
	EXPECT_EQ(w.max(), 1000u);
	EXPECT_EQ(w.bucket(0), 1u);
	EXPECT_EQ(nm.inode_overflow(), 3u);
	ASSERT_NE(nm.per_fs(RaceClass::W, 1), nullptr);
	EXPECT_EQ(nm.per_fs(RaceClass::W, 1)->count(), 3u);
	EXPECT_EQ(nm.per_fs(RaceClass::W, 2)->count(), 1u);
	EXPECT_EQ(nm.per_fs(RaceClass::Z, 2), nullptr);
	EXPECT_EQ(nm.per_inode(RaceClass::W, 1, 12), nullptr);
	EXPECT_EQ(nm.fs_map().size(), 3u);
	nm.record(RaceClass::W, 1, 11, 2000);
	EXPECT_EQ(nm.total(RaceClass::W).count(), 5u);
	EXPECT_EQ(nm.total(RaceClass::W).max(), 2000u);
	EXPECT_EQ(nm.per_fs(RaceClass::W, 1)->sum(), 3005u);
	EXPECT_EQ(nm.total(RaceClass::Z).count(), 1u);
	EXPECT_EQ(nm.total(RaceClass::T).count(), 0u);
}

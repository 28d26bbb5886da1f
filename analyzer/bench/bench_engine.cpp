// Engine throughput and memory per tracked page on a realistic event mix.
//
// The mix imitates a busy DAX host: 16 CPUs' worth of tasks faulting
// (FAULT_ENTER/IOMAP/FAULT_EXIT, some PMD), first-write faults
// (MKWRITE_ENTER/DIRTY/EXIT), fsync writeback (WB_RANGE + WB_ENTRY per
// dirty page), allocation zeroing, and occasional hole punches with a
// layout break (REMOVE/BREAK/BUSY_SCAN/ENTRY_DELETE/DISASSOC), over
// 128 inodes x 2048 pages.  Events of different CPUs are interleaved with
// timestamp order per CPU; in the delivered stream about a quarter of the
// events trade places with a neighbour from another CPU (as the ring
// buffer interleaves CPUs), so the reorder window is exercised.
#include <benchmark/benchmark.h>

#include <malloc.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daxtrace/engine.h"

namespace {

constexpr uint64_t kDev = 259ULL << 20;
constexpr int kInodes = 128;
constexpr int kPagesPerInode = 2048;

struct Gen {
	std::mt19937_64 rng{42};
	uint64_t now = 1'000'000'000;
	std::vector<dt_event> out;

	dt_event ev(uint16_t type, uint32_t tid, uint64_t ino, uint64_t pg) {
		dt_event e;
		memset(&e, 0, sizeof(e));
		e.type = type;
		e.cpu = uint16_t(tid % 16);
		e.pid = tid;
		e.tid = tid;
		e.dev = kDev;
		e.ino = ino;
		e.pgoff = pg;
		memcpy(e.comm, "fio", 4);
		now += 40 + rng() % 40;
		e.ts = now;
		return e;
	}
	void emit(const dt_event &e) { out.push_back(e); }
	uint64_t next_alloc[kInodes] = {};

	// Deliver out of order: swap neighbours from different CPUs.
	void interleave() {
		for (size_t i = 1; i < out.size(); ++i)
			if (out[i].cpu != out[i - 1].cpu && rng() % 4 == 0) {
				std::swap(out[i], out[i - 1]);
				++i;
			}
	}

	void build(size_t n) {
		out.reserve(n + 64);
		while (out.size() < n) {
			uint32_t tid = 1000 + uint32_t(rng() % 64);
			uint64_t ino = 100 + rng() % kInodes;
			uint64_t pg = rng() % kPagesPerInode;
			unsigned r = unsigned(rng() % 100);
			if (r < 45) { // fault
				bool w = rng() % 2;
				dt_event a = ev(DT_FAULT_ENTER, tid, ino, pg);
				a.flags = w ? DT_F_WRITE : 0;
				emit(a);
				dt_event io = ev(DT_IOMAP, tid, ino, pg);
				io.nr_pages = 16;
				io.block = ((ino << 20) + pg) * 8;
				io.len = 65536;
				io.iomap_type = DT_IOMAP_MAPPED;
				emit(io);
				dt_event x = ev(DT_FAULT_EXIT, tid, ino, pg);
				x.ret = 0x100;
				emit(x);
			} else if (r < 70) { // first write
				emit(ev(DT_MKWRITE_ENTER, tid, ino, pg));
				emit(ev(DT_MKWRITE_DIRTY, tid, ino, pg));
				emit(ev(DT_MKWRITE_EXIT, tid, ino, pg));
			} else if (r < 92) { // fsync writeback of a few pages
				dt_event a = ev(DT_WB_RANGE_ENTER, tid, ino, 0);
				emit(a);
				for (int k = 0; k < 4; ++k)
					emit(ev(DT_WB_ENTRY, tid, ino, (pg + k) % kPagesPerInode));
				emit(ev(DT_WB_RANGE_EXIT, tid, ino, 0));
			} else if (r < 98) { // allocation (append) with zeroing inside
				pg = kPagesPerInode + next_alloc[ino - 100]++;
				dt_event a = ev(DT_FAULT_ENTER, tid, ino, pg);
				a.flags = DT_F_WRITE;
				emit(a);
				dt_event z = ev(DT_ZERO, tid, 0, 0);
				z.flags = DT_F_NOINODE;
				z.op = DT_ZOP_BLKDEV;
				z.block = ((ino << 20) + pg) * 8;
				z.len = 4096;
				emit(z);
				dt_event io = ev(DT_IOMAP, tid, ino, pg);
				io.nr_pages = 1;
				io.block = z.block;
				io.len = 4096;
				io.iomap_type = DT_IOMAP_MAPPED;
				io.iomap_flags = DT_IOMAP_F_NEW;
				emit(io);
				dt_event x = ev(DT_FAULT_EXIT, tid, ino, pg);
				x.ret = 0x100;
				emit(x);
			} else { // punch 2 pages, correctly serialised
				dt_event a = ev(DT_REMOVE_ENTER, tid, ino, pg);
				a.op = DT_ROP_PUNCH;
				a.nr_pages = 2;
				emit(a);
				dt_event b = ev(DT_BREAK_ENTER, tid, ino, pg);
				b.nr_pages = 2;
				emit(b);
				dt_event s = ev(DT_BUSY_SCAN, tid, ino, pg);
				s.nr_pages = 2;
				emit(s);
				dt_event bx = ev(DT_BREAK_EXIT, tid, ino, pg);
				bx.nr_pages = 2;
				emit(bx);
				for (int k = 0; k < 2; ++k) {
					emit(ev(DT_ENTRY_DELETE, tid, ino, pg + k));
					dt_event d = ev(DT_ENTRY_DISASSOC, tid, ino, pg + k);
					d.flags = DT_F_TRUNC;
					d.refcount = 1;
					emit(d);
				}
				dt_event x = ev(DT_REMOVE_EXIT, tid, ino, pg);
				x.op = DT_ROP_PUNCH;
				emit(x);
			}
		}
	}
};

const std::vector<dt_event> &events() {
	static std::vector<dt_event> ev = [] {
		Gen g;
		g.build(4'000'000);
		g.interleave();
		return g.out;
	}();
	return ev;
}

void BM_EngineThroughput(benchmark::State &state) {
	const auto &ev = events();
	daxtrace::EngineStats st{};
	for (auto _ : state) {
		daxtrace::Engine eng;
		eng.push(ev.data(), ev.size());
		eng.flush();
		st = eng.stats();
		benchmark::DoNotOptimize(st);
	}
	state.SetItemsProcessed(int64_t(state.iterations() * ev.size()));
	state.counters["findings"] = double(st.findings);
	state.counters["reordered_pct"] = 100.0 * double(st.reordered) / double(st.events_in);
	state.counters["late"] = double(st.late);
	state.counters["near_misses"] = double(st.near_misses);
}
BENCHMARK(BM_EngineThroughput)->Unit(benchmark::kMillisecond);

// The same mix fed to one long-lived engine (as in production): the
// tables have reached their size, so no growth or first-touch page faults.
// Each iteration replays the stream shifted in time (shift not timed).
void BM_EngineSteadyState(benchmark::State &state) {
	std::vector<dt_event> ev = events();
	uint64_t span = ev.back().ts - ev.front().ts + 1'000'000;
	daxtrace::Engine eng;
	eng.push(ev.data(), ev.size()); // warm-up
	for (auto _ : state) {
		state.PauseTiming();
		for (auto &e : ev)
			e.ts += span;
		state.ResumeTiming();
		eng.push(ev.data(), ev.size());
	}
	eng.flush();
	auto st = eng.stats();
	state.SetItemsProcessed(int64_t(state.iterations() * ev.size()));
	state.counters["findings"] = double(st.findings);
	state.counters["late"] = double(st.late);
	state.counters["active_pages"] = double(st.active_pages);
}
BENCHMARK(BM_EngineSteadyState)->Unit(benchmark::kMillisecond);

// Bytes of state per tracked page, from the engine's own accounting and
// cross-checked with the allocator (mallinfo2: bytes in use).
void BM_MemoryPerPage(benchmark::State &state) {
	const auto &ev = events();
	for (auto _ : state) {
		malloc_trim(0);
		size_t before = mallinfo2().uordblks;
		auto *eng = new daxtrace::Engine();
		eng->push(ev.data(), ev.size());
		eng->flush();
		size_t after = mallinfo2().uordblks;
		auto st = eng->stats();
		double pages = double(st.active_pages);
		state.counters["active_pages"] = pages;
		state.counters["page_table_B_per_page"] = double(st.page_state_bytes) / pages;
		state.counters["engine_B_per_page"] =
			double(st.memory_bytes - st.reorder_bytes) / pages;
		state.counters["engine_total_B"] = double(st.memory_bytes);
		state.counters["reorder_B"] = double(st.reorder_bytes);
		state.counters["malloc_B_per_page"] =
			(double(after - before) - double(st.reorder_bytes)) / pages;
		state.counters["malloc_total_B"] = double(after - before);
		delete eng;
	}
}
BENCHMARK(BM_MemoryPerPage)->Unit(benchmark::kMillisecond)->Iterations(1);

} // namespace

// `--digest`: instead of timing, print what the engine decided on the
// mix (findings with evidence, near-miss tables, event counters), so that
// run.sh can check that a faster engine decides exactly as its baseline.
int main(int argc, char **argv) {
	if (argc > 1 && std::string(argv[1]) == "--digest") {
		const auto &ev = events();
		daxtrace::Engine eng;
		eng.push(ev.data(), ev.size());
		eng.flush();
		for (const auto &f : eng.take_findings())
			std::printf("%s\n", daxtrace::to_json(f).dump().c_str());
		std::printf("%s\n", eng.near_misses().to_json().dump().c_str());
		nlohmann::json s = daxtrace::to_json(eng.stats());
		for (const char *k : {"page_state_bytes", "reorder_bytes", "memory_bytes"})
			s.erase(k); // layout, not decisions
		std::printf("%s\n", s.dump().c_str());
		return 0;
	}
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}

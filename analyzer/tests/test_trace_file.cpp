// Trace files: round trip, replay equivalence, damage reporting.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daxtrace/trace.h"
#include "trace_builder.h"

using namespace dtt;

namespace {

// A temporary trace path, removed when the test ends.
struct TmpPath {
	std::string path;
	explicit TmpPath(const std::string &name) {
		auto dir = std::filesystem::temp_directory_path() / "daxtrace-tests";
		std::filesystem::create_directories(dir);
		path = (dir / (name + "-" + std::to_string(::getpid()) + ".dxt")).string();
	}
	~TmpPath() { std::filesystem::remove(path); }
	operator const std::string &() const { return path; }
};

daxtrace::TraceHeader header() {
	daxtrace::TraceHeader h;
	h.hostname = "lab";
	h.kernel_release = "6.1.0-28-amd64";
	h.hooks = {"fn:ext4_ioctl", "fn:dax_disassociate_entry", "tp:dax_pte_fault"};
	h.start_wallclock_ns = 1'763'700'000'000'000'000ULL;
	h.start_monotonic_ns = kT0;
	return h;
}

// A mixed stream with every rule firing at least once and reordering.
Stream mixed(size_t n) {
	Stream s;
	std::mt19937 rng(7);
	for (size_t i = 0; i < n; ++i) {
		uint64_t t = 10'000 * i;
		uint32_t a = 100 + uint32_t(i % 8), b = 200 + uint32_t(i % 8);
		uint64_t pg = i % 64;
		switch (i % 4) {
		case 0: // SWAP_BOOT over a mapped pinned page
			s.push_back(Ev(DT_FAULT_ENTER, t, a, pg));
			s.push_back(Ev(DT_IOMAP, t + 10, a, pg).nr(1).sector(pg * 8, 4096).iomap(DT_IOMAP_MAPPED, 0));
			s.push_back(Ev(DT_FAULT_EXIT, t + 20, a, pg).ret_(kFaultNoPage));
			s.push_back(Ev(DT_REMOVE_ENTER, t + 100, b).op_(DT_ROP_SWAP_BOOT));
			s.push_back(Ev(DT_ENTRY_DELETE, t + 200, b, pg));
			s.push_back(Ev(DT_ENTRY_DISASSOC, t + 300, b, pg).fl(DT_F_TRUNC).ref(2));
			s.push_back(Ev(DT_REMOVE_EXIT, t + 400, b).op_(DT_ROP_SWAP_BOOT));
			break;
		case 1:
			s.push_back(Ev(DT_MKWRITE_ENTER, t, a, pg));
			s.push_back(Ev(DT_MKWRITE_DIRTY, t + 10, a, pg));
			s.push_back(Ev(DT_WB_ENTRY, t + 100 + rng() % 5000, b, pg));
			s.push_back(Ev(DT_MKWRITE_EXIT, t + 6000, a, pg));
			break;
		case 2:
			s.push_back(Ev(DT_FAULT_ENTER, t, a, pg).fl(DT_F_WRITE));
			s.push_back(Ev(DT_IOMAP, t + 10, a, pg).nr(1).sector(100000 + pg * 8, 4096).iomap(DT_IOMAP_UNWRITTEN, 0));
			s.push_back(Ev(DT_FAULT_EXIT, t + 20, a, pg));
			break;
		case 3:
			s.push_back(daxtrace::make_lost_event(kT0 + t + 5, uint16_t(i % 4), i % 3));
			break;
		}
	}
	return reorder(s, 3);
}

std::vector<std::string> findings_of(const Stream &s) {
	Result r = run(s);
	return r.json;
}

std::vector<char> slurp(const std::string &p) {
	std::ifstream f(p, std::ios::binary);
	return std::vector<char>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}
void spit(const std::string &p, const std::vector<char> &d) {
	std::ofstream f(p, std::ios::binary | std::ios::trunc);
	f.write(d.data(), std::streamsize(d.size()));
}

// s written to p as a complete trace (header(), blocks of block_events,
// closed); returns the file's bytes, for the tests that damage them.
std::vector<char> write_trace(const std::string &p, const Stream &s,
			      uint32_t block_events = daxtrace::TraceWriter::kDefaultBlockEvents) {
	{
		daxtrace::TraceWriter w(p, header(), block_events);
		w.append(s.data(), s.size());
	}
	return slurp(p);
}

} // namespace

TEST(TraceFile, RoundTripKeepsHeaderAndEvents) {
	TmpPath tp("roundtrip");
	const std::string &p = tp;
	Stream s = mixed(3000);
	{
		daxtrace::TraceWriter w(p, header(), 512);
		w.append(s.data(), s.size());
		w.append_lost(kT0 + 99'000'000, 3, 42);
		w.close();
		EXPECT_EQ(w.events_written(), s.size() + 1);
	}
	daxtrace::TraceReader r(p);
	EXPECT_EQ(r.header().hostname, "lab");
	EXPECT_EQ(r.header().kernel_release, "6.1.0-28-amd64");
	EXPECT_EQ(r.header().abi_version, uint32_t(DT_ABI_VERSION));
	EXPECT_EQ(r.header().hooks.size(), 3u);
	EXPECT_EQ(r.header().start_monotonic_ns, kT0);
	EXPECT_EQ(r.header().start_wallclock_ns, 1'763'700'000'000'000'000ULL);
	auto ev = r.read_all();
	EXPECT_TRUE(r.clean_end()) << r.error()->what();
	ASSERT_EQ(ev.size(), s.size() + 1);
	EXPECT_EQ(0, memcmp(ev.data(), s.data(), s.size() * sizeof(dt_event)));
	EXPECT_EQ(ev.back().type, DT_LOST);
	EXPECT_EQ(ev.back().ret, 42);
	EXPECT_GT(r.blocks_read(), 5u);
}

TEST(TraceFile, ReplayGivesExactlyTheSameFindings) {
	TmpPath tp("replay");
	const std::string &p = tp;
	Stream s = mixed(2000);
	auto live = findings_of(s);
	ASSERT_GT(live.size(), 100u);
	write_trace(p, s, 300);
	daxtrace::TraceReader r(p);
	auto replay = findings_of(r.read_all());
	EXPECT_TRUE(r.clean_end());
	EXPECT_EQ(live, replay);
}

TEST(TraceFile, TruncatedFileKeepsEverythingBeforeTheDamage) {
	TmpPath tp("trunc");
	const std::string &p = tp;
	Stream s = mixed(2000);
	auto bytes = write_trace(p, s, 256);
	bytes.resize(bytes.size() * 2 / 3);
	spit(p, bytes);
	daxtrace::TraceReader r(p);
	auto ev = r.read_all();
	ASSERT_TRUE(r.error().has_value());
	EXPECT_FALSE(r.clean_end());
	EXPECT_EQ(ev.size() % 256, 0u); // whole blocks only
	EXPECT_GT(ev.size(), s.size() / 2);
	EXPECT_EQ(0, memcmp(ev.data(), s.data(), ev.size() * sizeof(dt_event)));
	EXPECT_EQ(r.error()->block(), int64_t(ev.size() / 256));
	EXPECT_LE(r.error()->offset(), bytes.size());
	std::string msg = r.error()->what();
	EXPECT_NE(msg.find("byte offset"), std::string::npos) << msg;
	EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

TEST(TraceFile, MissingEndMarkerIsReported) {
	TmpPath tp("noend");
	const std::string &p = tp;
	Stream s = mixed(100);
	auto bytes = write_trace(p, s, 64);
	bytes.resize(bytes.size() - 32); // drop the end marker only
	spit(p, bytes);
	daxtrace::TraceReader r(p);
	auto ev = r.read_all();
	EXPECT_EQ(ev.size(), s.size()); // all events are there
	ASSERT_TRUE(r.error().has_value());
	EXPECT_NE(std::string(r.error()->what()).find("without the end marker"), std::string::npos);
}

// Byte offsets of every block header (and of the end marker, last).
static std::vector<size_t> block_offsets(const std::vector<char> &bytes) {
	uint32_t meta_len;
	memcpy(&meta_len, bytes.data() + 20, 4);
	std::vector<size_t> v;
	for (size_t off = 32 + meta_len; off + 32 <= bytes.size();) {
		v.push_back(off);
		uint32_t comp;
		memcpy(&comp, bytes.data() + off + 12, 4);
		off += 32 + comp;
	}
	return v;
}

// Events of a read without the gap markers the reader inserted.
static Stream file_events(const Stream &v) {
	Stream out;
	for (auto &e : v)
		if (!(e.type == DT_LOST && e.cpu == daxtrace::kTraceGapCpu))
			out.push_back(e);
	return out;
}

TEST(TraceFile, CorruptedPayloadIsSkippedAndLaterBlocksAreRead) {
	TmpPath tp("corrupt");
	const std::string &p = tp;
	Stream s = mixed(2000);
	auto bytes = write_trace(p, s, 256);
	auto blocks = block_offsets(bytes);
	ASSERT_GT(blocks.size(), 6u);
	size_t off = blocks[3];
	bytes[off + 32 + 10] ^= 0x5a; // one byte in the 4th block's payload
	spit(p, bytes);
	daxtrace::TraceReader r(p);
	auto ev = r.read_all();
	// The error still names the first damage exactly.
	ASSERT_TRUE(r.error().has_value());
	EXPECT_FALSE(r.clean_end());
	EXPECT_EQ(r.error()->block(), 3);
	EXPECT_EQ(r.error()->offset(), off + 32);
	std::string msg = r.error()->what();
	EXPECT_NE(msg.find("checksum"), std::string::npos) << msg;
	EXPECT_NE(msg.find("(block 3)"), std::string::npos) << msg;
	EXPECT_NE(msg.find("768 events"), std::string::npos) << msg;
	// Everything but block 3 was read, in order.
	Stream got = file_events(ev);
	ASSERT_EQ(got.size(), s.size() - 256);
	EXPECT_EQ(0, memcmp(got.data(), s.data(), 768 * sizeof(dt_event)));
	EXPECT_EQ(0, memcmp(got.data() + 768, s.data() + 1024, (s.size() - 1024) * sizeof(dt_event)));
	EXPECT_TRUE(r.end_marker_seen());
	EXPECT_EQ(r.events_announced(), s.size());
	// One gap, exactly one block, 256 events (the end marker's total).
	ASSERT_EQ(r.gaps().size(), 1u);
	const auto &g = r.gaps()[0];
	EXPECT_TRUE(g.resumed);
	EXPECT_EQ(g.block, 3);
	EXPECT_EQ(g.blocks_lost, 1u);
	EXPECT_EQ(g.events_lost, 256u);
	EXPECT_EQ(g.offset, off + 32);
	EXPECT_EQ(g.resume_offset, blocks[4]);
	// The two gap markers sit where block 3 was: count 0 at the last time
	// before the gap, then the count.
	ASSERT_EQ(r.gap_markers(), 2u);
	EXPECT_EQ(ev.size(), got.size() + 2);
	EXPECT_EQ(ev[768].type, DT_LOST);
	EXPECT_EQ(ev[768].cpu, daxtrace::kTraceGapCpu);
	EXPECT_EQ(ev[768].ret, 0);
	EXPECT_EQ(ev[769].cpu, daxtrace::kTraceGapCpu);
	EXPECT_EQ(ev[769].ret, 256); // estimate: 1 block of the previous block's size
	EXPECT_LE(ev[768].ts, ev[769].ts);
	// The engine counts the gap as a loss (on top of the DT_LOST markers
	// the trace itself holds outside the lost block).
	uint64_t recorded_lost = 0;
	for (auto &e : got)
		if (e.type == DT_LOST)
			recorded_lost += uint64_t(e.ret);
	Result res = run(ev);
	EXPECT_EQ(res.stats.lost_events, recorded_lost + 256u);
}

TEST(TraceFile, FindingsAcrossAGapAreUncertain) {
	// A SWAP_BOOT removal over a mapped, pinned page: L1 (removal without
	// a layout break, inferred from an absence) and L2 (disassociation at
	// refcount 2, observed).  The removal's middle falls in a lost block:
	// the replay must not present L1 as certain, since the break could
	// have been in the gap; L2 rests on what was seen and stays certain.
	TmpPath tp("gapfinding");
	const std::string &p = tp;
	Stream s;
	for (int i = 0; i < 64; ++i) // block 0: unrelated traffic
		s.push_back(Ev(DT_FAULT_ENTER, 1000 + i, 50, 500 + i));
	s.push_back(Ev(DT_FAULT_ENTER, 100'000, 100, 3));
	s.push_back(Ev(DT_IOMAP, 100'010, 100, 3).nr(1).sector(24, 4096).iomap(DT_IOMAP_MAPPED, 0));
	s.push_back(Ev(DT_FAULT_EXIT, 100'020, 100, 3).ret_(kFaultNoPage));
	s.push_back(Ev(DT_REMOVE_ENTER, 100'100, 200).op_(DT_ROP_SWAP_BOOT));
	while (s.size() < 128)
		s.push_back(Ev(DT_FAULT_ENTER, 100'200 + s.size(), 51, 900 + s.size()));
	for (int i = 0; i < 64; ++i) // block 2: lost
		s.push_back(Ev(DT_FAULT_ENTER, 100'300 + i, 52, 1000 + i));
	s.push_back(Ev(DT_ENTRY_DELETE, 100'400, 200, 3));
	s.push_back(Ev(DT_ENTRY_DISASSOC, 100'500, 200, 3).fl(DT_F_TRUNC).ref(2));
	s.push_back(Ev(DT_REMOVE_EXIT, 100'600, 200).op_(DT_ROP_SWAP_BOOT));
	Result whole = run(s);
	auto l1 = with_rule(whole, daxtrace::Rule::L1_REMOVE_WITHOUT_BREAK);
	auto l2 = with_rule(whole, daxtrace::Rule::L2_DISASSOCIATE_PINNED);
	ASSERT_EQ(l1.size(), 1u);
	ASSERT_EQ(l2.size(), 1u);
	ASSERT_FALSE(l1[0]->uncertain);
	ASSERT_FALSE(l2[0]->uncertain);
	auto bytes = write_trace(p, s, 64);
	auto blocks = block_offsets(bytes);
	ASSERT_EQ(blocks.size(), 5u); // 4 blocks + end marker
	bytes[blocks[2] + 4] ^= 1;    // block 2's header (its index)
	spit(p, bytes);
	daxtrace::TraceReader r(p);
	Result replay = run(r.read_all());
	ASSERT_EQ(r.gaps().size(), 1u);
	EXPECT_EQ(r.gaps()[0].events_lost, 64u);
	auto l1r = with_rule(replay, daxtrace::Rule::L1_REMOVE_WITHOUT_BREAK);
	auto l2r = with_rule(replay, daxtrace::Rule::L2_DISASSOCIATE_PINNED);
	ASSERT_EQ(l1r.size(), 1u);
	ASSERT_EQ(l2r.size(), 1u);
	EXPECT_TRUE(l1r[0]->uncertain);
	EXPECT_NE(l1r[0]->uncertain_reason.find("lost"), std::string::npos) << l1r[0]->uncertain_reason;
	EXPECT_FALSE(l2r[0]->uncertain);
}

TEST(TraceFile, SeveralDamagedBlocksEachBecomeAGap) {
	TmpPath tp("multi");
	const std::string &p = tp;
	Stream s = mixed(3000);
	auto bytes = write_trace(p, s, 200);
	auto blocks = block_offsets(bytes);
	ASSERT_GT(blocks.size(), 12u);
	bytes[blocks[2]] = 'X';                 // magic of block 2
	bytes[blocks[5] + 40] ^= 0xff;          // payload of block 5
	bytes[blocks[6] + 20] ^= 0xff;          // header (first_ts) of block 6
	// blocks 9 and 10 overwritten with zeros (a torn write)
	std::fill(bytes.begin() + long(blocks[9]), bytes.begin() + long(blocks[11]), 0);
	spit(p, bytes);
	daxtrace::TraceReader r(p);
	auto ev = r.read_all();
	ASSERT_EQ(r.gaps().size(), 3u);
	EXPECT_EQ(r.gaps()[0].block, 2);
	EXPECT_EQ(r.gaps()[0].blocks_lost, 1u);
	EXPECT_EQ(r.gaps()[1].block, 5);
	EXPECT_EQ(r.gaps()[1].blocks_lost, 2u); // 5 and 6 are adjacent
	EXPECT_EQ(r.gaps()[2].block, 9);
	EXPECT_EQ(r.gaps()[2].blocks_lost, 2u);
	EXPECT_EQ(file_events(ev).size(), s.size() - 5 * 200);
	uint64_t lost = 0;
	for (auto &g : r.gaps())
		lost += g.events_lost;
	EXPECT_EQ(lost, 5u * 200);
	EXPECT_EQ(r.blocks_read(), blocks.size() - 1 - 5);
	EXPECT_TRUE(r.end_marker_seen());
}

TEST(TraceFile, WithoutResyncTheReaderStopsAtTheDamage) {
	TmpPath tp("noresync");
	const std::string &p = tp;
	Stream s = mixed(1000);
	auto bytes = write_trace(p, s, 128);
	bytes[block_offsets(bytes)[2] + 45] ^= 1;
	spit(p, bytes);
	daxtrace::TraceReader r(p);
	r.set_resync(false);
	EXPECT_EQ(r.read_all().size(), 256u);
	ASSERT_EQ(r.gaps().size(), 1u);
	EXPECT_FALSE(r.gaps()[0].resumed);
	EXPECT_EQ(r.error()->block(), 2);
}

TEST(TraceFile, ADamagedTailIsNotResumed) {
	TmpPath tp("tail");
	const std::string &p = tp;
	Stream s = mixed(1000);
	auto bytes = write_trace(p, s, 128);
	auto blocks = block_offsets(bytes);
	bytes.resize(blocks[blocks.size() - 2] + 50); // cut inside the last block
	spit(p, bytes);
	daxtrace::TraceReader r(p);
	auto ev = r.read_all();
	EXPECT_EQ(r.gap_markers(), 0u); // nothing after it: no markers
	ASSERT_EQ(r.gaps().size(), 1u);
	EXPECT_FALSE(r.gaps()[0].resumed);
	EXPECT_EQ(ev.size(), 128u * (blocks.size() - 2));
	EXPECT_NE(std::string(r.error()->what()).find("truncated"), std::string::npos);
}

// --- crash safety and write errors ------------------------------------------

TEST(TraceWriter, HeaderIsOnDiskAtOpen) {
	TmpPath tp("hdr");
	const std::string &p = tp;
	daxtrace::TraceWriter w(p, header());
	EXPECT_GT(std::filesystem::file_size(p), 32u);
	EXPECT_EQ(std::filesystem::file_size(p), w.bytes_written());
	daxtrace::TraceReader r(p); // a valid header, no blocks yet
	EXPECT_EQ(r.header().hostname, "lab");
	EXPECT_TRUE(r.read_all().empty());
	EXPECT_NE(std::string(r.error()->what()).find("without the end marker"), std::string::npos);
}

TEST(TraceWriter, PendingEventsReachTheFileWithinTheFlushInterval) {
	TmpPath tp("interval");
	const std::string &p = tp;
	daxtrace::TraceWriter::Options o;
	o.flush_interval_ns = 50'000'000; // 50 ms
	daxtrace::TraceWriter w(p, header(), o);
	Stream s = mixed(10); // far fewer than a block
	w.append(s.data(), s.size());
	w.tick();
	EXPECT_EQ(w.events_on_disk(), 0u); // not due yet
	usleep(60'000);
	w.tick(); // what the live loop does on every poll
	EXPECT_EQ(w.events_on_disk(), s.size());
	daxtrace::TraceReader r(p); // readable while still open
	EXPECT_EQ(r.read_all().size(), s.size());
}

// A recorder killed with SIGKILL between blocks: everything flushed
// before the kill replays.
TEST(TraceWriter, SigkilledRecorderLeavesAReplayablePrefix) {
	TmpPath tp("sigkill");
	const std::string &p = tp;
	Stream s = mixed(3000);
	int ready[2];
	ASSERT_EQ(pipe(ready), 0);
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		daxtrace::TraceWriter::Options o;
		o.block_events = 500;
		o.flush_interval_ns = 20'000'000;
		daxtrace::TraceWriter w(p, header(), o);
		w.append(s.data(), 1700); // 3 full blocks + 200 pending
		usleep(30'000);
		w.tick(); // the 200 are due
		(void)!write(ready[1], "x", 1);
		w.append(s.data() + 1700, 100); // pending, never flushed
		pause();
		_exit(0);
	}
	char c;
	ASSERT_EQ(read(ready[0], &c, 1), 1);
	kill(pid, SIGKILL);
	int st;
	waitpid(pid, &st, 0);
	ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	close(ready[0]);
	close(ready[1]);
	daxtrace::TraceReader r(p);
	auto ev = r.read_all();
	ASSERT_EQ(ev.size(), 1700u);
	EXPECT_EQ(0, memcmp(ev.data(), s.data(), ev.size() * sizeof(dt_event)));
	ASSERT_TRUE(r.error().has_value());
	EXPECT_NE(std::string(r.error()->what()).find("without the end marker"), std::string::npos);
	// 3 full blocks, then the 200 (or, on a machine slow enough that the
	// first appends took 20 ms, a few smaller blocks on the way).
	EXPECT_GE(r.blocks_read(), 4u);
}

TEST(TraceWriter, DevFullIsAnErrorNotAnException) {
	daxtrace::TraceWriter::Options o;
	o.mode = daxtrace::TraceWriter::Mode::Exclusive; // a device is not "a recording"
	daxtrace::TraceWriter w("/dev/full", header(), o);
	ASSERT_TRUE(w.failed()); // the header already failed
	EXPECT_EQ(w.error_errno(), ENOSPC);
	Stream s = mixed(3000);
	EXPECT_NO_THROW(w.append(s.data(), s.size()));
	EXPECT_EQ(w.events_dropped(), s.size());
	EXPECT_FALSE(w.close());
	std::string msg = w.error()->what();
	EXPECT_NE(msg.find("/dev/full"), std::string::npos) << msg;
	EXPECT_NE(msg.find("No space left on device"), std::string::npos) << msg;
}

// A regular file that stops growing part-way through a block (here
// RLIMIT_FSIZE, the same short write as a full file system): the torn
// block is cut off, the events that did not fit are recorded as one
// DT_LOST, and the end marker makes the file whole.
TEST(TraceWriter, FullFileSystemKeepsWhatFitAndRecordsTheLoss) {
	TmpPath tp("enospc");
	const std::string &p = tp;
	Stream s = mixed(6000);
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		signal(SIGXFSZ, SIG_IGN);
		struct rlimit rl = {60'000, 60'000};
		setrlimit(RLIMIT_FSIZE, &rl);
		daxtrace::TraceWriter w(p, header(), 512);
		w.append(s.data(), s.size());
		bool failed_before_close = w.failed();
		bool ok = w.close();
		_exit(failed_before_close && !ok && w.error_errno() == EFBIG && w.events_dropped() > 0 ? 0 : 1);
	}
	int st;
	waitpid(pid, &st, 0);
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(WEXITSTATUS(st), 0);
	EXPECT_LE(std::filesystem::file_size(p), 60'000u);
	daxtrace::TraceReader r(p);
	auto ev = r.read_all();
	EXPECT_TRUE(r.clean_end()) << r.error()->what();
	ASSERT_GT(ev.size(), 512u);
	ASSERT_EQ(ev.back().type, DT_LOST);
	EXPECT_EQ(ev.back().cpu, daxtrace::kTraceGapCpu);
	EXPECT_EQ(uint64_t(ev.back().ret), s.size() - (ev.size() - 1));
	EXPECT_EQ((ev.size() - 1) % 512, 0u); // whole blocks only
	EXPECT_EQ(0, memcmp(ev.data(), s.data(), (ev.size() - 1) * sizeof(dt_event)));
}

TEST(TraceWriter, ExclusiveModeDoesNotOverwriteARecording) {
	TmpPath tp("excl");
	const std::string &p = tp;
	{
		daxtrace::TraceWriter w(p, header());
		w.append(Ev(DT_FAULT_ENTER, 1, 1));
	}
	auto before = slurp(p);
	daxtrace::TraceWriter::Options o;
	o.mode = daxtrace::TraceWriter::Mode::Exclusive;
	try {
		daxtrace::TraceWriter w(p, header(), o);
		FAIL() << "overwrote " << p;
	} catch (const daxtrace::TraceError &e) {
		EXPECT_NE(std::string(e.what()).find("exists"), std::string::npos) << e.what();
	}
	EXPECT_EQ(slurp(p), before);
	EXPECT_NO_THROW(daxtrace::TraceWriter("/dev/null", header(), o));
	o.mode = daxtrace::TraceWriter::Mode::Truncate;
	{
		daxtrace::TraceWriter w(p, header(), o);
	}
	EXPECT_NE(slurp(p), before);
}

TEST(TraceFile, DamagedHeaderIsAClearError) {
	TmpPath tp("badhdr");
	const std::string &p = tp;
	{
		daxtrace::TraceWriter w(p, header());
		w.append(Ev(DT_FAULT_ENTER, 1, 1));
	}
	auto bytes = slurp(p);
	auto bad = bytes;
	bad[0] = 'X';
	spit(p, bad);
	try {
		daxtrace::TraceReader r(p);
		FAIL() << "no error";
	} catch (const daxtrace::TraceError &e) {
		EXPECT_EQ(e.block(), -1);
		EXPECT_NE(std::string(e.what()).find("bad magic"), std::string::npos);
	}
	bad = bytes;
	bad[40] ^= 1; // inside the metadata JSON
	spit(p, bad);
	EXPECT_THROW(daxtrace::TraceReader r(p), daxtrace::TraceError);
	spit(p, std::vector<char>(bytes.begin(), bytes.begin() + 10));
	EXPECT_THROW(daxtrace::TraceReader r(p), daxtrace::TraceError);
	EXPECT_THROW(daxtrace::TraceReader r("/nonexistent/x.dxt"), daxtrace::TraceError);
}

TEST(TraceFile, FromMemoryMatchesFile) {
	TmpPath tp("mem");
	const std::string &p = tp;
	Stream s = mixed(50);
	auto bytes = write_trace(p, s);
	auto r = daxtrace::TraceReader::from_memory(bytes.data(), bytes.size());
	EXPECT_EQ(r.read_all().size(), s.size());
	EXPECT_TRUE(r.clean_end());
}

// Trace files: round trip, replay equivalence, damage reporting.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

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
	{
		daxtrace::TraceWriter w(p, header(), 300);
		w.append(s.data(), s.size());
	} // destructor closes
	daxtrace::TraceReader r(p);
	auto replay = findings_of(r.read_all());
	EXPECT_TRUE(r.clean_end());
	EXPECT_EQ(live, replay);
}

TEST(TraceFile, TruncatedFileKeepsEverythingBeforeTheDamage) {
	TmpPath tp("trunc");
	const std::string &p = tp;
	Stream s = mixed(2000);
	{
		daxtrace::TraceWriter w(p, header(), 256);
		w.append(s.data(), s.size());
	}
	auto bytes = slurp(p);
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
	{
		daxtrace::TraceWriter w(p, header(), 64);
		w.append(s.data(), s.size());
	}
	auto bytes = slurp(p);
	bytes.resize(bytes.size() - 32); // drop the end marker only
	spit(p, bytes);
	daxtrace::TraceReader r(p);
	auto ev = r.read_all();
	EXPECT_EQ(ev.size(), s.size()); // all events are there
	ASSERT_TRUE(r.error().has_value());
	EXPECT_NE(std::string(r.error()->what()).find("without the end marker"), std::string::npos);
}

TEST(TraceFile, CorruptedPayloadNamesTheBlock) {
	TmpPath tp("corrupt");
	const std::string &p = tp;
	Stream s = mixed(2000);
	{
		daxtrace::TraceWriter w(p, header(), 256);
		w.append(s.data(), s.size());
	}
	// Find the 4th block and flip a byte in its payload.
	auto bytes = slurp(p);
	daxtrace::TraceReader probe(p);
	std::vector<dt_event> first3;
	dt_event e;
	for (int i = 0; i < 3 * 256 && probe.next(e); ++i)
		first3.push_back(e);
	// walk block headers: header(32) + meta, then blocks
	uint32_t meta_len;
	memcpy(&meta_len, bytes.data() + 20, 4);
	size_t off = 32 + meta_len;
	for (int b = 0; b < 3; ++b) {
		uint32_t comp;
		memcpy(&comp, bytes.data() + off + 12, 4);
		off += 32 + comp;
	}
	size_t damage = off + 32 + 10;
	bytes[damage] ^= 0x5a;
	spit(p, bytes);
	daxtrace::TraceReader r(p);
	auto ev = r.read_all();
	ASSERT_EQ(ev.size(), 3u * 256);
	ASSERT_TRUE(r.error().has_value());
	EXPECT_EQ(r.error()->block(), 3);
	EXPECT_EQ(r.error()->offset(), off + 32);
	std::string msg = r.error()->what();
	EXPECT_NE(msg.find("checksum"), std::string::npos) << msg;
	EXPECT_NE(msg.find("(block 3)"), std::string::npos) << msg;
	EXPECT_NE(msg.find("768 events"), std::string::npos) << msg;
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
	{
		daxtrace::TraceWriter w(p, header());
		w.append(s.data(), s.size());
	}
	auto bytes = slurp(p);
	auto r = daxtrace::TraceReader::from_memory(bytes.data(), bytes.size());
	EXPECT_EQ(r.read_all().size(), s.size());
	EXPECT_TRUE(r.clean_end());
}

// The live view's per-inode table (Session::busiest_inodes()): kept only
// for an output that shows it, bounded, and what it keeps is the busiest.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "output.h"
#include "session.h"

namespace {

using dtcli::Session;

// An output that shows the inode table (or not), and ignores the rest.
class QuietOutput : public dtcli::Output {
public:
	explicit QuietOutput(bool shows) : shows_(shows) {}
	void start(const nlohmann::json &) override {}
	bool shows_inodes() const override { return shows_; }
	void finding(const daxtrace::Finding &) override {}
	void tick(const Session &, double) override {}
	void summary(const Session &, double) override {}
	void warning(const std::string &) override {}

private:
	bool shows_;
};

// A read fault's start on page 0 of inode INO, by a task named COMM.
dt_event fault_on(uint64_t ino, uint64_t ts, const char *comm = "app")
{
	dt_event e{};
	e.ts = ts;
	e.type = DT_FAULT_ENTER;
	e.tid = e.pid = 7;
	e.dev = 0x800001;
	e.ino = ino;
	e.nr_pages = 1;
	memcpy(e.comm, comm, strnlen(comm, sizeof(e.comm)));
	return e;
}

TEST(SessionInodes, CountedOnlyForAnOutputThatShowsThem)
{
	QuietOutput out(false);
	Session s({}, out);
	s.on_event(fault_on(12, 1000));
	EXPECT_EQ(s.events(), 1u);
	EXPECT_TRUE(s.busiest_inodes(10).empty());
}

TEST(SessionInodes, CountsPerInodeWithTheLastComm)
{
	QuietOutput out(true);
	Session s({}, out);
	s.on_event(fault_on(12, 1000, "first"));
	s.on_event(fault_on(13, 2000));
	s.on_event(fault_on(12, 3000, "a-full-16-bytes!"));
	auto top = s.busiest_inodes(10);
	ASSERT_EQ(top.size(), 2u);
	EXPECT_EQ(top[0].ino, 12u);
	EXPECT_EQ(top[0].count[dtcli::InodeActivity::Fault], 2u);
	EXPECT_EQ(top[0].last_ts, 3000u);
	EXPECT_EQ(std::string(top[0].last_comm, sizeof(top[0].last_comm)), "a-full-16-bytes!");
	EXPECT_EQ(top[1].ino, 13u);
}

// A host that touches more inodes than the table holds keeps the busiest
// half when it fills, not one entry per inode ever seen.
TEST(SessionInodes, BoundedAndKeepsTheBusiest)
{
	QuietOutput out(true);
	Session s({}, out);
	uint64_t ts = 1000;
	for (int i = 0; i < 5; i++)
		s.on_event(fault_on(1, ts++));
	for (uint64_t ino = 2; ino <= Session::kMaxInodes + 1; ino++)
		s.on_event(fault_on(ino, ts++));
	auto all = s.busiest_inodes(SIZE_MAX);
	EXPECT_LE(all.size(), Session::kMaxInodes);
	EXPECT_GT(all.size(), Session::kMaxInodes / 2);
	ASSERT_FALSE(all.empty());
	EXPECT_EQ(all[0].ino, 1u);
	EXPECT_EQ(all[0].count[dtcli::InodeActivity::Fault], 5u);
	// The newest inode arrived after the eviction and is counted.
	bool newest = false;
	for (auto &a : all)
		newest |= a.ino == Session::kMaxInodes + 1;
	EXPECT_TRUE(newest);
}

}  // namespace

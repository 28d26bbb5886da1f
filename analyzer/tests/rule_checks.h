// The checks every rule's tests make of its hand-built traces, written
// once: neither the order in which events arrive nor an event arriving
// too late may change what a rule decides behind the caller's back.
#pragma once

#include <gtest/gtest.h>

#include "trace_builder.h"

namespace dtt {

// first, then more: a trace that continues another.
inline Stream then(Stream first, const Stream &more)
{
	first.insert(first.end(), more.begin(), more.end());
	return first;
}

// Delivered out of order (each chunk of `chunk` events reversed), s gives
// exactly the findings it gives in order.  Returns the reordered run.
inline Result expect_same_reordered(const Stream &s, size_t chunk = 3)
{
	Result a = run(s);
	Result b = run(reorder(s, chunk));
	EXPECT_GT(b.stats.reordered, 0u);
	EXPECT_EQ(a.json, b.json);
	return b;
}

// A correctly serialised twin delivered out of order still gives no
// finding.  Returns the run, for its near misses.
inline Result expect_clean_reordered(const Stream &s, size_t chunk)
{
	Result r = run(reorder(s, chunk));
	EXPECT_GT(r.stats.reordered, 0u);
	EXPECT_TRUE(r.findings.empty());
	return r;
}

// s with its event of `type` at ts_rel delivered after the reorder window
// has moved past it: counted late, once.  Returns the run.
inline Result run_late(const Stream &s, uint16_t type, uint64_t ts_rel)
{
	Result r = run(deliver_late(s, index_of(s, type, ts_rel)));
	EXPECT_EQ(r.stats.late, 1u);
	return r;
}

} // namespace dtt

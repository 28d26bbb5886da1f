// Near misses: how close correctly serialised operations came to a race.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <tuple>
#include <unordered_map>

#include <nlohmann/json_fwd.hpp>

#include "daxtrace/finding.h"

namespace daxtrace {

// Log2 histogram of distances in ns: bucket i counts distances d with
// 2^i <= d < 2^(i+1) (bucket 0 also holds d == 0).
class Histogram {
public:
	static constexpr int kBuckets = 48; // up to ~78 hours
	// Inline: every near miss adds to one (its inode's).  d | 1 puts
	// d == 0 in bucket 0 without a test of its own.
	void add(uint64_t d) {
		int b = 63 - std::countl_zero(d | 1);
		if (b >= kBuckets)
			b = kBuckets - 1;
		++buckets_[b];
		++count_;
		sum_ += d;
		if (d < min_)
			min_ = d;
		if (d > max_)
			max_ = d;
	}
	// o's distances added to these (the tables' sums per fs and class).
	void merge(const Histogram &o);
	uint64_t count() const { return count_; }
	uint64_t min() const { return count_ ? min_ : 0; }
	uint64_t max() const { return max_; }
	uint64_t sum() const { return sum_; }
	uint64_t bucket(int i) const { return buckets_[i]; }
	static uint64_t bucket_low(int i) { return i == 0 ? 0 : (1ULL << i); }
	// The q-quantile (0..1) to bucket precision: the lower bound of the
	// bucket that holds it, clamped to [min, max] so that a median is
	// never printed below the closest near miss.
	uint64_t quantile(double q) const;
	nlohmann::json to_json() const;

private:
	std::array<uint64_t, kBuckets> buckets_{};
	uint64_t count_ = 0, min_ = UINT64_MAX, max_ = 0, sum_ = 0;
};

class NearMissTable {
public:
	explicit NearMissTable(size_t max_inodes = 4096) : max_inodes_(max_inodes) {}
	// Adds to the inode's histogram only: the sums per fs and per class
	// are made from the inodes' when they are read (aggregate()), so that
	// a near miss, 10% of the analysed events on a busy host, costs one
	// histogram and (mostly) no hashing.
	void record(RaceClass c, uint64_t dev, uint64_t ino, uint64_t distance_ns) {
		Key key{int(c), dev, ino};
		Cache::Ent ie = cache_.in[KeyHash()(key) % Cache::kInodes];
		stale_ = true;
		if (ie && ie->first == key) [[likely]] {
			ie->second.add(distance_ns);
			return;
		}
		record_slow(int(c), dev, ino, distance_ns);
	}

	const Histogram &total(RaceClass c) const {
		sync();
		return total_[int(c)];
	}
	// Per filesystem (sb dev) and per inode; nullptr if none recorded.
	const Histogram *per_fs(RaceClass c, uint64_t dev) const;
	const Histogram *per_inode(RaceClass c, uint64_t dev, uint64_t ino) const;
	struct Key {
		int cls;
		uint64_t dev, ino; // ino = 0 for per-fs keys
		bool operator==(const Key &o) const { return cls == o.cls && dev == o.dev && ino == o.ino; }
	};
	struct KeyHash {
		size_t operator()(const Key &k) const {
			return std::hash<uint64_t>()(k.dev * 0x9e3779b97f4a7c15ULL ^ k.ino * 31 ^ uint64_t(k.cls));
		}
	};
	using Map = std::unordered_map<Key, Histogram, KeyHash>;
	const Map &fs_map() const {
		sync();
		return fs_;
	}
	const Map &inode_map() const { return inodes_; }
	// Inode histograms beyond max_inodes are not created (still counted per fs).
	uint64_t inode_overflow() const { return inode_overflow_; }
	size_t memory_bytes() const;
	nlohmann::json to_json() const;

private:
	// Scalars, not a Key: the cache hit then builds no key in memory.
	void record_slow(int cls, uint64_t dev, uint64_t ino, uint64_t d);
	void sync() const {
		if (stale_)
			aggregate();
	}
	void aggregate() const;

	size_t max_inodes_;
	// Sums of inodes_ and fs_over_ (aggregate()), up to date unless
	// stale_.  An fs entry is made when its first near miss is recorded,
	// as before the sums were deferred: the map's order is unchanged.
	mutable std::array<Histogram, kRaceClasses> total_{};
	mutable Map fs_;
	mutable bool stale_ = false;
	Map inodes_;
	Map fs_over_; // per fs: the near misses beyond max_inodes
	uint64_t inode_overflow_ = 0;
	// Histograms recently recorded to (map nodes do not move): a
	// direct-mapped table of inodes, so most records hash nothing.  A
	// copy starts with an empty cache.  An entry is the map's element
	// (key and histogram; elements never move or go), so a slot is one
	// pointer.
	struct Cache {
		using Ent = Map::value_type *;
		static constexpr size_t kInodes = 256;
		Ent in[kInodes] = {};
		Cache() = default;
		Cache(const Cache &) {}
		Cache &operator=(const Cache &) {
			*this = Cache{};
			return *this;
		}
		Cache &operator=(Cache &&) = default;
	};
	Cache cache_;
};

} // namespace daxtrace

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
	// Inline: a near miss adds to three histograms (total, fs, inode).
	void add(uint64_t d) {
		int b = d ? 63 - std::countl_zero(d) : 0;
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
	void record(RaceClass c, uint64_t dev, uint64_t ino, uint64_t distance_ns);

	const Histogram &total(RaceClass c) const { return total_[int(c)]; }
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
	const Map &fs_map() const { return fs_; }
	const Map &inode_map() const { return inodes_; }
	// Inode histograms beyond max_inodes are not created (still counted per fs).
	uint64_t inode_overflow() const { return inode_overflow_; }
	size_t memory_bytes() const;
	nlohmann::json to_json() const;

private:
	size_t max_inodes_;
	std::array<Histogram, kRaceClasses> total_{};
	Map fs_;
	Map inodes_;
	uint64_t inode_overflow_ = 0;
	// Histograms recently recorded to (map nodes do not move), so most
	// records hash nothing: the last fs per class, and a direct-mapped
	// table of inodes.  A copy starts with empty caches.  An entry is the
	// map's element (key and histogram; elements never move or go), so a
	// slot is one pointer.
	struct Cache {
		using Ent = Map::value_type *;
		static constexpr size_t kInodes = 128;
		Ent fs[kRaceClasses] = {};
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

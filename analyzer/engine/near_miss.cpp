// Near-miss histograms (log2 buckets of ns), per class, fs and inode.
#include <algorithm>
#include <bit>
#include <vector>

#include <nlohmann/json.hpp>

#include "daxtrace/near_miss.h"

namespace daxtrace {

uint64_t Histogram::quantile(double q) const {
	if (!count_)
		return 0;
	uint64_t want = uint64_t(q * double(count_)), seen = 0;
	for (int i = 0; i < kBuckets; ++i) {
		seen += buckets_[i];
		if (seen > want)
			return std::clamp(bucket_low(i), min(), max_);
	}
	return max_;
}

nlohmann::json Histogram::to_json() const {
	nlohmann::json b = nlohmann::json::array();
	for (int i = 0; i < kBuckets; ++i)
		if (buckets_[i])
			b.push_back({{"ge_ns", bucket_low(i)}, {"lt_ns", 1ULL << (i + 1)}, {"count", buckets_[i]}});
	return {{"count", count_}, {"min_ns", min()}, {"max_ns", max_}, {"sum_ns", sum_}, {"buckets", b}};
}

void NearMissTable::record(RaceClass c, uint64_t dev, uint64_t ino, uint64_t d) {
	total_[int(c)].add(d);
	Cache::Ent &fe = cache_.fs[int(c)];
	if (!fe || fe->first.dev != dev)
		fe = &*fs_.try_emplace(Key{int(c), dev, 0}).first;
	fe->second.add(d);
	Key key{int(c), dev, ino};
	Cache::Ent &ie = cache_.in[KeyHash()(key) % Cache::kInodes];
	if (ie && ie->first == key) {
		ie->second.add(d);
		return;
	}
	auto it = inodes_.find(key);
	if (it == inodes_.end()) {
		if (inodes_.size() >= max_inodes_) {
			++inode_overflow_;
			return;
		}
		it = inodes_.emplace(key, Histogram{}).first;
	}
	ie = &*it;
	it->second.add(d);
}

const Histogram *NearMissTable::per_fs(RaceClass c, uint64_t dev) const {
	auto it = fs_.find(Key{int(c), dev, 0});
	return it == fs_.end() ? nullptr : &it->second;
}

const Histogram *NearMissTable::per_inode(RaceClass c, uint64_t dev, uint64_t ino) const {
	auto it = inodes_.find(Key{int(c), dev, ino});
	return it == inodes_.end() ? nullptr : &it->second;
}

size_t NearMissTable::memory_bytes() const {
	constexpr size_t node = 2 * sizeof(void *) + sizeof(Key); // hash node overhead
	return sizeof(*this) + (fs_.size() + inodes_.size()) * (sizeof(Histogram) + node) +
	       (fs_.bucket_count() + inodes_.bucket_count()) * sizeof(void *);
}

nlohmann::json NearMissTable::to_json() const {
	nlohmann::json j = nlohmann::json::object();
	for (int c = 0; c < kRaceClasses; ++c) {
		nlohmann::json cj{{"total", total_[c].to_json()}};
		// sorted by (dev, ino) for stable output
		std::vector<std::pair<Key, const Histogram *>> fsv, inv;
		for (const auto &[k, h] : fs_)
			if (k.cls == c)
				fsv.emplace_back(k, &h);
		for (const auto &[k, h] : inodes_)
			if (k.cls == c)
				inv.emplace_back(k, &h);
		auto lt = [](const auto &a, const auto &b) {
			return std::tie(a.first.dev, a.first.ino) < std::tie(b.first.dev, b.first.ino);
		};
		std::sort(fsv.begin(), fsv.end(), lt);
		std::sort(inv.begin(), inv.end(), lt);
		nlohmann::json fs = nlohmann::json::array();
		for (const auto &[k, h] : fsv)
			fs.push_back({{"dev", k.dev}, {"hist", h->to_json()}});
		nlohmann::json in = nlohmann::json::array();
		for (const auto &[k, h] : inv)
			in.push_back({{"dev", k.dev}, {"ino", k.ino}, {"hist", h->to_json()}});
		cj["per_fs"] = fs;
		cj["per_inode"] = in;
		j[std::string(class_name(RaceClass(c)))] = cj;
	}
	if (inode_overflow_)
		j["inode_overflow"] = inode_overflow_;
	return j;
}

} // namespace daxtrace

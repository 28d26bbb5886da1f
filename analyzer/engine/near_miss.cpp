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

void Histogram::merge(const Histogram &o) {
	for (int i = 0; i < kBuckets; ++i)
		buckets_[i] += o.buckets_[i];
	count_ += o.count_;
	sum_ += o.sum_;
	min_ = std::min(min_, o.min_);
	max_ = std::max(max_, o.max_);
}

// The inode's histogram is not cached (record()): find or make it.  A
// class and fs seen for the first time get their sum's entry here.
void NearMissTable::record_slow(int cls, uint64_t dev, uint64_t ino, uint64_t d) {
	Key key{cls, dev, ino};
	auto it = inodes_.find(key);
	if (it == inodes_.end()) {
		Key fk{key.cls, key.dev, 0};
		fs_.try_emplace(fk);
		if (inodes_.size() >= max_inodes_) {
			++inode_overflow_;
			fs_over_[fk].add(d);
			return;
		}
		it = inodes_.emplace(key, Histogram{}).first;
	}
	cache_.in[KeyHash()(key) % Cache::kInodes] = &*it;
	it->second.add(d);
}

void NearMissTable::aggregate() const {
	for (Histogram &h : total_)
		h = Histogram{};
	for (auto &[k, h] : fs_)
		h = Histogram{};
	for (const Map *m : {&inodes_, &fs_over_})
		for (const auto &[k, h] : *m)
			fs_.find(Key{k.cls, k.dev, 0})->second.merge(h);
	for (const auto &[k, h] : fs_)
		total_[k.cls].merge(h);
	stale_ = false;
}

const Histogram *NearMissTable::per_fs(RaceClass c, uint64_t dev) const {
	sync();
	auto it = fs_.find(Key{int(c), dev, 0});
	return it == fs_.end() ? nullptr : &it->second;
}

const Histogram *NearMissTable::per_inode(RaceClass c, uint64_t dev, uint64_t ino) const {
	auto it = inodes_.find(Key{int(c), dev, ino});
	return it == inodes_.end() ? nullptr : &it->second;
}

size_t NearMissTable::memory_bytes() const {
	constexpr size_t node = 2 * sizeof(void *) + sizeof(Key); // hash node overhead
	return sizeof(*this) + (fs_.size() + inodes_.size() + fs_over_.size()) * (sizeof(Histogram) + node) +
	       (fs_.bucket_count() + inodes_.bucket_count() + fs_over_.bucket_count()) * sizeof(void *);
}

nlohmann::json NearMissTable::to_json() const {
	sync();
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

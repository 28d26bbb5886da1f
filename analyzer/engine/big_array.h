// A fixed-size array of trivially copyable elements, zero-initialised,
// for the engine's big tables: the page table (hit at random, one slot per
// mapped page) and the reorder ring (streamed through once per event).
//
// Why not std::vector / new[]: at the benchmark's size those tables are
// 10-20 MB, and with 4 KiB pages nearly every access to the page table
// misses the TLB (12 MB is ~3000 pages, more than the second-level TLB
// holds); under virtualisation each miss is a two-dimensional page walk.
// Profiles showed the engine stalled on those walks more than on the
// cache misses themselves.  Arrays of 2 MiB or more are therefore mapped
// 2 MiB-aligned and marked MADV_HUGEPAGE (the usual THP setting is
// "madvise": without the hint they never get huge pages).  Smaller ones
// come from the heap.  Without THP the hint is a no-op and the mapping
// behaves like any other.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

namespace daxtrace::detail {

template <typename T>
class BigArray {
	static_assert(std::is_trivially_copyable_v<T>);

public:
	static constexpr size_t kHuge = size_t(2) << 20;

	BigArray() = default;
	explicit BigArray(size_t n) { reset(n); }
	~BigArray() { release(); }
	BigArray(const BigArray &) = delete;
	BigArray &operator=(const BigArray &) = delete;
	BigArray(BigArray &&o) noexcept { *this = std::move(o); }
	BigArray &operator=(BigArray &&o) noexcept {
		if (this != &o) {
			release();
			p_ = std::exchange(o.p_, nullptr);
			n_ = std::exchange(o.n_, 0);
			map_ = std::exchange(o.map_, nullptr);
			map_len_ = std::exchange(o.map_len_, 0);
		}
		return *this;
	}

	// Drop the contents; n zeroed elements.
	void reset(size_t n) {
		release();
		if (!n)
			return;
		size_t bytes = n * sizeof(T);
		if (bytes >= kHuge && map_huge(bytes)) {
			n_ = n;
			return;
		}
		void *m = ::operator new(bytes, std::align_val_t(alignof(T) > 16 ? alignof(T) : 16));
		memset(m, 0, bytes);
		p_ = static_cast<T *>(m);
		n_ = n;
	}

	size_t size() const { return n_; }
	// What the array holds of memory (a mapping is whole huge pages).
	size_t memory_bytes() const { return map_ ? map_len_ : n_ * sizeof(T); }
	T *data() { return p_; }
	const T *data() const { return p_; }
	T &operator[](size_t i) { return p_[i]; }
	const T &operator[](size_t i) const { return p_[i]; }
	void swap(BigArray &o) noexcept {
		std::swap(p_, o.p_);
		std::swap(n_, o.n_);
		std::swap(map_, o.map_);
		std::swap(map_len_, o.map_len_);
	}

private:
	// Over-map by 2 MiB and trim, so the array starts on a huge-page
	// boundary (anonymous mmap only promises 4 KiB alignment).
	bool map_huge(size_t bytes) {
		size_t len = (bytes + kHuge - 1) & ~(kHuge - 1);
		void *m = mmap(nullptr, len + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			return false;
		uintptr_t a = reinterpret_cast<uintptr_t>(m);
		uintptr_t al = (a + kHuge - 1) & ~uintptr_t(kHuge - 1);
		if (al > a)
			munmap(m, al - a);
		size_t tail = (a + len + kHuge) - (al + len);
		if (tail)
			munmap(reinterpret_cast<void *>(al + len), tail);
		madvise(reinterpret_cast<void *>(al), len, MADV_HUGEPAGE);
		map_ = reinterpret_cast<void *>(al);
		map_len_ = len;
		p_ = static_cast<T *>(map_); // anonymous memory is zero
		return true;
	}
	void release() {
		if (map_)
			munmap(map_, map_len_);
		else if (p_)
			::operator delete(p_, std::align_val_t(alignof(T) > 16 ? alignof(T) : 16));
		p_ = nullptr;
		n_ = 0;
		map_ = nullptr;
		map_len_ = 0;
	}

	T *p_ = nullptr;
	size_t n_ = 0;
	void *map_ = nullptr; // the mapping, when the array is mmapped
	size_t map_len_ = 0;
};

} // namespace daxtrace::detail

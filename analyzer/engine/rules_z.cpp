// Class Z: block zeroing vs. concurrent faults (docs/ARCHITECTURE.md §1 "Z").
//
// Zeroing (DT_ZERO) is seen by sector; blkdev_issue_zeroout does not even
// know the inode (DT_F_NOINODE).  It is matched to file pages through the
// zeroing task's own latest DT_IOMAP that handed out a new or unwritten
// extent (the allocation being zeroed) and overlaps the zeroed sectors:
// pgoff = iomap.pgoff + (sector - iomap.block) / 8 (an iomap from before
// the task's current fault, or outside faults one older than 1 ms, does
// not count).  Anything else is counted in
// stats.unmatched_zeroing: DT_ZERO's own pgoff is not a file page (the
// zeroing hooks see disk blocks), and trusting it gave false Z1s on xfs.  The last 64 zeroings are
// kept in a ring for the checks made at mapping time (Z2 looks at all of
// those since FAULT_ENTER, Z1 near misses at the 16 newest).
//
// Zeroing inside a removal bracket (ZERO_RANGE, punch-hole edges) and
// DT_ZOP_DAX_RANGE (iomap_zero_range: user-visible data zeroing) are
// requested by the user, not allocation zeroing, and are not judged.
//
//  Z1 zero-after-map.  Task A zeroes the block behind page P after another
//     task B's fault mapped P (B's successful DT_FAULT_EXIT, P not torn
//     down since): B's stores can be wiped.  One finding per DT_ZERO.
//     Window: [B's mapping, A's zeroing].  Gap sensitive.
//     Near miss: the zeroing completed before another task's fault mapped
//     that block: distance = mapping - zeroing (ring lookup by sector).
//
//  Z2 fault-maps-unzeroed-extent.  A DAX write fault (DT_F_WRITE) maps a
//     page whose DT_IOMAP in the same fault was UNWRITTEN or IOMAP_F_NEW,
//     and no zeroing of the page's sectors was seen between FAULT_ENTER
//     and the mapping (by any task; the fixed kernels zero inside the
//     allocator, before the iomap is returned).  Window: [iomap, mapping].
//     Gap sensitive; uncertain as well when no zeroing hook was attached.
//     Near miss: the zeroing was seen: distance = mapping - zeroing.
#include <algorithm>
#include <string>

#include "engine_impl.h"

namespace daxtrace {

using namespace detail;

namespace {

constexpr uint64_t kSectorsPerPage = 8; // 4 KiB pages, 512-byte sectors

bool is_block(const dt_event &io) {
	return io.iomap_type == DT_IOMAP_MAPPED || io.iomap_type == DT_IOMAP_UNWRITTEN;
}
uint64_t iomap_pages(const dt_event &io) {
	if (io.nr_pages)
		return io.nr_pages;
	return std::max<uint64_t>(1, (io.len + 4095) / 4096);
}
// Sector of page pg according to iomap io; false if outside.
bool sector_of(const dt_event &io, uint64_t pg, uint64_t &sector) {
	if (!is_block(io) || pg < io.pgoff || pg - io.pgoff >= iomap_pages(io))
		return false;
	sector = io.block + (pg - io.pgoff) * kSectorsPerPage;
	return true;
}
// The sectors first: the scans below pass over many records, and most
// are elsewhere on the disk.
bool zero_covers(const ZeroRecord &z, uint64_t dev, uint64_t sector) {
	if (sector < z.sector || sector + kSectorsPerPage > z.sector + (z.len + 511) / 512)
		return false;
	return !z.dev || !dev || z.dev == dev;
}

} // namespace

void Engine::Impl::on_iomap(TaskState &t, const dt_event &ev) {
	t.iomap = ev;
	t.has_iomap = true;
	if (t.in_fault)
		t.fault_has_iomap = true;
}

// Z1 near miss, at the mapping of page pg by task t.
void Engine::Impl::check_z_on_map(TaskState &t, const dt_event &ev, uint64_t pg) {
	if (!zero_count || !t.fault_has_iomap)
		return;
	uint64_t sector;
	if (!sector_of(t.iomap, pg, sector))
		return;
	if (sector < UINT64_MAX - kSectorsPerPage) {
		if (!zero_filter.may_cover(sector))
			return; // no zeroing in the ring touches it
		// The task's own newest zeroing (most often: an allocating fault
		// maps what it just zeroed) is the only one near it: the loop
		// below passes over the task's own zeroings anyway.
		const ZeroRecord &own = zeros[t.zero_slot];
		if (t.zero_slot < zero_count && own.tid == t.tid && own.ts == t.zero_ts && t.zero_ts &&
		    zero_filter.only(own, sector))
			return;
	}
	return z1_scan(t, ev, sector);
}

// The scan of check_z_on_map(), out of line: the filter above answers
// most mappings, and without a call on its path it saves no registers.
void Engine::Impl::z1_scan(const TaskState &t, const dt_event &ev, uint64_t sector) {
	uint64_t horizon = ev.ts > cfg.near_miss_horizon_ns ? ev.ts - cfg.near_miss_horizon_ns : 0;
	// Only the 16 newest zeroings: a close call is recent by definition.
	for (size_t k = 0; k < std::min<size_t>(zero_count, 16); ++k) {
		const ZeroRecord &z = zeros[(zero_head + kZeroRing - 1 - k) % kZeroRing];
		if (z.ts < horizon)
			break;
		if (!zero_covers(z, ev.dev, sector) || z.tid == t.tid || z.ts > ev.ts)
			continue;
		near_miss(RaceClass::Z, ev.dev, ev.ino, ev.ts - z.ts);
		return;
	}
}

// check_z2() (engine_impl.h) for a write fault that mapped a fresh extent.
void Engine::Impl::z2_on_fresh_map(TaskState &t, const dt_event &ev) {
	uint64_t sector;
	if (!sector_of(t.iomap, ev.pgoff, sector))
		return;
	if (t.zero_ts >= t.fault_enter.ts && t.zero_ts <= ev.ts) {
		ZeroRecord own;
		own.dev = t.zero_dev;
		own.sector = t.zero_sector;
		own.len = t.zero_len;
		if (zero_covers(own, ev.dev, sector)) {
			near_miss(RaceClass::Z, ev.dev, ev.ino, ev.ts - t.zero_ts);
			return;
		}
	}
	for (size_t k = 0; k < zero_count; ++k) {
		const ZeroRecord &z = zeros[(zero_head + kZeroRing - 1 - k) % kZeroRing];
		if (z.ts < t.fault_enter.ts)
			break;
		if (!zero_covers(z, ev.dev, sector) || z.ts > ev.ts)
			continue;
		near_miss(RaceClass::Z, ev.dev, ev.ino, ev.ts - z.ts);
		return;
	}
	Finding f;
	f.rule = Rule::Z2_FAULT_MAPS_UNZEROED;
	f.dev = ev.dev;
	f.ino = ev.ino;
	f.pgoff_first = ev.pgoff;
	f.pgoff_last = ev.pgoff;
	f.tasks.push_back(task_ref(ev, "faulter"));
	if (!f.tasks[0].tid)
		f.tasks[0].tid = t.tid;
	f.window_start_ns = t.iomap.ts;
	f.window_end_ns = ev.ts;
	f.evidence = {t.fault_enter, t.iomap, ev};
	f.summary = std::string("a DAX write fault mapped page ") + std::to_string(ev.pgoff) + " of inode " +
		    std::to_string(ev.ino) + " from " +
		    (t.iomap.iomap_type == DT_IOMAP_UNWRITTEN ? "an unwritten" : "a new") + " extent (sector " +
		    std::to_string(sector) + ") with no zeroing of it seen before the mapping";
	if (hooks_missing(DT_E(ZERO))) {
		f.uncertain = true;
		f.uncertain_reason = "no zeroing hook was attached: zeroing may have gone unseen";
	}
	emit(std::move(f), t.fault_enter.ts, true);
}

void Engine::Impl::on_zero(TaskState &t, const dt_event &ev) {
	ZeroRecord &z = zeros[zero_head];
	if (zero_count == kZeroRing)
		zero_filter.remove(z);
	z.ts = ev.ts;
	z.dev = (ev.flags & DT_F_NOINODE) ? 0 : ev.dev;
	z.sector = ev.block;
	z.len = ev.len;
	z.tid = t.tid;
	zero_filter.add(z);
	t.zero_slot = uint32_t(zero_head);
	zero_head = (zero_head + 1) % kZeroRing;
	zero_count = std::min<uint64_t>(zero_count + 1, kZeroRing);
	t.zero_ts = ev.ts;
	t.zero_dev = z.dev;
	t.zero_sector = ev.block;
	t.zero_len = ev.len;

	if (Removal *r = removal_of(t)) {
		t1_on_remover_event(*r, ev);
		r->add_evidence(ev);
		return; // user-requested zeroing (ZERO_RANGE, punch edges)
	}
	if (ev.op == DT_ZOP_DAX_RANGE)
		return;

	// Which pages of which inode are these sectors?
	uint64_t dev, ino, lo, hi;
	uint64_t zs = ev.block, ze = ev.block + (ev.len + 511) / 512;
	const dt_event &io = t.iomap;
	uint64_t is = io.block, ie = io.block + iomap_pages(io) * kSectorsPerPage;
	bool fresh_iomap = t.has_iomap && is_block(io) && is_fresh(io) &&
			   (t.in_fault ? io.ts >= t.fault_enter.ts : ev.ts - io.ts <= 1'000'000);
	if (fresh_iomap && zs < ie && ze > is) {
		dev = io.dev;
		ino = io.ino;
		lo = io.pgoff + (std::max<uint64_t>(zs, is) - is) / kSectorsPerPage;
		hi = io.pgoff + (std::min<uint64_t>(ze, ie) - 1 - is) / kSectorsPerPage;
	} else {
		++st.unmatched_zeroing;
		return;
	}
	hi = std::min<uint64_t>(hi, lo + 511);

	bool hit = false;
	uint64_t f_lo = 0, f_hi = 0, first_map = 0;
	uint32_t mapper = 0;
	for (uint64_t pg = lo; pg <= hi; ++pg) {
		PageState *ps = find_page(dev, ino, pg);
		if (!ps || !ps->mapped() || ps->map_tid() == t.tid || ps->map_ts(epoch) > ev.ts)
			continue;
		uint64_t mts = ps->map_ts(epoch);
		if (!hit) {
			hit = true;
			f_lo = pg;
			first_map = mts;
			mapper = ps->map_tid();
		}
		f_hi = pg;
		first_map = std::min<uint64_t>(first_map, mts);
	}
	if (!hit)
		return;
	Finding f;
	f.rule = Rule::Z1_ZERO_AFTER_MAP;
	f.dev = dev;
	f.ino = ino;
	f.pgoff_first = f_lo;
	f.pgoff_last = f_hi;
	f.tasks.push_back(task_ref(ev, "zeroer"));
	if (!f.tasks[0].tid)
		f.tasks[0].tid = t.tid;
	f.tasks.push_back(task_ref(mapper, "mapper"));
	f.window_start_ns = first_map;
	f.window_end_ns = ev.ts;
	if (t.in_fault)
		f.evidence.push_back(t.fault_enter);
	f.evidence.push_back(io);
	if (TaskState *m = find_task(mapper); m && m->has_last_map) {
		if (m->last_map_iomap.type)
			f.evidence.push_back(m->last_map_iomap);
		f.evidence.push_back(m->last_map_exit);
	}
	f.evidence.push_back(ev);
	f.summary = "sectors " + std::to_string(zs) + ".." + std::to_string(ze - 1) + " were zeroed " +
		    std::to_string(ev.ts - first_map) + " ns after another task's fault mapped pages " +
		    std::to_string(f_lo) + ".." + std::to_string(f_hi) + " of inode " + std::to_string(ino) +
		    " on them: data stored through that mapping can be wiped";
	emit(std::move(f), first_map, true);
}

} // namespace daxtrace

// Writes a few valid trace files (seed corpus for the decoder fuzzer).
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "daxtrace/events.h"
#include "daxtrace/trace.h"

static dt_event ev(uint16_t type, uint64_t ts, uint32_t tid, uint64_t pg) {
	dt_event e;
	memset(&e, 0, sizeof(e));
	e.type = type;
	e.ts = ts;
	e.tid = e.pid = tid;
	e.dev = 259ULL << 20;
	e.ino = 12;
	e.pgoff = pg;
	memcpy(e.comm, "seed", 5);
	return e;
}

int main(int argc, char **argv) {
	std::string dir = argc > 1 ? argv[1] : ".";
	daxtrace::TraceHeader h;
	h.hostname = "seed";
	h.kernel_release = "6.1.0";
	h.hooks = {"fn:ext4_ioctl", "fn:dax_disassociate_entry"};
	for (int f = 0; f < 4; ++f) {
		daxtrace::TraceWriter w(dir + "/seed" + std::to_string(f) + ".dxt", h, 8 + f * 8);
		uint64_t t = 1'000'000;
		for (int i = 0; i < 20 * (f + 1); ++i) {
			w.append(ev(DT_FAULT_ENTER, t += 10, 200, i % 4));
			dt_event x = ev(DT_FAULT_EXIT, t += 10, 200, i % 4);
			x.ret = 0x100;
			w.append(x);
			dt_event r = ev(DT_REMOVE_ENTER, t += 10, 300, 0);
			r.op = DT_ROP_SWAP_BOOT;
			w.append(r);
			w.append(ev(DT_ENTRY_DELETE, t += 10, 300, i % 4));
			dt_event d = ev(DT_ENTRY_DISASSOC, t += 10, 300, i % 4);
			d.flags = DT_F_TRUNC;
			d.refcount = 2;
			w.append(d);
			dt_event x2 = ev(DT_REMOVE_EXIT, t += 10, 300, 0);
			x2.op = DT_ROP_SWAP_BOOT;
			w.append(x2);
			if (i % 7 == 0)
				w.append_lost(t += 5, uint16_t(i % 4), 3);
		}
		w.close();
	}
	// A copy of the last seed with one flipped byte in a middle block, so
	// that the corpus starts with the resynchronisation path covered.
	std::string last = dir + "/seed3.dxt";
	std::ifstream in(last, std::ios::binary);
	std::vector<char> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
	if (b.size() > 64) {
		b[b.size() / 2] ^= 0x10;
		std::ofstream(dir + "/seed4-damaged.dxt", std::ios::binary).write(b.data(), std::streamsize(b.size()));
	}
	return 0;
}

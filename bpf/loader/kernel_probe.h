// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// What the running kernel offers: BTF (vmlinux and modules), symbols,
// tracepoints, filesystems, privileges, and which attach mechanisms it
// accepts.  Everything is looked up, nothing is inferred from a version.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_set>

#include "probe_set.h"

namespace dtprobe {

class KernelInfo {
public:
	// Throws ProbeError if the kernel has no BTF at all.
	void scan();

	std::string release;
	bool has_function_btf(const std::string &fn) const { return btf_funcs_.count(fn); }
	bool has_symbol(const std::string &fn) const { return ksyms_.count(fn); }
	bool has_tracepoint(const std::string &tp) const;
	bool has_fs(const std::string &fs) const { return fs.empty() || filesystems_.count(fs); }
	uint64_t vmemmap_base_addr = 0;
	// Can a running fentry/kprobe program be preempted (full or lazy
	// preemption of kernel code)?  The scheduler's own answer where
	// debugfs shows it (sched/preempt, which a preempt=dynamic kernel can
	// change at run time), else whether the kernel was built with
	// preemption at all (preempt_schedule exists).
	bool kernel_code_preemptible = true;

	// Does the kernel accept this mechanism at all?  Tested once with a
	// tiny program (fentry is refused on some kernels: EPERM).  Returns 0
	// or -errno.
	int mechanism_support(Mechanism m);

private:
	std::unordered_set<std::string> btf_funcs_, btf_tps_, ksyms_, filesystems_;
	std::string tracefs_;
	std::map<Mechanism, int> support_;
	int probe_fentry();
	int probe_kprobe();
};

}  // namespace dtprobe

// The shared event ABI (bpf/abi/daxtrace_abi.h) as the engine sees it.
// Every name (event types, hooks, operations) comes from the registry
// (bpf/abi/daxtrace_registry.def through registry.h): the engine keeps no
// table of its own.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <vector>

#include "daxtrace_abi.h"
#include "registry.h"

namespace daxtrace {

using dtabi::hook_from_name;   // registry name -> DT_HOOK_*, DT_HOOK_MAX if unknown
using dtabi::hook_name;        // "fs_dax:dax_pte_fault", "ext4_ioctl" ...
using dtabi::make_lost_event;  // the one DT_LOST builder
using dtabi::remove_op_name;   // "punch" ...
using dtabi::type_name;        // "DT_FAULT_ENTER" ...
using dtabi::zero_op_name;     // "blkdev" ...

// The dt_hooks covered by a trace header's hook list, for
// EngineConfig::hooks_attached.  Accepts every form a header has held:
//   "fs_dax:dax_pte_fault", "ext4_ioctl"   registry hook names (current),
//   "fs_dax:dax_pte_fault@tp_btf"          ... with the attach mechanism,
//   "dax_fault:tp_btf", "zero_xfs:fentry"  logical group:mechanism (older
//                                          headers): every hook of the group,
//   "tp:dax_pte_fault", "fn:ext4_ioctl"    the engine's own names before the
//                                          registry.
// Unknown names are ignored.
std::bitset<DT_HOOK_MAX> hooks_from_names(const std::vector<std::string> &names);

// vm_fault_t: did this fault leave a page mapped?  False for any
// VM_FAULT_ERROR bit, RETRY, FALLBACK and NEEDDSYNC (mapped later).
// Inline: the rules ask it twice per fault exit.
inline bool fault_mapped(int64_t vm_fault_ret) {
	// VM_FAULT_OOM 0x1, SIGBUS 0x2, HWPOISON 0x10, HWPOISON_LARGE 0x20,
	// SIGSEGV 0x40, RETRY 0x400, FALLBACK 0x800, NEEDDSYNC 0x2000.
	constexpr int64_t kNotMapped = 0x1 | 0x2 | 0x10 | 0x20 | 0x40 | 0x400 | 0x800 | 0x2000;
	return vm_fault_ret >= 0 && !(vm_fault_ret & kNotMapped);
}

} // namespace daxtrace

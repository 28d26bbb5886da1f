// Names and small helpers for the shared event ABI (bpf/daxtrace_abi.h).
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <vector>
#include <string_view>

#include "daxtrace_abi.h"

namespace daxtrace {

std::string_view type_name(uint16_t type);      // "DT_FAULT_ENTER" ...
std::string_view hook_name(uint16_t hook);      // "tp:dax_pte_fault" ...
std::string_view remove_op_name(uint16_t op);   // "punch" ...
std::string_view zero_op_name(uint16_t op);     // "blkdev" ...
// Parses a hook name as produced by hook_name(); DT_HOOK_MAX if unknown.
uint16_t hook_from_name(std::string_view name);
// The dt_hooks covered by a trace header's hook list.  Accepts hook_name()
// names and bpf/'s hook-group names with their attach mode, as the CLI
// records them ("zero_xfs:fentry", "break_ext4:kprobe", ...).  Unknown
// names are ignored.  The result suits EngineConfig::hooks_attached.
std::bitset<DT_HOOK_MAX> hooks_from_names(const std::vector<std::string> &names);

// vm_fault_t: did this fault leave a page mapped?  False for any
// VM_FAULT_ERROR bit, RETRY, FALLBACK and NEEDDSYNC (mapped later).
bool fault_mapped(int64_t vm_fault_ret);

// A DT_LOST marker as user space synthesises it from the per-CPU drop
// counters: `count` events were lost on `cpu` since the previous marker.
dt_event make_lost_event(uint64_t ts, uint16_t cpu, uint64_t count);

} // namespace daxtrace

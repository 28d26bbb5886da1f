// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// The logical hooks and, per hook, the attach candidates in order of
// preference.  Each candidate names the BPF programs (daxtrace.bpf.c) that
// implement it; the programs' section names say what they attach to.
#pragma once

#include <vector>

#include "probe_set.h"

namespace dtprobe {

struct CandidateDef {
	Mechanism mech;
	std::vector<const char *> progs;
};

struct HookDef {
	const char *name;
	const char *what;
	unsigned classes;     // RaceClass bits this hook contributes to
	unsigned essential;   // classes that are blind without it
	const char *fs;       // "" or the filesystem whose code it probes
	bool new_tp;          // a tracepoint added by patches/
	std::vector<CandidateDef> cands;
};

const std::vector<HookDef> &hook_table();

}  // namespace dtprobe

// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include "kernel_probe.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace dtprobe {
namespace {

bool exists(const std::string &p)
{
	struct stat st;
	return stat(p.c_str(), &st) == 0;
}

void collect_btf(const struct btf *btf, std::unordered_set<std::string> &funcs,
		 std::unordered_set<std::string> &tps, bool split)
{
	__u32 n = btf__type_cnt(btf);
	__u32 first = split ? btf__type_cnt(btf__base_btf(btf)) : 1;
	for (__u32 id = first; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		if (!t)
			continue;
		int kind = btf_kind(t);
		if (kind != BTF_KIND_FUNC && kind != BTF_KIND_TYPEDEF)
			continue;
		const char *name = btf__name_by_offset(btf, t->name_off);
		if (!name || !*name)
			continue;
		if (kind == BTF_KIND_FUNC)
			funcs.insert(name);
		else if (!strncmp(name, "btf_trace_", 10))
			tps.insert(name + 10);
	}
}

}  // namespace

void KernelInfo::scan()
{
	struct utsname u;
	if (uname(&u) == 0)
		release = u.release;

	struct btf *vmlinux = btf__parse("/sys/kernel/btf/vmlinux", nullptr);
	if (!vmlinux)
		throw ProbeError(
			"this kernel has no BTF (/sys/kernel/btf/vmlinux is missing): "
			"the CO-RE probes need a kernel built with CONFIG_DEBUG_INFO_BTF=y");
	collect_btf(vmlinux, btf_funcs_, btf_tps_, false);
	if (DIR *d = opendir("/sys/kernel/btf")) {
		while (struct dirent *de = readdir(d)) {
			std::string n = de->d_name;
			if (n == "." || n == ".." || n == "vmlinux")
				continue;
			struct btf *mod = btf__parse_split(("/sys/kernel/btf/" + n).c_str(), vmlinux);
			if (!mod)
				continue;
			collect_btf(mod, btf_funcs_, btf_tps_, true);
			btf__free(mod);
		}
		closedir(d);
	}
	btf__free(vmlinux);

	std::ifstream ks("/proc/kallsyms");
	std::string line;
	while (std::getline(ks, line)) {
		// "ffffffff81000000 T name [module]"
		size_t a = line.find(' ');
		if (a == std::string::npos || a + 3 >= line.size())
			continue;
		char type = line[a + 1];
		size_t b = a + 3;
		size_t e = line.find_first_of(" \t", b);
		std::string name = line.substr(b, e == std::string::npos ? std::string::npos : e - b);
		if (type == 'T' || type == 't')
			ksyms_.insert(name);
		else if (name == "vmemmap_base")
			vmemmap_base_addr = strtoull(line.c_str(), nullptr, 16);
	}

	kernel_code_preemptible = ksyms_.count("preempt_schedule") > 0;
	std::ifstream pm("/sys/kernel/debug/sched/preempt");
	if (std::getline(pm, line)) {
		// "none (voluntary) full lazy": the mode in use is in parentheses
		size_t a = line.find('('), b = line.find(')');
		if (a != std::string::npos && b != std::string::npos && b > a) {
			std::string mode = line.substr(a + 1, b - a - 1);
			kernel_code_preemptible = mode != "none" && mode != "voluntary";
		}
	}

	std::ifstream fs("/proc/filesystems");
	while (std::getline(fs, line)) {
		size_t p = line.find_last_of(" \t");
		filesystems_.insert(p == std::string::npos ? line : line.substr(p + 1));
	}

	for (const char *t : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"})
		if (exists(std::string(t) + "/events")) {
			tracefs_ = t;
			break;
		}
}

bool KernelInfo::has_tracepoint(const std::string &tp) const
{
	if (btf_tps_.count(tp))
		return true;
	if (tracefs_.empty())
		return false;
	// events/<system>/<name>: the system is not known here, so scan.
	bool found = false;
	if (DIR *d = opendir((tracefs_ + "/events").c_str())) {
		while (struct dirent *de = readdir(d))
			if (de->d_name[0] != '.' &&
			    exists(tracefs_ + "/events/" + de->d_name + "/" + tp + "/format")) {
				found = true;
				break;
			}
		closedir(d);
	}
	return found;
}

int KernelInfo::probe_fentry()
{
	// A minimal fentry program ("return 0") on a function every kernel
	// has, loaded and attached for a moment.
	int btf_id = libbpf_find_vmlinux_btf_id("vfs_fsync_range", BPF_TRACE_FENTRY);
	if (btf_id < 0)
		return btf_id;
	struct bpf_insn insns[] = {
		{BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
		{BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY,
		    .attach_btf_id = (__u32)btf_id);
	int fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "dt_fentry_probe", "GPL", insns,
			       sizeof(insns) / sizeof(insns[0]), &opts);
	if (fd < 0)
		return -errno;
	int link = bpf_link_create(fd, 0, BPF_TRACE_FENTRY, nullptr);
	int err = link < 0 ? -errno : 0;
	if (link >= 0)
		close(link);
	close(fd);
	return err;
}

int KernelInfo::probe_kprobe()
{
	// libbpf attaches kprobes through the kprobe PMU, or the legacy
	// tracefs kprobe_events file.  Kernels without CONFIG_KPROBES have
	// neither.
	if (exists("/sys/bus/event_source/devices/kprobe/type"))
		return 0;
	if (!tracefs_.empty() && exists(tracefs_ + "/kprobe_events"))
		return 0;
	return -EOPNOTSUPP;
}

int KernelInfo::mechanism_support(Mechanism m)
{
	auto it = support_.find(m);
	if (it != support_.end())
		return it->second;
	int r = 0;
	if (m == Mechanism::Fentry)
		r = probe_fentry();
	else if (m == Mechanism::Kprobe)
		r = probe_kprobe();
	support_[m] = r;
	return r;
}

std::string missing_privileges()
{
	std::ifstream st("/proc/self/status");
	std::string line;
	unsigned long long eff = 0;
	while (std::getline(st, line))
		if (!line.compare(0, 7, "CapEff:"))
			eff = strtoull(line.c_str() + 7, nullptr, 16);
	auto has = [&](int cap) { return (eff >> cap) & 1ULL; };
	// Tracing programs need CAP_BPF and CAP_PERFMON (5.8+); CAP_SYS_ADMIN
	// implies both and is what older kernels require.
	const int CAP_SYS_ADMIN_ = 21, CAP_PERFMON_ = 38, CAP_BPF_ = 39;
	if (has(CAP_SYS_ADMIN_) || (has(CAP_BPF_) && has(CAP_PERFMON_)))
		return "";
	std::string missing;
	if (!has(CAP_BPF_))
		missing = "CAP_BPF";
	if (!has(CAP_PERFMON_))
		missing += std::string(missing.empty() ? "" : " and ") + "CAP_PERFMON";
	return "missing capability " + missing +
	       " (or CAP_SYS_ADMIN): run as root, or grant them with "
	       "'setcap cap_bpf,cap_perfmon+ep daxtrace'";
}

}  // namespace dtprobe

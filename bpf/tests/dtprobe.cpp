// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// dtprobe: attach the daxtrace probes, print events as JSON lines and the
// coverage report as JSON.  A diagnostic tool and the lab tests' recorder.
//
//   dtprobe [--duration SEC] [--events FILE] [--coverage FILE]
//           [--coverage-only] [--ready FILE] [--stats FILE]
//           [--mount PATH | --dev N] [--ino N] [--pid N] [--cgroup ID]
//           [--forbid MECH]... [--disable HOOK]... [--no-join-faults] [--ringbuf BYTES]
//           [--wakeup BYTES] [--format json|none] [--empty-programs]
//           [--libbpf-debug] [--quiet]
//   dtprobe --check-object [--add-section SEC]...
//
// --format none consumes and counts events without printing them (the
// cost of the probes with a binary consumer, for benchmarks).
// --empty-programs attaches the same programs, each returning at once:
// what the chosen hooks cost before any work (bench_bpf.sh).
// --check-object compares the compiled-in BPF object with the registry
// without loading anything (no privileges): every program must implement
// a registry hook point and every hook point must have a program; exit 1
// and one line per mismatch otherwise.  --add-section adds a section name
// as if the object had such a program (the test of the check itself).
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "probe_set.h"
#include "registry.h"

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

[[noreturn]] void usage(int code)
{
	fprintf(code ? stderr : stdout,
		"usage: dtprobe [--duration SEC] [--events FILE] [--coverage FILE]\n"
		"               [--coverage-only] [--ready FILE] [--stats FILE]\n"
		"               [--mount PATH | --dev N] [--ino N] [--pid N] [--cgroup ID]\n"
		"               [--forbid tp_btf|raw_tp|fentry|kprobe]... [--disable HOOK]... [--no-join-faults]\n"
		"               [--ringbuf BYTES] [--wakeup BYTES] [--format json|none]\n"
		"               [--empty-programs] [--libbpf-debug] [--quiet]\n"
		"       dtprobe --check-object [--add-section SEC]...\n"
		"Events go to stdout (or --events) as JSON lines; the coverage report goes\n"
		"to --coverage (default: stderr, as one JSON document).\n");
	exit(code);
}

double mono()
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

}  // namespace

int main(int argc, char **argv)
{
	dtprobe::Options opt;
	double duration = 0;
	std::string events_path, coverage_path, ready_path, stats_path;
	bool coverage_only = false, quiet = false, format_none = false, check_object = false;
	std::vector<std::string> extra_sections;

	for (int i = 1; i < argc; i++) {
		std::string a = argv[i];
		auto val = [&]() -> std::string {
			if (i + 1 >= argc)
				usage(2);
			return argv[++i];
		};
		if (a == "--duration")
			duration = atof(val().c_str());
		else if (a == "--events")
			events_path = val();
		else if (a == "--coverage")
			coverage_path = val();
		else if (a == "--coverage-only")
			coverage_only = true;
		else if (a == "--ready")
			ready_path = val();
		else if (a == "--stats")
			stats_path = val();
		else if (a == "--mount") {
			struct stat st;
			std::string p = val();
			if (stat(p.c_str(), &st)) {
				perror(p.c_str());
				return 2;
			}
			// user dev_t -> the kernel's (major << 20 | minor)
			opt.filters.dev = ((uint64_t)major(st.st_dev) << 20) | minor(st.st_dev);
		} else if (a == "--dev")
			opt.filters.dev = strtoull(val().c_str(), nullptr, 0);
		else if (a == "--ino")
			opt.filters.ino = strtoull(val().c_str(), nullptr, 0);
		else if (a == "--pid")
			opt.filters.pid = strtoul(val().c_str(), nullptr, 0);
		else if (a == "--cgroup")
			opt.filters.cgroup_id = strtoull(val().c_str(), nullptr, 0);
		else if (a == "--ringbuf")
			opt.ringbuf_bytes = strtoull(val().c_str(), nullptr, 0);
		else if (a == "--forbid") {
			dtprobe::Mechanism m;
			if (!dtprobe::parse_mechanism(val(), &m))
				usage(2);
			opt.forbid.insert(m);
		} else if (a == "--no-join-faults") {
			opt.join_faults = false;
		} else if (a == "--empty-programs") {
			opt.empty_programs = true;
		} else if (a == "--disable")
			opt.disable.insert(val());
		else if (a == "--format") {
			std::string f = val();
			if (f != "json" && f != "none")
				usage(2);
			format_none = f == "none";
		} else if (a == "--wakeup")
			opt.wakeup_bytes = strtoull(val().c_str(), nullptr, 0);
		else if (a == "--libbpf-debug")
			opt.libbpf_debug = true;
		else if (a == "--quiet")
			quiet = true;
		else if (a == "--check-object")
			check_object = true;
		else if (a == "--add-section")
			extra_sections.push_back(val());
		else if (a == "-h" || a == "--help")
			usage(0);
		else
			usage(2);
	}

	if (check_object) {
		std::vector<std::string> secs;
		try {
			secs = dtprobe::object_sections();
		} catch (const dtprobe::ProbeError &e) {
			fprintf(stderr, "dtprobe: %s\n", e.what());
			return 2;
		}
		secs.insert(secs.end(), extra_sections.begin(), extra_sections.end());
		auto bad = dtprobe::registry_mismatches(secs);
		for (const auto &b : bad)
			printf("mismatch: %s\n", b.c_str());
		printf("%zu programs, %zu mismatches\n", secs.size(), bad.size());
		return bad.empty() ? 0 : 1;
	}

	dtprobe::ProbeSet probes(opt);
	try {
		probes.attach();
	} catch (const dtprobe::ProbeError &e) {
		fprintf(stderr, "dtprobe: %s\n", e.what());
		return 1;
	}

	std::string cov = probes.coverage_json().dump(1);
	if (!coverage_path.empty()) {
		std::ofstream(coverage_path) << cov << "\n";
	} else if (!quiet) {
		std::cerr << cov << "\n";
	}
	if (!quiet) {
		for (const auto &c : probes.coverage())
			fprintf(stderr, "dtprobe: class %s (%s): %s\n", dtabi::class_letter(c.cls),
				dtabi::class_title(c.cls), dtprobe::coverage_name(c.level));
	}
	if (coverage_only)
		return 0;

	FILE *out = stdout;
	if (!events_path.empty() && !(out = fopen(events_path.c_str(), "w"))) {
		perror(events_path.c_str());
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (!ready_path.empty())
		std::ofstream(ready_path) << getpid() << "\n";

	uint64_t n = 0, lost = 0;  // lost: events the kernel side dropped
	double end = duration > 0 ? mono() + duration : 0;
	auto fn = [&](const dt_event *ev, size_t count) {
		for (const dt_event *e = ev; e != ev + count; e++) {
			if (e->type == DT_LOST)
				lost += e->ret;
			n++;
			if (format_none)
				continue;
			fputs(dtabi::event_json(*e).dump().c_str(), out);
			fputc('\n', out);
		}
	};
	while (!g_stop && (!end || mono() < end)) {
		int r = probes.poll(100, fn);
		if (r < 0 && r != -EINTR) {
			fprintf(stderr, "dtprobe: poll: %s\n", strerror(-r));
			break;
		}
		fflush(out);
	}
	probes.poll(0, fn);  // drain
	fflush(out);

	auto t = probes.total_stats();
	if (!stats_path.empty()) {
		nlohmann::json j;
		j["emitted"] = t.emitted;
		j["dropped"] = t.dropped;
		j["filtered"] = t.filtered;
		j["folded"] = t.folded;
		j["joined"] = t.joined;
		j["held_back"] = probes.hold_back_stats().held_back;
		j["held_given_up"] = probes.hold_back_stats().given_up;
		j["delivered"] = n;
		j["lost_reported"] = lost;
		j["programs"] = nlohmann::json::array();
		for (const auto &p : probes.prog_stats())
			j["programs"].push_back({{"prog", p.prog},
						 {"hook", p.hook},
						 {"run_cnt", p.run_cnt},
						 {"run_time_ns", p.run_time_ns}});
		std::ofstream(stats_path) << j.dump(1) << "\n";
	}
	if (!quiet)
		fprintf(stderr,
			"dtprobe: %llu events delivered (%llu reported lost), %llu emitted, "
			"%llu dropped, %llu filtered\n",
			(unsigned long long)n, (unsigned long long)lost, (unsigned long long)t.emitted,
			(unsigned long long)t.dropped, (unsigned long long)t.filtered);
	probes.detach();
	if (out != stdout)
		fclose(out);
	return 0;
}

#include "text_output.h"

#include <cstring>
#include <map>

#include "daxtrace/engine.h"
#include "registry.h"
#include "session.h"

namespace dtcli {
namespace {

using daxtrace::RaceClass;

std::string near_miss_line(const daxtrace::NearMissTable &t, RaceClass c)
{
	const daxtrace::Histogram &h = t.total(c);
	if (!h.count())
		return std::string(daxtrace::class_name(c)) + ": none";
	return std::string(daxtrace::class_name(c)) + ": " + std::to_string(h.count()) +
	       " near misses, closest " + human_ns(h.min()) + ", median ~" + human_ns(h.quantile(0.5)) +
	       ", farthest " + human_ns(h.max());
}

std::string safe(const std::string &s) { return dtabi::terminal_safe(s); }

}  // namespace

void TextOutput::start(const nlohmann::json &meta)
{
	kernel_ = safe(meta.value("kernel", std::string("?")));
	coverage_line_.clear();
	if (meta.contains("coverage") && meta["coverage"].is_object() &&
	    meta["coverage"].contains("classes")) {
		for (auto &c : meta["coverage"]["classes"])
			coverage_line_ += c.value("class", std::string("?")) + " " +
					  c.value("coverage", std::string("?")) + "  ";
	}
	if (!live_) {
		fprintf(out_, "daxtrace: kernel %s%s%s\n", kernel_.c_str(),
			coverage_line_.empty() ? "" : ", coverage: ", coverage_line_.c_str());
		flush_output(out_);
	}
}

void TextOutput::finding(const daxtrace::Finding &f)
{
	if (!live_) {   // the live view shows them on its next refresh
		fprintf(out_, "%s\n", finding_line(f).c_str());
		flush_output(out_);
	}
}

void TextOutput::warning(const std::string &msg)
{
	fprintf(stderr, "daxtrace: warning: %s\n", safe(msg).c_str());
}

void TextOutput::tick(const Session &s, double elapsed_s)
{
	if (!live_)
		return;
	// Home the cursor and clear: the view is redrawn in place.
	fprintf(out_, "\033[H\033[2J");
	fprintf(out_, "daxtrace — kernel %s — %.0fs — %lu events (%.0f/s) — lost %lu — findings %zu\n",
		kernel_.c_str(), elapsed_s, (unsigned long)s.events(),
		elapsed_s > 0 ? s.events() / elapsed_s : 0.0, (unsigned long)s.lost(),
		s.findings().size());
	fprintf(out_, "coverage: %s\n\n", coverage_line_.c_str());
	fprintf(out_, "%-10s %-10s %8s %8s %8s %8s %8s  %s\n", "DEV", "INODE", "FAULTS", "ZEROED",
		"WBACK", "BREAKS", "REMOVES", "LAST TASK");
	for (auto &a : s.busiest_inodes(10)) {
		fprintf(out_, "%-10s %-10lu %8lu %8lu %8lu %8lu %8lu  %s\n", dtabi::dev_name(a.dev).c_str(),
			(unsigned long)a.ino, (unsigned long)a.count[InodeActivity::Fault],
			(unsigned long)a.count[InodeActivity::Zero],
			(unsigned long)a.count[InodeActivity::Writeback],
			(unsigned long)a.count[InodeActivity::Break],
			(unsigned long)a.count[InodeActivity::Remove],
			safe(std::string(a.last_comm, strnlen(a.last_comm, DT_COMM_LEN))).c_str());
	}
	fprintf(out_, "\nnear misses:\n");
	for (int c = 0; c < daxtrace::kRaceClasses; c++)
		fprintf(out_, "  %s\n", near_miss_line(s.engine().near_misses(), RaceClass(c)).c_str());
	fprintf(out_, "\nfindings (latest 5):\n");
	auto &fs = s.findings();
	for (size_t i = fs.size() > 5 ? fs.size() - 5 : 0; i < fs.size(); i++)
		fprintf(out_, "  %s\n", finding_line(fs[i]).c_str());
	flush_output(out_);
}

void TextOutput::summary(const Session &s, double elapsed_s)
{
	if (live_)
		tick(s, elapsed_s);
	auto st = s.engine().stats();
	fprintf(out_, "\n== daxtrace summary ==\n");
	fprintf(out_, "%lu events in %.1fs, %lu lost, %lu late (beyond the reorder window), %lu filtered\n",
		(unsigned long)s.events(), elapsed_s, (unsigned long)s.lost(), (unsigned long)st.late,
		(unsigned long)s.filtered());
	std::map<std::string, int> by_rule;
	for (auto &f : s.findings())
		by_rule[std::string(f.id()) + " " + std::string(f.name())]++;
	fprintf(out_, "findings: %zu%s\n", s.findings().size(), s.findings().empty() ? "" : ":");
	for (auto &[rule, n] : by_rule)
		fprintf(out_, "  %-40s %d\n", rule.c_str(), n);
	for (auto &f : s.findings()) {
		fprintf(out_, "\n%s\n", finding_line(f).c_str());
		uint64_t t0 = f.evidence.empty() ? 0 : f.evidence.front().ts;
		for (auto &e : f.evidence)
			fprintf(out_, "    +%-10s %-18s %s/%u pgoff %lu ref %u ret %ld\n",
				human_ns(e.ts - t0).c_str(), std::string(dtabi::type_name(e.type)).c_str(),
				safe(dtabi::comm_string(e)).c_str(), e.tid, (unsigned long)e.pgoff, e.refcount,
				(long)e.ret);
		if (f.evidence_omitted)
			fprintf(out_, "    (%lu more events omitted)\n", (unsigned long)f.evidence_omitted);
	}
	fprintf(out_, "near misses (correctly serialised, how close they came):\n");
	for (int c = 0; c < daxtrace::kRaceClasses; c++)
		fprintf(out_, "  %s\n", near_miss_line(s.engine().near_misses(), RaceClass(c)).c_str());
	fprintf(out_, "engine: %lu bytes of state, %lu active pages\n",
		(unsigned long)st.memory_bytes, (unsigned long)st.active_pages);
	flush_output(out_);
}

}  // namespace dtcli

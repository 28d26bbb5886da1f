// Text for a person: findings as they happen, a live view refreshed in
// place on a terminal, and a summary at the end.  Every string from the
// kernel or a trace goes through dtabi::terminal_safe: a comm or a kernel
// release must not drive the terminal.
#pragma once

#include <cstdio>
#include <string>

#include "output.h"

namespace dtcli {

class TextOutput : public Output {
public:
	// live_view: redraw a top-like screen on each tick (a terminal).
	TextOutput(bool live_view, FILE *out = stdout) : live_(live_view), out_(out) {}
	void start(const nlohmann::json &meta) override;
	bool shows_inodes() const override { return live_; }
	void finding(const daxtrace::Finding &f) override;
	void tick(const Session &s, double elapsed_s) override;
	void summary(const Session &s, double elapsed_s) override;
	void warning(const std::string &msg) override;

private:
	bool live_;
	FILE *out_;
	std::string kernel_, coverage_line_;
};

}  // namespace dtcli

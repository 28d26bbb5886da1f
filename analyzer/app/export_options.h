// --clickhouse: the exporter (dashboards/exporter, library
// daxtrace_clickhouse) behind the application's Output interface.
#pragma once

#include <memory>
#include <string>

#include "clickhouse_exporter.h"

namespace dtcli {

class Output;

using ClickHouseOptions = dtch::Options;

// Throws std::runtime_error with a one-line message on bad options.
std::unique_ptr<Output> make_clickhouse_output(const ClickHouseOptions &opt);

// `daxtrace flush DIR`: delivers the batches waiting in spill directory DIR
// to opt.url, each at most once, and removes them; gives up after
// timeout_s without progress.  Returns the exit status: 0 all delivered,
// 1 batches left or refused, 2 bad usage.
int flush_spill(const std::string &dir, const ClickHouseOptions &opt, double timeout_s);

}  // namespace dtcli

// --clickhouse: the exporter (dashboards/exporter, library
// daxtrace_clickhouse) behind the application's Output interface.
#pragma once

#include <memory>

#include "clickhouse_exporter.h"

namespace dtcli {

class Output;

using ClickHouseOptions = dtch::Options;

// Throws std::runtime_error with a one-line message on bad options.
std::unique_ptr<Output> make_clickhouse_output(const ClickHouseOptions &opt);

}  // namespace dtcli

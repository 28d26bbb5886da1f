// Options of the ClickHouse exporter (--clickhouse URL ...), parsed by
// main.cpp and handed to make_clickhouse_output() (clickhouse_export.cpp).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace dtcli {

class Output;

struct ClickHouseOptions {
	std::string url;               // http://host:8123/ (ClickHouse HTTP interface)
	std::string database = "daxtrace";
	std::string credentials_file;  // "user:password" in a file; else the environment
	std::string spill_dir;         // batches that could not be delivered wait here
	size_t batch_rows = 10000;     // flush when a batch has this many rows ...
	double batch_seconds = 2.0;    // ... or is this old
	unsigned event_sample = 1;     // export every Nth event (1 = all, 0 = none)
};

// Throws std::runtime_error with a one-line message on bad options.
std::unique_ptr<Output> make_clickhouse_output(const ClickHouseOptions &opt);

}  // namespace dtcli

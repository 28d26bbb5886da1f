// `daxtrace service`: the long-running mode for systemd (daxtrace.service).
//
// Reads CONFIG and CONFIG.d/*.conf (config.h), attaches the probes and runs
// until SIGTERM/SIGINT; SIGHUP re-reads the configuration and restarts the
// session with it (a configuration that does not parse is logged and the
// running one kept).  Logs go to stderr one line each with a syslog
// priority prefix ("<4>...") that journald understands.  Findings are
// logged, recorded (rotating trace files), exported to ClickHouse and
// counted for Prometheus, as configured.
#pragma once

#include <string>

namespace dtcli {

// Exit status, as systemd reads it: 0 stopped cleanly, 1 runtime failure
// (probes, recording, export: Restart=on-failure retries), 2 bad
// configuration (RestartPreventExitStatus=2: retrying cannot help).
int run_service(const std::string &config_path, bool check_only);

}  // namespace dtcli

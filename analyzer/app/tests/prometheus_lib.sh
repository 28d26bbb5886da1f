# Sourced by the tests that run Debian's real Prometheus against daxtrace's
# /metrics: a free loopback port, and a server scraping one target every
# second.  The caller owns the `pids` array (killed on exit).
# shellcheck shell=bash

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_prometheus DIR TARGET_PORT SECONDS [RULES_FILE]: a server with its
# configuration and storage in DIR, scraping 127.0.0.1:TARGET_PORT (job
# "daxtrace"), evaluating RULES_FILE if given, stopped after SECONDS; its
# HTTP port is in PROM_PORT.
start_prometheus() {
	local dir=$1 target=$2 secs=$3 rules=${4:-}
	PROM_PORT=$(free_port)
	{
		echo "global:"
		echo "  scrape_interval: 1s"
		[ -n "$rules" ] && printf '  evaluation_interval: 1s\nrule_files:\n  - %s\n' "$rules"
		echo "scrape_configs:"
		echo "  - job_name: daxtrace"
		echo "    static_configs:"
		echo "      - targets: ['127.0.0.1:$target']"
	} > "$dir/prometheus.yml"
	timeout "$secs" prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/tsdb" \
		--web.listen-address=127.0.0.1:"$PROM_PORT" --log.level=warn > "$dir/prom.log" 2>&1 &
	pids+=($!)
}

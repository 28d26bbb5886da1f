#!/bin/bash
# Start / stop a private clickhouse-server (Debian's 18.16) on loopback for
# the tests.  Sourced by the test scripts:
#   ch_setup DIR HTTP_PORT TCP_PORT   write config + users into DIR
#   ch_start                          start it, wait until it answers
#   ch_kill                           SIGKILL it (no clean shutdown)
#   ch_stop                           stop it (the tests' trap calls this)
#   ch_query SQL                      run SQL over HTTP as the admin user
#   ch_node N CMD ARGS...             run one of the above for server N of
#                                     several (each keeps its own CH_* state)
# CH_EXTRA_CONFIG: XML put into config.xml by ch_setup (e.g. remote_servers).
# Users: "dtwriter"/"s3cret-pw" (the exporter's), "default" (no password,
# loopback only), "ro" (readonly: the schema cannot be created), "nodb"
# (may use database "other" only).
CH_BIN=${CH_BIN:-$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)}

ch_setup() {
	CH_DIR=$1 CH_HTTP=$2 CH_TCP=$3
	mkdir -p "$CH_DIR/data" "$CH_DIR/tmp" "$CH_DIR/log"
	cat > "$CH_DIR/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level>
    <log>$CH_DIR/log/server.log</log><errorlog>$CH_DIR/log/server.err.log</errorlog>
    <size>10M</size><count>2</count></logger>
  <http_port>$CH_HTTP</http_port>
  <tcp_port>$CH_TCP</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <max_connections>64</max_connections>
  <keep_alive_timeout>3</keep_alive_timeout>
  <max_concurrent_queries>32</max_concurrent_queries>
  <uncompressed_cache_size>104857600</uncompressed_cache_size>
  <mark_cache_size>104857600</mark_cache_size>
  <path>$CH_DIR/data/</path>
  <tmp_path>$CH_DIR/tmp/</tmp_path>
  <user_files_path>$CH_DIR/user_files/</user_files_path>
  <format_schema_path>$CH_DIR/format_schemas/</format_schema_path>
  <users_config>$CH_DIR/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mlock_executable>false</mlock_executable>
${CH_EXTRA_CONFIG:-}
</yandex>
XML
	cat > "$CH_DIR/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles>
    <default><max_memory_usage>2000000000</max_memory_usage></default>
    <readonly><readonly>1</readonly></readonly>
  </profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile><quota>default</quota></default>
    <dtwriter><password>s3cret-pw</password><networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile><quota>default</quota></dtwriter>
    <ro><password>ro-pw</password><networks><ip>127.0.0.1</ip></networks>
      <profile>readonly</profile><quota>default</quota></ro>
    <nodb><password>nodb-pw</password><networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile><quota>default</quota>
      <allow_databases><database>other</database></allow_databases></nodb>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
XML
}

ch_query() {
	curl -sS --fail-with-body -m 30 "http://127.0.0.1:$CH_HTTP/" --data-binary "$1"
}

ch_start() {
	"$CH_BIN" --config-file="$CH_DIR/config.xml" > "$CH_DIR/log/stdout" 2>&1 &
	CH_PID=$!
	for _ in $(seq 1 150); do
		if curl -s -m 1 "http://127.0.0.1:$CH_HTTP/ping" 2>/dev/null | grep -q Ok; then
			return 0
		fi
		if ! kill -0 "$CH_PID" 2>/dev/null; then
			echo "clickhouse-server exited:" >&2; tail -20 "$CH_DIR/log/stdout" "$CH_DIR/log/server.err.log" >&2
			return 1
		fi
		sleep 0.2
	done
	echo "clickhouse-server did not answer in 30 s" >&2
	return 1
}

ch_kill() {
	[ -n "$CH_PID" ] && kill -9 "$CH_PID" 2>/dev/null && wait "$CH_PID" 2>/dev/null
	CH_PID=
	return 0
}

ch_stop() {
	if [ -n "$CH_PID" ]; then
		kill "$CH_PID" 2>/dev/null
		for _ in $(seq 1 50); do kill -0 "$CH_PID" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$CH_PID" 2>/dev/null
		wait "$CH_PID" 2>/dev/null
	fi
	CH_PID=
	return 0
}

# Several servers (a cluster): each node's CH_DIR/CH_HTTP/CH_TCP/CH_PID are
# swapped in around CMD.  ch_stop_all stops every node ch_node knows.
declare -A CH_NODE_DIR CH_NODE_HTTP CH_NODE_TCP CH_NODE_PID
ch_node() {
	local n=$1 rc
	shift
	CH_DIR=${CH_NODE_DIR[$n]:-} CH_HTTP=${CH_NODE_HTTP[$n]:-} CH_TCP=${CH_NODE_TCP[$n]:-}
	CH_PID=${CH_NODE_PID[$n]:-}
	"$@"
	rc=$?
	CH_NODE_DIR[$n]=$CH_DIR CH_NODE_HTTP[$n]=$CH_HTTP CH_NODE_TCP[$n]=$CH_TCP CH_NODE_PID[$n]=$CH_PID
	return $rc
}

ch_stop_all() {
	local n
	for n in "${!CH_NODE_DIR[@]}"; do ch_node "$n" ch_stop; done
}

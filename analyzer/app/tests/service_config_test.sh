#!/bin/bash
# `daxtrace service` configuration: the drop-in directory overrides the
# main file key by key in name order, bad values and unknown keys are
# refused with file:line and exit status 2 (systemd: RestartPreventExitStatus),
# the packaged default configuration is valid, and the unit passes
# `systemd-analyze verify`.
#   service_config_test.sh DAXTRACE
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../../ci/lib.sh"
D=$(readlink -f "$1")
PKG=$REPO_DIR/analyzer/app/packaging
make_workdir T
fail() { die "FAIL: $*"; }

cat > "$T/d.conf" <<'C'
# comment
[metrics]
listen = 127.0.0.1:9477
[record]
dir = /var/lib/daxtrace/traces
max_file_size = 64M
C
mkdir "$T/d.conf.d"
printf '[record]\nmax_file_size = 8M\n' > "$T/d.conf.d/10-small.conf"
printf '[record]\nmax_file_size = 16M\nmax_files = 4\n' > "$T/d.conf.d/20-later.conf"
printf '[record]\nmax_file_size = 1G\n' > "$T/d.conf.d/30-ignored.conf.disabled"
"$D" service --config "$T/d.conf" --check > "$T/out"
grep -qx 'record.max_file_size = 16M' "$T/out" || { cat "$T/out"; fail "later drop-in did not win"; }
grep -qx 'record.max_files = 4' "$T/out" || fail "drop-in key missing"
grep -qx 'metrics.listen = 127.0.0.1:9477' "$T/out" || fail "main-file key lost"
grep -q 'disabled' "$T/out" && fail "a file not named *.conf was read"
printf '[probes]\njoin_faults = no\n' > "$T/j.conf"
"$D" service --config "$T/j.conf" --check | grep -qx 'probes.join_faults = no' || fail "probes.join_faults = no refused"
echo "ok: drop-ins override in name order"

bad() { # TEXT EXPECTED-MESSAGE
	printf '%b' "$1" > "$T/bad.conf"
	set +e
	"$D" service --config "$T/bad.conf" > "$T/o" 2> "$T/e"
	rc=$?
	set -e
	[ $rc = 2 ] || fail "'$1': exit $rc, expected 2"
	grep -q "^<3>" "$T/e" || fail "no <3> priority prefix: $(cat "$T/e")"
	grep -q -- "$2" "$T/e" || fail "'$1': message $(cat "$T/e") lacks '$2'"
	[ "$(wc -l < "$T/e")" = 1 ] || fail "more than one line: $(cat "$T/e")"
}
bad '[record]\nmax_file_size = lots\n' 'bad.conf:2: record.max_file_size: expected a size'
bad '[record]\nmax_file_size = 3T\n' 'bad.conf:2: record.max_file_size: expected a size'
bad '[log]\nstats_interval = 5 fortnights\n' 'bad.conf:2: log.stats_interval: expected a duration'
bad '[probes]\nringbuf_mb = 64M\n' "bad.conf:2: probes.ringbuf_mb: expected a number, got '64M'"
bad 'metrics.listn = :9477\n' "bad.conf:1: unknown key 'metrics.listn'"
bad 'no equals sign\n' 'bad.conf:1: expected key = value'
bad '[probes]\nforbid = fentry, magic\n' "unknown mechanism 'magic'"
bad '[probes]\njoin_faults = maybe\n' "bad.conf:2: probes.join_faults: expected yes or no, got 'maybe'"
bad '[record]\ndir=/x\nmax_file_size=2G\nmax_total_size=1G\n' 'max_total_size must be at least'
bad '[clickhouse]\nurl = http://ch1:8123/,http://ch2:8123/\n' 'name the cluster they are the shards of'
set +e; "$D" service --config "$T/missing.conf" 2>"$T/e"; rc=$?; set -e
[ $rc = 2 ] && grep -q 'missing.conf: No such file' "$T/e" || fail "missing config: $rc $(cat "$T/e")"
echo "ok: bad configurations exit 2 with file:line"

# A fleet: one server per shard and the cluster's name.
printf '[clickhouse]\nurl = http://ch1:8123/,http://ch2:8123/\ncluster = daxtrace_fleet\nhostname = db-7\n' \
	> "$T/fleet.conf"
"$D" service --config "$T/fleet.conf" --check > "$T/out" || fail "cluster configuration refused"
grep -qx 'clickhouse.cluster = daxtrace_fleet' "$T/out" && grep -qx 'clickhouse.hostname = db-7' "$T/out" ||
	fail "cluster keys: $(cat "$T/out")"
echo "ok: clickhouse.cluster / clickhouse.hostname"

"$D" service --config "$PKG/daxtrace.conf" --check > /dev/null || fail "the packaged daxtrace.conf does not validate"
echo "ok: packaged daxtrace.conf validates"

if command -v systemd-analyze >/dev/null; then
	# verify resolves ExecStart: point it at this binary through a copy.
	sed "s|/usr/sbin/daxtrace|$D|" "$PKG/daxtrace.service" > "$T/daxtrace.service"
	# verify also runs man(1) on Documentation=: give it the page.
	mkdir -p "$T/man/man8" && cp "$REPO_DIR/analyzer/app/daxtrace.8" "$T/man/man8/"
	MANPATH=$T/man systemd-analyze verify "$T/daxtrace.service" > "$T/v" 2>&1 || { cat "$T/v"; fail "systemd-analyze verify"; }
	grep -v '^$' "$T/v" | grep -i daxtrace && fail "systemd-analyze verify has remarks" || true
	echo "ok: systemd-analyze verify daxtrace.service: clean"
	# `security` scores the sandbox (lower is better); print it, do not gate.
	systemd-analyze security --offline=yes "$T/daxtrace.service" 2>/dev/null | tail -1 || true
fi
echo PASS

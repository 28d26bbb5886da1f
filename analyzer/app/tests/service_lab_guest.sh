#!/bin/bash
# Runs inside the lab (ci/lab --script): the packaged unit's ExecStart
# command line, verbatim, with the binary and the configuration where the
# package puts them (writable copies bound over the guest's read-only /usr/sbin and /etc),
# through race workloads, a SIGHUP reload with a new drop-in, more races,
# then SIGTERM as systemd stops it.  Leaves in $LAB_OUT: service.log
# (stderr, as journald would get it), metrics.{1,2}.txt with
# findings.{1,2}.logged (the findings the log had at that scrape, per
# rule), traces/ (the rotating recording), traces.ls, replay.txt, status,
# spill/ (the ClickHouse batches: the guest has no network, so the server
# in the configuration never answers and every batch waits there, on the
# results directory, for the host to deliver) and spill.ls.
#   service_lab_guest.sh DAXTRACE BINDIR UNIT CONF [SECONDS]
set -uo pipefail
daxtrace=${1:?} bindir=${2:?} unit=${3:?} conf=${4:?} secs=${5:-2}
out=$LAB_OUT
t=$(mktemp -d)
mount -t tmpfs tmpfs "$t"
# The lab kernel has no overlayfs: a writable copy of each directory made
# of symlinks into a bind of the original, mounted over it.
for d in /etc /usr/sbin; do
	mkdir -p "$t/orig$d" "$t/new$d"
	mount --bind "$d" "$t/orig$d"
	for f in "$t/orig$d"/*; do ln -s "$f" "$t/new$d/$(basename "$f")"; done
	mount --bind "$t/new$d" "$d" || { echo "bind over $d failed"; exit 1; }
done
cp "$daxtrace" /usr/sbin/daxtrace
mkdir -p /etc/daxtrace/daxtrace.conf.d
cp "$conf" /etc/daxtrace/daxtrace.conf
cat > /etc/daxtrace/daxtrace.conf.d/50-lab.conf <<CONF
[filter]
dev = $LAB_MNT
[record]
dir = $out/traces
max_file_size = 32K
max_file_age = 3s
max_total_size = 128K
[clickhouse]
url = http://127.0.0.1:8123/
spill_dir = $out/spill
[log]
stats_interval = 2s
CONF
# The lab guest boots with loopback down: /metrics listens on 127.0.0.1.
ip link set lo up 2>/dev/null || ifconfig lo up 2>/dev/null || busybox ifconfig lo up || true
cmd=$(sed -n 's/^ExecStart=//p' "$unit")
echo "# ExecStart: $cmd"
cd /
$cmd 2>"$out/service.log" &
pid=$!
wait_log() { # PATTERN COUNT
	for _ in $(seq 300); do
		[ "$(grep -c -- "$1" "$out/service.log")" -ge "$2" ] && return 0
		kill -0 $pid 2>/dev/null || { echo "service exited early"; cat "$out/service.log"; exit 1; }
		sleep 0.2
	done
	echo "timeout waiting for '$1' x$2"; cat "$out/service.log"; exit 1
}
# scrape N: /metrics as Prometheus would, from inside the guest, once the
# service has settled: the log's findings unchanged across the scrape and
# since the previous try, and the page's sum equal to them (the page is
# rendered each second; a backlog still being analysed after the
# workloads keeps adding findings).  What the log had at that scrape is
# kept beside it for the host to compare.
scrape() {
	local n=$1 before after sum prev=-1
	for _ in $(seq 30); do
		before=$(grep -c '^<4>finding: ' "$out/service.log")
		if curl -sf http://127.0.0.1:9477/metrics >"$out/metrics.$n.txt"; then
			sum=$(awk '/^daxtrace_findings_total[{]/ {s += $NF} END {print s + 0}' "$out/metrics.$n.txt")
			grep '^<4>finding: ' "$out/service.log" >"$out/findings.$n.lines"
			after=$(wc -l <"$out/findings.$n.lines")
			[ "$sum" = "$before" ] && [ "$after" = "$before" ] && [ "$before" = "$prev" ] && break
			prev=$after
		else
			echo "# metrics scrape $n failed"
		fi
		sleep 1.2
	done
	sed 's/^<4>finding: \[\([A-Z0-9]*\) .*/\1/' "$out/findings.$n.lines" |
		sort | uniq -c > "$out/findings.$n.logged"
}
wait_log '^<5>attached' 1
echo "# service attached (pid $pid)"
for w in swap_boot_pinned punch_pinned zero_fault_race wb_mkwrite_race; do
	echo "# ---- $w"
	"$bindir/$w" "$LAB_MNT" -s "$secs"
done >"$out/workloads.1.tap" 2>&1
sleep 2
scrape 1
# Reload: a new drop-in (bigger files), SIGHUP as `systemctl reload` sends.
printf '[record]\nmax_file_size = 64K\n' > /etc/daxtrace/daxtrace.conf.d/60-reload.conf
kill -HUP $pid
wait_log '^<5>reloaded configuration' 1
wait_log '^<5>attached' 2
echo "# reloaded"
for w in swap_boot_pinned punch_pinned fault_truncate_race; do
	echo "# ---- $w"
	"$bindir/$w" "$LAB_MNT" -s "$secs"
done >"$out/workloads.2.tap" 2>&1
sleep 2
scrape 2
kill -TERM $pid
wait $pid
rc=$?
echo $rc > "$out/status"
echo "# service exited $rc after SIGTERM"
ls -l "$out/traces" > "$out/traces.ls"
ls -l "$out/spill" > "$out/spill.ls"
: > "$out/replay.txt"
for f in "$out"/traces/*.dxt; do
	/usr/sbin/daxtrace replay --json "$f" > "$f.replay.jsonl" 2>&1
	echo "$(basename "$f") $?" >> "$out/replay.txt"
done
tail -n 30 "$out/service.log"
[ $rc = 0 ]

#!/bin/bash
# The daxtrace command on the host: usage, bad input, privileges, missing
# hooks, and a clean stop on SIGINT.  Needs root (it loads the probes).
# Output is KTAP; exits non-zero if any check fails.
# usage: cli_test.sh DAXTRACE
set -uo pipefail
dt=$(realpath "${1:?usage: cli_test.sh DAXTRACE}")
# shellcheck source=SCRIPTDIR/../../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
. "$REPO_DIR/tests/ktap.sh"
. "$REPO_DIR/tests/expect.sh"
work=
make_workdir work
ktap_plan 17

check "--help exits 0 and lists the modes" bash -c "'$dt' --help | grep -q replay"
check "an unknown option is a usage error (2)" expect 2 "unknown|not expected|Extras" "$dt" --frobnicate
check "--dev with an unknown value names it (2)" expect 2 "^daxtrace: error: --dev: 'nosuch' is neither" "$dt" --dev nosuch
check "--ino that is not a number (2)" expect 2 "^daxtrace: error: --ino: 'abc' is not a number" "$dt" --ino abc
check "-p of a process that does not exist (2)" expect 2 "^daxtrace: error: -p/--pid: no process 999999999" "$dt" -p 999999999
check "--cgroup outside cgroup v2 (2)" expect 2 "^daxtrace: error: --cgroup: '/etc' is not in a cgroup v2" "$dt" --cgroup /etc
check "--forbid with an unknown mechanism (2)" expect 2 "unknown mechanism 'uprobe'" "$dt" --forbid uprobe

check "without privileges: names the missing capabilities (1)" \
	expect 1 "^daxtrace: error: missing capability CAP_BPF and CAP_PERFMON \(or CAP_SYS_ADMIN\)" \
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all "$dt" --duration 1

check "replay of a missing file: one error line naming it (1)" \
	expect 1 "^daxtrace: error: $work/missing.dxt: " "$dt" replay "$work/missing.dxt"
head -c 4096 /dev/urandom >"$work/garbage.dxt"
check "replay of a file that is not a trace (1)" expect 1 "^daxtrace: error: $work/garbage.dxt: " "$dt" replay "$work/garbage.dxt"

# A real recording on this host (its probes attach what this kernel has).
"$dt" --json --duration 1 --record "$work/host.dxt" >"$work/rec.jsonl" 2>"$work/rec.err"
check "a live run records a trace and ends with a JSON summary" \
	bash -c "[ -s '$work/host.dxt' ] && tail -n 1 '$work/rec.jsonl' | grep -q '\"type\":\"summary\"'"
head -c $(( $(stat -c %s "$work/host.dxt") - 5 )) "$work/host.dxt" >"$work/cut.dxt"
check "replay of a truncated trace reports where (exit 3)" expect 3 "warning: .*cut.dxt: .* at byte [0-9]+" \
	"$dt" replay "$work/cut.dxt"

# Missing hooks: this host kernel has no DAX hooks of the series, so
# doctor must say which are missing and why, per race class.
"$dt" doctor --json >"$work/doctor.json"
doctor_rc=$?
check "doctor: every hook that did not attach says why" python3 -c "
import json, sys
j = json.load(open('$work/doctor.json'))
hooks = j['coverage']['hooks']
bad = [h['name'] for h in hooks if not h['attached'] and not h.get('reason')]
missing = [h['name'] for h in hooks if not h['attached']]
print('#   not attached here:', ', '.join(missing))
sys.exit(1 if bad or not missing else 0)"
check "... and which race classes are not fully covered" python3 -c "
import json, sys
j = json.load(open('$work/doctor.json'))
levels = {c['class']: c['coverage'] for c in j['coverage']['classes']}
print('#   coverage:', levels)
sys.exit(0 if set(levels) == set('ZWLT') and any(v != 'full' for v in levels.values()) else 1)"
check "... exits 1 exactly when a class is blind or the kernel lacks CONFIG_FS_DAX (got $doctor_rc)" python3 -c "
import json, sys
j = json.load(open('$work/doctor.json'))
blind = [c['class'] for c in j['coverage']['classes'] if c['coverage'] == 'blind']
want = 1 if blind or j['config_fs_dax'] == 'n' else 0
print('#   blind:', blind, 'CONFIG_FS_DAX:', j['config_fs_dax'])
sys.exit(0 if $doctor_rc == want and j['blind_classes'] == blind else 1)"
check "... and names the DAX filesystems mounted (a list, maybe empty)" python3 -c "
import json, sys
j = json.load(open('$work/doctor.json'))
print('#   DAX mounts:', j['dax_mounts'])
sys.exit(0 if isinstance(j['dax_mounts'], list) and j['config_fs_dax'] in ('y', 'n', 'unknown') else 1)"

"$dt" --json >"$work/int.jsonl" 2>"$work/int.err" &
pid=$!
wait_for_line "$work/int.jsonl" '"type":"start"' $pid 10
kill -INT $pid
wait $pid
rc=$?
check "SIGINT: detaches, exits 0 and prints the summary" \
	bash -c "[ $rc = 0 ] && tail -n 1 '$work/int.jsonl' | grep -q '\"type\":\"summary\"'"

ktap_finish

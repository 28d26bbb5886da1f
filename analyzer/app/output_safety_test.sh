#!/bin/bash
# Strings from the kernel or a trace are untrusted (comm, hostname, kernel
# release): a replay of a crafted trace (make_unsafe_trace.py: a comm cut
# inside a UTF-8 character, escape sequences, an invalid byte) must give
# valid JSON lines with --json, and no raw control byte on a terminal.
# Also: the `start` line has the same fields in replay as live.
# usage: output_safety_test.sh DAXTRACE
set -u
dt=$(realpath "${1:?usage: output_safety_test.sh DAXTRACE}")
# shellcheck source=SCRIPTDIR/../../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
. "$REPO_DIR/tests/ktap.sh"
work=
make_workdir work
command -v zstd >/dev/null || ktap_skip_all "zstd command not installed"
python3 "$REPO_DIR/analyzer/app/make_unsafe_trace.py" "$work/unsafe.dxt" ||
	die "make_unsafe_trace.py failed"
ktap_plan 8

"$dt" replay --json "$work/unsafe.dxt" >"$work/out.jsonl" 2>"$work/json.err"
rc=$?
check "--json replay exits 0 (no abort on a comm cut mid-character), got $rc" [ $rc = 0 ]
check "... every line is valid JSON, the findings carry the comms" python3 -c "
import json, sys
lines = [json.loads(l) for l in open('$work/out.jsonl', encoding='utf-8')]
f = [l for l in lines if l['type'] == 'finding']
assert {x['rule'] for x in f} >= {'L1', 'L2'}, f
comms = {e['comm'] for x in f for e in x['evidence']}
assert comms == {'\x1b[2Japp_се\ufffd'}, comms
"
check "... header hooks in registry@mechanism form are read: no break hook recorded, L1 uncertain" python3 -c "
import json
f = [json.loads(l) for l in open('$work/out.jsonl', encoding='utf-8')]
l1 = [x for x in f if x.get('rule') == 'L1']
assert l1 and all(x['uncertain'] and 'layout-break hook' in x['uncertain_reason'] for x in l1), l1
"
check "... the start line has the live fields (source, trace, hooks, coverage)" python3 -c "
import json
s = json.loads(open('$work/out.jsonl', encoding='utf-8').readline())
want = {'type', 'source', 'kernel', 'host', 'trace', 'abi_version', 'hooks', 'coverage',
        'start_wallclock_ns', 'start_monotonic_ns'}
assert set(s) == want, set(s) ^ want
assert s['source'] == 'replay' and s['coverage'] is None and s['host'] == 'host\x1b[31mred'
"

"$dt" replay "$work/unsafe.dxt" >"$work/out.txt" 2>"$work/txt.err"
rc=$?
check "text replay exits 0, got $rc" [ $rc = 0 ]
check "... shows the findings" grep -q 'L2 disassociate-pinned-entry' "$work/out.txt"
check "... with no raw ESC, BEL or invalid byte on stdout or stderr" python3 -c "
import sys
for f in ('$work/out.txt', '$work/txt.err'):
    b = open(f, 'rb').read()
    bad = [c for c in b if c < 0x20 and c not in (0x0a, 0x09)]
    assert not bad, (f, bad[:5])
    b.decode('utf-8')
"
check "... the escapes are shown as text (\\x1b)" grep -q '\\x1b\[2J' "$work/out.txt"
ktap_finish

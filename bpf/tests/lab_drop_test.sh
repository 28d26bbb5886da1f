#!/bin/bash
# Runs INSIDE the lab guest: drops are counted and reported, never silent.
# A one-page ring buffer, a consumer woken rarely and a fault-heavy
# workload overflow the ring; the test asserts that the kernel side counted
# drops and that user space delivered DT_LOST events adding up to exactly
# that count, and that nothing else went missing.
set -u
# shellcheck source=SCRIPTDIR/../../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
BIN=${DT_BIN:-$REPO_DIR/build-bpf/bpfonly/tests}
OUT=${LAB_OUT:?}
MNT=${LAB_MNT:?}
rm -f "$OUT/drop.ready"
"$BIN/dtprobe" --mount "$MNT" --ringbuf 4096 --wakeup 1000000 \
	--events "$OUT/drop-events.jsonl" --ready "$OUT/drop.ready" \
	--stats "$OUT/drop-stats.json" --quiet &
DT=$!
wait_until $DT 60 test -e "$OUT/drop.ready" || die "dtprobe did not get ready (it exited, or 60 s passed)"
"$BIN/dax_workload" fault-bench "$MNT/dropfile" 256 4
kill -INT $DT
wait $DT
python3 - "$OUT" "$REPO_DIR/tests" <<'PY'
import json, sys
out = sys.argv[1]
sys.path.insert(0, sys.argv[2])
from ktap import Ktap
st = json.load(open(f"{out}/drop-stats.json"))
evs = [json.loads(l) for l in open(f"{out}/drop-events.jsonl") if l.strip()]
lost = sum(e["ret"] for e in evs if e["type"] == "DT_LOST")
real = sum(1 for e in evs if e["type"] != "DT_LOST")
k = Ktap()
k.check(st["dropped"] > 0, f"the one-page ring overflowed: {st['dropped']} drops counted")
k.check(lost == st["dropped"], f"DT_LOST events report {lost} lost = {st['dropped']} dropped")
k.check(real == st["emitted"], f"{real} events delivered = {st['emitted']} emitted")
sys.exit(k.finish())
PY

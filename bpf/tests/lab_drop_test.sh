#!/bin/sh
# Runs INSIDE the lab guest: drops are counted and reported, never silent.
# A one-page ring buffer, a consumer woken rarely and a fault-heavy
# workload overflow the ring; the test asserts that the kernel side counted
# drops and that user space delivered DT_LOST events adding up to exactly
# that count, and that nothing else went missing.
set -u
BIN=${DT_BIN:-$(cd "$(dirname "$0")/../.." && pwd)/build-bpf/bpfonly/tests}
OUT=${LAB_OUT:?}
MNT=${LAB_MNT:?}
rm -f "$OUT/drop.ready"
"$BIN/dtprobe" --mount "$MNT" --ringbuf 4096 --wakeup 1000000 \
	--events "$OUT/drop-events.jsonl" --ready "$OUT/drop.ready" \
	--stats "$OUT/drop-stats.json" --quiet &
DT=$!
while [ ! -e "$OUT/drop.ready" ]; do
	kill -0 $DT 2>/dev/null || { echo "not ok 1 dtprobe failed to attach"; exit 1; }
	sleep 0.1
done
"$BIN/dax_workload" fault-bench "$MNT/dropfile" 256 4
kill -INT $DT
wait $DT
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
st = json.load(open(f"{out}/drop-stats.json"))
evs = [json.loads(l) for l in open(f"{out}/drop-events.jsonl") if l.strip()]
lost = sum(e["ret"] for e in evs if e["type"] == "DT_LOST")
real = sum(1 for e in evs if e["type"] != "DT_LOST")
res = [
    (st["dropped"] > 0, f"the one-page ring overflowed: {st['dropped']} drops counted"),
    (lost == st["dropped"], f"DT_LOST events report {lost} lost = {st['dropped']} dropped"),
    (real == st["emitted"], f"{real} events delivered = {st['emitted']} emitted"),
]
print("KTAP version 1")
print(f"1..{len(res)}")
for i, (ok, name) in enumerate(res, 1):
    print(f"{'ok' if ok else 'not ok'} {i} {name}")
sys.exit(0 if all(ok for ok, _ in res) else 1)
PY

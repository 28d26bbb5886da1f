#!/bin/bash
# Trace files whose header daxtrace must refuse: a future format version,
# an older or different event ABI, a wrong event size, a damaged header
# checksum, an empty file, metadata that is not a JSON object or claims
# more bytes than the file has, a directory.  Each is exit 1 with exactly
# one error line that says what is wrong, and nothing on stdout; the same
# trace unmodified replays with exit 0 (the negative twin).  The headers
# are patched with their checksums recomputed, so each check reaches the
# test it is about rather than the checksum.
# usage: trace_headers_test.sh DAXTRACE
set -u
dt=$(realpath "${1:?usage: trace_headers_test.sh DAXTRACE}")
# shellcheck source=SCRIPTDIR/../../../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../../ci/lib.sh"
# shellcheck source=SCRIPTDIR/../../../tests/ktap.sh
. "$REPO_DIR/tests/ktap.sh"
work=
make_workdir work
good=$REPO_DIR/analyzer/tests/data/stock-6.1-ext4-swapboot-punch.dxt

# patch OUT FIELD=VALUE...: the good trace with header fields replaced
# (format, abi, event_size, meta_len, meta=JSON text, crc=keep to leave
# the header checksum as it was) and the checksums recomputed.
patch() {
	PYTHONPATH=$REPO_DIR/analyzer/app python3 - "$good" "$@" <<'PY'
import struct, sys
from dxt_write import crc32c
src, out, *edits = sys.argv[1:]
b = bytearray(open(src, "rb").read())
magic, fmt, flags, abi, esz, mlen, mcrc, hcrc = struct.unpack_from("<8sHHIIIII", b)
meta = bytes(b[32:32 + mlen])
rest = bytes(b[32 + mlen:])
keep_crc = False
for e in edits:
    k, v = e.split("=", 1)
    if k == "format": fmt = int(v)
    elif k == "abi": abi = int(v)
    elif k == "event_size": esz = int(v)
    elif k == "meta": meta = v.encode()
    elif k == "crc": keep_crc = True
new_mlen = len(meta)
for e in edits:
    if e.startswith("meta_len="):
        new_mlen = int(e.split("=", 1)[1])
hdr = struct.pack("<8sHHIIII", magic, fmt, flags, abi, esz, new_mlen, crc32c(meta))
hdr += struct.pack("<I", hcrc if keep_crc else crc32c(hdr))
open(out, "wb").write(hdr + meta + rest)
PY
}
# refused DESCRIPTION FILE PATTERN: replay exits 1, one error line
# matching PATTERN, nothing on stdout.
refused() {
	local rc
	"$dt" replay --json "$2" >"$work/out" 2>"$work/err"
	rc=$?
	if [ $rc = 1 ] && [ "$(grep -c 'error:' "$work/err")" = 1 ] && [ "$(wc -l <"$work/err")" = 1 ] &&
		grep -qE -- "^daxtrace: error: .*$3" "$work/err" && [ ! -s "$work/out" ]; then
		ktap_ok "$1"
	else
		ktap_not_ok "$1" "exit $rc, stderr: $(head -c 300 "$work/err")" "stdout: $(head -c 200 "$work/out")"
	fi
}

ktap_plan 9
"$dt" replay --json "$good" >"$work/good.jsonl" 2>"$work/good.err"
check "the unmodified trace replays (exit 0, a summary)" \
	bash -c "[ $? = 0 ] && tail -n 1 '$work/good.jsonl' | grep -q '\"type\":\"summary\"'"

patch "$work/future.dxt" format=2
refused "a future format version (2): exit 1, names both versions" "$work/future.dxt" \
	"unsupported trace format version 2 \(this reader: 1\) \(at byte 8\)"
patch "$work/oldabi.dxt" abi=0
refused "an older event ABI (0): exit 1, names both ABIs" "$work/oldabi.dxt" \
	"trace written with event ABI 0 \(112-byte events\); this analyzer reads ABI 1 \(112-byte events\)"
patch "$work/size.dxt" event_size=104
refused "another event size (104 bytes): exit 1" "$work/size.dxt" \
	"trace written with event ABI 1 \(104-byte events\)"
patch "$work/crc.dxt" format=7 crc=keep
refused "a header whose checksum does not match: exit 1" "$work/crc.dxt" \
	"trace header checksum mismatch at offset 0"
: >"$work/empty.dxt"
refused "an empty file: exit 1, shorter than the header" "$work/empty.dxt" \
	"file is 0 bytes, shorter than the 32-byte header"
patch "$work/array.dxt" 'meta=[1,2]'
refused "metadata that is not a JSON object: exit 1" "$work/array.dxt" \
	"trace metadata is not a JSON object at offset 32"
patch "$work/long.dxt" meta_len=4000000000
refused "metadata longer than the file: exit 1" "$work/long.dxt" \
	"trace header metadata truncated or oversized \(4000000000 bytes\)"
refused "a directory: exit 1" "$work" "$work"
ktap_finish

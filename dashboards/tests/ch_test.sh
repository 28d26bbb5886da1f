# shellcheck shell=bash
# The start every test against a real clickhouse-server shares, sourced by
# path with the test's own arguments:
#   . "$(dirname "${BASH_SOURCE[0]}")/ch_test.sh" "$@"   # DAXTRACE [TRACE]
#   ch_test_server NAME        # one private server: URL, SPILL, WORK
# (or ch_test_begin NAME STOP_FN for servers of its own; ch_checks.sh)
# It brings ci/lib.sh (REPO_DIR, log, die, on_exit, make_workdir),
# tests/ktap.sh, ch_server.sh and ch_checks.sh, and sets DT (the daxtrace
# binary) and TRACE (default: the stock 6.1 ext4 lab trace beside this file).
CH_TESTS_DIR=$(CDPATH='' cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/../../ci/lib.sh
. "$CH_TESTS_DIR/../../ci/lib.sh"
# shellcheck source=SCRIPTDIR/../../tests/ktap.sh
. "$REPO_DIR/tests/ktap.sh"
# shellcheck source=SCRIPTDIR/ch_server.sh
. "$CH_TESTS_DIR/ch_server.sh"
# shellcheck source=SCRIPTDIR/ch_checks.sh
. "$CH_TESTS_DIR/ch_checks.sh"
# shellcheck disable=SC2034 # DT and TRACE are for the test that sources this
DT=${1:?usage: $(basename "$0") DAXTRACE [TRACE]}
TRACE=${2:-$CH_TESTS_DIR/data/stock-ext4.dxt}

# shellcheck shell=bash
# KTAP output for the shell tests (the one shell helper; C workloads use
# tests/workloads/ktap.h, Python checkers tests/ktap.py).  Source it, then
# either
#   ktap_plan N; check DESCRIPTION COMMAND...; ...; ktap_finish
# or, when the number of results is known only at the end,
#   ktap_header; ktap_ok DESCRIPTION; ktap_not_ok DESCRIPTION [DIAG...]; ktap_finish
# ktap_finish prints the trailing plan if none was printed, a summary, and
# returns non-zero when any result failed.
ktap_n=0
ktap_failed=0
ktap_planned=0

ktap_header() {
	echo "KTAP version 1"
}

ktap_plan() {
	ktap_header
	echo "1..$1"
	ktap_planned=1
}

ktap_ok() {
	ktap_n=$((ktap_n + 1))
	echo "ok $ktap_n - $1"
}

# ktap_not_ok DESCRIPTION [DIAGNOSTIC LINE...]
ktap_not_ok() {
	local l
	ktap_n=$((ktap_n + 1))
	ktap_failed=$((ktap_failed + 1))
	echo "not ok $ktap_n - $1"
	shift
	for l in "$@"; do echo "# $l"; done
}

# ktap_skip_all REASON: nothing can be checked here (a tool is missing);
# says why and ends the script with success, as kselftest does.
ktap_skip_all() {
	ktap_header
	echo "1..0 # SKIP $1"
	exit 0
}

check() {	# check DESCRIPTION COMMAND...: the command must succeed
	local desc=$1
	shift
	if "$@"; then
		ktap_ok "$desc"
	else
		ktap_not_ok "$desc"
	fi
}

ktap_finish() {
	[ "$ktap_planned" = 1 ] || echo "1..$ktap_n"
	echo "# $ktap_failed of $ktap_n failed"
	[ "$ktap_failed" = 0 ]
}

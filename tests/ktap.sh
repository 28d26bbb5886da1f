# shellcheck shell=bash
# KTAP output for the shell tests: source it, call ktap_plan N, then
# check DESCRIPTION COMMAND... once per check, and exit with ktap_finish.
ktap_n=0
ktap_failed=0

ktap_plan() {
	echo "TAP version 13"
	echo "1..$1"
}

check() {	# check DESCRIPTION COMMAND...: the command must succeed
	local desc=$1
	shift
	ktap_n=$((ktap_n + 1))
	if "$@"; then
		echo "ok $ktap_n - $desc"
	else
		echo "not ok $ktap_n - $desc"
		ktap_failed=$((ktap_failed + 1))
	fi
}

ktap_finish() {
	echo "# $ktap_failed of $ktap_n failed"
	[ "$ktap_failed" = 0 ]
}

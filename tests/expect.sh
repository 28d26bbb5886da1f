# shellcheck shell=bash
# "This command must fail this way": the exit status and the message a
# command-line test expects (analyzer/app/*_test.sh).  Source it after
# ci/lib.sh (for its temporary directory) and tests/ktap.sh, then
#   check "DESCRIPTION" expect RC PATTERN CMD...
#   check "DESCRIPTION" expect_one_line RC PATTERN CMD...
# A mismatch prints KTAP diagnostic lines (the status and the start of
# stderr) ahead of the "not ok".  The last command's stdout and stderr
# stay in the files $expect_out and $expect_err.
declare -F make_workdir >/dev/null || {
	echo "tests/expect.sh: source ci/lib.sh first" >&2
	exit 1
}
_expect_dir=
make_workdir _expect_dir
expect_out=$_expect_dir/out
expect_err=$_expect_dir/err

# expect RC PATTERN CMD...: CMD exits RC and its stderr matches PATTERN
# (grep -E).
expect() { _expect any "$@"; }

# expect_one_line RC PATTERN CMD...: the same, and stderr is one line: a
# usage error must not drown in a help text or a stack of messages.
expect_one_line() { _expect 1 "$@"; }

_expect() {
	local lines=$1 rc=$2 pat=$3 got n
	shift 3
	"$@" >"$expect_out" 2>"$expect_err"
	got=$?
	n=$(wc -l <"$expect_err")
	if [ "$got" = "$rc" ] && { [ "$lines" = any ] || [ "$n" = "$lines" ]; } &&
		grep -qE -- "$pat" "$expect_err"; then
		return 0
	fi
	echo "#   exit $got (want $rc), stderr ($n lines):"
	head -c 400 "$expect_err" | awk '{ print "#   | " $0 }'
	return 1
}

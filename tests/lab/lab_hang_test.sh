#!/bin/bash
# ci/lab's handling of a guest whose vCPU is stuck for good (the way QEMU
# TCG has hung on a loaded host: soft lockups of a CPU, or RCU stalls of
# one grace period, for minutes, until
# the command's timeout), or whose kernel the emulator crashed during boot
# (an int3 oops from the kernel patching its own text, before the command
# started).  A real hang cannot be made on demand, so QEMU is
# replaced (--qemu) by a script that writes what such a guest writes to
# its console, then either stays silent or finishes like a guest does.
# What is tested is the runner: it stops the hung boot early, keeps its
# results, boots again once and says so; a CPU that is only slow for a
# while (one short lockup report) is left alone, and so is any other crash,
# and an int3 oops after the command started: those are results.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../../ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../ci/lib.sh"
# shellcheck source=SCRIPTDIR/../ktap.sh
. "$REPO_DIR/tests/ktap.sh"
command -v busybox >/dev/null || ktap_skip_all "busybox not installed"
tmp=	# (make_workdir sets it)
make_workdir tmp
export DAXTRACE_CACHE=$tmp/cache
touch "$tmp/bzImage"

# The stand-in for qemu-system-x86_64.  $FAKE_GUEST says what each boot
# does, one word per boot: "hang" (a CPU stuck 26s, 52s, ... 130s, then
# nothing), "slow" (one 23s report, then the command's result),
# "rcu-hang" (RCU stall reports of one grace period at 88s, 151s, 214s,
# then nothing), "rcu-slow" (stalls of two grace periods 63s apart, then
# the command's result), "int3"
# (the emulator's int3 oops and a panic before the command), "oops" (another
# oops and a panic before the command), "int3-late" (the command started,
# then the int3 oops and a panic), "ok".
cat >"$tmp/qemu" <<'EOF'
#!/bin/bash
for a in "$@"; do
	case $a in
	file:*) console=${a#file:} ;;
	*mount_tag=out,*) out=${a#local,path=}; out=${out%%,*} ;;
	esac
done
n=$(($(cat "$FAKE_STATE" 2>/dev/null || echo 0) + 1))
echo $n >"$FAKE_STATE"
read -ra plan <<<"$FAKE_GUEST"
lockup() { echo "[ $1.0] watchdog: BUG: soft lockup - CPU#1 stuck for ${1}s! [bash:159]" >>"$console"; }
stall() { printf '[ %s.5] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:\n[ %s.6] \t(detected by 0, t=%s jiffies, g=%s, q=19 ncpus=2)\n' "$1" "$1" "$2" "$3" >>"$console"; }
panic() { printf '[    1.56] %s\n[    1.57] Kernel panic - not syncing: Fatal exception\n' "$1" >>"$console"; }
case ${plan[n - 1]} in
hang) for s in 26 52 78 104 130; do lockup $s; done; sleep 600 ;;
rcu-hang) stall 88 5252 23029; stall 151 21011 23029; stall 214 36768 23029; sleep 600 ;;
int3) panic "Oops: int3: 0000 [#1] PREEMPT SMP NOPTI" ;;
oops) panic "BUG: kernel NULL pointer dereference, address: 0000000000000008" ;;
int3-late) touch "$out/started"; panic "Oops: int3: 0000 [#1] PREEMPT SMP NOPTI" ;;
slow) lockup 23 ;&
rcu-slow) stall 88 5252 7; stall 151 5300 9 ;&
ok) touch "$out/started"; echo "guest says hello" >"$out/output.log"; echo 0 >"$out/status" ;;
esac
EOF
chmod +x "$tmp/qemu"

# lab PLAN [ARGS...]: run ci/lab with the stand-in; sets rc and secs.
lab() {
	local t0=$SECONDS
	rm -f "$tmp/state"
	rc=0
	FAKE_GUEST=$1 FAKE_STATE=$tmp/state "$CI_DIR/lab" run --kernel "$tmp/bzImage" \
		--qemu "$tmp/qemu" --timeout 120 --quiet --out "$tmp/out" "${@:2}" -- true \
		>"$tmp/lab.log" 2>&1 || rc=$?
	secs=$((SECONDS - t0))
	sed 's/^/# /' "$tmp/lab.log"
}

ktap_plan 14
lab "hang ok"
check "a hung boot is stopped early and booted again: exit 0 in ${secs}s (timeout 120s)" \
	test "$rc" = 0 -a "$secs" -lt 100
check "... the second boot's results are the results" grep -qx "guest says hello" "$tmp/out/output.log"
check "... and say that a boot hung, with the lockup line" \
	grep -q "hung1: .*soft lockup - CPU#1 stuck for 104s" "$tmp/out/hung-boots"
check "... the hung boot's console is kept" grep -q "stuck for 130s" "$tmp/out.hung1/console.log"
lab "hang hang"
check "a guest that hangs on every boot: exit 125 (the lab failed), not a pass ($rc)" test "$rc" = 125
lab "hang ok" --hang-retries 0
check "--hang-retries 0: no second boot, exit 125 ($rc)" test "$rc" = 125 -a "$(cat "$tmp/state")" = 1
rm -rf "$tmp/out.hung1"
lab "slow"
check "one short soft lockup report is not a hang: one boot, exit 0, no hung-boots" \
	test "$rc" = 0 -a "$(cat "$tmp/state")" = 1 -a ! -e "$tmp/out/hung-boots" -a ! -e "$tmp/out.hung1"
lab "rcu-hang ok"
check "an RCU grace period stalled for 100s is a hang: booted again, exit 0 in ${secs}s" \
	test "$rc" = 0 -a "$secs" -lt 100 -a "$(cat "$tmp/state")" = 2
check "... and said so, with the stall" \
	grep -q "hung1: .*RCU grace period 23029 stalled from 88 s to 214 s" "$tmp/out/hung-boots"
rm -rf "$tmp/out.hung1"
lab "rcu-slow"
check "stalls of grace periods that completed are not a hang: one boot, exit 0, no hung-boots" \
	test "$rc" = 0 -a "$(cat "$tmp/state")" = 1 -a ! -e "$tmp/out/hung-boots" -a ! -e "$tmp/out.hung1"
lab "int3 ok"
check "the emulator's int3 oops before the command: booted again, exit 0 ($rc)" \
	test "$rc" = 0 -a "$(cat "$tmp/state")" = 2
check "... and said so, with the oops line" \
	grep -q "hung1: crashed during boot, before the command: .*Oops: int3" "$tmp/out/hung-boots"
rm -rf "$tmp/out.hung1"
lab "oops ok"
check "another crash before the command is a result: one boot, exit 125 ($rc)" \
	test "$rc" = 125 -a "$(cat "$tmp/state")" = 1 -a ! -e "$tmp/out.hung1"
lab "int3-late ok"
check "an int3 oops after the command started is a result: one boot, exit 125 ($rc)" \
	test "$rc" = 125 -a "$(cat "$tmp/state")" = 1 -a ! -e "$tmp/out.hung1"
ktap_finish

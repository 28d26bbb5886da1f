#!/bin/bash
# Lab stage 2, PID 1 inside the host's root (chroot): set up emulated pmem
# as an fsdax namespace, make and mount a DAX filesystem, run the command,
# and leave its status, output and the kernel log in the results directory
# for the host.  Variables come from env.sh, written by ci/lab.
out=/run/lab/out
# Export everything: --env K=V must reach the guest command.
set -a
. $out/env.sh
set +a
export LAB_OUT=$out LAB_FS LAB_MNT LAB_DEV PATH HOME=/tmp LANG=C.UTF-8

finish() {
	dmesg >$out/dmesg.txt 2>&1
	sync
	[ -n "${mounted:-}" ] && umount "$LAB_MNT" 2>/dev/null
	echo "$1" >$out/status
	sync
	echo b >/proc/sysrq-trigger
}

step() { echo "[$(cut -d' ' -f1 /proc/uptime)] $*"; }

setup() {
	step "stage 2 started"
	mount -t devpts devpts /dev/pts -o mode=620 2>/dev/null || { mkdir -p /dev/pts && mount -t devpts devpts /dev/pts; }
	mkdir -p /dev/shm && mount -t tmpfs shm /dev/shm
	mount -t tracefs tracefs /sys/kernel/tracing
	mount -t debugfs debugfs /sys/kernel/debug
	mount -t bpf bpf /sys/fs/bpf
	step "kernel $(uname -r)"
	[ "$LAB_FS" = none ] && return 0
	# The memmap= region shows up as a raw-mode namespace, which cannot
	# be mounted -o dax; fsdax mode with the memmap kept in RAM can.
	ndctl create-namespace -f -e namespace0.0 -m fsdax -M mem || return 1
	step "fsdax namespace created"
	for i in $(seq 50); do [ -b "$LAB_DEV" ] && break; sleep 0.1; done
	[ -b "$LAB_DEV" ] || { echo "no $LAB_DEV after create-namespace"; return 1; }
	case $LAB_FS in
	ext4) mkfs.ext4 -q -F -b 4096 "$LAB_DEV" ;;
	ext2) mkfs.ext2 -q -F -b 4096 "$LAB_DEV" ;;
	xfs) mkfs.xfs -q -f -m reflink=0 "$LAB_DEV" ;;
	*) echo "unknown filesystem $LAB_FS"; return 1 ;;
	esac || return 1
	mkdir -p "$LAB_MNT"
	mount -t "$LAB_FS" -o dax "$LAB_DEV" "$LAB_MNT" || return 1
	mounted=1
	step "mounted"
	grep " $LAB_MNT " /proc/mounts
}

if ! setup >$out/setup.log 2>&1; then
	finish setup-failed
	exit 0
fi
cd "$LAB_CWD" 2>/dev/null || cd /
cut -d' ' -f1 /proc/uptime >$out/started
bash $out/cmd.sh >$out/output.log 2>&1 </dev/null
finish $?

#!/bin/bash
# Runs inside the lab (bench/lab_boot.sh): the guest's exec cost, as the
# seconds for five python3 starts and for three `ndctl list` -- the kind of
# work every lab test does.
t0=$(date +%s.%N)
for _ in 1 2 3 4 5; do python3 -c 'import json, subprocess'; done
t1=$(date +%s.%N)
for _ in 1 2 3; do ndctl list >/dev/null; done
t2=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN { printf "%.2f %.2f\n", b - a, c - b }'

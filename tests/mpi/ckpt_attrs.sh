#!/usr/bin/env bash
# ckpt_attrs.sh — a checkpoint's attributes drive the restore.  A changed
# attribute fails the attribute checksum (tests/mpi/ckpt_fuzz.sh); here the
# checksum is recomputed (resealed), in both generations, so that the range
# checks behind it are reached: out-of-range values (stage 7, flow_step -3
# or 10^6, train_step -5) must be refused with one message naming the
# attribute, rc != 0, and both generations left exactly as they were.
set -u
cd "$(dirname "$0")/../.."
. tests/mpi/common.sh
# Checks: the stopped run 1; per bad attribute (4): refused, names it, files unchanged.
plan 13
PY=/usr/bin/python3
dir="$OUT/ckpt_attrs"; rm -rf "$dir"; mkdir -p "$dir"
out="$dir/run.h5"
SET=(--set ensemble.members=6 --set train.steps=40 --set brg.count=6 --set run.checkpoint_every=20)
# a stop file at the start stops at the first boundary; again until a flow checkpoint
touch "$out.stop"
mpi 2 "$BIN" run inputs/paper_relu.ini "${SET[@]}" --set run.output="$out" > "$dir/run.log" 2>&1
tries=0
while [ ! -e "$out" ] && ! grep -q "stage 2" "$dir/run.log" && [ $tries -lt 6 ]; do
  tries=$((tries + 1)); touch "$out.stop"
  mpi 2 "$BIN" run inputs/paper_relu.ini "${SET[@]}" --set run.output="$out" \
    --restart "$out.ckpt.h5" > "$dir/run.log" 2>&1
done
check "a flow-stage checkpoint to damage" grep -q "stage 2" "$dir/run.log"
cp "$out.ckpt.h5" "$dir/good.h5"
for bad in "stage 7" "flow_step -3" "flow_step 1000000" "train_step -5"; do
  set -- $bad
  # the flow checkpoint as both generations (the previous one may be the
  # stage-1 checkpoint, which a bad flow_step does not concern)
  cp "$dir/good.h5" "$out.ckpt.h5"; cp "$dir/good.h5" "$out.ckpt.prev.h5"; rm -f "$out"
  for f in "$out.ckpt.h5" "$out.ckpt.prev.h5"; do "$PY" tests/mpi/ckpt_mutate.py attr "$f" "$1" "$2" seal; done
  sums=$(md5sum "$out.ckpt.h5" "$out.ckpt.prev.h5" 2>/dev/null)
  mpi 2 "$BIN" run inputs/paper_relu.ini "${SET[@]}" --set run.output="$out" \
    --restart "$out.ckpt.h5" > "$dir/bad.log" 2>&1
  rc=$?
  check "$1 = $2: refused (rc $rc)" test $rc -ne 0
  check "$1 = $2: the message names the attribute" grep -q "attribute $1 = $2 is out of range" "$dir/bad.log"
  check "$1 = $2: both generations unchanged" test "$sums" = "$(md5sum "$out.ckpt.h5" "$out.ckpt.prev.h5" 2>/dev/null)"
done
grep -m1 "out of range" "$dir/bad.log" | sed 's/^/    /'
finish

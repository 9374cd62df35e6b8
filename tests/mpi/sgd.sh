#!/usr/bin/env bash
# sgd.sh — stochastic gradient descent end to end (issue 9):
#  * a shuffled-order SGD run (whole MLP: the one-pass gradient path) is
#    bitwise the same on 1 and 2 ranks (the order is a counter stream of
#    (seed, member, epoch), not a per-rank generator);
#  * its log says the infinite-width reference is skipped; /train says
#    method sgd, batch, epochs, order, loss;
#  * stopped at an epoch checkpoint and restarted on another rank count, it
#    ends bitwise equal to the uninterrupted run;
#  * the readout (features path) restarted with another checkpoint_every
#    (a key that cannot change results) is bitwise the uninterrupted run;
#  * a diverging run (lr far too large) stops with one error, no NaN result.
set -u
cd "$(dirname "$0")/../.."
. tests/mpi/common.sh
dir="$OUT/sgd"; rm -rf "$dir"; mkdir -p "$dir"
plan 13
SGD=(inputs/mlp_train.ini --set ensemble.members=6 --set network.width=32
     --set train.method=sgd --set train.steps=200 --set train.batch=4 --set train.epochs=40
     --set train.order=shuffled --set train.loss=mse --set train.lr=0.02
     --set train.record_every=10 --set run.checkpoint_every=10 --set run.save_theta=yes)
# The stop file exists before the run starts: it stops at the first epoch
# checkpoint, whatever the machine's speed.
stopped() { # output, ranks, args...
  local out=$1 np=$2; shift 2
  touch "$out.stop"
  mpi "$np" "$BIN" run "$@" --set run.output="$out" > "$out.stop.log" 2>&1
}

mpi 1 "$BIN" run "${SGD[@]}" --set run.output="$dir/np1.h5" > "$dir/np1.log" 2>&1
check "sgd run on 1 rank completes" test -f "$dir/np1.h5"
mpi 2 "$BIN" run "${SGD[@]}" --set run.output="$dir/np2.h5" > "$dir/np2.log" 2>&1
for ds in /train/loss /ensemble/theta; do
  check "shuffled sgd: $ds bitwise equal on 1 and 2 ranks" "$H5CMP" "$dir/np1.h5" "$dir/np2.h5" $ds 0
done
check "log: the infinite-width reference is skipped for sgd" \
  grep -q "infinite-width check: skipped (SGD" "$dir/np2.log"
has_attrs() { # file, then ERE patterns each of which must match one /train attribute
  local f=$1 a txt; shift
  txt=$(h5dump -A -g /train "$f" 2>&1 | tr -s ' \n' ' ')
  for a in "$@"; do
    echo "$txt" | grep -Eq "ATTRIBUTE \"$a" || { echo "missing: $a"; return 1; }
  done
}
check "/train attributes: method sgd, batch 4, epochs 40, order shuffled, loss mse" \
  has_attrs "$dir/np2.h5" 'method" [^"]*"sgd"' 'batch" [^"]*\(0\): 4 ' \
  'epochs" [^"]*\(0\): 40 ' 'order" [^"]*"shuffled"' 'loss" [^"]*"mse"'

out="$dir/restart.h5"
stopped "$out" 2 "${SGD[@]}"
check "stopped at an epoch checkpoint (stage 0, epoch 10)" \
  grep -Eq "checkpoint: .*\(stage 0" "$out.stop.log"
check "no result after the stop" test ! -e "$out"
mpi 1 "$BIN" run "${SGD[@]}" --set run.output="$out" --restart "$out.ckpt.h5" > "$dir/restart.log" 2>&1
resumed() { # log: resumed at stage 0 and did not redo epochs 1..10
  grep -q "restart from .*stage 0" "$1" && ! grep -q "train: epoch 10/40" "$1" &&
    grep -q "train: epoch 20/40" "$1"
}
check "restart resumes at epoch 10 (epochs 1..10 not rerun)" resumed "$dir/restart.log"
for ds in /train/loss /ensemble/theta; do
  check "restart 2 -> 1 rank mid-SGD: $ds bitwise equal to the uninterrupted run" \
    "$H5CMP" "$dir/np2.h5" "$out" $ds 0
done

# the features path, fixed order, batch 1: the authors' settings at a
# testable learning rate
RO=("${SGD[@]}" --set train.trainable=readout --set train.batch=1 --set train.order=fixed
    --set train.lr=0.01)
mpi 2 "$BIN" run "${RO[@]}" --set run.checkpoint_every=0 --set run.output="$dir/ro.h5" \
  > "$dir/ro.log" 2>&1
out="$dir/ro_restart.h5"
stopped "$out" 2 "${RO[@]}"
mpi 2 "$BIN" run "${RO[@]}" --set run.checkpoint_every=7 --set run.output="$out" \
  --restart "$out.ckpt.h5" > "$dir/ro_restart.log" 2>&1
check "readout restarted with checkpoint_every 10 -> 7: /ensemble/theta bitwise equal" \
  "$H5CMP" "$dir/ro.h5" "$out" /ensemble/theta 0

mpi 2 "$BIN" run "${SGD[@]}" --set train.lr=1e6 --set run.output="$dir/nan.h5" \
  > "$dir/nan.log" 2>&1
rc=$?
check "diverging sgd: exit 1 ($rc), one message naming a member" \
  bash -c "[ $rc -eq 1 ] && [ \$(grep -c 'brgflow: error: train: member [0-9]* diverged' '$dir/nan.log') -eq 1 ]"
check "diverging sgd: no result file" test ! -e "$dir/nan.h5"
grep "brgflow: error" "$dir/nan.log" | sed 's/^/    /'
finish

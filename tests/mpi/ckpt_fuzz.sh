#!/usr/bin/env bash
# ckpt_fuzz.sh — restarts from damaged checkpoints (issue 10): truncated,
# byte-flipped, datasets deleted, reshaped or retyped, attributes deleted,
# retyped or out of range (with the attribute checksum stale, and resealed
# so that the range and input checks behind it are reached), `input` as a
# variable-length string (as h5py writes it) or with other text.  For every
# case (tests/mpi/ckpt_mutate.py lists them): never a crash (rc 0 or 1, no
# signal, no "internal error"), never rc 0 with a result that differs from
# the uninterrupted run (h5cmp, 1e-12 relative; in practice bitwise), and
# the outcome the case expects: the newest generation refused for its
# reason and the previous one used, or restored, or (both damaged) one
# clean error with both files byte-identical afterwards.
set -u
cd "$(dirname "$0")/../.."
. tests/mpi/common.sh
PY=/usr/bin/python3
MUT=tests/mpi/ckpt_mutate.py
# Checks: the uninterrupted run, a two-generation flow checkpoint, one per case.
plan $((2 + $("$PY" $MUT count)))
dir="$OUT/ckpt_fuzz"; rm -rf "$dir"; mkdir -p "$dir"
IN=(inputs/paper_relu.ini --set ensemble.members=4 --set network.width=32 --set data.n_train=16
    --set data.n_test=8 --set train.steps=40 --set run.checkpoint_every=20 --set brg.count=4
    --set brg.bootstrap=20 --set train.record_every=10)
RESULTS="/brg/eigen_resample/test_mse /brg/eigen_prune/pred_mean /brg/diagonal_resample/test_mse
         /brg/diagonal_prune/test_mse /train/loss /fisher/eigenvalues"
mpi 1 "$BIN" run "${IN[@]}" --set run.output="$dir/full.h5" > "$dir/full.log" 2>&1
check "uninterrupted run" test -f "$dir/full.h5"

# Two generations inside the flow: stop at every boundary (a stop file
# before each run; checkpoint_flow_every does not change results).
out="$dir/run.h5"
for i in 1 2 3 4 5 6; do
  touch "$out.stop"
  restart=(); [ -e "$out.ckpt.h5" ] && restart=(--restart "$out.ckpt.h5")
  mpi 1 "$BIN" run "${IN[@]}" --set run.checkpoint_flow_every=2 --set run.output="$out" \
    "${restart[@]}" > "$dir/stop$i.log" 2>&1
done
rm -f "$out.stop"
check "a flow checkpoint and its previous generation" \
  "$PY" -c "import h5py, sys
a, b = (h5py.File(p, 'r').attrs for p in sys.argv[1:])
assert a['stage'] == 2 and b['stage'] == 2 and a['flow_index'] >= 1, (dict(a), dict(b))" \
  "$out.ckpt.h5" "$out.ckpt.prev.h5"
"$PY" $MUT make "$out.ckpt.h5" "$out.ckpt.prev.h5" "$dir/cases"

place() { # case file, destination: a copy, or no file
  if [ -e "$1" ]; then cp "$1" "$2"; else rm -f "$2"; fi
}

equal() { # the restart's result against the uninterrupted run's
  local ds
  for ds in $RESULTS; do "$H5CMP" "$dir/full.h5" "$out" "$ds" 1e-12 > /dev/null || return 1; done
}

# One case: prints what happened; returns 0 if that is acceptable and expected.
judge() { # name ranks expect reason
  local name=$1 np=$2 expect=$3 reason=$4 log="$dir/cases/$1.log" rc sums refused error
  place "$dir/cases/$name.ckpt.h5" "$out.ckpt.h5"
  place "$dir/cases/$name.prev.h5" "$out.ckpt.prev.h5"
  rm -f "$out"
  sums=$(md5sum "$out.ckpt.h5" "$out.ckpt.prev.h5" 2>/dev/null)
  timeout 120 mpirun --oversubscribe -np "$np" "$BIN" run "${IN[@]}" --set run.output="$out" \
    --restart "$out.ckpt.h5" > "$log" 2>&1
  rc=$?
  refused=$(grep -m1 -o "refused: .*" "$log" | sed 's/; trying the previous generation//')
  # the message may be split by another line of the log (stdout and stderr
  # of two ranks interleave): take it up to Open MPI's footer, as one line
  error=$(sed -n '/brgflow: error/,/^---/p' "$log" | grep -v '^---' | tr '\n' ' ')
  if [ $rc -ne 0 ] && [ $rc -ne 1 ] || grep -qiE "internal error|assert|segmentation|signal [0-9]" "$log"; then
    echo "CRASH: rc $rc"; grep -iE "internal error|assert|segmentation|signal" "$log" | head -3; return 1
  fi
  if [ $rc -eq 0 ]; then
    equal || { echo "rc 0 with a result that differs from the uninterrupted run"; return 1; }
    if grep -q "restart from $out.ckpt.prev.h5" "$log"; then
      echo "fell back to prev ($refused), restored equal"
      [ "$expect" = prev ] || [ "$expect" = safe ] || return 1
      echo "$refused" | grep -qE -- "$reason"
    else
      echo "restored equal from the newest"
      [ "$expect" = equal ] || [ "$expect" = safe ]
    fi
    return
  fi
  echo "refused both: ${error#brgflow: error: }"
  [ "$(grep -c "brgflow: error" "$log")" -eq 1 ] || { echo "not exactly one error message"; return 1; }
  [ "$sums" = "$(md5sum "$out.ckpt.h5" "$out.ckpt.prev.h5" 2>/dev/null)" ] || {
    echo "a generation changed"; return 1; }
  [ "$expect" = error ] || [ "$expect" = safe ] || return 1
  echo "$error" | grep -qE -- "$reason"
}

# fd 3: mpirun would read the list on stdin
while IFS='|' read -r -u 3 name np expect reason what; do
  verdict=$(judge "$name" "$np" "$expect" "$reason"); good=$?
  check "$name ($what, $np rank$([ "$np" -gt 1 ] && echo s), expect $expect): $(echo "$verdict" | head -1 | cut -c1-240)" \
    test $good -eq 0
  [ $good -eq 0 ] || echo "$verdict" | sed 's/^/    /'
done 3< "$dir/cases/cases.txt"
finish

#!/usr/bin/env bash
# sanitize.sh — brgflow under AddressSanitizer + UndefinedBehaviorSanitizer
# (issue 10): the unit test programs and small 2-rank runs of the sanitizer
# build (build-san/, `make san`, built here if not yet) must exit 0 with no
# "runtime error" (UBSan) and no "AddressSanitizer" report.  The runs: a
# cos-net ERG flow, and an MLP trained by SGD with eigen-basis flows,
# stopped at its first checkpoint and restarted (the checkpoint reader).
# Leak checking is off: Open MPI's own allocations are never freed.
set -u
cd "$(dirname "$0")/../.."
. tests/mpi/common.sh
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
dir="$OUT/sanitize"; rm -rf "$dir"; mkdir -p "$dir"
SAN=build-san/bin/brgflow
units=(); for src in tests/unit/*.c; do units+=("build-san/${src%.c}"); done
plan $((1 + ${#units[@]} + 3))

check "sanitizer build (make san)" make -s san

clean() { # description, log, rc: exit 0 and no sanitizer report
  local what=$1 log=$2 rc=$3
  if [ "$rc" -eq 0 ] && ! grep -q -e "runtime error" -e "AddressSanitizer" "$log"; then
    ok "$what"
  else
    notok "$what (rc $rc)"
    grep -A30 -m1 -e "runtime error" -e "AddressSanitizer" "$log" | sed 's/^/    /'
    tail -5 "$log" | sed 's/^/    /'
  fi
}

for t in "${units[@]}"; do
  log="$dir/$(basename "$t").log"
  mpi 1 "$t" > "$log" 2>&1
  clean "$t: $(grep -ao '[0-9]* test(s)' "$log" | tail -1) clean" "$log" $?
done

mpi 2 "$SAN" run inputs/cosnet_erg.ini --set run.output="$dir/erg.h5" \
  --set ensemble.members=100 --set lattice.sites=8 --set network.width=64 \
  --set brg.count=3 > "$dir/erg.log" 2>&1
clean "cos-net ERG flow on 2 ranks clean" "$dir/erg.log" $?

MLP=(inputs/paper_experiment.ini --set run.output="$dir/mlp.h5" --set ensemble.members=8
     --set network.widths=10,10,50 --set data.n_train=20 --set data.n_test=20
     --set train.epochs=20 --set run.checkpoint_every=5 --set run.checkpoint_flow_every=2
     --set fisher.basis=eigen --set brg.basis=eigen --set brg.cutoffs=1e-2,1,100)
touch "$dir/mlp.h5.stop" # stops at the first step boundary, with a checkpoint
mpi 2 "$SAN" run "${MLP[@]}" > "$dir/stop.log" 2>&1
clean "MLP SGD run stopped at a checkpoint on 2 ranks clean" "$dir/stop.log" $?
mpi 2 "$SAN" run "${MLP[@]}" --restart "$dir/mlp.h5.ckpt.h5" > "$dir/restart.log" 2>&1
rc=$?; [ -f "$dir/mlp.h5" ] || rc=1
clean "its restart to the eigen-basis flows clean" "$dir/restart.log" $rc
finish

#!/usr/bin/env bash
# run.sh — `make fuzz`: libFuzzer on the INI reader and the checkpoint
# reader, FUZZ_TIME seconds each (default 60), from the clang builds in
# build-fuzz/.  Seeds: inputs/*.ini and a checkpoint the writer makes (not
# tests/fuzz/regress/: those that crash libhdf5 would stop the run at once,
# hiding anything new; see tests/fuzz/regress/README).  A crash is saved as
# build-fuzz/crash/<fuzzer>-*: fix it, then keep the input in
# tests/fuzz/regress/<fuzzer>/ so that `make check` replays it
# (tests/mpi/fuzz_regress.sh).  Exits nonzero if a fuzzer found a crash.
set -u
cd "$(dirname "$0")/../.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
export ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
time=${FUZZ_TIME:-60} work=build-fuzz status=0
mkdir -p "$work/crash" "$work/tmp"
export TMPDIR=$PWD/$work/tmp # the checkpoint harness's scratch file

seed() { # fuzzer: fill its corpus folder
  local c="$work/corpus/$1"
  rm -rf "$c"; mkdir -p "$c" # afresh: a run is reproducible from its seeds
  case $1 in
    input) cp inputs/*.ini "$c"/ ;;
    ckpt) BF_FUZZ_SEED="$c" "$work/fuzz_ckpt" > /dev/null ;;
  esac
}

for f in input ckpt; do
  seed "$f"
  # libhdf5 is not instrumented: asked by a damaged file for an absurd block
  # it mallocs, gets NULL and refuses the file.  ASan would abort there first.
  [ "$f" = ckpt ] && export ASAN_OPTIONS=$ASAN_OPTIONS:allocator_may_return_null=1
  echo "fuzz_$f: ${time} s from $(ls "$work/corpus/$f" | wc -l) inputs"
  "$work/fuzz_$f" -max_total_time="$time" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/crash/$f-" "$work/corpus/$f" > "$work/fuzz_$f.log" 2>&1
  rc=$?
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)' \
    "$work/fuzz_$f.log" | sed 's/^/  /'
  if [ "$rc" -ne 0 ]; then
    status=1
    echo "fuzz_$f: FOUND A CRASH (rc $rc); see $work/fuzz_$f.log:"
    grep -m1 -A25 -e "ERROR:" -e "runtime error" -e "deadly signal" "$work/fuzz_$f.log" | sed 's/^/  /'
    ls "$work/crash/$f-"* 2>/dev/null | sed 's/^/  input: /'
  else
    echo "fuzz_$f: clean"
  fi
done
exit "$status"

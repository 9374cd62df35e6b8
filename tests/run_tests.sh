#!/usr/bin/env bash
# run_tests.sh — brgflow's test runner (`make check`).
# Runs every cmocka program (tests/unit, tests/physics) under mpirun and every
# MPI script (tests/mpi/*.sh), prints their output and judges each against
# the number of checks it declares (tests/harness.sh): a nonzero exit, a
# crash, a missing plan or a short count fails.  Ends with one line:
# "N passed, N failed", and exits nonzero if anything failed.
# BF_TEST_PROGRAMS and BF_TEST_SCRIPTS (lists of paths) replace the programs
# and scripts run; the harness's self-test (tests/mpi/harness.sh) uses them.
set -u
cd "$(dirname "$0")/.."
. tests/mpi/common.sh
. tests/harness.sh
pass=0 fail=0 skip=0 skipped=() times=()
start=$(date +%s)

if [ -n "${BF_TEST_PROGRAMS+set}" ]; then
  read -r -a programs <<< "$BF_TEST_PROGRAMS"
else # one per source file, so a program that was not built is a failure too
  programs=()
  for src in tests/unit/*.c tests/physics/*.c; do programs+=("build/${src%.c}"); done
fi
if [ -n "${BF_TEST_SCRIPTS+set}" ]; then
  read -r -a scripts <<< "$BF_TEST_SCRIPTS"
else
  scripts=()
  for s in tests/mpi/*.sh; do [ "$(basename "$s")" = common.sh ] || scripts+=("$s"); done
fi

for t in ${programs[@]+"${programs[@]}"}; do
  echo "=== $t"
  t0=$(date +%s)
  run_program "$t"
  echo "$bf_out" | grep -v -e '^---' -e 'Primary job' -e 'non-zero exit' -e 'Per user-direction'
  evaluate_program "$t" "$bf_rc" "$bf_out"
  pass=$((pass + ev_pass)) fail=$((fail + ev_fail))
  times+=("$(printf '%5d s  %s' $(($(date +%s) - t0)) "$t")")
done

for s in ${scripts[@]+"${scripts[@]}"}; do
  echo "=== $s"
  t0=$(date +%s)
  run_script "$s"
  echo "$bf_out"
  evaluate_script "$s" "$bf_rc" "$bf_out"
  pass=$((pass + ev_pass)) fail=$((fail + ev_fail)) skip=$((skip + ev_skip))
  times+=("$(printf '%5d s  %s' $(($(date +%s) - t0)) "$s")")
  [ "$ev_skip" -eq 0 ] || skipped+=("  $s: $(printf '%s\n' "$bf_out" | grep -a '^skip - ' | head -3 | tr '\n' ' ')")
done

if [ $((pass + fail)) -eq 0 ]; then echo "not ok - no checks ran"; fail=1; fi
echo "=== time per test:"
printf '%s\n' "${times[@]}"
echo "=== $(( $(date +%s) - start )) s"
if [ "$skip" -gt 0 ]; then
  echo "=== skipped (could not run here; not counted as passed):"
  printf '%s\n' "${skipped[@]}"
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

#!/usr/bin/env bash
# run_tests.sh — brgflow's test runner (`make check`).
# Runs every cmocka program (unit, physics) under mpirun and every MPI script,
# prints their output, and ends with one line: "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
. tests/mpi/common.sh
pass=0 fail=0
start=$(date +%s)

for t in build/tests/unit/* build/tests/physics/*; do
  echo "=== $t"
  out=$(mpirun -np 1 "$t" 2>&1); rc=$?
  echo "$out" | grep -v -e '^---' -e 'Primary job' -e 'non-zero exit' -e 'Per user-direction'
  p=$(echo "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
  f=$(echo "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
  p=${p:-0} f=${f:-0}
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1 # crashed before cmocka's summary
  pass=$((pass + p)) fail=$((fail + f))
done

for s in tests/mpi/*.sh; do
  [ "$(basename "$s")" = common.sh ] && continue
  echo "=== $s"
  out=$(bash "$s" 2>&1)
  echo "$out"
  pass=$((pass + $(echo "$out" | grep -c '^ok - '))) 
  fail=$((fail + $(echo "$out" | grep -c '^not ok - ')))
done

echo "=== $(( $(date +%s) - start )) s"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

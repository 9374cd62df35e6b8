#!/usr/bin/env bash
# fuzz_regress.sh — every input the fuzzers found (tests/fuzz/regress/) fed
# to the normal gcc-built readers (build/tests/fuzz/fuzz_*: the harness with
# a plain main, tests/fuzz/driver.c): each must be read or refused, with
# exit status 0 and no crash.
set -u
cd "$(dirname "$0")/../.."
. tests/mpi/common.sh
files=()
for kind in input ckpt; do
  for f in tests/fuzz/regress/$kind/*; do [ -f "$f" ] && files+=("$kind:$f"); done
done
plan ${#files[@]}
for e in ${files[@]+"${files[@]}"}; do
  kind=${e%%:*} f=${e#*:}
  check "$kind reader survives $(basename "$f")" mpi 1 "build/tests/fuzz/fuzz_$kind" "$f"
done
finish

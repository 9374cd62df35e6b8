#!/usr/bin/env bash
# A program that crashes (SIGSEGV, no core file) in the 4th of 5 tests,
# before cmocka's summary.
. "$(dirname "$0")/cmocka.sh"
echo "plan: 5 checks"
cm_start 5; cm_ok test_a; cm_ok test_b; cm_ok test_c
echo "[ RUN      ] test_d"
ulimit -c 0
kill -SEGV $$

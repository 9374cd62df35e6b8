#!/usr/bin/env bash
# A program with one failed test of 3 (cmocka exits 1).
. "$(dirname "$0")/cmocka.sh"
echo "plan: 3 checks"
cm_start 3; cm_ok test_a; cm_failed test_b; cm_ok test_c; cm_summary 3 2 test_b
exit 1

#!/usr/bin/env bash
# A program that runs and passes 4 tests, exits 0, but planned 5.
. "$(dirname "$0")/cmocka.sh"
echo "plan: 5 checks"
cm_start 4; cm_ok test_a; cm_ok test_b; cm_ok test_c; cm_ok test_d; cm_summary 4 4

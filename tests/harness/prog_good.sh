#!/usr/bin/env bash
# A program that passes: plan 3, 3 passed.
. "$(dirname "$0")/cmocka.sh"
echo "plan: 3 checks"
cm_start 3; cm_ok test_a; cm_ok test_b; cm_ok test_c; cm_summary 3 3

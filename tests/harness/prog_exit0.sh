#!/usr/bin/env bash
# A program whose 3rd of 4 tests calls exit(0): status 0, no summary.
. "$(dirname "$0")/cmocka.sh"
echo "plan: 4 checks"
cm_start 4; cm_ok test_a; cm_ok test_b
echo "[ RUN      ] test_c"
exit 0

#!/usr/bin/env bash
# A script that dies halfway: an unset variable under set -u after 2 of 4.
set -u
cd "$(dirname "$0")/../.."
. tests/mpi/common.sh
plan 4
check "check 1" true
check "check 2" true
check "check 3 of $no_such_variable" true
check "check 4" true
finish

#!/usr/bin/env bash
# A script with 1 failed check of 2; it reaches finish (which must fail).
set -u
cd "$(dirname "$0")/../.."
. tests/mpi/common.sh
plan 2
check "check 1" true
check "check 2" false
finish

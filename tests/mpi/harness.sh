#!/usr/bin/env bash
# harness.sh — the test runner's self-test: tests/harness.sh (which
# tests/run_tests.sh uses to judge each test) on the fixtures in
# tests/harness/.  A crash, an early stop, a short count, a failed check or a
# missing plan must each be a failure, however the fake exits; only the good
# ones pass.  Then tests/run_tests.sh itself on a few of them: its last line
# and its exit status.
set -u
cd "$(dirname "$0")/../.."
. tests/mpi/common.sh
. tests/harness.sh
plan 48 # 14 fixtures x 3 checks, 3 runs of run_tests.sh x 2
dir="$OUT/harness"; rm -rf "$dir"; mkdir -p "$dir"
H=tests/harness

# expect program|script FIXTURE RC PASSED FAILED TEXT: run the fixture as
# run_tests.sh does; its exit status, the counts the harness adds to its
# totals, and the harness's verdict line (which must contain TEXT).
expect() {
  local kind=$1 f=$H/$2 rc=$3 want="$4 passed, $5 failed" text=$6 got
  "run_$kind" "$f"
  "evaluate_$kind" "$f" "$bf_rc" "$bf_out" > "$dir/$2.verdict"
  got="$ev_pass passed, $ev_fail failed"
  check "$2: exit status $rc ($bf_rc)" test "$bf_rc" -eq "$rc"
  check "$2: counted $want ($got)" test "$got" = "$want"
  check "$2: verdict '$text'" grep -qxF -- "$text" "$dir/$2.verdict"
  grep -qxF -- "$text" "$dir/$2.verdict" || sed 's/^/    got: /' "$dir/$2.verdict"
}

expect program prog_good.sh 0 3 0 "=== $H/prog_good.sh: 3 of 3 planned checks passed"
expect program prog_crash.sh 139 3 2 "not ok - $H/prog_crash.sh: crashed (rc 139) after 3 of 5 checks"
expect program prog_exit0.sh 0 2 2 \
  "not ok - $H/prog_exit0.sh: ended (exit 0) without cmocka's summary after 2 of 4 checks"
expect program prog_short.sh 0 4 1 "not ok - $H/prog_short.sh: only 4 of 5 planned checks ran"
expect program prog_failed.sh 1 2 1 "not ok - $H/prog_failed.sh: 1 of 3 checks failed; exit status 1"
expect program prog_noplan.sh 0 3 1 "not ok - $H/prog_noplan.sh: declares no plan"

expect script script_good.sh 0 3 0 "=== $H/script_good.sh: 3 of 3 planned checks passed"
expect script script_crash.sh 1 2 2 "not ok - $H/script_crash.sh: stopped (rc 1) after 2 of 4 checks"
expect script script_return.sh 1 2 2 "not ok - $H/script_return.sh: stopped (rc 1) after 2 of 4 checks"
expect script script_exit.sh 1 1 2 "not ok - $H/script_exit.sh: stopped (rc 1) after 1 of 3 checks"
expect script script_failing.sh 1 1 1 \
  "not ok - $H/script_failing.sh: 1 of 2 checks failed; exit status 1"
expect script script_short.sh 0 3 2 "not ok - $H/script_short.sh: ended (exit 0) after 3 of 5 checks"
expect script script_notok.sh 0 1 1 "not ok - $H/script_notok.sh: 1 of 2 checks failed"
expect script script_noplan.sh 0 2 1 "not ok - $H/script_noplan.sh: declares no plan"

# run_tests.sh end to end: with a crash among them it fails; good ones pass.
runner() { # name, programs, scripts, expected last line, expected exit status
  local name=$1 last rc
  BF_TEST_PROGRAMS=$2 BF_TEST_SCRIPTS=$3 bash tests/run_tests.sh > "$dir/$name.log" 2>&1
  rc=$?
  last=$(tail -n 1 "$dir/$name.log")
  check "run_tests.sh, $name: last line '$4' ('$last')" test "$last" = "$4"
  check "run_tests.sh, $name: exit status $5 ($rc)" test "$rc" -eq "$5"
  grep -e '^not ok' -e '^===' "$dir/$name.log" | sed 's/^/    /'
}
runner crash "$H/prog_good.sh $H/prog_crash.sh" "$H/script_good.sh $H/script_crash.sh" \
  "11 passed, 4 failed, 0 skipped" 1
runner good "$H/prog_good.sh" "$H/script_good.sh" "6 passed, 0 failed, 0 skipped" 0
# a skip is reported as skipped, never as passed
runner skip "$H/prog_good.sh" "$H/script_skip.sh" "5 passed, 0 failed, 1 skipped" 0
finish

# harness.sh — how tests/run_tests.sh runs and judges one test; sourced by it
# and by its self-test (tests/mpi/harness.sh, fixtures in tests/harness/).
#
# Every test declares its number of checks on a line of its own,
# "plan: N checks" (cmocka programs in BF_TEST_MAIN, scripts with `plan N`
# from tests/mpi/common.sh).  A test passes only if it exits 0, declares
# exactly one plan, and reports exactly N checks, all passed:
#   program: cmocka's "[==========] P test(s) run." summary with
#            "[  PASSED  ] N test(s)." and no failures;
#   script:  N lines "ok - ..." and no "not ok - ...".
# Anything else (a crash, a nonzero exit, no plan, a short count) is a
# failure, reported on one line "not ok - NAME: why".
#
# run_program PATH / run_script PATH: run it; sets bf_out (stdout and stderr)
#   and bf_rc (exit status).
# evaluate_program NAME RC OUTPUT / evaluate_script NAME RC OUTPUT: print the
#   verdict line; set ev_pass and ev_fail (checks to add to the totals);
#   return 0 if the test passed.

run_program() { # path
  if [ -f "$1" ] && [ -x "$1" ]; then
    bf_out=$(mpirun -np 1 "$1" 2>&1); bf_rc=$?
  else
    bf_out="harness: $1 does not exist or is not executable (not built?)"; bf_rc=127
  fi
}

run_script() { # path
  bf_out=$(bash "$1" 2>&1); bf_rc=$?
}

# bf_plan OUTPUT: the declared count in ev_plan; else ev_why says what is wrong
bf_plan() {
  local lines n
  ev_plan=
  lines=$(printf '%s\n' "$1" | grep -a '^plan:')
  n=$(printf '%s\n' "$1" | grep -ac '^plan:')
  if [ "$n" -eq 0 ]; then ev_why="declares no plan"; return 1; fi
  if [ "$n" -gt 1 ]; then ev_why="declares $n plans"; return 1; fi
  if ! [[ $lines =~ ^plan:\ ([0-9]+)\ checks$ ]]; then
    ev_why="malformed plan line '$lines'"; return 1
  fi
  ev_plan=$((10#${BASH_REMATCH[1]}))
}

# bf_verdict NAME GOOD: print the verdict; ev_why holds the reasons if not good
bf_verdict() {
  if [ "$2" -eq 1 ]; then
    echo "=== $1: $ev_pass of $ev_plan planned checks passed"; return 0
  fi
  echo "not ok - $1: $ev_why"; return 1
}

bf_because() { ev_why="${ev_why:+$ev_why; }$*"; } # add a reason

evaluate_program() { # name, exit status, output
  local name=$1 rc=$2 out=$3 p f k_ok k_failed k summary=0 n
  ev_pass=0 ev_fail=0 ev_why=
  k_ok=$(printf '%s\n' "$out" | grep -ac '^\[       OK \] ')
  k_failed=$(printf '%s\n' "$out" | grep -a '^\[  FAILED  \] ' |
    grep -av '^\[  FAILED  \] [0-9]* test(s)' | sort -u | wc -l)
  k=$((k_ok + k_failed)) # checks that reported an end
  printf '%s\n' "$out" | grep -aq '^\[==========\] [0-9]* test(s) run\.$' && summary=1
  p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\.$/\1/p' | tail -1)
  f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s).*/\1/p' | tail -1)
  [ "$summary" -eq 1 ] || p= f= # a partial summary counts for nothing
  p=${p:-$k_ok} f=${f:-$k_failed}
  ev_pass=$p
  if ! bf_plan "$out"; then
    [ "$rc" -ne 0 ] && bf_because "exit status $rc"
    ev_fail=$((f > 1 ? f : 1))
    bf_verdict "$name" 0; return
  fi
  n=$ev_plan
  if [ "$summary" -eq 0 ]; then
    if [ "$rc" -ne 0 ]; then bf_because "crashed (rc $rc) after $k of $n checks"
    else bf_because "ended (exit 0) without cmocka's summary after $k of $n checks"; fi
  else
    [ "$f" -gt 0 ] && bf_because "$f of $n checks failed"
    [ $((p + f)) -lt "$n" ] && bf_because "only $((p + f)) of $n planned checks ran"
    [ $((p + f)) -gt "$n" ] && bf_because "$((p + f)) checks ran, $n planned"
    [ "$rc" -ne 0 ] && bf_because "exit status $rc"
  fi
  if [ -z "$ev_why" ]; then bf_verdict "$name" 1; return; fi
  ev_fail=$((n - p > 1 ? n - p : 1))
  bf_verdict "$name" 0
}

evaluate_script() { # name, exit status, output
  local name=$1 rc=$2 out=$3 o x k n
  ev_pass=0 ev_fail=0 ev_why=
  # "skip - ..." lines: checks that could not run here, never counted as passed
  ev_skip=$(printf '%s\n' "$out" | grep -ac '^skip - ')
  o=$(printf '%s\n' "$out" | grep -ac '^ok - ')
  x=$(printf '%s\n' "$out" | grep -ac '^not ok - ')
  k=$((o + x))
  ev_pass=$o
  if ! bf_plan "$out"; then
    [ "$rc" -ne 0 ] && bf_because "exit status $rc"
    ev_fail=$((x > 1 ? x : 1))
    bf_verdict "$name" 0; return
  fi
  n=$ev_plan
  if [ "$k" -lt "$n" ]; then
    if [ "$rc" -ne 0 ]; then bf_because "stopped (rc $rc) after $k of $n checks"
    else bf_because "ended (exit 0) after $k of $n checks"; fi
  fi
  [ "$k" -gt "$n" ] && bf_because "$k checks ran, $n planned"
  [ "$x" -gt 0 ] && bf_because "$x of $n checks failed"
  [ "$rc" -ne 0 ] && [ "$k" -ge "$n" ] && bf_because "exit status $rc"
  if [ -z "$ev_why" ]; then bf_verdict "$name" 1; return; fi
  ev_fail=$((x + (n > k ? n - k : 0)))
  [ "$ev_fail" -ge 1 ] || ev_fail=1
  bf_verdict "$name" 0
}

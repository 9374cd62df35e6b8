# common.sh — sourced by the MPI test scripts: mpirun settings and TAP-style
# result lines ("ok - ..." / "not ok - ...") that tests/run_tests.sh counts.
#
# A script declares its number of checks before the first (`plan N`, which
# prints "plan: N checks") and ends with `finish`.  From `plan` on, an EXIT
# trap makes the script exit nonzero if a check failed, if the number of
# checks differs from the plan, or if it stopped before `finish` (an error
# under set -u, a stray exit).  tests/run_tests.sh checks the same from
# outside (tests/harness.sh).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_rmaps_base_oversubscribe=1
BIN=${BIN:-$PWD/bin/brgflow}
H5CMP=${H5CMP:-$PWD/build/tools/h5cmp}
OUT=${OUT:-$PWD/tests/out}
mkdir -p "$OUT"
mpi() { local np=$1; shift; mpirun --oversubscribe -np "$np" "$@"; }
bf_planned= bf_ok=0 bf_notok=0 bf_finished=0
plan() { # number of checks this script makes
  case ${1:-} in '' | *[!0-9]*) echo "common.sh: plan '${1:-}' is not a number" >&2; exit 2 ;; esac
  bf_planned=$1
  echo "plan: $1 checks"
  trap bf_on_exit EXIT
}
finish() { bf_finished=1; exit 0; } # the last line of a script
bf_on_exit() {
  local rc=$? ran=$((bf_ok + bf_notok)) why=
  [ "$bf_finished" -eq 1 ] || why="stopped before its end (rc $rc)"
  [ "$ran" -eq "$bf_planned" ] || why="${why:+$why; }$ran of $bf_planned planned checks ran"
  [ "$bf_notok" -eq 0 ] || why="${why:+$why; }$bf_notok failed"
  if [ -n "$why" ]; then
    echo "# $0: $why"
    [ "$rc" -ne 0 ] || rc=1
  fi
  exit "$rc"
}
ok() { bf_ok=$((bf_ok + 1)); echo "ok - $*"; }
notok() { bf_notok=$((bf_notok + 1)); echo "not ok - $*"; }
check() { # check "description" command...  (the command's output is shown)
  local what=$1 out rc; shift
  out=$("$@" 2>&1); rc=$?
  if [ $rc -eq 0 ]; then ok "$what"; else notok "$what"; fi
  [ -n "$out" ] && echo "$out" | sed 's/^/    /'
  return 0
}

# common.sh — sourced by the MPI test scripts: mpirun settings and TAP-style
# result lines ("ok - ..." / "not ok - ...") that tests/run_tests.sh counts.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
export OMPI_MCA_rmaps_base_oversubscribe=1
BIN=${BIN:-$PWD/bin/brgflow}
H5CMP=${H5CMP:-$PWD/build/tools/h5cmp}
OUT=${OUT:-$PWD/tests/out}
mkdir -p "$OUT"
mpi() { local np=$1; shift; mpirun --oversubscribe -np "$np" "$@"; }
ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; }
check() { # check "description" command...  (the command's output is shown)
  local what=$1 out rc; shift
  out=$("$@" 2>&1); rc=$?
  if [ $rc -eq 0 ]; then ok "$what"; else notok "$what"; fi
  [ -n "$out" ] && echo "$out" | sed 's/^/    /'
  return 0
}

# cmocka.sh — sourced by the fake programs: cmocka 1.1's output lines (what
# it prints on stdout, and its summary on stderr).
cm_start() { echo "[==========] Running $1 test(s)."; }
cm_ok() { echo "[ RUN      ] $1"; echo "[       OK ] $1"; }
cm_failed() {
  echo "[ RUN      ] $1"; echo "[  ERROR   ] --- 0x1 != 0x2" >&2; echo "[  FAILED  ] $1"
}
cm_summary() { # run, passed, failed test names...
  local run=$1 passed=$2 t; shift 2
  echo "[==========] $run test(s) run."
  echo "[  PASSED  ] $passed test(s)." >&2
  if [ $# -gt 0 ]; then
    echo "[  FAILED  ] $# test(s), listed below:" >&2
    for t in "$@"; do echo "[  FAILED  ] $t" >&2; done
    echo >&2; echo " $# FAILED TEST(S)" >&2
  fi
}

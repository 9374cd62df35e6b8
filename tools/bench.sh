#!/usr/bin/env bash
# bench.sh — `make bench`: one table, every figure measured in this run
# (docs/bench.md).  The ceiling is this machine's 1-core DGEMM rate
# (build/tools/bench_dgemm); the workloads inputs/bench_w{1,2,3}.ini run on
# 1 and 2 ranks, interleaved, R times each (median); brgflow's own log lines
# give the stage times, tools/bench_table.py the flop counts and the table.
# These machines are noisy and shared: compare figures within one run.
#
#   BENCH_REPS=5     runs per workload and rank count (R)
#   BENCH_BUDGET=60  seconds of runs per workload after which no new pair of
#                    1- and 2-rank runs is started (at least one is)
#   BENCH_EXTRAS=1   0: skip the older items after the table (kernels,
#                    eigensolvers, the cos-net pipeline)
#   BENCH_DGEMM_N=2048
#   BENCH_WORKLOADS="1 2 3 4 5"  which of inputs/bench_wK.ini to run
set -u
cd "$(dirname "$0")/.."
. tests/mpi/common.sh
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 GOTO_NUM_THREADS=1
R=${BENCH_REPS:-5}
BUDGET=${BENCH_BUDGET:-60}
DN=${BENCH_DGEMM_N:-2048}
dir="$OUT/bench"
rm -rf "$dir"; mkdir -p "$dir"
command -v python3 >/dev/null || { echo "bench: needs python3 (Debian package python3)"; exit 1; }
[ -x "$BIN" ] || { echo "bench: $BIN missing: run make first"; exit 1; }
# bench_dgemm is built by the pattern rule build/tools/%; build it here too,
# in case the Makefile's `all` does not list it.
make -s build/tools/bench_dgemm >/dev/null || { echo "bench: cannot build build/tools/bench_dgemm"; exit 1; }

now() { date +%s.%N; }
# Peak memory per rank: every rank runs under a wrapper that writes its own
# maxrss to PREFIX.mem.RANK (with mpirun, /usr/bin/time around mpirun would
# measure mpirun).
if [ -x /usr/bin/time ]; then
  memhow="/usr/bin/time -f %M around each rank"
  wrap='exec /usr/bin/time -f "maxrss_kb %M" -o "$0.mem.${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-0}}" "$@"'
else
  memhow="python3 getrusage around each rank; /usr/bin/time (package time) is absent"
  wrap='exec python3 -c "import resource,subprocess,sys
r = subprocess.call(sys.argv[2:])
open(sys.argv[1], \"w\").write(\"maxrss_kb %d\n\" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(r)" "$0.mem.${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-0}}" "$@"'
fi

# run_one WDIR INPUT NP REP: one timed run; leaves .log .wall .rc .mem.*
run_one() {
  local wd=$1 in=$2 np=$3 rep=$4 p s rc
  p="$wd/np$np.r$rep"
  s=$(now)
  mpi "$np" sh -c "$wrap" "$p" "$BIN" run "$in" --force --set run.output="$p.h5" >"$p.log" 2>&1
  rc=$?
  awk -v a="$s" -v b="$(now)" 'BEGIN{printf "%.4f\n", b-a}' >"$p.wall"
  echo "$rc" >"$p.rc"
  rm -f "$p.h5" "$p.h5.ckpt.h5" "$p.h5.ckpt.prev.h5" "$p.h5.partial"
  return "$rc"
}

started=$(now)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- src include 2>/dev/null || commit="$commit+changes"
cpu=$(awk -F': *' '/^model name/{print $2; exit}' /proc/cpuinfo)
{
  echo "header=commit $commit, $(date -u +%Y-%m-%dT%H:%MZ), $(getconf _NPROCESSORS_ONLN) cores ($cpu), load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
  echo "reps=$R"; echo "budget=$BUDGET"; echo "mem=$memhow"
} >"$dir/meta"

echo "bench: DGEMM ceiling (n = $DN, 1 thread), then workloads ${BENCH_WORKLOADS:-1 2 3 4 5} on 1 and 2 ranks; raw files in $dir"
build/tools/bench_dgemm "$DN" 5 >"$dir/dgemm.start" 2>&1
mpi 2 build/tools/bench_dgemm "$DN" 3 >"$dir/dgemm.np2" 2>&1
launch=()
for k in 1 2 3; do s=$(now); mpi 2 true; launch+=("$(awk -v a="$s" -v b="$(now)" 'BEGIN{print b-a}')"); done
printf '%s\n' "${launch[@]}" | sort -g | sed -n 2p | awk '{printf "launch=%.2f\n", $1}' >>"$dir/meta"

for w in ${BENCH_WORKLOADS:-1 2 3 4 5}; do
  in="inputs/bench_w$w.ini"; wd="$dir/W$w"; mkdir -p "$wd"
  echo "$in" >"$wd/input"; cp "$in" "$wd/input.ini"
  spent=0; rep=0
  while [ "$rep" -lt "$R" ]; do
    rep=$((rep + 1)); pair=0
    for np in 1 2; do
      if ! run_one "$wd" "$in" "$np" "$rep"; then
        if [ "$rep" -eq 1 ] && [ "$np" -eq 1 ]; then
          err=$(grep -m1 '^brgflow: error:' "$wd/np1.r1.log" | sed 's/^brgflow: error: *//')
          if [ -n "$err" ]; then echo "skipped: $err" >"$wd/status"
          else echo "failed: exit $(cat "$wd/np1.r1.rc") (see $wd/np1.r1.log)" >"$wd/status"; fi
        fi
        break 2
      fi
      pair=$(awk -v a="$pair" -v b="$(cat "$wd/np$np.r$rep.wall")" 'BEGIN{print a+b}')
    done
    spent=$(awk -v a="$spent" -v b="$pair" 'BEGIN{print a+b}')
    echo "  W$w run $rep: $(cat "$wd/np1.r$rep.wall") s on 1 rank, $(cat "$wd/np2.r$rep.wall") s on 2 ranks"
    # Start another pair only if it fits the budget, judged by the last one.
    awk -v s="$spent" -v p="$pair" -v b="$BUDGET" 'BEGIN{exit !(s + p <= b)}' || break
  done
  [ -f "$wd/status" ] && echo "  W$w $(cat "$wd/status")"
  # The fast/reference kernel ratio, from a later tool if it is there.
  if [ ! -f "$wd/status" ] && [ -x build/tools/bench_engine ]; then
    timeout 600 mpirun --oversubscribe -np 1 build/tools/bench_engine "$in" >"$wd/engine.txt" 2>&1 \
      || echo "  W$w bench_engine failed (see $wd/engine.txt)"
  fi
done
build/tools/bench_dgemm "$DN" 5 >"$dir/dgemm.end" 2>&1
echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$dir/meta"

echo
python3 tools/bench_table.py table "$dir" | tee "$dir/table.txt"
echo
awk -v a="$started" -v b="$(now)" 'BEGIN{printf "bench: table in %.0f s\n", b-a}'

[ "${BENCH_EXTRAS:-1}" = 0 ] && exit 0
# The older items: cos-net field and MLP kernels, the eigensolvers, and the
# free-field cos-net pipeline at 1 and 2 ranks.
echo
echo "kernels and eigensolvers:"
mpi 1 build/tools/bench_kernels
for np in 1 2; do mpi $np build/tools/bench_eigen 1500 32; done
args=(run inputs/cosnet_free.ini --force --set lattice.sites=48 --set ensemble.members=2000)
declare -A t
echo "cos-net pipeline (inputs/cosnet_free.ini, 48^2 sites, 2000 members):"
for np in 1 2; do
  s=$(now)
  mpi $np "$BIN" "${args[@]}" --set run.output="$dir/cosnet_np$np.h5" > "$dir/cosnet_np$np.log" 2>&1 \
    || { echo "bench: cos-net run on $np ranks failed (see $dir/cosnet_np$np.log)"; exit 1; }
  t[$np]=$(awk -v a="$s" -v b="$(now)" 'BEGIN{print b-a}')
  rm -f "$dir/cosnet_np$np.h5"
  grep -E "sample:|measure G2: [0-9]+ disp|reference:|write:" "$dir/cosnet_np$np.log" | sed "s/^/  np=$np /"
done
printf 'cos-net wall time: 1 rank %.2f s, 2 ranks %.2f s, speed-up %.2f (ideal 2 on 2 cores)\n' \
  "${t[1]}" "${t[2]}" "$(awk -v a="${t[1]}" -v b="${t[2]}" 'BEGIN{print a/b}')"
awk -v a="$started" -v b="$(now)" 'BEGIN{printf "bench: %.0f s in all\n", b-a}'

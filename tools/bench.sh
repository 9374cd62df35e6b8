#!/usr/bin/env bash
# bench.sh — `make bench`: time the free-field pipeline at 1 and 2 ranks in
# one run and print the ratios (these machines are noisy: compare within a
# run, not across runs).
set -u
cd "$(dirname "$0")/.."
. tests/mpi/common.sh
dir="$OUT/bench"; mkdir -p "$dir"
mpi 1 build/tools/bench_kernels
for np in 1 2; do mpi $np build/tools/bench_eigen 1500 32; done
args=(run inputs/cosnet_free.ini --force --set lattice.sites=48 --set ensemble.members=2000)
declare -A t
for np in 1 2; do
  s=$(date +%s.%N)
  mpi $np "$BIN" "${args[@]}" --set run.output="$dir/np$np.h5" > "$dir/np$np.log" 2>&1 \
    || { echo "bench: run on $np ranks failed (see $dir/np$np.log)"; exit 1; }
  t[$np]=$(awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')
  grep -E "sample:|measure G2: [0-9]+ disp|reference:|write:" "$dir/np$np.log" | sed "s/^/  np=$np /"
done
printf 'wall time: 1 rank %.2f s, 2 ranks %.2f s, speed-up %.2f (ideal 2 on 2 cores)\n' \
  "${t[1]}" "${t[2]}" "$(awk -v a="${t[1]}" -v b="${t[2]}" 'BEGIN{print a/b}')"

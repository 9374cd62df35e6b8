#!/usr/bin/env bash
# ranks.sh — results do not depend on the number of MPI ranks: the same input
# at 1, 2 and 3 ranks gives bitwise-identical /ensemble/theta and G2 (and its
# error and reference) equal to 1e-12 relative, for lattice momenta in d = 2
# (MPI FFTW reference) and continuum momenta in d = 3 (distributed quadrature).
set -u
cd "$(dirname "$0")/../.."
. tests/mpi/common.sh

run_case() { # name, extra --set args...
  local name=$1; shift
  for np in 1 2 3; do
    if ! mpi $np "$BIN" run inputs/cosnet_free.ini --force \
        --set run.output="$OUT/$name.np$np.h5" --set ensemble.members=61 "$@" \
        > "$OUT/$name.np$np.log" 2>&1; then
      notok "$name: run on $np ranks (see $OUT/$name.np$np.log)"; return
    fi
  done
  for np in 2 3; do
    check "$name: /ensemble/theta at 1 vs $np ranks, bitwise" \
      "$H5CMP" "$OUT/$name.np1.h5" "$OUT/$name.np$np.h5" /ensemble/theta 0
    for ds in /nnft/G2 /nnft/G2_err /nnft/G2_ref; do
      check "$name: $ds at 1 vs $np ranks, 1e-12 relative" \
        "$H5CMP" "$OUT/$name.np1.h5" "$OUT/$name.np$np.h5" $ds 1e-12
    done
  done
}

run_case lattice_d2 --set network.d=2 --set lattice.sites=12
run_case continuum_d3 --set network.d=3 --set lattice.sites=5 \
  --set cosnet.momenta=continuum --set network.width=64

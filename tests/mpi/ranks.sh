#!/usr/bin/env bash
# ranks.sh — results do not depend on the number of MPI ranks: the same input
# at 1, 2 and 3 ranks gives bitwise-identical /ensemble/theta and every
# correlator and reference equal to 1e-12 relative: cos-net with lattice
# momenta in d = 2 (MPI FFTW reference), with continuum momenta in d = 3
# (distributed quadrature), a depth-3 tanh MLP (kernels by quadrature
# split over ranks, G4c jackknife blocks by member index), and a mixed
# layer stack (widths 64, 128, 64; linear, relu, tanh; no bias; unscaled).
set -u
cd "$(dirname "$0")/../.."
. tests/mpi/common.sh
# Checks: run_case, 2 rank counts x (theta + 3, 3, 6, 6 datasets) = 8 + 8 +
# 14 + 14; fisher_case, 5 layouts besides the reference x 2 = 10;
# test_fisher, 1.
plan 55

run_case() { # name, input, datasets compared at 1e-12, extra --set args...
  local name=$1 input=$2 datasets=$3; shift 3
  for np in 1 2 3; do
    if ! mpi $np "$BIN" run "$input" --force \
        --set run.output="$OUT/$name.np$np.h5" --set ensemble.members=61 "$@" \
        > "$OUT/$name.np$np.log" 2>&1; then
      notok "$name: run on $np ranks (see $OUT/$name.np$np.log)"; return
    fi
  done
  for np in 2 3; do
    check "$name: /ensemble/theta at 1 vs $np ranks, bitwise" \
      "$H5CMP" "$OUT/$name.np1.h5" "$OUT/$name.np$np.h5" /ensemble/theta 0
    for ds in $datasets; do
      check "$name: $ds at 1 vs $np ranks, 1e-12 relative" \
        "$H5CMP" "$OUT/$name.np1.h5" "$OUT/$name.np$np.h5" $ds 1e-12
    done
  done
}

COSNET="/nnft/G2 /nnft/G2_err /nnft/G2_ref"
MLP="/nnft/G2 /nnft/G2_err /nnft/K_nngp /nnft/K_ntk /nnft/G4c /nnft/G4c_err"
run_case lattice_d2 inputs/cosnet_free.ini "$COSNET" --set network.d=2 --set lattice.sites=12
run_case continuum_d3 inputs/cosnet_free.ini "$COSNET" --set network.d=3 \
  --set lattice.sites=5 --set cosnet.momenta=continuum --set network.width=64
run_case mlp_tanh inputs/mlp_relu.ini "$MLP" --set network.activation=tanh \
  --set network.depth=3 --set network.width=16 --set run.save_theta=yes \
  --set kernel.quadrature=hermite
run_case mlp_stack inputs/mlp_stack.ini "$MLP" --set run.save_theta=yes

# The Fisher metric: spectra on 1, 2, 3 and 4 ranks with 1 and 2 rank
# groups (grids 1x1, 1x2, 1x3, 2x2 and pairs of smaller ones) agree to 1e-10
# relative to each member's largest eigenvalue; the primal solver (P < n)
# and the dual (P > n) both.
fisher_case() { # name, extra --set args
  local name=$1; shift
  local ref="$OUT/$name.np1g1.h5"
  for layout in "1 1" "2 1" "3 1" "4 1" "2 2" "4 2"; do
    set -- $layout "$@"
    local np=$1 groups=$2; shift 2
    local out="$OUT/$name.np${np}g$groups.h5"
    if ! mpi $np "$BIN" run inputs/mlp_train.ini --force --set run.output="$out" \
        --set fisher.groups=$groups --set ensemble.members=6 --set train.steps=20 \
        --set fisher.block=4 "$@" > "$OUT/$name.np${np}g$groups.log" 2>&1; then
      notok "$name: run on $np ranks, $groups groups (see $OUT/$name.np${np}g$groups.log)"
      continue
    fi
    [ "$np$groups" = 11 ] && continue
    check "$name: /fisher/eigenvalues, $np ranks in $groups groups vs 1 rank" \
      "$H5CMP" "$ref" "$out" /fisher/eigenvalues 1e-10 rowmax
  done
}
fisher_case fisher_dual --set network.width=16 --set data.n_train=20
fisher_case fisher_primal --set network.width=4 --set data.n_train=40

# The metric unit checks (primal = dual, eigenpairs, diagonal) on a 1 x 3
# process grid: block-cyclic layouts with uneven local blocks.
check "test_fisher on 3 ranks (1 x 3 grid)" bash -c \
  "set -o pipefail; mpirun --oversubscribe -np 3 build/tests/physics/test_fisher 2>&1 | grep -e figure -e FAILED | sort -u; exit \${PIPESTATUS[0]}"
finish

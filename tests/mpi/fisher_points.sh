#!/usr/bin/env bash
# fisher_points.sh — separate Fisher points ([fisher] points = separate) come
# from a stream of their own, keyed by the data pseudo-member: the paper's
# experiment (gaussian inputs, expression target, mean-normalized Fisher) at
# 1 and 2 ranks gives bitwise-identical /fisher/x and eigenvalues equal to
# 1e-12 of each member's largest, and the Fisher points are not the training points.
set -u
cd "$(dirname "$0")/../.."
. tests/mpi/common.sh
plan 5

cat > "$OUT/fisher_points.ini" <<'INI'
[run]
seed = 11
[network]
arch = mlp
d = 2
width = 16
parameterization = unscaled
[ensemble]
members = 5
[data]
points = gaussian
mean = 1, 1
target = expression
expression = (1 - x1)^2 - 0.5*(x2 - x1^2)
n_train = 20
noise = 0
[train]
method = gd
lr = 0.01
steps = 10
[fisher]
solver = auto
sigma = 1
points = separate
n_points = 12
normalization = mean
INI
ran=1
for np in 1 2; do
  if ! mpi $np "$BIN" run "$OUT/fisher_points.ini" --force \
      --set run.output="$OUT/fisher_points.np$np.h5" > "$OUT/fisher_points.np$np.log" 2>&1; then
    ran=0
  fi
done
if [ $ran -eq 1 ]; then ok "runs on 1 and 2 ranks"; else notok "runs (see $OUT/fisher_points.np*.log)"; fi
check "/fisher/x at 1 vs 2 ranks, bitwise" \
  "$H5CMP" "$OUT/fisher_points.np1.h5" "$OUT/fisher_points.np2.h5" /fisher/x 0
# relative to each member's largest: the null directions are rounding noise
check "/fisher/eigenvalues at 1 vs 2 ranks, 1e-12 of each row's largest" \
  "$H5CMP" "$OUT/fisher_points.np1.h5" "$OUT/fisher_points.np2.h5" /fisher/eigenvalues 1e-12 rowmax
# the Fisher points are not the first 12 training inputs (as they would be
# if they shared the training stream)
differ() {
  h5dump -y -o "$OUT/fx.txt" -d /fisher/x "$1" > /dev/null &&
    h5dump -y -o "$OUT/tx.txt" -d /data/x_train -s 0,0 -c 12,2 "$1" > /dev/null &&
    [ -s "$OUT/fx.txt" ] &&
    [ "$(tr -d ' \n' < "$OUT/fx.txt")" != "$(tr -d ' \n' < "$OUT/tx.txt")" ] # layout aside
}
check "/fisher/x differs from the first 12 training inputs" differ "$OUT/fisher_points.np1.h5"
attr() { h5dump -a /fisher/normalization "$1" | grep -q '"mean"'; }
check "/fisher normalization attribute is mean" attr "$OUT/fisher_points.np1.h5"
finish

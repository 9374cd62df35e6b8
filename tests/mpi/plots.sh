#!/usr/bin/env bash
# plots.sh — tools/brgflow-plot on every kind of result: small brgflow jobs
# (prior cos-net and MLP, a training run with four flows and the same at a
# second width for --compare, the ERG flow), the
# tool's command line on each, then tests/plot_check.py, which builds the
# figures in memory and counts their curves and points against the file;
# a synthetic file covers the probe histograms and dropped members.
set -u
source "$(dirname "$0")/common.sh"
PY=/usr/bin/python3            # Debian's python3-h5py and python3-matplotlib
TOOL=$PWD/tools/brgflow-plot
CHECK=$PWD/tests/plot_check.py
D=$OUT/plots
rm -rf "$D" && mkdir -p "$D"
plan 19

job() { # job NAME INPUT --set...: a small run on 2 ranks into $D/NAME.h5
  local name=$1 input=$2; shift 2
  check "plots: brgflow run $name" mpi 2 "$BIN" run "inputs/$input" \
    --set run.output="$D/$name.h5" --set run.save_theta=no "$@"
}
drawn() { # drawn NAME N: the command line writes N figures, PNG and PDF
  local out n
  out=$("$TOOL" "$D/$1.h5" 2>&1)
  n=$(ls "$D/$1_figures"/*.png 2>/dev/null | wc -l)
  if [ "$(echo "$out" | grep -c '^brgflow-plot: ')" -eq "$2" ] && [ "$n" -eq "$2" ] &&
    [ "$(ls "$D/$1_figures"/*.pdf | wc -l)" -eq "$2" ]; then
    ok "plots: brgflow-plot $1 prints and writes $2 figures"
  else notok "plots: brgflow-plot $1: $n PNG files, expected $2"; fi
  echo "$out" | sed 's/^/    /'
}

job cosnet_free cosnet_free.ini --set ensemble.members=200 --set lattice.sites=8 \
  --set network.width=64
job mlp_relu mlp_relu.ini --set ensemble.members=200
# relu: closed-form NTK reference (tanh's quadrature is the slow part)
job mlp_train mlp_train.ini --set ensemble.members=8 --set network.width=64 \
  --set network.activation=relu --set train.steps=100 --set train.record_every=25 \
  --set fisher.solver=dual --set brg.flow=yes --set brg.basis=both --set brg.relative=yes \
  --set brg.lambda_min=1e-6 --set brg.lambda_max=1 --set brg.count=6 --set brg.bootstrap=50
job mlp_train_w16 mlp_train.ini --set ensemble.members=8 --set network.width=16 \
  --set network.activation=relu --set train.steps=100 --set fisher.solver=dual \
  --set brg.flow=yes --set brg.relative=yes --set brg.lambda_min=1e-6 --set brg.lambda_max=1 \
  --set brg.count=6 --set brg.bootstrap=0
job cosnet_erg cosnet_erg.ini --set ensemble.members=100 --set network.width=256

drawn cosnet_free 1
drawn mlp_relu 1
drawn mlp_train 7
drawn cosnet_erg 6

check "plots: cos-net prior G2 figure against the file" $PY "$CHECK" "$TOOL" cosnet_prior "$D/cosnet_free.h5"
check "plots: MLP prior G2 figure against the file" $PY "$CHECK" "$TOOL" mlp_prior "$D/mlp_relu.h5"
check "plots: flow, Fisher and loss figures against the file" $PY "$CHECK" "$TOOL" train_flow "$D/mlp_train.h5"
check "plots: N G4c along the flows against the file" $PY "$CHECK" "$TOOL" g4c_flow "$D/mlp_train.h5"
out=$("$TOOL" --compare "$D/mlp_train.h5" "$D/mlp_train_w16.h5" --out "$D/compare" 2>&1)
if [ -f "$D/compare/g4c_compare.png" ] && [ -f "$D/compare/g4c_compare.pdf" ]; then
  ok "plots: brgflow-plot --compare writes g4c_compare"
else notok "plots: brgflow-plot --compare: no g4c_compare figure"; fi
echo "$out" | sed 's/^/    /'
check "plots: --compare of two widths against the files" $PY "$CHECK" "$TOOL" g4c_compare \
  "$D/mlp_train.h5,$D/mlp_train_w16.h5"
check "plots: ERG figures against the file" $PY "$CHECK" "$TOOL" erg "$D/cosnet_erg.h5"
check "plots: probe histograms and dropped members (synthetic file)" $PY "$CHECK" "$TOOL" probe "$D/probe.h5"

# not a result: an HDF5 file without /config, and a text file: exit status 2
$PY -c 'import h5py, sys; h5py.File(sys.argv[1], "w").create_dataset("x", data=[1.0])' "$D/other.h5"
echo "not hdf5" > "$D/text.h5"
for bad in other text; do
  msg=$("$TOOL" "$D/$bad.h5" 2>&1); rc=$?
  if [ $rc -eq 2 ] && echo "$msg" | grep -q "not a brgflow result"; then
    ok "plots: $bad.h5 refused with exit status 2"
  else notok "plots: $bad.h5: exit status $rc, expected 2"; fi
  echo "$msg" | sed 's/^/    /'
done
finish

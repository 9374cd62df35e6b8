#!/usr/bin/env bash
# g4c_study.sh — the flow of the interaction at four widths (docs/g4c_flow.md):
# inputs/g4c_flow.ini at N = 16, 64, 256, 1024 on NP ranks, then one figure
# of N G4c along the flow for every width (tools/brgflow-plot --compare).
#
#   bash tools/g4c_study.sh [OUTDIR] [NP]     (defaults: results/g4c_study, 2)
#
# Writes OUTDIR/g4c_flow_N<width>.h5 and .log, and OUTDIR/compare/.  A width
# whose result exists is not rerun (delete it to redo).  BRGFLOW names the
# binary (default bin/brgflow beside this script).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-results/g4c_study}
np=${2:-2}
brgflow=${BRGFLOW:-$here/bin/brgflow}
mkdir -p "$out"
files=()
for N in 16 64 256 1024; do
  h5="$out/g4c_flow_N$N.h5"
  files+=("$h5")
  [ -f "$h5" ] && continue
  start=$(date +%s)
  mpirun --oversubscribe -np "$np" "$brgflow" run "$here/inputs/g4c_flow.ini" \
    --set network.width="$N" --set run.output="$h5" > "$out/g4c_flow_N$N.log" 2>&1
  echo "g4c_study: N = $N in $(( $(date +%s) - start )) s: $h5"
done
"$here/tools/brgflow-plot" --compare "${files[@]}" --out "$out/compare"

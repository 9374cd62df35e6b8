#!/usr/bin/env bash
# paper_experiment.sh — the paper authors' experiment (inputs/paper_experiment.ini)
# at reduced size (12 members, 40 epochs) on 2 ranks: it runs, its sloppy
# counts equal an independent count from the frozen features, its dropped
# members and probe predictions are stored (tests/paper_check.py), and
# tools/brgflow-plot draws its figures.
set -u
cd "$(dirname "$0")/../.."
. tests/mpi/common.sh
# Checks: the run 1, paper_check.py 6, the plot tool 1, its figures 1.
plan 9
PY=/usr/bin/python3
out="$OUT/paper_experiment.h5"
rm -f "$out"
if mpi 2 "$BIN" run inputs/paper_experiment.ini --force --set run.output="$out" \
    --set ensemble.members=12 --set train.epochs=40 --set run.save_theta=yes \
    --set run.checkpoint_every=0 > "$OUT/paper_experiment.log" 2>&1; then
  ok "paper experiment (12 members, 40 epochs) runs on 2 ranks"
else
  notok "paper experiment run (see $OUT/paper_experiment.log)"
fi
# paper_check.py prints "ok - ..." / "not ok - ..." lines: count them here
npc=0
while IFS= read -r line; do
  case "$line" in
    "ok - "*) ok "${line#ok - }"; npc=$((npc + 1)) ;;
    "not ok - "*) notok "${line#not ok - }"; npc=$((npc + 1)) ;;
    *) echo "$line" ;;
  esac
done < <("$PY" tests/paper_check.py "$out" 2>&1)
[ "$npc" -eq 6 ] || notok "paper_check.py ran $npc of its 6 checks"
rm -rf "$OUT/paper_experiment_figures"
check "brgflow-plot draws the experiment" "$PY" tools/brgflow-plot "$out" --out "$OUT/paper_experiment_figures"
n=$(ls "$OUT/paper_experiment_figures" 2>/dev/null | grep -c '\.png$')
if [ "$n" -ge 3 ]; then ok "figures written: $n PNG (flow, members, probe, ...)"; else notok "figures written: $n PNG"; fi
finish

#!/usr/bin/env bash
# errors.sh — bad input on 3 ranks: one message naming file, line and key,
# exit status 1, no result written, and an existing result left byte for byte.
# The status travels up to main (issue 12): no exit() below it.
set -u
cd "$(dirname "$0")/../.."
. tests/mpi/common.sh
plan 97 # 26 refusals x 3 checks, 19 others
dir="$OUT/errors"
rm -rf "$dir"; mkdir -p "$dir"
echo "precious result" > "$dir/keep.h5"
sum_before=$(md5sum < "$dir/keep.h5")

expect_refusal() { # name, expected text, brgflow arguments... (RANKS: 3 unless set)
  local name=$1 want=$2; shift 2
  mpi "${RANKS:-3}" "$BIN" "$@" > "$dir/$name.out" 2> "$dir/$name.err"
  local rc=$? n
  n=$(grep -c "brgflow: error:" "$dir/$name.err")
  check "$name: exit status 1 ($rc)" test $rc -eq 1
  check "$name: exactly one error message ($n)" test "$n" -eq 1
  if grep -q -- "$want" "$dir/$name.err"; then ok "$name: message names '$want'"
  else notok "$name: message lacks '$want': $(grep 'brgflow: error' "$dir/$name.err")"; fi
  echo "    $(grep 'brgflow: error' "$dir/$name.err")"
}

write_ini() { printf '[run]\noutput = %s\n%b' "$dir/$1.h5" "$2" > "$dir/$1.ini"; }

write_ini width '[network]\nwidth = 0\n'
expect_refusal width "width.ini:4: \[network\] width" run "$dir/width.ini"
write_ini nyquist '[lattice]\nspacing = 1\n[cosnet]\ncutoff = 3.2\n'
expect_refusal nyquist "nyquist.ini:6: \[cosnet\] cutoff" run "$dir/nyquist.ini"
write_ini dim '[network]\nd = 4\n'
expect_refusal dim "dim.ini:4: \[network\] d" run "$dir/dim.ini"
write_ini section '[nework]\nd = 2\n'
expect_refusal section "section.ini:3: unknown section \[nework\]" run "$dir/section.ini"
write_ini key '[network]\nlayers = 2\n'
expect_refusal key "key.ini:4: \[network\] layers: unknown key" run "$dir/key.ini"
write_ini value '[cosnet]\nmass = heavy\n'
expect_refusal value "value.ini:4: \[cosnet\] mass = 'heavy'" run "$dir/value.ini"
expect_refusal missing "cannot read input file '$dir/none.ini'" run "$dir/none.ini"
printf '[run]\noutput = %s\n' "$dir/keep.h5" > "$dir/exists.ini"
expect_refusal exists "exists.ini:2: \[run\] output = '$dir/keep.h5': file exists" \
  run "$dir/exists.ini"
expect_refusal set "--set network.width=-2: \[network\] width" \
  run "$dir/exists.ini" --force --set network.width=-2
# every member diverges and is dropped: no ensemble left to average over
expect_refusal alldiverged "64 of 64 members diverged by step .* 0 left" \
  run inputs/mlp_train.ini --set run.output="$dir/alldiverged.h5" --set train.lr=100 \
  --set train.on_divergence=drop --set fisher.solver=none --set run.checkpoint_every=0

# a directory is no input file: refused naming it, and no ./brgflow.h5
mkdir -p "$dir/adir"
pushd "$dir" > /dev/null
expect_refusal directory "cannot read input file '$dir/adir': is a directory" run "$dir/adir"
popd > /dev/null
# keys their stage would ignore, and a combination whose other key is a default
write_ini fisher '[fisher]\nbasis = diagonal\n'
expect_refusal fisher "fisher.ini:4: \[fisher\] basis = 'diagonal': the Fisher metric is off" \
  run "$dir/fisher.ini"
write_ini train '[train]\nlr = 0.1\n'
expect_refusal train "train.ini:4: \[train\] lr = '0.1': used only by \[train\] method = gd or sgd" \
  run "$dir/train.ini"
write_ini erg '[data]\npoints = lattice\n[fisher]\nsolver = auto\n[brg]\nflow = yes\nrelative = yes\n'
expect_refusal erg "erg.ini:9: \[brg\] relative = 'yes': a cos-net flow on the full lattice runs the ERG checks" \
  run "$dir/erg.ini"
write_ini depth '[network]\ndepth = 3\n'
expect_refusal depth "depth.ini:4: \[network\] depth = '3': a layer-stack key" run "$dir/depth.ini"
expect_refusal prior_data "--set data.noise=0.5: \[data\] noise = '0.5': used only by a training run" \
  run inputs/cosnet_free.ini --set data.noise=0.5 --set run.output="$dir/bad.h5"
write_ini spacing '[lattice]\nspacing = 2\n'
expect_refusal spacing "spacing.ini:4: \[lattice\] spacing = '2': needs \[cosnet\] cutoff (2) below" \
  run "$dir/spacing.ini"

check "existing result untouched" test "$(md5sum < "$dir/keep.h5")" = "$sum_before"
left=$(ls "$dir" | grep -v -e '\.ini$' -e '\.out$' -e '\.err$' -e '^keep.h5$' -e '^adir$' | tr '\n' ' ')
check "no result or partial file written by refused runs ($left)" test -z "$left"

# The same on 2 ranks, at the input and deep in the chain (the flow stage,
# after training and the metric, whose checkpoint stays for a restart):
# the status comes back up to main.
RANKS=2 expect_refusal width2 "width.ini:4: \[network\] width" run "$dir/width.ini"
RANKS=2 expect_refusal keep2 "\[brg\] keep_mse_below = 1e-09 keeps 0 of 4 members" \
  run inputs/mlp_train.ini --set ensemble.members=4 --set train.steps=10 --set brg.flow=yes \
  --set brg.count=3 --set brg.keep_mse_below=1e-9 --set run.output="$dir/keep2.h5"
RANKS=2 expect_refusal groups2 "\[fisher\] groups = 3: more groups than the 2 MPI ranks" \
  run inputs/mlp_train.ini --set ensemble.members=4 --set train.steps=10 --set fisher.groups=3 \
  --set run.output="$dir/groups2.h5"
check "2 ranks, the flow refused: no result or partial file" \
  test ! -e "$dir/keep2.h5" -a ! -e "$dir/keep2.h5.partial"

# Nothing below main ends the process on bad input: no exit() or
# MPI_Finalize outside src/main.c (bf_abort, for bugs, aborts; comments and
# Cblacs_gridexit are not calls).
calls=$(grep -nE '(^|[^A-Za-z0-9_])(_?exit|_Exit|quick_exit|MPI_Finalize) *\(' src/*/*.c |
  grep -vE '^[^:]+:[0-9]+: *(/?\*|//)' | tr '\n' ' ')
check "no exit() or MPI_Finalize below main ($calls)" test -z "$calls"
check "main.c: one MPI_Finalize" test "$(grep -c 'MPI_Finalize()' src/main.c)" -eq 1

# A good run leaves the result and no partial file; help and info answer.
mpi 2 "$BIN" run inputs/cosnet_free.ini --set run.output="$dir/good.h5" \
  --set ensemble.members=8 > "$dir/good.log" 2>&1
check "good run: result written" test -f "$dir/good.h5"
check "good run: no partial file left" test ! -e "$dir/good.h5.partial"
check "--help answers" bash -c "'$BIN' --help | grep -q 'brgflow info FILE.h5'"
check "info lists the datasets and zscore_max" bash -c \
  "'$BIN' info '$dir/good.h5' | grep -q '/nnft/G2 ' && '$BIN' info '$dir/good.h5' | grep -q zscore_max"

# `brgflow kernel`: the theory side alone, for arch = mlp only.
mpi 2 "$BIN" kernel inputs/mlp_relu.ini --set run.output="$dir/kernel.h5" > "$dir/kernel.log" 2>&1
check "kernel: writes K_nngp and K_ntk, no ensemble" bash -c \
  "'$BIN' info '$dir/kernel.h5' | grep -q '/nnft/K_ntk ' && ! '$BIN' info '$dir/kernel.h5' | grep -q /ensemble/theta"
# ... on a training input too: the kernels of its prior, no training (it
# crashed in the restore, which sized the training's arrays for an ensemble
# that kernels-only runs never sample).
mpi 2 "$BIN" kernel inputs/mlp_train.ini --set run.output="$dir/kernel_train.h5" > "$dir/kernel_train.log" 2>&1
rc=$?
check "kernel on a training input: exit 0 ($rc), kernels only" bash -c \
  "test $rc -eq 0 && '$BIN' info '$dir/kernel_train.h5' | grep -q '/nnft/K_ntk ' && ! '$BIN' info '$dir/kernel_train.h5' | grep -q /train/"
touch "$dir/kr.ckpt.h5"
expect_refusal kernel_restart "\`brgflow kernel\` writes no checkpoints" \
  kernel inputs/mlp_relu.ini --set run.output="$dir/kr.h5" --restart "$dir/kr.ckpt.h5"
expect_refusal kernel_cosnet "\[network\] arch: \`brgflow kernel\` needs arch = mlp" \
  kernel inputs/cosnet_free.ini --set run.output="$dir/kc.h5"

# [data] target = file: /x and /y of an HDF5 file (made here from a run's
# own /data arrays with h5copy); first n_train rows train, next n_test test.
# A file's targets carry their own noise: the input's noise = 0.05 goes
# back to its default (as if removed), or it would be refused as unused.
TR=(inputs/mlp_train.ini --set ensemble.members=4 --set train.steps=10 --set fisher.solver=none)
TF=(--set data.target=file --set data.noise=0.1)
mpi 1 "$BIN" run "${TR[@]}" --set data.n_train=40 --set run.output="$dir/src.h5" > /dev/null 2>&1
h5copy -i "$dir/src.h5" -o "$dir/data.h5" -s /data/x_train -d /x &&
  h5copy -i "$dir/src.h5" -o "$dir/data.h5" -s /data/y_train -d /y
mpi 2 "$BIN" run "${TR[@]}" "${TF[@]}" --set data.file="$dir/data.h5" \
  --set data.n_train=24 --set data.n_test=16 --set run.output="$dir/fromfile.h5" > "$dir/fromfile.log" 2>&1
check "target = file: the run reads /x and /y" test -f "$dir/fromfile.h5"
h5copy -i "$dir/src.h5" -o "$dir/xonly.h5" -s /data/x_train -d /x
expect_refusal datafile "\[data\] file = '$dir/xonly.h5': needs datasets /x and /y" \
  run "${TR[@]}" "${TF[@]}" --set data.file="$dir/xonly.h5" --set run.output="$dir/bad.h5"
# /y of the wrong rank, and a NaN in /x: refused naming the dataset (and row)
h5copy -i "$dir/src.h5" -o "$dir/rank.h5" -s /data/x_train -d /x &&
  h5copy -i "$dir/src.h5" -o "$dir/rank.h5" -s /data/x_train -d /y
expect_refusal datarank "\[data\] file = '$dir/rank.h5': /x must be 2-d (n x d) and /y 1-d (n); they are 2-d and 2-d" \
  run "${TR[@]}" "${TF[@]}" --set data.file="$dir/rank.h5" --set run.output="$dir/bad.h5"
/usr/bin/python3 -c "
import h5py, numpy as np
s = h5py.File('$dir/data.h5', 'r'); x = s['/x'][...]; y = s['/y'][...]
x[5, 0] = np.nan
with h5py.File('$dir/nan.h5', 'w') as f: f['/x'] = x; f['/y'] = y"
expect_refusal datanan "\[data\] file = '$dir/nan.h5': /x row 5 column 0 is nan: not a finite number" \
  run "${TR[@]}" "${TF[@]}" --set data.file="$dir/nan.h5" --set data.n_train=24 \
  --set data.n_test=16 --set run.output="$dir/bad.h5"
# a NUL byte would end the text early and default every key after it
printf '[run]\nseed = 3\n\0[network]\nd = 2\n' > "$dir/nul.ini"
expect_refusal nul "nul.ini:3: a NUL byte (the input must be a text file)" \
  run "$dir/nul.ini" --set run.output="$dir/bad.h5"

# Statistically empty but legitimate: E = 6 < 10 members and cutoffs above
# every eigenvalue run, warn once (rank 0) and store the warnings in /warnings.
mpi 2 "$BIN" run inputs/mlp_train.ini --set ensemble.members=6 --set train.steps=20 \
  --set brg.flow=yes --set brg.lambda_min=1e9 --set brg.lambda_max=1e10 --set brg.count=3 \
  --set brg.bootstrap=20 --set run.output="$dir/few.h5" > "$dir/few.log" 2>&1
check "E < 10: the warning printed once ($(grep -c 'warning: \[ensemble\]' "$dir/few.log"))" \
  test "$(grep -c 'warning: \[ensemble\] members = 6 < 10' "$dir/few.log")" -eq 1
warnings=$(/usr/bin/python3 -c "
import h5py; print('|'.join(w.decode() for w in h5py.File('$dir/few.h5', 'r').attrs['warnings']))")
echo "    /warnings: $warnings"
check "/warnings holds the ensemble-size warning" grep -q "members = 6 < 10" <<< "$warnings"
check "/warnings holds the cutoff-grid warning" grep -q "lie above every Fisher eigenvalue" <<< "$warnings"

# SIGTERM inside the infinite-width kernels (no step boundary; tanh
# quadrature on 1516 points runs for many minutes): sent to the ranks, as a
# batch system does, once the kernels have begun; the run must end within
# seconds with exit status 3 and the message, and write nothing.
out="$dir/term.h5"
timeout 120 mpirun --oversubscribe -np 2 "$BIN" run inputs/mlp_train.ini --set ensemble.members=2 \
  --set network.width=8 --set train.steps=1 --set train.record_every=0 --set fisher.solver=none \
  --set data.n_train=1500 --set run.output="$out" > "$dir/term.log" 2>&1 &
runner=$!
for _ in $(seq 200); do grep -q "train: gradient descent" "$dir/term.log" && break; sleep 0.1; done
sleep 2
mpirun_pid=$(pgrep -P "$runner")
t0=$(date +%s)
kill -TERM $(pgrep -P "$mpirun_pid")
wait "$runner"
rc=$? took=$(($(date +%s) - t0))
check "SIGTERM in the kernels: exit status 3 ($rc)" test "$rc" -eq 3
check "SIGTERM in the kernels: ended within 10 s ($took s)" test "$took" -le 10
check "SIGTERM in the kernels: the message" grep -q "stopped on request where no checkpoint is written (the infinite-width kernels" "$dir/term.log"
check "SIGTERM in the kernels: nothing written" test ! -e "$out" -a ! -e "$out.partial" -a ! -e "$out.ckpt.h5"
finish

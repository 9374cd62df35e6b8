#!/usr/bin/env bash
# rename_parms.sh — tools/dev/rename_parms.py (issue 12), kept for files
# other branches change meanwhile, still does its job:
#  * on a file in the flat form it rewrites every kind of bf_params access
#    (p->, p., in->p., job->p->, further declarators, designators, the old
#    brg flag) and leaves other structs alone;
#  * a second run changes nothing (idempotent);
#  * the converted tree holds no access the script would still rewrite.
set -u
cd "$(dirname "$0")/../.."
. tests/mpi/common.sh
dir="$OUT/rename_parms"; rm -rf "$dir"; mkdir -p "$dir/tree"
plan 3
script=tools/dev/rename_parms.py

cat > "$dir/flat.c" <<'C'
static double f(const bf_params *p, bf_input *in, bf_job *job, bf_net *net)
{
  bf_params a = make(p->width, 2), b = a;
  bf_params q = {.seed = 3, .d = 1, .data_points = BF_DATA_GRID, .brg = 1};
  b.brg = in->p.brg_basis + job->p->fisher_n + q.sgd_order;
  return p->lr * a.cutoffs + net->width + in->p.x[0] + b.brg_cutoffs[0];
}
C
cat > "$dir/want.c" <<'C'
static double f(const bf_params *p, bf_input *in, bf_job *job, bf_net *net)
{
  bf_params a = make(p->net.width, 2), b = a;
  bf_params q = {.run.seed = 3, .net.d = 1, .data.points = BF_DATA_GRID, .brg.on = 1};
  b.brg.on = in->p.brg.basis + job->p->fisher.n_points + q.train.order;
  return p->train.lr * a.brg.count + net->width + in->p.corr.x[0] + b.brg.cutoffs[0];
}
C
python3 "$script" "$dir/flat.c" > /dev/null
check "a flat-form file is rewritten as expected" diff -u "$dir/want.c" "$dir/flat.c"
python3 "$script" "$dir/flat.c" > /dev/null
check "a second run changes nothing" diff -u "$dir/want.c" "$dir/flat.c"

# the C sources, without tests/out (where this copy lives)
find src tests tools -path tests/out -prune -o \( -name '*.c' -o -name '*.h' \) -print |
  tar cf - -T - | tar xf - -C "$dir/tree"
changed=$(cd "$dir/tree" && python3 "$OLDPWD/$script")
check "the tree has no flat-form access left" test -z "$changed"
[ -z "$changed" ] || echo "$changed" | sed 's/^/    /'
finish

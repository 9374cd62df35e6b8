#!/usr/bin/env bash
# docs.sh — the documentation stands on its own and matches the code:
#  * docs/inputs.md is what tools/gen_inputs_doc.sh makes from
#    docs/inputs.md.in, the key table and the shipped inputs (byte for byte);
#  * the key table has its "used by" and "changes results" columns, and the
#    keys a restart may change are exactly the ones it marks "no";
#  * no file of the project points at the reference folder beside the
#    repository or at the physics spec kept there (a clone has neither:
#    docs/physics.md is the project's own); physics.md carries the paper's
#    full citation;
#  * every docs/*.md and README.md link to a local file resolves.
set -u
cd "$(dirname "$0")/../.."
. tests/mpi/common.sh
dir="$OUT/docs"; rm -rf "$dir"; mkdir -p "$dir"
plan 6

bash tools/gen_inputs_doc.sh > "$dir/inputs.md" 2> "$dir/gen.err"
check "docs/inputs.md equals its regeneration (make docs)" diff -u docs/inputs.md "$dir/inputs.md"

"$BIN" keys > "$dir/keys.md"
check "key table: used by and changes results columns" \
  grep -q '^| section | key | default | unit | used by | changes results | meaning |$' "$dir/keys.md"
norestart=$(awk -F' \\| ' '$6 ~ /^no/ {gsub(/[][| ]/, "", $1); print $1 "." $2}' "$dir/keys.md" | sort | tr '\n' ' ')
echo "    keys marked 'changes results: no': $norestart"
check "the restart-safe keys are output, save_theta, the checkpoint intervals, groups, block" \
  test "$norestart" = "fisher.block fisher.groups run.checkpoint_every run.checkpoint_flow_every run.output run.save_theta "

# The two names are built from pieces, so that this script does not name
# them itself and can search every tracked file, itself included.
outside="\.\./"'sha''red' spec='SCIEN''CE\.md'
files=$(git ls-files | grep -v -e '^tests/out/' -e '^\.ci/')
hits=$(grep -l -I -e "$outside" -e "$spec" $files 2>/dev/null | tr '\n' ' ')
echo "    files referring to the reference folder or its spec: ${hits:-none}"
check "no project file refers to the reference folder beside the repository" test -z "$hits"
check "docs/physics.md cites the paper in full" \
  grep -q 'SciPost Phys. Core' docs/physics.md

broken=""
for md in README.md docs/*.md jobs/README.md; do
  base=$(dirname "$md")
  for link in $(grep -o '](\([^)#:]*\))' "$md" | sed 's/^](\(.*\))$/\1/'); do
    [ -e "$base/$link" ] || broken+="$md -> $link "
  done
done
echo "    broken local links: ${broken:-none}"
check "every local Markdown link resolves" test -z "$broken"
finish

#!/usr/bin/env bash
# gen_inputs_doc.sh — print docs/inputs.md, made from docs/inputs.md.in.
#
#   bash tools/gen_inputs_doc.sh > docs/inputs.md      (what `make docs` runs)
#
# The template is Markdown with two kinds of marker lines:
#   @KEY_TABLE@            the key table: `brgflow keys`, i.e. the modules'
#                          rows (src/MODULE/parms.c) as src/core/input.c
#                          assembles them (with the "used by" and "changes
#                          results" columns)
#   @INPUT inputs/X.ini@   a shipped input from its first [section] on, as an
#                          indented code block, so the docs cannot drift from it
# The binary is bin/brgflow beside this script, or $BRGFLOW if set.  The
# output is deterministic (no dates, no paths); tests/mpi/docs.sh fails when
# it differs from the committed docs/inputs.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
brgflow=${BRGFLOW:-$here/bin/brgflow}
template=$here/docs/inputs.md.in
if [[ ! -x "$brgflow" ]]; then
  echo "gen_inputs_doc.sh: $brgflow not found; build it first (make bin/brgflow)" >&2
  exit 1
fi
# Everything is gathered before anything is printed, so a failure prints nothing.
table=$("$brgflow" keys)
out=""
while IFS= read -r line || [[ -n "$line" ]]; do
  if [[ "$line" == "@KEY_TABLE@" ]]; then
    out+="$table"$'\n'
  elif [[ "$line" =~ ^@INPUT\ (inputs/[A-Za-z0-9_]+\.ini)@$ ]]; then
    file=$here/${BASH_REMATCH[1]}
    [[ -r "$file" ]] || { echo "gen_inputs_doc.sh: $template: no file ${BASH_REMATCH[1]}" >&2; exit 1; }
    out+=$(sed -n '/^\[/,$p' "$file" | sed -e 's/^/    /' -e 's/^ *$//')$'\n'
  elif [[ "$line" == @* ]]; then
    echo "gen_inputs_doc.sh: $template: unknown marker '$line'" >&2
    exit 1
  else
    out+="$line"$'\n'
  fi
done < "$template"
printf '%s' "$out"

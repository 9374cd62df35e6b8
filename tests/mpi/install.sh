#!/usr/bin/env bash
# install.sh — `make install PREFIX=DIR` gives what a cluster module needs:
# the binary and the plot tool that run from DIR/bin and report the source's
# version, a man page for each made from its --help, and the docs, inputs
# and job scripts under DIR/share.
set -u
cd "$(dirname "$0")/../.."
. tests/mpi/common.sh
dir="$OUT/install"; rm -rf "$dir"; mkdir -p "$dir"
plan 8
version=$(sed -n 's/^#define BF_VERSION "\([^"]*\)".*/\1/p' include/brgflow/core.h)
echo "    source version: $version"
check "make install PREFIX=$dir/prefix" make -s install PREFIX="$dir/prefix"
p="$dir/prefix"
check "installed brgflow reports $version" \
  bash -c "'$p/bin/brgflow' --version | grep -qx 'brgflow $version'"
check "installed brgflow-plot reports $version" \
  bash -c "'$p/bin/brgflow-plot' --version | grep -qx 'brgflow-plot $version'"
check "installed brgflow lists its keys" bash -c "'$p/bin/brgflow' keys | grep -q 'critical_tol'"
for m in brgflow brgflow-plot; do
  check "man page $m.1 is a man page with its commands" \
    bash -c "head -20 '$p/share/man/man1/$m.1' | grep -q '^\\.TH \"*${m^^}' && grep -q 'usage' '$p/share/man/man1/$m.1'"
done
check "docs installed (physics.md, inputs.md, outputs.md, figures)" \
  test -s "$p/share/doc/brgflow/physics.md" -a -s "$p/share/doc/brgflow/inputs.md" \
  -a -s "$p/share/doc/brgflow/outputs.md" -a -n "$(ls "$p/share/doc/brgflow/figures")"
check "inputs and job scripts installed" \
  test -s "$p/share/brgflow/inputs/cosnet_erg.ini" -a -s "$p/share/brgflow/jobs/README.md"
finish

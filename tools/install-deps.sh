#!/usr/bin/env bash
# install-deps.sh — install brgflow's Debian 12 build and run dependencies.
# Calls apt-get only for packages that are absent, so a machine that already
# has everything is left untouched (and needs no root and no network).
#   tools/install-deps.sh        what `make`, `make run` and `make check` need
#   tools/install-deps.sh fuzz   also clang with libFuzzer, for `make fuzz` only
set -euo pipefail

PACKAGES=(
  gcc make pkg-config
  openmpi-bin libopenmpi-dev
  libscalapack-openmpi-dev libopenblas-dev
  libfftw3-dev libfftw3-mpi-dev
  libhdf5-openmpi-dev hdf5-tools
  libgsl-dev libinih-dev librandom123-dev libcmocka-dev libmuparser-dev
  python3 time python3-h5py python3-matplotlib
  help2man
)
# Optional groups: not needed by make check, installed when asked for.
case ${1:-} in
  '') ;;
  fuzz) PACKAGES+=(clang libclang-rt-14-dev) ;;
  *) echo "install-deps: unknown group '$1' (known: fuzz)" >&2; exit 2 ;;
esac

# Slurm and its authentication daemon, for tests/mpi/slurm.sh (a one-node
# cluster on 127.0.0.1 that runs the job scripts of jobs/ for real).
PACKAGES+=(slurm-wlm munge)

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

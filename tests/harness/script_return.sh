#!/usr/bin/env bash
# A script whose helper returns early from a case branch, skipping 2 of its
# 4 checks, and still reaches finish (which must then fail).
set -u
cd "$(dirname "$0")/../.."
. tests/mpi/common.sh
plan 4
pair() { # kind
  case $1 in
    skipped) return ;;
  esac
  check "$1: first" true
  check "$1: second" true
}
pair run
pair skipped
finish

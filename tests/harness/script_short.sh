#!/usr/bin/env bash
# Without common.sh: 3 of 5 planned checks, then exit 0.
echo "plan: 5 checks"
echo "ok - check 1"
echo "ok - check 2"
echo "ok - check 3"
exit 0

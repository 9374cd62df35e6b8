#!/usr/bin/env bash
# Without common.sh: 2 passed checks, no plan.
echo "ok - check 1"
echo "ok - check 2"

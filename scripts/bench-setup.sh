#!/usr/bin/env bash
# The Python venv for the do-it-yourself peer of `npm run bench` (bench/diy/pipeline.py): pymongo from PyPI in
# ~/.cache/retention-proxy/bench-venv. Not part of scripts/setup.sh (CI never runs benchmarks). Quick when present.
# Prints the venv's python path on its last line.
set -euo pipefail
VENV="${RP_BENCH_VENV:-$HOME/.cache/retention-proxy/bench-venv}"
PYMONGO_VERSION="${RP_BENCH_PYMONGO:-4.15.5}"
if ! "$VENV/bin/python" -c 'import pymongo, bson.json_util, gridfs' >/dev/null 2>&1; then
  mkdir -p "$(dirname "$VENV")"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "pymongo==$PYMONGO_VERSION" >&2
fi
echo "$VENV/bin/python"

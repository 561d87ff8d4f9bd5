#!/usr/bin/env bash
# Installs Atlas into ./.venv (idempotent). torch comes first with an exact pin: any other torch spec, or
# letting sentence-transformers pull it, downloads a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
EXTRAS="${1:-all}"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[${EXTRAS}]"
echo "Atlas installed in $(pwd)/.venv (extras: ${EXTRAS})"

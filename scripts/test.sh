#!/usr/bin/env bash
# Quick start, tests: install everything (real models included) and run lint, types and the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
bash scripts/install.sh all,cluster,quality,dev  # quality: all-mpnet-base-v2; cluster: the PostgreSQL store, Ray
.venv/bin/ruff check src tests benchmarks
.venv/bin/ruff format --check src tests benchmarks
.venv/bin/mypy
.venv/bin/pytest "$@"

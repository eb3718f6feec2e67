#!/usr/bin/env bash
# Regenerate the exact-version locks from the ranges in requirements*.txt (needs `uv`:
# python3 -m pip install uv). The serving and app-test locks are constrained by the dev lock,
# so all three agree on every version they share.
#
# PyTorch (only for importing PyTorch models) is locked to its CPU build, whose dependencies
# are a few small packages instead of several GB of CUDA libraries: uv reads it from
# $TORCH_WHEELS (a folder holding torch-2.13.0+cpu, as on the CI machines) or from PyTorch's
# CPU index. The lock then names it `torch==2.13.0`: pip takes the CPU build where one lies
# in its find-links (CI), and PyPI's build elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."
TORCH_WHEELS=${TORCH_WHEELS:-/opt/wheels}
if [ -d "$TORCH_WHEELS" ]; then
  torch_source=(--find-links "$TORCH_WHEELS")
else
  torch_source=(--extra-index-url https://download.pytorch.org/whl/cpu --index-strategy unsafe-best-match)
fi
compile() { uv pip compile "$@" --universal --python-version 3.11 --quiet; }
compile requirements-dev.txt -c locks/torch-cpu.txt "${torch_source[@]}" -o locks/dev.txt ${UPGRADE:+--upgrade}
sed -i 's/^torch==\([0-9.]*\)+cpu$/torch==\1/' locks/dev.txt
compile requirements-app-test.txt -c locks/dev.txt -o locks/app-test.txt
compile requirements.txt -c locks/dev.txt -o locks/app.txt

#!/usr/bin/env bash
# Regenerate the exact-version locks from the ranges in requirements*.txt (needs `uv`:
# python3 -m pip install uv). The serving and app-test locks are constrained by the dev lock,
# so all three agree on every version they share.
set -euo pipefail
cd "$(dirname "$0")/.."
compile() { uv pip compile "$@" --universal --python-version 3.11 --quiet; }
compile requirements-dev.txt -o locks/dev.txt ${UPGRADE:+--upgrade}
compile requirements-app-test.txt -c locks/dev.txt -o locks/app-test.txt
compile requirements.txt -c locks/dev.txt -o locks/app.txt

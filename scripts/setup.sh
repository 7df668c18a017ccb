#!/usr/bin/env bash
# Creates .venv in the checkout and installs the project with every extra.
# torch goes first, pinned to the CPU build: an unpinned torch pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv"
    "$PYTHON" -m venv .venv
fi
PIP=(.venv/bin/python -m pip --disable-pip-version-check -q)
echo "==> installing torch (CPU build)"
"${PIP[@]}" install "torch==2.13.0"
echo "==> installing rugs-env with extras train, export, dev"
"${PIP[@]}" install -e ".[train,export,dev]"
touch .venv/.rugs-setup-done
echo "==> ready: .venv"

#!/usr/bin/env bash
# PyTorch/torchvision peer of `cargo bench --profile dev --bench detector` (see torch_detector.py).
# Manual use only: never part of tests or CI. Creates a venv outside the repo on first use
# (a large download: torch from PyPI), then runs the peer with all arguments passed through:
#   bash benches/peer/run.sh [--threads N] [--sizes 320 512]
set -euo pipefail
venv="${LIBRA_CACHE:-$HOME/.cache/libra-rcnn}/peer-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import torch, torchvision' 2>/dev/null; then
    echo "peer: installing torch + torchvision into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet torch torchvision >&2
fi
# A tuning of the host's OpenBLAS must not reach the peer's benchmark.
exec env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$venv/bin/python" "$(dirname "$0")/torch_detector.py" "$@"

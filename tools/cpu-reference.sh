#!/usr/bin/env bash
# Runs a reference-fixture script (tools/make_*_fixtures.py) with diffusers and transformers on this machine's CPU,
# for when the GPU machine is not to be had: Debian's python3-torch (1.13) and source trees in .ref/ (never
# committed): .ref/diffusers (diffusers' main) and, for text encoders, .ref/transformers (a 4.45-era tree: the
# mirror xyliu-cs/transformers-4.44.0 at d6751d9, 4.45.0.dev0, which still runs on torch 1.13).
# tools/cpu-reference/ stands in for the packages Debian lacks (huggingface_hub, safetensors, the Rust tokenizers:
# the slow Python tokenizers are used) and for the torch 2.x names diffusers refers to at import time, all inert.
# The forward passes are the references' own code: regenerating unet_v1_small and unet_v2_small this way gave the
# committed weights, inputs and attention probabilities bit for bit, and float64 outputs within 5e-15.
#   tools/cpu-reference.sh tools/make_unet_fixtures.py tests/data .ref/diffusers/scripts unet_xl_small
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: tools/cpu-reference.sh SCRIPT.py [ARGS...]" >&2; exit 2; }
[ -d .ref/diffusers/src ] || { echo "cpu-reference.sh: no diffusers source tree in .ref/diffusers" >&2; exit 1; }
python=/usr/bin/python3
if ! "$python" -c 'import torch, numpy, httpx, yaml, regex, requests, PIL' 2>/dev/null; then
  echo "installing Debian's python3-torch and what diffusers imports"
  apt-get install -y -q python3-torch python3-numpy python3-packaging python3-tqdm python3-filelock \
    python3-regex python3-requests python3-pil python3-importlib-metadata python3-typing-extensions python3-yaml \
    python3-httpx
fi
path="$PWD/tools/cpu-reference:$PWD/.ref/diffusers/src:$PWD/tools"
[ -d .ref/transformers/src ] && path="$path:$PWD/.ref/transformers/src"
PYTHONPATH="$path" exec "$python" "$@"

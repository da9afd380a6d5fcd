#!/usr/bin/env bash
# Every test on a fresh machine: install, build, run CTest (CPU tests; CUDA tests skip without a GPU; the
# safetensors fuzzer runs for 20 s when clang is present).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/tools/build.sh"
ctest --test-dir "$root/build" --output-on-failure -j "$(nproc)"

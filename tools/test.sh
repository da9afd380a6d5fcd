#!/usr/bin/env bash
# Every test on a fresh machine: install, build, run CTest (CPU tests; CUDA tests skip without a GPU; each
# parser's fuzzer runs for 20 s when clang is present), then the parsers' tests and the LibTorch-linked tests
# of raw-memory code again under ASan and UBSan (tools/test-sanitized.sh, build-asan; see its header).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/tools/build.sh"
ctest --test-dir "$root/build" --output-on-failure -j "$(nproc)"
bash "$root/tools/test-sanitized.sh"

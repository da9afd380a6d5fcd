#!/usr/bin/env bash
# Fuzzes the safetensors header parser with libFuzzer (+ AddressSanitizer, UBSan) for a bounded time.
#   tools/fuzz-safetensors.sh [SECONDS=60] [WORK_DIR=build-fuzz]
# Exits non-zero when the fuzzer finds a crash; the reproducer is left in WORK_DIR.
set -euo pipefail
seconds=${1:-60}
work=${2:-build-fuzz}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$work/corpus"
clang++ -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$root/core" "$root/tests/fuzz/fuzz_safetensors.cpp" "$root/core/io/safetensors_format.cpp" \
  -o "$work/fuzz_safetensors"
cd "$work"
./fuzz_safetensors -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 corpus "$root/tests/fuzz/seeds"

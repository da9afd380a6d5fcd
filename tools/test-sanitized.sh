#!/usr/bin/env bash
# The tests of the parsers a user's file reaches (attnscope_parser_tests: tokenizer, capture description,
# visualizer script lines; no LibTorch) built with clang under AddressSanitizer and UBSan in BUILD_DIR, and
# run with every report fatal. tools/test.sh runs it after the normal suite.
#   tools/test-sanitized.sh [BUILD_DIR=build-asan]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-asan}
start=$(date +%s)
# The configure step still finds a LibTorch (the parsers' tests do not link it): the one build/ chose.
torch_dir=$(sed -n 's/^Torch_DIR:PATH=//p' "$root/build/CMakeCache.txt" 2>/dev/null || true)
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
  -DATTNSCOPE_SANITIZE=ON -DATTNSCOPE_CUDA=OFF ${torch_dir:+-DTorch_DIR="$torch_dir"} > "$build-configure.log" 2>&1 ||
  { cat "$build-configure.log"; exit 1; }
ninja -C "$build" -j "$(nproc)" attnscope_parser_tests
built=$(date +%s)
# halt_on_error/abort_on_error: a report ends the run with a non-zero status, so CI fails on it.
ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  "$build/tests/attnscope_parser_tests" --gtest_brief=1
echo "sanitized: built in $((built - start)) s, tests ran in $(($(date +%s) - built)) s"

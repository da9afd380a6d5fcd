#!/usr/bin/env bash
# Tests built again with clang under AddressSanitizer and UBSan in BUILD_DIR and run with every report fatal
# (a leak included). tools/test.sh runs the default set after the normal suite; it is what fits CI's 30 minutes
# (measured in docs/benchmarks.md):
#   - attnscope_parser_tests: the parsers of users' files that need no LibTorch (tokenizer, capture
#     description, config files, script lines);
#   - attnscope_sanitized_tests: the LibTorch-linked tests of the code that handles raw memory (mapped
#     safetensors files, the CPU attention kernel and probes, capture files and store, attention edits, a
#     session end to end), linking Debian's uninstrumented LibTorch;
#   - the visualizer's random walk (tools/soak-gui.sh: SOAK_COUNT actions, 40 here, seed SOAK_SEED) on the
#     sanitized program, offscreen.
# From an empty BUILD_DIR that takes 4-6 minutes on the shared 2-core VM (the program's build 1.5, the walk
# 1-2). With `all` (by hand: the whole suite and the GUI tests add about 10 minutes of build there, too much
# for CI) it also runs the whole LibTorch-linked suite and the offscreen GUI tests.
#   tools/test-sanitized.sh [BUILD_DIR=build-asan] [all]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-asan}
scope=${2:-ci}
[[ $scope == ci || $scope == all ]] || { echo "test-sanitized.sh: the second argument is 'all' or nothing" >&2; exit 2; }
start=$(date +%s)
torch_dir=$(sed -n 's/^Torch_DIR:PATH=//p' "$root/build/CMakeCache.txt" 2>/dev/null || true)
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++ \
  -DATTNSCOPE_SANITIZE=ON -DATTNSCOPE_CUDA=OFF ${torch_dir:+-DTorch_DIR="$torch_dir"} > "$build-configure.log" 2>&1 ||
  { cat "$build-configure.log"; exit 1; }
targets=(attnscope_parser_tests attnscope_sanitized_tests attnscope)
[[ $scope == all ]] && targets+=(attnscope_tests attnscope_gui_tests)
ninja -C "$build" -j "$(nproc)" "${targets[@]}"
built=$(date +%s)
# halt_on_error/abort_on_error: a report ends the run with a non-zero status, so CI fails on it.
# allocator_may_return_null: tests ask LibTorch for impossible sizes on purpose (the out-of-memory messages);
# ASan would abort where malloc returns null.
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:allocator_may_return_null=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
"$build/tests/attnscope_parser_tests" --gtest_brief=1
"$build/tests/attnscope_sanitized_tests" --gtest_brief=1
# Mesa's software driver is unloaded when EGL shuts down; LeakSanitizer then reports what its globals held as
# leaked from '<unknown module>'. Kept loaded it reports nothing; leaks of our own code are still reported.
mesa=$(ls /usr/lib/*/dri/swrast_dri.so 2> /dev/null | head -1 || true)
rm -rf "$build/soak"
LD_PRELOAD=$mesa bash "$root/tools/soak-gui.sh" "${SOAK_SEED:-20261206}" "${SOAK_COUNT:-40}" \
  "$build/app/attnscope" "$build/soak"
if [[ $scope == all ]]; then
  "$build/tests/attnscope_tests" --gtest_brief=1
  LD_PRELOAD=$mesa "$build/tests/attnscope_gui_tests" --gtest_brief=1 --gtest_filter='GuiOffscreen.*'
fi
echo "sanitized ($scope): built in $((built - start)) s, tests ran in $(($(date +%s) - built)) s"

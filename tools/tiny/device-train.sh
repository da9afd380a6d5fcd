#!/usr/bin/env bash
# Builds train_tiny on the GPU machine against its PyTorch's LibTorch and runs it with the given options;
# the log and the checkpoint folder (as checkpoint.tar.* pieces) go to $OUT to come back.
#   tools/tiny/device-train.sh [train_tiny options]        e.g. --resume --minutes 8
# Carry .debs (tools/fetch-gpu-debs.sh; nlohmann-json and stb suffice) and, to resume, the checkpoint as
# DIR.tar.xz for --out DIR (tar cf - -C DIR . | xz > DIR.tar.xz): the folder itself (30 MB) and the
# tracked files together exceed what the device takes along.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT"
prefix=/tmp/attnscope-deps
mkdir -p "$prefix"
for deb in .debs/*.deb; do [ -f "$deb" ] && dpkg -x "$deb" "$prefix"; done
torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
start=$(date +%s)
# Our CUDA kernels are not needed for training: LibTorch's own kernels run it.
cmake -S . -B build-train -G Ninja -DCMAKE_BUILD_TYPE=Release -DATTNSCOPE_CUDA=OFF -DATTNSCOPE_TESTS=OFF \
  -DCMAKE_PREFIX_PATH="$torch_prefix;$prefix/usr" > /tmp/configure.log 2>&1 || { tail -30 /tmp/configure.log; exit 1; }
cmake --build build-train --target train_tiny -j "${JOBS:-16}" > /tmp/build.log 2>&1 ||
  { grep -E "error" -A3 /tmp/build.log | head -40; exit 1; }
echo "build: $(($(date +%s) - start)) s"

ckpt=.tiny-ckpt
args=("$@")
for ((i = 0; i < ${#args[@]}; ++i)); do [ "${args[$i]}" = "--out" ] && ckpt=${args[$((i + 1))]}; done
if [ ! -d "$ckpt" ] && [ -f "$ckpt.tar.xz" ]; then
  mkdir -p "$ckpt" && xz -dc "$ckpt.tar.xz" | tar xf - -C "$ckpt" || exit 1
fi
nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv,noheader -l 20 > /tmp/gpu.log 2>&1 &
monitor=$!
build-train/tools/tiny/train_tiny "${args[@]}" 2>&1 | tee "$OUT/train.log"
status=${PIPESTATUS[0]}
kill "$monitor" 2>/dev/null
echo "GPU memory used / utilization, every 20 s:"; tr '\n' ';' < /tmp/gpu.log; echo
# At most a few files, each under 16 MiB, come back from the device: the checkpoint folder as pieces of one
# tar (here: cat checkpoint.tar.* | tar xf - -C .tiny-ckpt).
[ -d "$ckpt" ] && tar cf - -C "$ckpt" . | split -b 15M - "$OUT/checkpoint.tar."
ls -la "$OUT"
exit "$status"

#!/usr/bin/env bash
# Builds train_tiny on the GPU machine against its PyTorch's LibTorch and runs it with the given options;
# each run's checkpoint folder, its log (train.log) inside, comes back to $OUT as NAME.tar.* pieces, NAME
# the folder's name without a leading dot (here: cat tiny-ckpt-r6.tar.* | tar xf - -C .tiny-ckpt-r6).
#   tools/tiny/device-train.sh [train_tiny options] [-- [train_tiny options] ...]
# Runs separated by "--" train at the same time and share the GPU: two runs of r13's recipe went at 52-63
# images/s each beside a build, where one of r12's alone went at 133-136 (an H100, 2026-12-07). So two runs
# buy a comparison on equal steps, not more steps. Give each its own --out. With several, Adam's moments stay
# behind (the device returns at most 64 MiB): continue such a run with --init-from, not --resume.
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

runs=() # each run's options, one string per run (train_tiny's options hold no spaces)
current=()
for a in "$@"; do
  if [ "$a" = "--" ]; then runs+=("${current[*]}") && current=(); else current+=("$a"); fi
done
runs+=("${current[*]}")
threads=$(($(nproc) / ${#runs[@]}))

nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv,noheader -l 20 > /tmp/gpu.log 2>&1 &
monitor=$!
pids=() ckpts=() names=() # names: the folders' without a leading dot, for the log and the pieces
for run in "${runs[@]}"; do
  read -ra args <<< "$run"
  ckpt=.tiny-ckpt
  for ((i = 0; i < ${#args[@]}; ++i)); do [ "${args[$i]}" = "--out" ] && ckpt=${args[$((i + 1))]}; done
  if [ ! -d "$ckpt" ] && [ -f "$ckpt.tar.xz" ]; then
    mkdir -p "$ckpt" && xz -dc "$ckpt.tar.xz" | tar xf - -C "$ckpt" || exit 1
  fi
  mkdir -p "$ckpt"
  name=$(basename "$ckpt")
  name=${name#.}
  # The run's own --threads, if any, comes later and wins.
  (build-train/tools/tiny/train_tiny --threads "$threads" "${args[@]}" 2>&1 | tee "$ckpt/train.log" |
    sed -u "s/^/[$name] /"; exit "${PIPESTATUS[0]}") &
  pids+=($!) ckpts+=("$ckpt") names+=("$name")
done
status=0
for ((r = 0; r < ${#pids[@]}; ++r)); do
  wait "${pids[$r]}" || { status=1; echo "[${names[$r]}] failed"; }
done
kill "$monitor" 2>/dev/null
echo "GPU memory used / utilization, every 20 s:"; tr '\n' ';' < /tmp/gpu.log; echo
# At most 8 files of 16 MiB each come back from the device, 64 MiB together.
skip=()
[ "${#ckpts[@]}" -gt 1 ] && skip=(--exclude='*adam_*')
for ((r = 0; r < ${#ckpts[@]}; ++r)); do
  tar cf - "${skip[@]}" -C "${ckpts[$r]}" . | split -b 15M - "$OUT/${names[$r]}.tar."
done
ls -la "$OUT"
exit "$status"

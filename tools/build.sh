#!/usr/bin/env bash
# Installs what is missing, then configures and builds attnscope into build/ (Release, Ninja), against the
# LibTorch that fits this machine. The LibTorch, in this order:
#   1. the one you name: LIBTORCH=/path/to/libtorch (the unpacked archive) or Torch_DIR=/path/to/cmake/Torch;
#   2. with an NVIDIA GPU, the installed PyTorch's when it is a CUDA build (python3 -c 'import torch');
#   3. Debian's libtorch-dev (CPU only), which tools/install-deps.sh installs.
# CUDA kernels are built for the local GPUs' compute capabilities plus PTX (nvidia-smi), or CUDA_ARCHS=...
# Arguments name targets to build (default: all).
# ATTNSCOPE_DEPS_PREFIX=DIR: the Debian packages are unpacked under DIR instead of installed (a machine
# without a package registry; tools/gpu-check.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
deps_prefix=${ATTNSCOPE_DEPS_PREFIX:-}
[ -n "$deps_prefix" ] || bash "$root/tools/install-deps.sh"

gpus=""
command -v nvidia-smi > /dev/null && gpus=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | sort -u || true)

# Prints "cmake-dir|version|cuda" of the installed PyTorch's LibTorch, or nothing.
python_torch() {
  command -v python3 > /dev/null || return 0
  python3 - 2>/dev/null <<'PY' || true
import os, torch
print("%s|%s|%s" % (os.path.join(torch.utils.cmake_prefix_path, "Torch"), torch.__version__, torch.version.cuda or ""))
PY
}

torch_dir="" why=""
if [ -n "${LIBTORCH:-}" ]; then
  torch_dir=$LIBTORCH/share/cmake/Torch why="LIBTORCH"
elif [ -n "${Torch_DIR:-}" ]; then
  torch_dir=$Torch_DIR why="Torch_DIR"
elif [ -n "$gpus" ]; then
  IFS='|' read -r dir version cuda <<< "$(python_torch)"
  if [ -n "${cuda:-}" ]; then
    torch_dir=$dir why="PyTorch $version's, CUDA $cuda, for the GPU"
  else
    why="a GPU is here, but no CUDA build of PyTorch was found (name one with LIBTORCH=...)"
  fi
else
  why="no NVIDIA GPU (nvidia-smi)"
fi
if [ -z "$torch_dir" ]; then
  torch_dir=/usr/lib/x86_64-linux-gnu/cmake/Torch
  why="Debian's, CPU only: $why"
fi
[ -f "$torch_dir/TorchConfig.cmake" ] || { echo "attnscope: no TorchConfig.cmake in $torch_dir ($why)" >&2; exit 1; }

# sm_90 gets 90a: the flash kernel's wgmma path needs the architecture-specific target.
archs=${CUDA_ARCHS:-} arch_why="CUDA_ARCHS"
if [ -z "$archs" ] && [ -n "$gpus" ]; then
  arch_why="the local GPU"
  for cc in $gpus; do
    n=${cc/./}
    [ "$n" = 90 ] && n=90a
    archs+="${archs:+;}$n-real"
  done
  newest=$(tr ' ' '\n' <<< "$gpus" | sort -V | tail -1)
  archs+=";${newest/./}-virtual"
fi
[ -n "$archs" ] || arch_why="no GPU here: Hopper and Ampere, PTX for newer" archs="90a-real;80-real;90-virtual"

prefix_path=""
[ -n "$deps_prefix" ] && prefix_path="$deps_prefix/usr"
echo "attnscope: LibTorch from $torch_dir ($why); CUDA architectures $archs ($arch_why)" >&2
# LibTorch's CMake files pick CUDA architectures of their own from this list.
TORCH_CUDA_ARCH_LIST=$(sed -E 's/([0-9])([0-9])a?-(real|virtual)/\1.\2/g; s/;/ /g' <<< "$archs" | tr ' ' '\n' |
  sort -u | paste -sd';')
export TORCH_CUDA_ARCH_LIST
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTorch_DIR="$torch_dir" \
  -DCMAKE_PREFIX_PATH="$prefix_path" -DCMAKE_CUDA_ARCHITECTURES="$archs" > "$root/build-configure.log" 2>&1 ||
  { cat "$root/build-configure.log"; exit 1; }
grep -E "^-- attnscope:" "$root/build-configure.log" | sed 's/^-- //' >&2
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$root/build" -j "$(nproc)" "${targets[@]}" >&2

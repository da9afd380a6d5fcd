#!/usr/bin/env bash
# Installs every Debian package attnscope needs to build, run and test (Debian bookworm).
# Safe to run again: apt-get skips what is already installed.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git
  libtorch-dev libopenblas0-pthread          # LibTorch 1.13 (CPU) and a fast BLAS for it
  nlohmann-json3-dev                         # safetensors headers and JSON summaries
  libcli11-dev                               # command-line options
  libgtest-dev googletest                    # tests
  libglfw3-dev libimgui-dev libstb-dev       # GUI: window, widgets, PNG
  libgl-dev libegl-dev libgl1-mesa-dri mesa-utils xvfb xauth   # OpenGL (Mesa llvmpipe) and a virtual display
  clang libclang-rt-14-dev clang-format      # libFuzzer target and formatting
)
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

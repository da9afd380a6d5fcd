#!/usr/bin/env bash
# Downloads the Debian packages the GPU machine lacks (it has no package registry) into .debs/, for
# tools/gpu-check.sh to unpack into a prefix of its own there (never into /). Headers, static libraries and
# plain C shared libraries, so Debian's builds work on Ubuntu.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .debs
cd .debs
apt-get download libgtest-dev googletest nlohmann-json3-dev libcli11-dev libstb-dev
# The visualizer (built and run offscreen there: EGL, no X server): GLFW, Dear ImGui, the GLVND OpenGL and EGL
# libraries with their headers, and the X client libraries libglfw links to.
apt-get download libglfw3 libglfw3-dev libimgui-dev libstb0 libglvnd0 libgl1 libgl-dev libglx0 libglx-dev \
  libopengl0 libopengl-dev libegl1 libegl-dev libx11-6 libxcb1 libxau6 libxdmcp6 libbsd0 libmd0

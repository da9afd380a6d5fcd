#!/usr/bin/env bash
# Downloads the Debian packages the GPU machine lacks (it has no package registry) into .debs/, for
# tools/gpu-check.sh to unpack there. Header-only / static packages, so Debian's builds work on Ubuntu.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .debs
cd .debs
apt-get download libgtest-dev googletest nlohmann-json3-dev libstb-dev

#!/usr/bin/env bash
# Installs what is missing, then configures and builds attnscope into build/ (Release, Ninja).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/tools/install-deps.sh"
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release > "$root/build-configure.log" 2>&1 ||
  { cat "$root/build-configure.log"; exit 1; }
cmake --build "$root/build" -j "$(nproc)" >&2

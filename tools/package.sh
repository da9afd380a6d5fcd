#!/usr/bin/env bash
# Builds attnscope and packs it as a Debian package (cpack -G DEB; tools/cmake/Packaging.cmake says what goes in):
# build/package/attnscope_<version>_amd64.deb, or attnscope-cuda_... when built against a CUDA LibTorch.
# Configures build/ (Release, Ninja) if it is not configured yet. Prints the package's path.
#   tools/package.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release > /dev/null
fi
# The package holds the program and its files only, so only the program is built (not the tests).
nice cmake --build "$build" --target attnscope -- -j"$(nproc)" >&2
out=$build/package
rm -f "$out"/*.deb
(cd "$build" && cpack -G DEB -B "$out" > "$out.log" 2>&1) || { cat "$out.log" >&2; exit 1; }
deb=$(ls "$out"/*.deb)
dpkg-deb --field "$deb" Package Version Depends >&2
echo "$deb"

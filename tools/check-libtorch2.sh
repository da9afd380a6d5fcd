#!/usr/bin/env bash
# Compiles every translation unit that uses LibTorch against LibTorch 2.x's headers (syntax only), so a
# spelling that exists in Debian bookworm's LibTorch 1.13 alone fails here and not first on a GPU machine.
# The headers are Debian trixie's libtorch-dev 2.6.0, downloaded once into .libtorch2/ (2.4 MB).
#   tools/check-libtorch2.sh [BUILD_DIR=build]
# Exit 0 when every unit compiles; 77 (skipped) when the build's own LibTorch is already 2.x or the headers
# cannot be fetched outside CI.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
cache=$root/.libtorch2
if grep -qE '^Torch_DIR:PATH=.*(site-packages|dist-packages|libtorch)' "$build/CMakeCache.txt"; then
  echo "check-libtorch2: this build already uses a LibTorch 2.x ($(grep ^Torch_DIR: "$build/CMakeCache.txt"))"
  exit 77
fi
version=2.6.0+dfsg-7
if [ ! -f "$cache/usr/include/ATen/ATen.h" ]; then
  mkdir -p "$cache/apt/lists/partial" "$cache/apt/cache/archives/partial"
  echo "deb http://deb.debian.org/debian trixie main" > "$cache/apt/sources.list"
  apt_opts=(-oDir::Etc::SourceList="$cache/apt/sources.list" -oDir::Etc::SourceParts=/dev/null
            -oDir::State::Lists="$cache/apt/lists" -oDir::Cache="$cache/apt/cache" -oAPT::Sandbox::User=root)
  if ! { apt-get "${apt_opts[@]}" update -q > "$cache/apt.log" 2>&1 &&
         (cd "$cache" && apt-get "${apt_opts[@]}" download "libtorch-dev=$version" >> "$cache/apt.log" 2>&1); }; then
    cat "$cache/apt.log"
    echo "check-libtorch2: could not download Debian trixie's libtorch-dev $version"
    [ "${CI:-}" = true ] && exit 1
    exit 77
  fi
  dpkg -x "$cache"/libtorch-dev_*.deb "$cache"
  rm -rf "$cache/apt" "$cache"/libtorch-dev_*.deb
fi
# The host's system headers without LibTorch 1.13's folders: links to everything else in /usr/include.
system=$cache/system-include
rm -rf "$system" && mkdir -p "$system"
for entry in /usr/include/*; do
  [ -e "$cache/usr/include/$(basename "$entry")" ] || ln -s "$entry" "$system/"
done
pch=$cache/pch
mkdir -p "$pch"
echo '#include <ATen/ATen.h>' > "$pch/ATen.h"
python3 "$root/tools/libtorch2_commands.py" "$build/compile_commands.json" "$cache/usr/include" "$system" "$pch" \
  > "$cache/commands.sh"
units=$(($(wc -l < "$cache/commands.sh") - 1))
echo "check-libtorch2: $units translation units against Debian trixie's LibTorch $version headers"
start=$(date +%s)
head -1 "$cache/commands.sh" | bash
failed=0
# One command a line, with its own shell quoting (string macros): xargs passes each line whole to bash.
tail -n +2 "$cache/commands.sh" | xargs -d '\n' -n 1 -P "$(nproc)" bash -c 'eval "$1" 2>&1 || { echo "FAILED: ${1##* }"; exit 1; }' _ ||
  failed=1
echo "check-libtorch2: done in $(($(date +%s) - start)) s"
exit $failed

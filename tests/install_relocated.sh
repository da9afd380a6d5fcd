#!/usr/bin/env bash
# `cmake --install` into a temporary prefix, the prefix moved elsewhere, and the moved program run from /: it
# names its own share/attnscope as where its bundled files are (ahead of $ATTNSCOPE_ASSETS) and generates an
# image with the embedded model from there. Also checks that the desktop entry, icons and docs are installed.
#   install_relocated.sh CMAKE BUILD_DIR
set -euo pipefail
cmake=$1 build=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$cmake" --install "$build" --prefix "$work/first" > /dev/null
mv "$work/first" "$work/moved"
prefix=$work/moved
for f in bin/attnscope share/attnscope/tiny-sd/model_index.json share/attnscope/clip-tokenizer/vocab.json \
  share/attnscope/colormaps/viridis.txt share/applications/attnscope.desktop \
  share/icons/hicolor/16x16/apps/attnscope.png share/icons/hicolor/256x256/apps/attnscope.png \
  share/icons/hicolor/scalable/apps/attnscope.svg share/doc/attnscope/README.md share/doc/attnscope/docs/gui.md; do
  [ -s "$prefix/$f" ] || fail "$f was not installed"
done

expected="bundled files: $prefix/share/attnscope (beside the program)"
for env in "--unset=ATTNSCOPE_ASSETS" "ATTNSCOPE_ASSETS=$build"; do
  info=$(cd / && env "$env" "$prefix/bin/attnscope" info)
  grep -qxF "$expected" <<<"$info" || fail "with $env, info says: $(grep 'bundled files' <<<"$info")"
done

(cd / && "$prefix/bin/attnscope" generate --prompt "a red circle" --steps 1 --out "$work/run" > "$work/log" 2>&1) ||
  fail "generate from the moved prefix failed: $(cat "$work/log")"
[ -s "$work/run/image.png" ] || fail "generate wrote no image.png"
echo "ok: installed, moved to $prefix, found its files there and generated an image"

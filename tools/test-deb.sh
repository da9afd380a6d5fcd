#!/usr/bin/env bash
# The Debian package on a clean machine: a fresh Debian bookworm (debootstrap, minbase) under /tmp, the .deb
# installed there with apt-get (which must fetch every dependency from the mirror), then, from /, a generation
# with the embedded model and a scripted visualizer run under Xvfb with a screenshot, and finally the package
# removed again. Slow (minutes, network): not part of CI. Run as root.
#   tools/test-deb.sh [PACKAGE.deb]     (default: the one tools/package.sh made in build/package)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
deb=${1:-$(ls -t "$root"/build/package/attnscope*_amd64.deb 2> /dev/null | head -n 1)}
[ -f "$deb" ] || { echo "no package: run tools/package.sh first, or name the .deb" >&2; exit 1; }
deb=$(realpath "$deb")
package=$(dpkg-deb --field "$deb" Package)
mirror=http://deb.debian.org/debian
start=$(date +%s)
say() { echo "[$(($(date +%s) - start)) s] $*"; }

command -v debootstrap > /dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap > /dev/null; }

target=$(mktemp -d /tmp/attnscope-deb-test.XXXXXX)
chmod 755 "$target" # a root file system: apt's _apt user must get through it
cleanup() {
  umount -R "$target/dev" 2> /dev/null || true
  umount "$target/proc" 2> /dev/null || true
  # Never delete through a mount that is still there (/dev is the host's): leave the folder instead.
  if findmnt -rn -o TARGET | grep -q "^$target/"; then
    echo "still mounted under $target: not deleting it" >&2
  else
    rm -rf --one-file-system "$target"
  fi
}
trap cleanup EXIT
in_target() { chroot "$target" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
  DEBIAN_FRONTEND=noninteractive /bin/sh -c "cd / && $1"; }

say "debootstrap bookworm (minbase) into $target"
debootstrap --variant=minbase bookworm "$target" "$mirror" > "$target.debootstrap.log" 2>&1 ||
  { tail -n 20 "$target.debootstrap.log"; exit 1; }
rm -f "$target.debootstrap.log"
mount -t proc proc "$target/proc"
mount --rbind /dev "$target/dev"
cp /etc/resolv.conf "$target/etc/resolv.conf"
cp "$deb" "$target/tmp/"

say "apt-get install ./$(basename "$deb") (dependencies from $mirror)"
in_target "apt-get update -qq && apt-get install -y -qq --no-install-recommends ./tmp/$(basename "$deb")" |
  tail -n 3
in_target "dpkg-query -W -f='\${Package} \${Version}: \${Installed-Size} KiB installed\n' $package"
for f in /usr/bin/attnscope /usr/share/attnscope/tiny-sd/model_index.json \
  /usr/share/applications/attnscope.desktop /usr/share/icons/hicolor/48x48/apps/attnscope.png; do
  [ -s "$target$f" ] || { echo "FAIL: $f is not installed" >&2; exit 1; }
done
in_target "attnscope --version && attnscope info | grep 'bundled files'"

say "attnscope generate with the embedded model"
in_target "attnscope generate --prompt 'a red circle left of a blue square on a black background' --steps 4 \
  --out /tmp/g" | tail -n 2
[ "$(head -c 8 "$target/tmp/g/image.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ] ||
  { echo "FAIL: generate wrote no PNG at /tmp/g/image.png" >&2; exit 1; }

say "attnscope gui under Xvfb, scripted"
in_target "apt-get install -y -qq --no-install-recommends xvfb xauth > /dev/null"
cat > "$target/tmp/gui.script" << 'EOF'
load /usr/share/attnscope/tiny-sd
prompt "a red circle left of a blue square on a black background"
steps 4
session
run
screenshot /tmp/gui.png
quit
EOF
in_target "xvfb-run -a -s '-screen 0 1280x800x24' attnscope gui --window 1280x800 --script /tmp/gui.script" |
  tail -n 2
shot=$target/tmp/gui.png
[ "$(head -c 8 "$shot" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ] ||
  { echo "FAIL: the scripted GUI run saved no PNG screenshot" >&2; exit 1; }
read -r width height < <(od -An -tu1 -j16 -N8 "$shot" | awk '{print $3*256+$4, $7*256+$8}')
[ "$width" -ge 640 ] && [ "$height" -ge 400 ] ||
  { echo "FAIL: screenshot is ${width}x${height}" >&2; exit 1; }
say "screenshot ${width}x${height}, $(stat -c %s "$shot") bytes"
if [ -n "${KEEP_SCREENSHOT:-}" ]; then cp "$shot" "$KEEP_SCREENSHOT"; fi

say "apt-get remove $package"
in_target "apt-get remove -y -qq $package > /dev/null"
[ ! -e "$target/usr/bin/attnscope" ] || { echo "FAIL: /usr/bin/attnscope is still there" >&2; exit 1; }
say "ok: $(basename "$deb") installs on a clean bookworm, generates, draws its window and uninstalls"

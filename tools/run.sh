#!/usr/bin/env bash
# The main job on a fresh machine: install, build, then run attnscope (arguments are passed on).
# With no arguments this is the headless run: one real SD v1.5-topology forward pass at 512x512 with
# classifier-free guidance, printing the live table of all 32 attention sites.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/tools/build.sh"
exec "$root/build/app/attnscope" "$@"

#!/usr/bin/env bash
# The visualizer's random walk: COUNT seeded random GUI actions on the embedded model (assets/tiny-sd, 3 steps,
# 32x32) run offscreen as one script, then the state checked (it still steps, a map still exports); and bad
# lines, each its own script, that must be refused before the window opens. A failure prints the seed and
# keeps the script, so `tools/soak-gui.sh SEED COUNT` replays it.
#   tools/soak-gui.sh [SEED=$RANDOM] [COUNT=1000] [ATTNSCOPE=build/app/attnscope] [WORK_DIR=mktemp]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seed=${1:-$RANDOM}
count=${2:-1000}
attnscope=${3:-$root/build/app/attnscope}
work=${4:-$(mktemp -d)}
mkdir -p "$work"
echo "soak-gui: seed $seed, $count actions, in $work"
RANDOM=$seed
total=3
pick() { # one of the arguments
  local a=("$@")
  echo "${a[RANDOM % ${#a[@]}]}"
}
fail() {
  echo "soak-gui: FAILED (seed $seed, $count actions): $1; the script is $work/walk.txt" >&2
  exit 1
}

# The worker's state as the script leaves it: steps run (0..total) and branches made; actions that must fail
# are followed by the expect-error they must give.
current=0
branches=0
{
  echo "load $root/assets/tiny-sd"
  echo "steps $total"
  echo "size 32x32"
  echo "seed $seed"
  echo "prompt \"a red cat on a blue sofa\""
  echo "edit token=red:scale=0"
  echo "session"
  for ((i = 0; i < count; i++)); do
    r=$((RANDOM % 100))
    if ((r < 12)); then
      if ((current < total)); then
        echo "step"
        current=$((current + 1))
      else
        echo "step"
        echo "expect-error \"every step has run\""
      fi
    elif ((r < 18)); then
      k=$((RANDOM % (total + 1) + 1))
      echo "rewind $k"
      if ((k - 1 <= current)); then current=$((k - 1)); else echo "expect-error \"cannot rewind to step\""; fi
    elif ((r < 24)); then
      if ((current > 0)); then echo "select-step $((RANDOM % current + 1))"; else echo "select-step latest"; fi
    elif ((r < 30)); then
      echo "select-token $(for ((t = RANDOM % 3; t >= 0; t--)); do echo -n "$((RANDOM % 77)) "; done)"
    elif ((r < 36)); then
      echo "select-index $((RANDOM % 16 + 1))"
    elif ((r < 42)); then
      echo "select-head $(pick 0 1 2 3 4 5 6 7 mean max)"
    elif ((r < 48)); then
      echo "click 0.$((RANDOM % 1000)) 0.$((RANDOM % 1000))"
    elif ((r < 52)); then
      echo "mode $(pick self cross)"
    elif ((r < 55)); then
      echo "aggregate $(pick on off)"
    elif ((r < 60)); then
      echo "quantity $(pick probability score entropy)"
    elif ((r < 64)); then
      echo "batch $(pick cond uncond diff)"
    elif ((r < 67)); then
      echo "colormap $(pick viridis magma jet gray)"
    elif ((r < 70)); then
      echo "opacity 0.$((RANDOM % 10))"
    elif ((r < 74)); then
      echo "normalize $(pick per-map global "fixed 0 0.5")"
    elif ((r < 80)); then
      echo "tab $(pick image guidance compare branches mass)"
    elif ((r < 88)); then
      if ((current > 0)); then echo "export-map $work/map.png"; else echo "wait-frames 1"; fi
    elif ((r < 89)); then
      # Comparisons and branches run the model for every step: rare, or they are the whole walk's time.
      echo "compare math $(pick as-a bf16) $(pick same-inputs free)"
    elif ((r < 90)); then
      echo "branch $((RANDOM % total + 1))"
      current=$total
      branches=$((branches + 1))
    elif ((r < 94)); then
      if ((branches > 0)); then echo "select-branch $(pick latest "$branches")"; else echo "select-branch latest"; fi
    elif ((r < 96)); then
      # A session from a picture at strength 1 (all the steps run, as from noise), then from noise again.
      echo "start-image $root/tests/data/img2img_init.png 1"
      echo "session"
      echo "start-image none"
      current=0
      branches=0
    else
      echo "wait-frames $((RANDOM % 3 + 1))"
    fi
  done
  # The end state: the session still runs, rewinds and steps, and a map still exports.
  echo "run"
  echo "rewind 1"
  echo "step"
  echo "select-step latest"
  echo "export-map $work/final.png"
  echo "quit"
} > "$work/walk.txt"

rm -f "$work/final.png"
start=$(date +%s)
"$attnscope" gui --offscreen --script "$work/walk.txt" > "$work/walk.log" 2>&1 ||
  { tail -20 "$work/walk.log" >&2; fail "the walk ended with an error"; }
[ -s "$work/final.png" ] || fail "the final export-map wrote nothing"
echo "soak-gui: $count actions ($(wc -l < "$work/walk.txt") lines) in $(($(date +%s) - start)) s"

# Bad values: each refused with the file and line, before any window or model.
for ((i = 0; i < 20; i++)); do
  line=$(pick "rewind -$RANDOM$RANDOM" "rewind 0" "seed 2$(printf '%05d' $RANDOM $RANDOM $RANDOM $RANDOM)" "seed -$RANDOM" \
    "steps 0" "steps -$RANDOM" "size $((RANDOM % 100))x" "size x$RANDOM" "select-head -$((RANDOM % 9 + 1))" \
    "select-token $((RANDOM + 77))" "select-index 0" "select-index -$RANDOM" "cfg nan" "opacity inf" \
    "click 0.5" "quit now" "frobnicate $RANDOM" "prompt \"unterminated")
  printf '%s\n' "$line" > "$work/bad.txt"
  if "$attnscope" gui --offscreen --script "$work/bad.txt" > "$work/bad.log" 2>&1; then
    fail "'$line' was accepted"
  fi
  grep -q "bad.txt:1" "$work/bad.log" || fail "'$line' was not refused with its line: $(cat "$work/bad.log")"
done
echo "soak-gui: passed (seed $seed)"

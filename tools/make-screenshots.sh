#!/usr/bin/env bash
# Regenerates the screenshots in docs/ (screenshot-{main,guidance,self-attention,heads,token-mass,int8,
# walkthrough,walkthrough-output,tour,compare,branch,reading,compare-lora}.png): the real visualizer, driven by a script
# (attnscope gui --script) under a virtual display,
# with the embedded tiny model. Needs xvfb-run and a built attnscope; on a 2-core CPU it takes several
# minutes (a 20-step run, a comparison of 20 steps, a branch).
#
#   tools/make-screenshots.sh [BUILD_DIR]      (default: build)
#   SHOTS_ARGS="--offscreen --device cuda" tools/make-screenshots.sh build-gpu   (no display; on the GPU)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" # the model path the panel shows is the repository's, not this machine's
build=${1:-build}
attnscope=$build/app/attnscope
[ -x "$attnscope" ] || { echo "make-screenshots: no $attnscope (build it first: tools/build.sh)" >&2; exit 1; }
read -r -a extra <<<"${SHOTS_ARGS:-}"
display=(xvfb-run -a -s "-screen 0 1600x1000x24")
[[ " ${SHOTS_ARGS:-} " == *" --offscreen "* ]] && display=()
if [ "${#display[@]}" -gt 0 ] && ! command -v xvfb-run >/dev/null; then
  echo "make-screenshots: xvfb-run is missing (apt-get install xvfb), or run offscreen: SHOTS_ARGS=--offscreen" >&2
  exit 1
fi

shots=$(mktemp -d)
trap 'rm -rf "$shots"' EXIT
# Token positions in this prompt: 2 "red", 3 "circle", 7 "blue", 8 "square"; the seed draws both objects
# where the caption says.
cat > "$shots/script.txt" <<SCRIPT
load assets/tiny-sd
prompt "a red circle left of a blue square on a black background"
steps 20
seed 2
session
run
# The cross-attention of "red", every site up-sampled and summed.
select-token 2
aggregate on
screenshot $shots/main.png
# The same map in the prompt's half, the (empty) negative prompt's, and their difference.
tab guidance
screenshot $shots/guidance.png
tab image
# Where a pixel on the red circle looks: self-attention at the finest sites' first index.
aggregate off
select-index 1
click 0.28 0.26
screenshot $shots/self-attention.png
# The heads of one up-path site for "blue": each head, the mean and the max; head 5 on the image.
select-token 7
select-index 12
select-head 5
screenshot $shots/heads.png
# Where every site's cross-attention goes at the last step, and index 12's over the steps.
tab mass
screenshot $shots/token-mass.png
# What int8 quantization does to index 12's cross-attention at the last step.
tab int8
screenshot $shots/int8.png
# The walk-through of the pixel on the red circle at index 12, head 5, cross-attention: the softmax taken
# apart over the prompt's tokens, then O as the tokens' contributions; and the U-Net tour with index 12.
tab walk
walk-stage softmax
screenshot $shots/walkthrough.png
walk-stage output
screenshot $shots/walkthrough-output.png
tab tour
screenshot $shots/tour.png
# Our int8 kernel against the session's flash (on the CPU: our CPU kernel, exact and quantized), same inputs:
# the divergence grids, P of "red" in both, the images.
select-head mean
select-token 2
compare int8
screenshot $shots/compare.png
# Remove "red" from cross-attention (renormalized) from step 1 on.
edit "token=red:scale=0:renorm"
branch 1
screenshot $shots/branch.png
# A picture the model did not draw (docs/example-picture.png, tools/make_example_picture.py), read at three
# noise levels with two draws each: where "circle" attends on it, every site summed, the six runs averaged.
edit clear
tab image
prompt "a red circle left of a blue square on a gray background"
read-image docs/example-picture.png 200,400,600
session
run
select-token 3
aggregate on
screenshot $shots/reading.png
# The model against itself with the circle-to-star LoRA made for it (assets/loras): P of "circle" in both.
start-image none
prompt "a red circle left of a blue square on a black background"
session
run
select-token 3
tab compare
compare-lora assets/loras/tiny-circle-to-star.safetensors 1
compare auto as-a free
screenshot $shots/compare-lora.png
quit
SCRIPT

"${display[@]}" "$attnscope" gui --window 1600x1000 --script "$shots/script.txt" "${extra[@]}"
for name in main guidance self-attention heads token-mass int8 walkthrough walkthrough-output tour compare branch \
    reading compare-lora; do
    cp "$shots/$name.png" "$root/docs/screenshot-$name.png"
    echo "docs/screenshot-$name.png: $(( $(stat -c %s "$shots/$name.png") / 1024 )) KiB"
done

#!/usr/bin/env bash
# Builds attnscope on the GPU machine as a user would (tools/build.sh), runs every test (CUDA
# ones included) and the benchmarks, in one call. Results go to $OUT (the device tool's folder) or ./out.
#   tools/gpu-check.sh            build + test + bench
#   REGEN_FIXTURES=1 tools/gpu-check.sh   also regenerate tests/data with diffusers (needs .ref/diffusers)
#   GPU_CHECK_ONLY=attention tools/gpu-check.sh   only the attention kernels' tests and benchmark (needs .debs)
#   GPU_CHECK_ONLY=capture tools/gpu-check.sh     only the capture tests and benchmark (SD v1.5 512, 50 steps),
#                                                 replayed as CUDA graphs and eagerly
#   GPU_CHECK_ONLY=auto tools/gpu-check.sh        the router's tests and the U-Net per backend beside auto
#   GPU_CHECK_ONLY=tests tools/gpu-check.sh       every test (no benchmark)
#   GPU_CHECK_ONLY=images tools/gpu-check.sh      pictures and LoRAs on CUDA: the VAE encoder, image-to-image,
#                                                 reading a picture, LoRA sweeps, model against model
#   GPU_CHECK_ONLY=sdxl tools/gpu-check.sh        SDXL's U-Net: its parity tests on CUDA, the live 140-site shape table
#                                                 at 1024x1024, and its forward time beside SDPA and diffusers
#   GPU_CHECK_ONLY=sdxl-views tools/gpu-check.sh  SDXL in the visualizer: screenshots of a full-size session (random
#                                                 weights, 1024x1024, offscreen), fp16 with the VAE in fp32, and
#                                                 every attention kernel's shapes, SDXL's rows included
#   GPU_CHECK_ONLY=speed tools/gpu-check.sh       a U-Net step as CUDA graphs and in channels-last: their tests, ours
#                                                 eager and replayed beside diffusers eager and compiled
#                                                 (SPEED_PRESETS, default "sd15 sd21"; COMPILE_MODES, default
#                                                 "eager reduce-overhead", "" for none; NCU=0 skips ours under
#                                                 Nsight Compute; PROFILE=0 skips diffusers'
#                                                 kernel profile; carry .ref/diffusers.tgz, unpack it into .ref);
#                                                 then our SD v1.5 step's kernels under Nsight Compute, if present
#   GPU_CHECK_ONLY=gui tools/gpu-check.sh         the visualizer offscreen on the GPU (EGL, CUDA-GL interop):
#                                                 GL and scripted tests, frame times while stepping, screenshots
# The full-size shape tables are CPU tests that CI runs; they are skipped here to save device time.
# It builds through tools/build.sh, as a user does (PyTorch's CUDA LibTorch, kernels for the local GPU), with
# the Debian packages that machine lacks unpacked into a prefix. Carry: .debs (GoogleTest, nlohmann-json, CLI11,
# stb, GLFW, Dear ImGui, GLVND: tools/fetch-gpu-debs.sh) and, to regenerate fixtures, .ref/diffusers (a
# diffusers source tree, never committed).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT"
status=0
step() { echo; echo "=== $*"; }
# The tests matching a GoogleTest filter, into $OUT/NAME.txt; shows what did not simply pass.
run_tests() {
  build/tests/attnscope_tests --gtest_filter="$2" > "$OUT/$1.txt" 2>&1 || status=1
  grep -vE "^\[ +(RUN|OK) +\]" "$OUT/$1.txt" | tail -60
}

prefix=/tmp/attnscope-deps
mkdir -p "$prefix"
for deb in .debs/*.deb; do [ -f "$deb" ] && dpkg -x "$deb" "$prefix"; done
# The unpacked shared libraries (GLFW, GLVND's OpenGL and EGL, X client libraries) for the linker and at run
# time; NVIDIA's EGL driver is found through its vendor file.
export ATTNSCOPE_DEPS_PREFIX=$prefix
export LD_LIBRARY_PATH="$prefix/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
for vendor in /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json /usr/share/glvnd/egl_vendor.d/10_nvidia.json; do
  [ -f "$vendor" ] && { export __EGL_VENDOR_LIBRARY_FILENAMES=$vendor; break; }
done
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/machine.txt"
python3 -c 'import torch; print("torch", torch.__version__)' | tee -a "$OUT/machine.txt"

# Reference fixtures from the public implementations (diffusers, transformers), made where they run.
regen=${REGEN_FIXTURES:-0}
made=()
mkdir -p tests/data
if [ -d .ref/diffusers/src ] && { [ "$regen" = 1 ] || [ ! -f tests/data/unet_v1_small_io.safetensors ]; }; then
  step "U-Net fixtures (diffusers)"
  PYTHONPATH=.ref/diffusers/src python3 tools/make_unet_fixtures.py tests/data .ref/diffusers/scripts || status=1
  made+=(tests/data/unet_*)
fi
if [ -f tools/make_vae_fixtures.py ] && [ -d .ref/diffusers/src ] &&
   { [ "$regen" = 1 ] || [ ! -f tests/data/vae_small_io.safetensors ]; }; then
  step "VAE and TAESD fixtures (diffusers)"
  PYTHONPATH=.ref/diffusers/src python3 tools/make_vae_fixtures.py tests/data .ref/diffusers/scripts || status=1
  made+=(tests/data/vae_* tests/data/taesd_*)
fi
if [ -f tools/make_scheduler_fixtures.py ] && [ -d .ref/diffusers/src ] &&
   { [ "$regen" = 1 ] || [ ! -f tests/data/scheduler_reference.safetensors ]; }; then
  step "scheduler fixtures (diffusers)"
  PYTHONPATH=.ref/diffusers/src python3 tools/make_scheduler_fixtures.py tests/data || status=1
  made+=(tests/data/scheduler_reference.safetensors)
fi
if [ -f tools/make_tokenizer_fixtures.py ] && [ -d assets/clip-tokenizer ] &&
   { [ "$regen" = 1 ] || [ ! -f tests/data/tokenizer_reference.json ]; }; then
  step "tokenizer fixtures (transformers)"
  python3 tools/make_tokenizer_fixtures.py assets/clip-tokenizer || status=1
  made+=(tests/data/tokenizer_reference.json)
fi
if [ -f tools/make_pipeline_fixtures.py ] && [ -d .ref/diffusers/src ] && [ -d assets/clip-tokenizer ] &&
   { [ "$regen" = 1 ] || [ ! -f tests/data/pipeline_reference.safetensors ]; }; then
  step "pipeline fixtures (diffusers)"
  PYTHONPATH=.ref/diffusers/src python3 tools/make_pipeline_fixtures.py tests/data .ref/diffusers/scripts \
    assets/clip-tokenizer || status=1
  made+=(tests/data/pipeline_*)
fi
if [ -f tools/make_img2img_fixtures.py ] && [ -d .ref/diffusers/src ] &&
   { [ "$regen" = 1 ] || [ ! -f tests/data/img2img_reference.safetensors ]; }; then
  step "VAE encoder and image-to-image fixtures (diffusers)"
  PYTHONPATH=.ref/diffusers/src python3 tools/make_img2img_fixtures.py tests/data assets/clip-tokenizer || status=1
  made+=(tests/data/img2img_*)
fi
[ "${#made[@]}" -gt 0 ] && tar czf - "${made[@]}" | split -b 15M - "$OUT/fixtures.tgz."

# What comparing and editing cost: wall time of each whole command and the GPU's peak memory, against a plain
# generation of the same run.
cost_runs() {
  step "what comparing and editing cost: SD v1.5 topology (random weights), 512x512, 20 steps, CFG, fp16"
  common=(--preset sd15 --device cuda --size 512x512 --steps 20 --prompt "a red circle left of a blue square")
  for job in "generate --dtype f16" "compare --a flash:f16 --b int8:f16 --mode same-inputs" \
             "compare --a flash:f16 --b int8:f16 --mode free" "edit --dtype f16 --edit token=red:scale=0@steps=0-19" \
             "generate --dtype f16 --capture /tmp/c.safetensors"; do
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 > /tmp/mem.log 2>&1 &
    monitor=$!
    rm -rf /tmp/job
    start=$(date +%s.%N)
    # shellcheck disable=SC2086
    build/app/attnscope $job "${common[@]}" --out /tmp/job > /tmp/job.log 2>&1 || { status=1; tail -3 /tmp/job.log; }
    end=$(date +%s.%N)
    kill "$monitor" 2>/dev/null
    # The median step: a plain one (generate), a compared one (both runs and the errors), an edited one.
    per_step=$(python3 -c 'import json,os,statistics as st
d="/tmp/job"
if os.path.exists(d+"/compare.json"): print("compared step %.1f ms" % json.load(open(d+"/compare.json"))["step_ms_median"])
elif os.path.exists(d+"/edit.json"):
    t=json.load(open(d+"/edit.json"))["step_ms"]; print("step %.1f ms, edited %.1f ms" % (st.median(t["original"]), st.median(t["edited"])))
else: print("step %.1f ms" % st.median(s["step_ms"] for s in json.load(open(d+"/summary.json"))["steps"]))' 2>&1)
    printf '%-52s %6.2f s wall, peak GPU memory %s MiB, %s\n' "$job" "$(python3 -c "print($end - $start)")" \
      "$(sort -n /tmp/mem.log | tail -1)" "$per_step" | tee -a "$OUT/bench_compare.txt"
  done
}

step "configure + build (tools/build.sh)"
only=${GPU_CHECK_ONLY:-}
targets=()
[ "$only" = attention ] && targets=(attnscope_tests bench_attention)
[ "$only" = capture ] && targets=(attnscope attnscope_tests bench_capture)
[ "$only" = gui ] && targets=(attnscope attnscope_gl_tests attnscope_gui_tests)
[ "$only" = auto ] && targets=(attnscope attnscope_tests bench_unet)
[ "$only" = images ] && targets=(attnscope attnscope_tests)
[ "$only" = sdxl ] && targets=(attnscope attnscope_tests bench_unet)
[ "$only" = sdxl-views ] && targets=(attnscope attnscope_tests bench_attention)
[ "$only" = speed ] && targets=(attnscope attnscope_tests bench_unet bench_capture)
bash tools/build.sh "${targets[@]}" > "$OUT/build.log" 2>&1 || { grep -E "error|Error" "$OUT/build.log" | head -40; exit 1; }
grep -E "^attnscope:" "$OUT/build.log"
grep -c "warning" "$OUT/build.log" | sed 's/^/build warnings: /'
if [ "$only" = attention ]; then
  step "attention kernel tests"
  run_tests attention_tests '*Flash*:*Probe*:*Int8*:*AttentionLse*:AttentionRouter*:AttentionMath*:CpuAttention*'
  step "attention benchmark"
  build/bench/bench_attention --iters 30 2>&1 | tee "$OUT/bench_attention.txt" || status=1
  exit $status
fi

if [ "$only" = auto ]; then
  step "auto: the router's GPU tests, then the U-Net per backend with auto beside them (timings measured afresh)"
  run_tests router_tests '*Router*:*BackendTimings*:FlashAttention.*'
  export ATTNSCOPE_CACHE=/tmp/attnscope-cache
  rm -rf "$ATTNSCOPE_CACHE"
  build/bench/bench_unet --preset sd15 --size 512x512 --batch 2 --dtype f16 --iters 50 \
    --backends flash,sdpa,auto,flash,sdpa,auto 2>&1 | tee "$OUT/bench_auto.txt"
  build/bench/bench_unet --preset sd21 --size 768x768 --batch 2 --dtype f16 --iters 30 \
    --backends flash,sdpa,auto,flash,sdpa,auto 2>&1 | tee -a "$OUT/bench_auto.txt"
  cp "$ATTNSCOPE_CACHE/backend-timings.json" "$OUT/" || status=1
  exit $status
fi

if [ "$only" = images ]; then
  step "pictures and LoRAs: their tests (the CUDA ones included)"
  run_tests image_tests 'VaeEncoder*:VaeParity*:FitImage*:ImageFile*:ImageStart*:*ImageToImage*:*Lora*:CliImageMaps*:CliLoraSweep*:CliCompare.AModel*:CliGenerate.StartsFrom*'
  step "the commands on CUDA, timed"
  cli=build/app/attnscope
  caption="a red circle left of a blue square on a gray background"
  timed() {
    local name=$1 start=$(date +%s.%N); shift
    "$cli" "$@" --device cuda > "$OUT/$name.log" 2>&1 || { status=1; tail -3 "$OUT/$name.log"; }
    printf '%s: %.1f s wall: %s\n' "$name" "$(python3 -c "print($(date +%s.%N) - $start)")" "$(tail -1 "$OUT/$name.log")" |
      tee -a "$OUT/images.txt"
  }
  timed img2img_small generate --model tests/data/pipeline_v1_small --init-image tests/data/img2img_init.png \
    --strength 0.6 --size 64x48 --steps 5 --prompt "$caption" --out "$OUT/img2img_small"
  timed img2img_sd15 generate --preset sd15 --init-image tests/data/img2img_init.png --strength 0.6 \
    --size 512x512 --steps 20 --prompt "$caption" --out "$OUT/img2img_sd15"
  timed reading_sd15 image-maps --preset sd15 --image tests/data/img2img_init.png --size 512x512 \
    --prompt "$caption" --out "$OUT/reading_sd15"
  timed reading_tiny image-maps --image tests/data/img2img_init.png --prompt "$caption" --out "$OUT/reading_tiny"
  timed sweep_tiny lora-sweep --sweep assets/loras/tiny-circle-to-star.safetensors --token circle --seed 3 \
    --scales 5 --prompt "$caption" --out "$OUT/sweep_tiny"
  timed compare_lora_tiny compare --b-lora assets/loras/tiny-circle-to-star.safetensors --mode free --seed 3 \
    --prompt "$caption" --map token=circle --out "$OUT/compare_lora_tiny"
  exit $status
fi

if [ "$only" = sdxl ]; then
  step "SDXL: the parity tests (the CUDA ones included) and its numbering"
  run_tests sdxl_tests '*UNetParity*:UNetLayout*:UNetConfig*:*UNetLoader*:*Sdxl*:CliUnet*'
  step "SDXL: a 1024x1024 generation with capture (random weights, fp16, 10 steps), then a token's maps"
  start=$(date +%s.%N)
  build/app/attnscope generate --preset sdxl --device cuda --dtype f16 --steps 10 --prompt "a red circle left of a blue square" \
    --capture /tmp/sdxl.safetensors --out "$OUT/sdxl_generate" > "$OUT/sdxl_generate.log" 2>&1 || status=1
  printf 'generate: %.1f s wall: %s\n' "$(python3 -c "print($(date +%s.%N) - $start)")" "$(tail -1 "$OUT/sdxl_generate.log")"
  build/app/attnscope maps --capture /tmp/sdxl.safetensors --token circle --grid indices --out "$OUT/sdxl_maps" \
    > "$OUT/sdxl_maps.log" 2>&1 || status=1
  tail -1 "$OUT/sdxl_maps.log"
  step "SDXL: the live shape table at 1024x1024 with CFG (random weights, fp16)"
  build/app/attnscope shapes --preset sdxl --device cuda --dtype f16 > "$OUT/shapes_sdxl.txt" 2>&1 || status=1
  tail -5 "$OUT/shapes_sdxl.txt"
  step "SDXL: U-Net forward, 1024x1024, batch 2, fp16, per backend, beside diffusers"
  build/bench/bench_unet --preset sdxl --size 1024x1024 --batch 2 --dtype f16 --iters 20 \
    --backends flash,sdpa,auto,flash,sdpa,auto 2>&1 | tee "$OUT/bench_sdxl.txt" || status=1
  if [ -d .ref/diffusers/src ]; then
    PYTHONPATH=.ref/diffusers/src python3 tools/bench_diffusers_unet.py 20 sdxl 2>&1 | tail -1 | tee -a "$OUT/bench_sdxl.txt"
  fi
  exit $status
fi

if [ "$only" = sdxl-views ]; then
  step "SDXL in the visualizer: full topology, random weights, 1024x1024, fp16, offscreen on CUDA"
  shots=$OUT/sdxl-views
  mkdir -p "$shots"
  # Token 3 is "circle"; index 40 is in the up path at 32x32, 20 heads; index 1 the first self-attention
  # at 64x64.
  cat > /tmp/sdxl-views.txt <<SCRIPT
load preset:sdxl
prompt "a red circle left of a blue square on a black background"
size 1024x1024
steps 8
seed 2
frame-rate 60
session
frame-stats /tmp/ignored.json
run
frame-stats $shots/frames-sdxl-run.json
decode-full
select-token 3
select-index 40
screenshot $shots/sdxl-blocks.png
blocks sum
screenshot $shots/sdxl-transformers.png
blocks each
select-index 1
mode self
click 0.3 0.3
screenshot $shots/sdxl-self.png
mode cross
select-index 40
tab mass
screenshot $shots/sdxl-token-mass.png
tab image
compare int8
screenshot $shots/sdxl-compare.png
quit
SCRIPT
  start=$(date +%s.%N)
  build/app/attnscope gui --offscreen --device cuda --dtype f16 --window 1920x1080 --script /tmp/sdxl-views.txt \
    > "$shots/log.txt" 2>&1 || { status=1; tail -5 "$shots/log.txt"; }
  printf 'visualizer script: %.1f s wall\n' "$(python3 -c "print($(date +%s.%N) - $start)")"
  tar czf "$OUT/sdxl-views.tgz" -C "$shots" . && rm -rf "$shots"
  step "SDXL's fp16 VAE upcast and the SDXL tests on CUDA"
  run_tests sdxl_tests 'LoadPipeline.*:*Sdxl*:VaeParity*:*UNetParity*xl*'
  step "attention benchmark: SD v1 512, SD v2 768 and SDXL 1024 shapes"
  build/bench/bench_attention --iters 30 2>&1 | tee "$OUT/bench_attention.txt" || status=1
  exit $status
fi

if [ "$only" = speed ]; then
  step "CUDA graphs and channels-last: their tests, the router's and the sessions' on CUDA"
  run_tests graph_tests '*FlashAttention*:*AttentionProbe*:*UNetGraph*:*CallTape*:*FusedGroupNorm*:*FusedGeglu*:*UNetParity*:*Router*:*SessionParity*:*Capture*:*Lockstep*:CliGenerate.*'
  step "a U-Net step, fp16, batch 2: ours eager, replayed as a CUDA graph, in channels-last, beside diffusers"
  [ -d .ref/diffusers/src ] || echo "no .ref/diffusers: diffusers is not timed (carry .ref/diffusers.tgz)"
  for preset in ${SPEED_PRESETS:-sd15 sd21}; do
    size=512x512
    [ "$preset" = sd21 ] && size=768x768
    [ "$preset" = sdxl ] && size=1024x1024
    bench=(build/bench/bench_unet --preset "$preset" --size "$size" --batch 2 --dtype f16 --iters 30)
    "${bench[@]}" --backends auto,auto+graph 2>&1 | tee -a "$OUT/bench_speed.txt" || status=1
    "${bench[@]}" --channels-last 1 --backends auto,auto+graph,sdpa+graph,flash+graph 2>&1 |
      sed 's/backend /channels-last backend /' | tee -a "$OUT/bench_speed.txt" || status=1
    [ -d .ref/diffusers/src ] || continue
    for mode in ${COMPILE_MODES-eager reduce-overhead}; do
      PYTHONPATH=.ref/diffusers/src timeout 240 python3 tools/bench_diffusers_unet.py 30 "$preset" "$mode" \
        > "/tmp/diffusers-$preset-$mode.log" 2>&1 || { status=1; tail -3 "/tmp/diffusers-$preset-$mode.log"; }
      tail -1 "/tmp/diffusers-$preset-$mode.log" | tee -a "$OUT/bench_speed.txt"
    done
  done
  if [ -d .ref/diffusers/src ] && [ "${PROFILE:-1}" = 1 ]; then
    step "where diffusers' SD v1.5 step spends the GPU's time, by kernel"
    PYTHONPATH=.ref/diffusers/src timeout 120 python3 tools/bench_diffusers_unet.py 10 sd15 profile \
      > "$OUT/profile_sd15.txt" 2>&1 || status=1
    grep -E "GPU time per forward" "$OUT/profile_sd15.txt"
  fi
  ncu=$(command -v ncu || ls /usr/local/cuda/bin/ncu 2>/dev/null)
  if [ -n "$ncu" ] && [ "${NCU:-1}" = 1 ]; then
    step "where our SD v1.5 step (channels-last, auto) spends the GPU's time, by kernel (Nsight Compute)"
    timeout 240 "$ncu" --profile-from-start off --metrics gpu__time_duration.sum --csv --print-units base \
      build/bench/bench_unet --preset sd15 --size 512x512 --batch 2 --dtype f16 --iters 3 --channels-last 1 \
      --backends auto --profile 1 > /tmp/ncu_sd15.csv 2> /tmp/ncu_sd15.log || { status=1; tail -5 /tmp/ncu_sd15.log; }
    python3 tools/ncu_summary.py /tmp/ncu_sd15.csv 30 | tee "$OUT/profile_ours_sd15.txt" || status=1
  fi
  step "capture's cost: SD v1.5 512x512, 30 steps, CFG, fp16 (both replay their steps)"
  build/bench/bench_capture --preset sd15 --steps 30 --modes off,all 2>&1 | tee "$OUT/bench_capture.txt" || status=1
  exit $status
fi

if [ "$only" = capture ]; then
  step "capture tests"
  run_tests capture_tests '*Capture*:*AttentionMap*:*Lockstep*:*Branch*:*UNetGraph*:*CallTape*:CliGenerate.*'
  step "capture benchmark: SD v1.5 topology (random weights), 512x512, 50 steps, CFG, fp16"
  build/bench/bench_capture --preset sd15 --steps 50 2>&1 | tee "$OUT/bench_capture.txt" || status=1
  step "the store's copies on their own (the device waited for around them)"
  build/bench/bench_capture --preset sd15 --steps 30 --modes all --reps 3 --sync-store 1 2>&1 | grep "capture all" |
    tee -a "$OUT/bench_capture.txt" || status=1
  step "the same, every step eager (ATTNSCOPE_CUDA_GRAPHS=0)"
  ATTNSCOPE_CUDA_GRAPHS=0 build/bench/bench_capture --preset sd15 --steps 50 --modes off,all 2>&1 |
    tee -a "$OUT/bench_capture.txt" || status=1
  exit $status
fi

if [ "$only" = gui ]; then
  grep -E "attnscope: (GUI|CUDA)" build-configure.log
  step "GL tests (EGL): textures, shader, CUDA-GL interop against host upload"
  build/tests/attnscope_gl_tests > "$OUT/gl_tests.txt" 2>&1 || status=1
  grep -E "^\[  (PASSED|FAILED|SKIPPED) |Skipped|no CUDA-GL|Failure" "$OUT/gl_tests.txt" | head -20
  step "the scripted GUI tests, offscreen, on CUDA (small test model, f32)"
  ATTNSCOPE_GUI_TEST_ARGS="--offscreen --device cuda" build/tests/attnscope_gui_tests > "$OUT/gui_tests.txt" 2>&1 ||
    status=1
  grep -E "^\[  (PASSED|FAILED) |Failure|Expected|Which is" "$OUT/gui_tests.txt" | head -30
  step "frame times while stepping: tiny model and SD v1.5's topology (random weights) at 512x512, fp16"
  # run: 20 steps, maps refreshed at the end; play: the clicked pixel's self-attention map after every step.
  shots=$OUT/gui
  mkdir -p "$shots"
  # Frames are asked for at 60 per second, as the interactive program draws them while the model runs.
  for model in assets/tiny-sd preset:sd15; do
    name=${model#preset:}
    name=${name#assets/}
    size=0x0
    [ "$name" = sd15 ] && size=512x512
    cat > "/tmp/frames-$name.txt" <<SCRIPT
load $model
prompt "a red circle left of a blue square on a black background"
size $size
steps 20
seed 2
frame-rate 60
session
frame-stats /tmp/ignored.json
run
frame-stats $shots/frames-$name-run.json
select-token 2
aggregate on
screenshot $shots/$name-cross.png
select-index 1
aggregate off
click 0.3 0.3
screenshot $shots/$name-self.png
rewind 1
frame-stats /tmp/ignored.json
play
frame-stats $shots/frames-$name-play-self-map.json
quit
SCRIPT
    build/app/attnscope gui --offscreen --device cuda --dtype f16 --window 1600x1000 --script "/tmp/frames-$name.txt" \
      > "$shots/log-$name.txt" 2>&1 || { status=1; tail -5 "$shots/log-$name.txt"; }
    for f in "$shots"/frames-"$name"-*.json; do
      [ -f "$f" ] && python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); w=j["work_ms"] or {}; i=j["interval_ms"] or {}; s=sorted(j["step_ms"])
c=j["cpu_ms"] or {}
print("%-34s %s | %s | %d frames: work median %.2f p95 %.2f max %.2f ms (CPU median %.2f p95 %.2f), interval median %.2f ms | %d steps, median %.1f ms"
      % (sys.argv[1].split("/")[-1], j["device"], j["maps"], j["frames"], w.get("median", 0), w.get("p95", 0),
         w.get("max", 0), c.get("median", 0), c.get("p95", 0), i.get("median", 0), j["steps"], s[len(s)//2] if s else 0))' "$f" | tee -a "$OUT/bench_gui.txt"
    done
  done
  step "screenshots for docs/ (tiny model, offscreen, CUDA)"
  SHOTS_ARGS="--offscreen --device cuda" bash tools/make-screenshots.sh build > "$OUT/shots.txt" 2>&1 || status=1
  tail -6 "$OUT/shots.txt"
  # At most 8 files come back: the screenshots and the runs' files in two archives.
  tar czf "$OUT/docs-screenshots.tgz" docs/screenshot-*.png
  tar czf "$OUT/gui-runs.tgz" -C "$shots" . && rm -rf "$shots"
  cost_runs
  exit $status
fi

step "tests"
# Two OpenMP threads per test: eight tests at once on 16 cores would otherwise oversubscribe.
OMP_NUM_THREADS=2 ctest --test-dir build --output-on-failure -j 8 -E "fuzz|ShapeTables" > "$OUT/ctest.log" 2>&1 || status=1
grep -E "tests passed|tests failed|\*\*\*Failed|Skipped" "$OUT/ctest.log" | head -60
build/tests/attnscope_tests --gtest_filter='*UNetParity*:CliUnetCuda*' 2>&1 | grep -E "rel L2|OK|FAILED" | head -20
first_failed=$(grep -m1 -oE "Test +#[0-9]+: [^ ]+ \.+\*\*\*Failed" "$OUT/ctest.log" | sed -E 's/Test +#[0-9]+: ([^ ]+) .*/\1/')
if [ -n "$first_failed" ] && command -v cuda-gdb >/dev/null; then
  step "backtrace of $first_failed"
  cuda-gdb -batch -ex run -ex bt --args build/tests/attnscope_tests --gtest_filter="$first_failed" 2>&1 | tail -25
fi

[ "$only" = tests ] && exit $status

cost_runs
step "benchmarks"
build/app/attnscope info >> "$OUT/machine.txt" 2>&1 || status=1
# Each backend twice, interleaved: the GPU is shared and single runs vary.
build/bench/bench_unet --preset sd15 --size 512x512 --batch 2 --dtype f16 --iters 50 --backends sdpa,math,sdpa,math 2>&1 | tee "$OUT/bench.txt"
build/bench/bench_unet --preset sd21 --size 768x768 --batch 2 --dtype f16 --backends sdpa 2>&1 | tee -a "$OUT/bench.txt"
build/bench/bench_attention --iters 30 2>&1 | tee "$OUT/bench_attention.txt" || status=1
if [ -d .ref/diffusers/src ]; then
  PYTHONPATH=.ref/diffusers/src python3 tools/bench_diffusers_unet.py 2>&1 | tail -1 | tee -a "$OUT/bench.txt"
fi
build/app/attnscope shapes --preset sd15 --device cuda --dtype f16 > "$OUT/shapes_cuda.txt" 2>&1 || status=1
build/app/attnscope shapes --preset sd21 --device cuda --dtype f16 >> "$OUT/shapes_cuda.txt" 2>&1 || status=1

step "generation: SD v1.5 topology (random weights), 512x512, 20 steps, CFG, fp16 (capture: auto backend + capture on)"
for backend in flash sdpa math capture; do
  extra=(--backend "$backend")
  [ "$backend" = capture ] && extra=(--capture /tmp/capture.safetensors)
  build/app/attnscope generate --preset sd15 --device cuda --dtype f16 --size 512x512 --steps 20 \
    --scheduler euler_a "${extra[@]}" --prompt "a red circle left of a blue square" --previews \
    --out "/tmp/generate-$backend" > /dev/null 2>&1 || status=1
  python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); u=sorted(x["unet_ms"] for x in s["steps"])
print("generate %-5s U-Net per step: median %.2f ms (%.1f it/s), min %.2f, first %.2f; 20 steps %.0f ms"
      % (sys.argv[2], s["unet_ms_median"], 1000 / s["unet_ms_median"], u[0], s["steps"][0]["unet_ms"],
         s["denoising_ms"]) + ("; capture %.0f MiB, %d evictions" % (s["capture"]["bytes"] / 2**20,
         len(s["capture"]["evictions"])) if "capture" in s else ""))' "/tmp/generate-$backend/summary.json" \
    "$backend" | tee -a "$OUT/bench.txt"
done
exit $status

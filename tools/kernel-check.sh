#!/usr/bin/env bash
# The flash kernel alone on the GPU machine, in about a minute: builds bench/bench_flash_kernel with nvcc
# (no LibTorch, no CMake), prints the SASS instruction mix of the sm_90a kernels, times the large seed
# shapes against LibTorch's SDPA in the same run and, with PROFILE=1, profiles index 1 with Nsight Compute.
# Everything goes to $OUT (the device tool's folder) or ./out.
#   tools/kernel-check.sh                     this tree's kernels
#   KERNEL_SRC=DIR tools/kernel-check.sh      also a second build whose flash_attention_sm90.cu (and any
#                                             header beside it) comes from DIR, timed beside this one
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/out}
mkdir -p "$OUT" build-kernel
nvidia-smi --query-gpu=name,clocks.max.sm,driver_version --format=csv,noheader | tee "$OUT/machine.txt"
# One binary per variant: "this" from kernels/, "other" with KERNEL_SRC's sm_90a file first on the path.
build() {
  local name=$1 sm90=$2 include=$3
  nvcc -std=c++17 -O3 -gencode arch=compute_90a,code=sm_90a -Xcompiler=-Wall,-Wextra -I "$include" -I kernels -Xptxas -v \
    bench/bench_flash_kernel.cu kernels/flash_attention.cu "$sm90" kernels/attention_args.cpp kernels/gpu_info.cu \
    -o "build-kernel/$name" > "$OUT/ptxas-$name.txt" 2>&1 || { tail -30 "$OUT/ptxas-$name.txt"; exit 1; }
  grep -c C7515 "$OUT/ptxas-$name.txt" | sed "s/^/$name: wgmma serialization warnings: /"
  # Instruction mix of the fp16 d 40 wgmma kernel (index 1): how the softmax's work is spent.
  cuobjdump -sass "build-kernel/$name" > "$OUT/sass-$name.txt" 2>/dev/null
  awk '/Function :/ { f = ($3 ~ /flash_sm90_kernelI6__halfLi40/) } f' "$OUT/sass-$name.txt" |
    grep -oE '^\s+/\*[0-9a-f]+\*/\s+(@!?U?P[0-9T] )?[A-Z0-9_.]+' | awk '{ print $NF }' | sed 's/\..*//' |
    sort | uniq -c | sort -rn | head -20 | tr '\n' ' ' | sed "s/^/$name sass (f16 d40): /"
  echo
}
build this kernels/flash_attention_sm90.cu kernels
variants=(this)
if [ -n "${KERNEL_SRC:-}" ]; then
  build other "$KERNEL_SRC/flash_attention_sm90.cu" "$KERNEL_SRC"
  variants+=(other)
fi

shapes=("16 4096 4096 40" "16 1024 1024 80" "10 9216 9216 64" "20 2304 2304 64")
for dtype in f16 bf16; do
  for shape in "${shapes[@]}"; do
    for v in "${variants[@]}"; do
      echo -n "$v: "
      ATTNSCOPE_FLASH_SM90=force "build-kernel/$v" $shape $dtype 50 || exit 1
    done
    # LibTorch's fused SDPA on the same shape, timed the same way (batch 2 x heads folded into one axis).
    python3 - $shape $dtype <<'EOF'
import sys, torch
bh, sq, sk, d = map(int, sys.argv[1:5]); dt = torch.float16 if sys.argv[5] == "f16" else torch.bfloat16
sets = [[torch.randn(2, bh // 2, n, d, device="cuda", dtype=dt) for n in (sq, sk, sk)] for _ in range(4)]
f = torch.nn.functional.scaled_dot_product_attention
for i in range(5): f(*sets[i % 4])
ev = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(50)]
for i, (a, b) in enumerate(ev):
    a.record(); f(*sets[i % 4]); b.record()
torch.cuda.synchronize()
ms = sorted(a.elapsed_time(b) for a, b in ev)[25]
print(f"sdpa: {sys.argv[5]} {bh}x{sq}x{sk}x{d}: {ms:.4f} ms ({4 * bh * sq * sk * d / ms * 1e-9:.1f} TFLOP/s)")
EOF
  done
done 2>&1 | tee "$OUT/kernel-times.txt"

if [ "${PROFILE:-0}" = 1 ]; then
  for v in "${variants[@]}"; do
    ATTNSCOPE_FLASH_SM90=force ncu -k regex:flash_sm90 -c 1 --section SpeedOfLight --section ComputeWorkloadAnalysis \
      --section WarpStateStats --section InstructionStats --section Occupancy "build-kernel/$v" 16 4096 4096 40 f16 3 \
      > "$OUT/ncu-$v.txt" 2>&1
    grep -vE "^==PROF==|^ *$" "$OUT/ncu-$v.txt" | grep -iE "throughput|pipe|stall|issue|active|eligible|cycles|duration|warp cycles" | head -40
  done
fi

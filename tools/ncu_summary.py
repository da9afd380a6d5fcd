#!/usr/bin/env python3
"""Where one profiled pass spends the GPU's time, by kind of kernel and by kernel.

    ncu --profile-from-start off --metrics gpu__time_duration.sum --csv --print-units base \\
        build/bench/bench_unet ... --backends auto --profile 1 > ncu.csv
    python3 tools/ncu_summary.py ncu.csv [top]

Nsight Compute serialises the kernels it measures, so the sum is the GPU's busy time with no overlap: the
floor of a step whose launches cost nothing (a replayed CUDA graph comes close).
"""
import collections
import csv
import sys

# First match wins: the order puts our own kernels and the norms before the generic GEMM and elementwise names,
# and attention before convolution (cuDNN names its SDPA kernels "..._sdpa_..._fprop_...").
KINDS = [
    ("group norm (ours)", ("group_norm_nhwc", "chunk_stats_kernel", "merge_stats_kernel", "normalize_kernel")),
    ("GEGLU (ours)", ("geglu_kernel",)),
    ("attention (ours)", ("attnscope::",)),
    ("attention (cuDNN / SDPA)", ("sdpa", "flash_fwd", "fmha", "efficient_attention", "attention_kernel")),
    ("group norm (LibTorch)", ("group_norm", "GroupNorm", "RowwiseMoments", "ComputeFusedParams")),
    ("layer norm", ("layer_norm", "LayerNorm")),
    ("convolution", ("conv", "fprop", "implicit_gemm", "xmma_fprop", "nchwToNhwc", "nhwcToNchw")),
    ("GEMM", ("gemm", "Gemm", "cutlass", "cublas", "nvjet")),
    ("softmax", ("softmax", "Softmax")),
    ("copy / cat (layout changes)", ("direct_copy", "copy_kernel", "CatArray")),
    ("elementwise", ("elementwise", "vectorized", "unrolled", "Elementwise")),
    ("reduction", ("reduce", "Reduce")),
]


def kind(name):
    for label, keys in KINDS:
        if any(k in name for k in keys):
            return label
    return "other"


def main():
    path = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    with open(path, newline="") as f:
        lines = [line for line in f if line.startswith('"')]  # ncu prints its own log lines before the CSV
    by_kind, by_name, count = collections.Counter(), collections.Counter(), collections.Counter()
    for row in csv.DictReader(lines):
        if row.get("Metric Name") != "gpu__time_duration.sum":
            continue
        ns = float(row["Metric Value"].replace(",", ""))
        name = row["Kernel Name"]
        by_kind[kind(name)] += ns
        by_name[name[:110]] += ns
        count[name[:110]] += 1
    total = sum(by_kind.values())
    if not total:
        sys.exit(f"{path}: no gpu__time_duration.sum rows (was the pass profiled?)")
    print(f"GPU time of the profiled pass: {total / 1e6:.3f} ms in {sum(count.values())} kernels")
    for label, ns in by_kind.most_common():
        print(f"  {label:24s} {ns / 1e6:8.3f} ms  {100 * ns / total:5.1f}%")
    print(f"top {top} kernels:")
    for name, ns in by_name.most_common(top):
        print(f"  {ns / 1e6:8.3f} ms  {count[name]:4d}x  {name}")


if __name__ == "__main__":
    main()

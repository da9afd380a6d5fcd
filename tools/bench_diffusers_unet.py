#!/usr/bin/env python3
"""The same U-Net forward as bench/bench_unet.cpp, run by diffusers (SDPA processor) for comparison.

    PYTHONPATH=.ref/diffusers/src python3 tools/bench_diffusers_unet.py [iters]
SD v1.5 config, random weights, 512x512 (latent 64x64), batch 2, fp16, CUDA.
"""
import sys

import torch
from diffusers import UNet2DConditionModel

iters = int(sys.argv[1]) if len(sys.argv) > 1 else 20
unet = UNet2DConditionModel(
    block_out_channels=(320, 640, 1280, 1280), attention_head_dim=8, cross_attention_dim=768,
    down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
    up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3).half().cuda().eval()
sample = torch.randn(2, 4, 64, 64, device="cuda", dtype=torch.half)
context = torch.randn(2, 77, 768, device="cuda", dtype=torch.half)
t = torch.tensor([500.0], device="cuda")
times = []
torch.cuda.reset_peak_memory_stats()
with torch.no_grad():
    for i in range(iters + 3):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        unet(sample, t, encoder_hidden_states=context)
        end.record()
        torch.cuda.synchronize()
        if i >= 3:
            times.append(start.elapsed_time(end))
times.sort()
print("diffusers %s UNet2DConditionModel sd15 512x512 batch 2 fp16 (SDPA): median %.2f ms  min %.2f ms  "
      "(%.1f it/s)  peak allocated %.0f MiB" % (torch.__version__, times[len(times) // 2], times[0],
                                                1000 / times[len(times) // 2], torch.cuda.max_memory_allocated() / 2**20))

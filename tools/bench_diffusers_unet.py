#!/usr/bin/env python3
"""The same U-Net forward as bench/bench_unet.cpp, run by diffusers (SDPA processor) for comparison.

    PYTHONPATH=.ref/diffusers/src python3 tools/bench_diffusers_unet.py [iters] [sd15|sdxl]
Random weights, batch 2, fp16, CUDA: SD v1.5 at 512x512 (latent 64x64) or SDXL base at 1024x1024 (latent 128x128,
with its pooled text embedding and micro-conditioning).
"""
import sys

import torch
from diffusers import UNet2DConditionModel

iters = int(sys.argv[1]) if len(sys.argv) > 1 else 20
preset = sys.argv[2] if len(sys.argv) > 2 else "sd15"
if preset == "sdxl":
    unet = UNet2DConditionModel(
        block_out_channels=(320, 640, 1280), attention_head_dim=(5, 10, 20), cross_attention_dim=2048,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"), sample_size=128,
        transformer_layers_per_block=(1, 2, 10), use_linear_projection=True, addition_embed_type="text_time",
        addition_time_embed_dim=256, projection_class_embeddings_input_dim=2816)
    side, width, size = 128, 2048, "1024x1024"
    added = {"text_embeds": torch.randn(2, 1280, device="cuda", dtype=torch.half),
             "time_ids": torch.tensor([[1024.0, 1024, 0, 0, 1024, 1024]] * 2, device="cuda", dtype=torch.half)}
else:
    unet = UNet2DConditionModel(
        block_out_channels=(320, 640, 1280, 1280), attention_head_dim=8, cross_attention_dim=768,
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3)
    side, width, size, added = 64, 768, "512x512", None
unet = unet.half().cuda().eval()
sample = torch.randn(2, 4, side, side, device="cuda", dtype=torch.half)
context = torch.randn(2, 77, width, device="cuda", dtype=torch.half)
t = torch.tensor([500.0], device="cuda")
times = []
torch.cuda.reset_peak_memory_stats()
with torch.no_grad():
    for i in range(iters + 3):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        unet(sample, t, encoder_hidden_states=context, added_cond_kwargs=added)
        end.record()
        torch.cuda.synchronize()
        if i >= 3:
            times.append(start.elapsed_time(end))
times.sort()
print("diffusers %s UNet2DConditionModel %s %s batch 2 fp16 (SDPA): median %.2f ms  min %.2f ms  "
      "(%.1f it/s)  peak allocated %.0f MiB" % (torch.__version__, preset, size, times[len(times) // 2], times[0],
                                                1000 / times[len(times) // 2], torch.cuda.max_memory_allocated() / 2**20))

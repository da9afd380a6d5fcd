#!/usr/bin/env python3
"""The same U-Net forward as bench/bench_unet.cpp, run by diffusers (SDPA processor) for comparison.

    PYTHONPATH=.ref/diffusers/src python3 tools/bench_diffusers_unet.py [iters] [sd15|sd21|sdxl] [eager|compile|reduce-overhead|profile]
Random weights, batch 2, fp16, CUDA: SD v1.5 at 512x512 (latent 64x64), SD v2.1 at 768x768 (latent 96x96, linear
projections, upcast attention) or SDXL base at 1024x1024 (latent 128x128, with its pooled text embedding and
micro-conditioning). `compile` runs the U-Net under torch.compile, and
`reduce-overhead` under torch.compile(mode="reduce-overhead"), which replays the step as CUDA graphs: what a user
who wants diffusers fast runs. Compiling happens in the warm-up calls and is not timed. `profile` runs it eagerly
under torch.profiler and prints where the GPU's time goes, by kernel (the floor a step without host overhead meets).
"""
import sys

import torch
from diffusers import UNet2DConditionModel

iters = int(sys.argv[1]) if len(sys.argv) > 1 else 20
preset = sys.argv[2] if len(sys.argv) > 2 else "sd15"
mode = sys.argv[3] if len(sys.argv) > 3 else "eager"
if mode not in ("eager", "compile", "reduce-overhead", "profile"):
    sys.exit(__doc__)
torch.set_default_device("cuda")  # the random init on the GPU: SDXL's 2.6 B parameters take a minute on the CPU
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
    v2 = preset == "sd21"
    unet = UNet2DConditionModel(
        block_out_channels=(320, 640, 1280, 1280), attention_head_dim=(5, 10, 20, 20) if v2 else 8,
        cross_attention_dim=1024 if v2 else 768, use_linear_projection=v2, upcast_attention=v2,
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3)
    side, width, size, added = (96, 1024, "768x768", None) if v2 else (64, 768, "512x512", None)
unet = unet.half().cuda().eval()
forward = unet
if mode in ("compile", "reduce-overhead"):
    forward = torch.compile(unet, mode="reduce-overhead" if mode == "reduce-overhead" else None)
warmup = 6 if mode in ("compile", "reduce-overhead") else 3
sample = torch.randn(2, 4, side, side, device="cuda", dtype=torch.half)
context = torch.randn(2, 77, width, device="cuda", dtype=torch.half)
t = torch.tensor([500.0], device="cuda")
times = []
torch.cuda.reset_peak_memory_stats()
with torch.no_grad():
    for i in range(iters + warmup):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        forward(sample, t, encoder_hidden_states=context, added_cond_kwargs=added)
        end.record()
        torch.cuda.synchronize()
        if i >= warmup:
            times.append(start.elapsed_time(end))
if mode == "profile":
    from torch.profiler import ProfilerActivity, profile
    with torch.no_grad(), profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(iters):
            forward(sample, t, encoder_hidden_states=context, added_cond_kwargs=added)
        torch.cuda.synchronize()
    print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=25, max_name_column_width=70))
    gpu_ms = sum(e.self_device_time_total for e in prof.key_averages()) / 1000 / iters
    print("GPU time per forward, all kernels: %.2f ms" % gpu_ms)
times.sort()
print("diffusers %s UNet2DConditionModel %s %s batch 2 fp16 (SDPA, %s): median %.2f ms  min %.2f ms  "
      "(%.1f it/s)  peak allocated %.0f MiB" % (torch.__version__, preset, size, mode, times[len(times) // 2],
                                                times[0], 1000 / times[len(times) // 2],
                                                torch.cuda.max_memory_allocated() / 2**20))

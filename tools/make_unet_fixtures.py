#!/usr/bin/env python3
"""Reference fixtures for the U-Net parity tests, made with diffusers' UNet2DConditionModel.

Run where PyTorch and a diffusers source tree are importable (the GPU machine; see tools/gpu-check.sh):
    PYTHONPATH=.ref/diffusers/src python3 tools/make_unet_fixtures.py OUT_DIR .ref/diffusers/scripts [NAME ...]
(NAMEs: only those configs; each keeps its own seed either way.)

Weights are random and stored in fp16 (the reference uses exactly those values). For each small config (SD v1
and SD v2 conventions with the full 4-level / 16-site topology; SDXL's 3 levels without attention at the first,
transformers 1/2/3 blocks deep (28 indices, 56 sites) and the text_time micro-conditioning) it writes
  OUT_DIR/<name>/unet/{config.json, diffusion_pytorch_model.safetensors}  diffusers layout (save_pretrained)
  OUT_DIR/<name>_ldm.safetensors   original LDM layout, converted by diffusers' own conversion script (its
                                   SDXL one for the SDXL config)
  OUT_DIR/<name>_io.safetensors    inputs (SDXL also "text_embeds" and "time_ids"), the float64 reference
                                   output ("out") and every site's attention
                                   probabilities "p.NN.self" / "p.NN.cross" (B*heads, Sq, Sk), batch-major
The site index NN counts self-attention calls in forward order, independently of attnscope's numbering.
"""
import math
import os
import sys

import diffusers.models.embeddings as embeddings
import torch
from diffusers import UNet2DConditionModel
from diffusers.models.attention_processor import Attention, AttnProcessor
from safetensors.torch import save_file

from fixture_common import load_conversion_script, load_sdxl_conversion_script

DOWN = ("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D")
UP = ("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D")
CONFIGS = {
    "unet_v1_small": dict(block_out_channels=(32, 32, 32, 32), attention_head_dim=8, cross_attention_dim=32,
                          down_block_types=DOWN, up_block_types=UP),
    "unet_v2_small": dict(block_out_channels=(32, 32, 32, 32), attention_head_dim=(2, 2, 2, 2),
                          cross_attention_dim=48, use_linear_projection=True, upcast_attention=True,
                          down_block_types=DOWN, up_block_types=UP),
    # SDXL's conventions at small widths: "attention_head_dim" holds head counts, as in SDXL's own config.
    "unet_xl_small": dict(block_out_channels=(32, 32, 32), attention_head_dim=(2, 2, 2), cross_attention_dim=40,
                          down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
                          up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
                          transformer_layers_per_block=(1, 2, 3), use_linear_projection=True,
                          addition_embed_type="text_time", addition_time_embed_dim=8,
                          projection_class_embeddings_input_dim=12 + 6 * 8),
}
XL_POOLED = 12
# Micro-conditioning as SDXL pipelines pass it: original size, crop top-left, target size, per batch item.
XL_TIME_IDS = [[1024.0, 1024.0, 0.0, 0.0, 1024.0, 1024.0], [768.0, 1344.0, 16.0, 48.0, 1024.0, 1024.0]]
LATENT = (6, 10)  # non-square, and odd sizes on the way down: up-sampling must follow the skips
# The float64 reference is float64 end to end: the timestep sinusoids (fp32 in diffusers) and the attention
# "upcast" (a downcast to fp32 there) are both kept in float64 for it.
# 8 groups of 4 channels: with one channel per group the 1x2 mid-block maps would be normalized over two
# values, an ill-conditioned fixture whose fp32 roundoff is amplified a thousandfold.
TIMESTEP = 421.0


class ProbeProcessor:
    """diffusers' plain AttnProcessor, keeping the probabilities get_attention_scores returns."""

    def __init__(self, store, counter):
        self.store, self.counter, self.inner = store, counter, AttnProcessor()

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kw):
        kind = "self" if encoder_hidden_states is None else "cross"
        if kind == "self":
            self.counter[0] += 1
        key = "p.%02d.%s" % (self.counter[0], kind)
        original = attn.get_attention_scores

        def capture(query, k, mask=None):
            probs = original(query, k, mask)
            self.store[key] = probs.detach().float().contiguous()
            return probs

        attn.get_attention_scores = capture
        try:
            return self.inner(attn, hidden_states, encoder_hidden_states, attention_mask, temb)
        finally:
            del attn.get_attention_scores


def float64_timestep_embedding(timesteps, embedding_dim, flip_sin_to_cos=False, downscale_freq_shift=1, scale=1,
                               max_period=10000):
    """diffusers' get_timestep_embedding, whose arithmetic is fixed to fp32, in fp64 for the fp64 reference."""
    half = embedding_dim // 2
    exponent = -math.log(max_period) * torch.arange(half, dtype=torch.float64) / (half - downscale_freq_shift)
    emb = scale * timesteps[:, None].double() * torch.exp(exponent)[None, :]
    emb = torch.cat([torch.sin(emb), torch.cos(emb)], dim=-1)
    return torch.cat([emb[:, half:], emb[:, :half]], dim=-1) if flip_sin_to_cos else emb


def main():
    out_dir, scripts_dir, only = sys.argv[1], sys.argv[2], set(sys.argv[3:])
    convert = load_conversion_script(scripts_dir)
    convert_xl = load_sdxl_conversion_script(scripts_dir)

    for seed, (name, extra) in enumerate(sorted(CONFIGS.items())):
        if only and name not in only:
            continue
        torch.manual_seed(1000 + seed)
        xl = "addition_embed_type" in extra
        unet = UNet2DConditionModel(sample_size=8, in_channels=4, out_channels=4, layers_per_block=2,
                                    norm_num_groups=8, **extra)
        with torch.no_grad():  # move norms and biases off their 1/0 init so every parameter matters
            for p in unet.parameters():
                p.add_(torch.randn_like(p) * 0.05)
        # Weights are stored in fp16 to keep the fixtures small; the reference runs on exactly those values.
        unet = unet.half()
        unet.save_pretrained(os.path.join(out_dir, name, "unet"), safe_serialization=True)
        ldm = (convert_xl if xl else convert).convert_unet_state_dict(unet.state_dict())
        save_file({"model.diffusion_model." + k: v.contiguous() for k, v in ldm.items()},
                  os.path.join(out_dir, name + "_ldm.safetensors"))

        sample = torch.randn(2, 4, *LATENT)
        context = torch.randn(2, 77, extra["cross_attention_dim"])
        timestep = torch.tensor([TIMESTEP])
        added = {}
        if xl:
            added = {"text_embeds": torch.randn(2, XL_POOLED), "time_ids": torch.tensor(XL_TIME_IDS)}
        store, counter = {}, [0]
        unet = unet.double()
        # "Upcasting" q, k and the softmax to float32 is a downcast in a float64 model: keep the reference
        # float64 throughout (the saved config still says upcast_attention, which the fp16 runs honour).
        for module in unet.modules():
            if isinstance(module, Attention):
                module.upcast_attention = module.upcast_softmax = False
        unet.set_attn_processor(ProbeProcessor(store, counter))
        embeddings.get_timestep_embedding = float64_timestep_embedding
        with torch.no_grad():
            out = unet(sample.double(), timestep, encoder_hidden_states=context.double(),
                       added_cond_kwargs={k: v.double() for k, v in added.items()} if xl else None).sample
        tensors = {"sample": sample, "timestep": timestep, "encoder_hidden_states": context, "out": out, **added,
                   **store}
        save_file(tensors, os.path.join(out_dir, name + "_io.safetensors"))
        print(name, "sites:", len(store), "output", tuple(out.shape), "norm %.6f" % out.norm().item())


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Reference fixtures for the image decoder parity tests: diffusers' AutoencoderKL (the SD VAE) and
AutoencoderTiny (TAESD), random small configs, the reference run in float64.

Run where PyTorch and a diffusers source tree are importable (the GPU machine; see tools/gpu-check.sh):
    PYTHONPATH=.ref/diffusers/src python3 tools/make_vae_fixtures.py OUT_DIR .ref/diffusers/scripts

Weights are random and stored in fp16 (the references run on exactly those values). It writes
  OUT_DIR/vae_small/vae/{config.json, diffusion_pytorch_model.safetensors}   AutoencoderKL, save_pretrained
  OUT_DIR/vae_small_ldm.safetensors     the same VAE in the original single-file layout (first_stage_model.*,
                                        encoder included), converted by diffusers' own conversion script
  OUT_DIR/taesd_small/{config.json, diffusion_pytorch_model.safetensors}     AutoencoderTiny, save_pretrained
  OUT_DIR/taesd_small_decoder.safetensors   its decoder in madebyollin's taesd_decoder.safetensors layout
  OUT_DIR/vae_small_io.safetensors      "latents" (as the U-Net sees them, i.e. already times scaling_factor),
                                        "vae_image" = AutoencoderKL.decode(latents / scaling_factor) and
                                        "taesd_image" = AutoencoderTiny.decode(latents), both float64 in [-1, 1]
                                        convention, as a Stable Diffusion pipeline decodes them
"""
import os
import sys

import torch
from diffusers import AutoencoderKL, AutoencoderTiny
from safetensors.torch import save_file

from fixture_common import load_conversion_script

# Four levels, so the image is 8x the latent as in SD; 4 and 8 channels per norm group (SD has 4).
VAE = dict(block_out_channels=(16, 16, 32, 32), layers_per_block=2, norm_num_groups=4, latent_channels=4,
           down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4)
# TAESD's topology (3, 3, 3, 1 blocks, so madebyollin's layer indices are those of the released files),
# narrower than its 64 channels to keep the files small.
TAESD = dict(encoder_block_out_channels=(16,) * 4, decoder_block_out_channels=(16,) * 4)
LATENT = (1, 4, 6, 10)  # non-square


def taesd_sequential_name(diffusers_key):
    """madebyollin's Decoder is one nn.Sequential whose layer 0 is the tanh clamp, which diffusers' DecoderTiny
    does in forward() instead: diffusers' decoder.layers.N is layer N+1 there."""
    index, rest = diffusers_key[len("decoder.layers."):].split(".", 1)
    return "%d.%s" % (int(index) + 1, rest)


def condition_taesd(decoder, z):
    """Random init lets a 33-convolution ReLU stack drift far from unit scale, which would leave the output
    near a constant and the parity test blind. Scale each convolution, in forward order, to unit spread on z;
    the last one to an image-like spread around mid grey."""
    convs = [m for m in decoder.layers.modules() if isinstance(m, torch.nn.Conv2d)]
    for i, conv in enumerate(convs):
        seen = {}
        hook = conv.register_forward_hook(lambda m, args, out: seen.setdefault("out", out))
        decoder(z)
        hook.remove()
        out = seen["out"]
        target = 0.25 if i == len(convs) - 1 else 1.0
        scale = target / out.std().item()
        conv.weight.mul_(scale)
        if conv.bias is not None:
            conv.bias.mul_(scale)
            if i == len(convs) - 1:
                conv.bias.add_(0.5 - (out * scale).mean().item())


def main():
    out_dir, scripts_dir = sys.argv[1], sys.argv[2]
    convert = load_conversion_script(scripts_dir)
    torch.manual_seed(2024)
    latents = torch.randn(*LATENT)

    vae = AutoencoderKL(**VAE)
    with torch.no_grad():  # norms and biases off their 1/0 init; sharper mid attention than the near-uniform init
        for p in vae.parameters():
            p.add_(torch.randn_like(p) * 0.05)
        attn = vae.decoder.mid_block.attentions[0]
        for proj in (attn.to_q, attn.to_k):
            proj.weight.mul_(3.0)
    vae = vae.half()
    vae.save_pretrained(os.path.join(out_dir, "vae_small", "vae"), safe_serialization=True)
    ldm = convert.convert_vae_state_dict(vae.state_dict())
    save_file({"first_stage_model." + k: v.contiguous() for k, v in ldm.items()},
              os.path.join(out_dir, "vae_small_ldm.safetensors"))
    vae = vae.double()
    with torch.no_grad():
        vae_image = vae.decode(latents.double() / vae.config.scaling_factor).sample

    tiny = AutoencoderTiny(**TAESD)
    with torch.no_grad():
        for p in tiny.parameters():
            p.add_(torch.randn_like(p) * 0.05)
        condition_taesd(tiny.decoder, latents)
    tiny = tiny.half()
    tiny.save_pretrained(os.path.join(out_dir, "taesd_small"), safe_serialization=True)
    save_file({taesd_sequential_name(k): v.contiguous() for k, v in tiny.state_dict().items()
               if k.startswith("decoder.layers.")},
              os.path.join(out_dir, "taesd_small_decoder.safetensors"))
    tiny = tiny.double()
    with torch.no_grad():
        # SD pipelines decode latents / vae.config.scaling_factor, which is 1.0 for TAESD: it was trained on
        # the latents the U-Net sees, and DecoderTiny already maps its [0, 1] output to [-1, 1].
        taesd_image = tiny.decode(latents.double() / tiny.config.scaling_factor).sample

    save_file({"latents": latents, "vae_image": vae_image.contiguous(), "taesd_image": taesd_image.contiguous()},
              os.path.join(out_dir, "vae_small_io.safetensors"))
    for name, image in (("vae", vae_image), ("taesd", taesd_image)):
        print("%s image %s mean %.4f std %.4f range [%.3f, %.3f]" % (
            name, tuple(image.shape), image.mean().item(), image.std().item(), image.min().item(),
            image.max().item()))


if __name__ == "__main__":
    main()

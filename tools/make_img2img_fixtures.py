#!/usr/bin/env python3
"""Reference runs for the VAE encoder and for image-to-image, made with diffusers' AutoencoderKL and
StableDiffusionImg2ImgPipeline on the small random models already in tests/data (their weights are read, not
made anew, so the older fixtures stay valid).

Run where PyTorch, transformers, Pillow and a diffusers source tree are importable (the GPU machine, on its
CPU):
    PYTHONPATH=.ref/diffusers/src python3 tools/make_img2img_fixtures.py tests/data assets/clip-tokenizer

It writes into tests/data:
  img2img_init.png              the starting image (64x48 RGB, seeded noise over a gradient), 8-bit as a user's
                                file is
  img2img_reference.safetensors
      vae_encode.image          a (1, 3, 48, 80) float64 image in [-1, 1]
      vae_encode.mean / .std    vae_small's posterior for it (after quant_conv), float64, unscaled
      vae_encode.sample.42      posterior.sample(torch.Generator("cpu").manual_seed(42)), float64
      taesd_encode.latents      taesd_small's AutoencoderTiny.encode of the same image, float64
      pipeline_v1_small.<scheduler>.latents.K   img2img latents after step K, float32, for strength STRENGTH,
                                STEPS steps, CFG 7.5, seed SEED (the pipeline runs STEPS - t_start of them)
      pipeline_v1_small.<scheduler>.image       the decoded image (1, H, W, 3) in [0, 1]
"""
import json
import os
import sys

import numpy as np
import torch
from diffusers import AutoencoderKL, AutoencoderTiny, StableDiffusionImg2ImgPipeline
from PIL import Image
from safetensors.torch import save_file
from transformers import CLIPTokenizer

from fixture_common import SD15_SCHEDULER, scheduler_classes

PROMPT = "a red circle left of a blue square, watercolor"
NEGATIVE = "blurry"
SEED = 1234
STEPS = 5
STRENGTH = 0.6  # int(5 * 0.6) = 3 steps run, from the third timestep on
WIDTH, HEIGHT = 64, 48
SCHEDULERS = ("ddim", "euler", "euler_a", "dpmpp_2m_karras", "pndm")


def init_image():
    rng = np.random.RandomState(3)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    gradient = np.stack([xx * 255 / WIDTH, yy * 255 / HEIGHT, (xx + yy) * 255 / (WIDTH + HEIGHT)], -1)
    pixels = np.clip(gradient + rng.randint(-40, 41, size=gradient.shape), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels, "RGB")


def vae_encoder_reference(data_dir, ref):
    vae = AutoencoderKL.from_pretrained(os.path.join(data_dir, "vae_small", "vae")).double()
    image = torch.rand((1, 3, 48, 80), generator=torch.Generator("cpu").manual_seed(7), dtype=torch.float64) * 2 - 1
    with torch.no_grad():
        posterior = vae.encode(image).latent_dist
        ref["vae_encode.image"] = image
        ref["vae_encode.mean"] = posterior.mean
        ref["vae_encode.std"] = posterior.std
        ref["vae_encode.sample.42"] = posterior.sample(generator=torch.Generator("cpu").manual_seed(42))
    print("vae_encode mean", tuple(posterior.mean.shape), "%.6f" % posterior.mean.mean().item())
    taesd = AutoencoderTiny.from_pretrained(os.path.join(data_dir, "taesd_small")).double()
    with torch.no_grad():
        ref["taesd_encode.latents"] = taesd.encode(image).latents
    print("taesd_encode", tuple(ref["taesd_encode.latents"].shape))


def img2img_reference(data_dir, tokenizer_dir, ref):
    tokenizer = CLIPTokenizer(os.path.join(tokenizer_dir, "vocab.json"), os.path.join(tokenizer_dir, "merges.txt"),
                              pad_token="<|endoftext|>", model_max_length=77)
    pipe = StableDiffusionImg2ImgPipeline.from_pretrained(
        os.path.join(data_dir, "pipeline_v1_small"), tokenizer=tokenizer, safety_checker=None,
        feature_extractor=None, requires_safety_checker=False).to(torch.float32)
    path = os.path.join(data_dir, "img2img_init.png")
    init_image().save(path)
    for name in SCHEDULERS:
        cls, extra = scheduler_classes()[name]
        pipe.scheduler = cls.from_config({**SD15_SCHEDULER, **extra})
        latents = []

        def keep(p, step, t, kwargs):
            latents.append(kwargs["latents"].detach().float().clone())
            return kwargs

        image = pipe(PROMPT, image=Image.open(path).convert("RGB"), strength=STRENGTH, negative_prompt=NEGATIVE,
                     num_inference_steps=STEPS, guidance_scale=7.5,
                     generator=torch.Generator("cpu").manual_seed(SEED), output_type="np",
                     callback_on_step_end=keep).images
        run = "pipeline_v1_small." + name
        for k, lat in enumerate(latents, start=1):
            ref["%s.latents.%d" % (run, k)] = lat.contiguous()
        ref[run + ".image"] = torch.from_numpy(image).float().contiguous()
        print(run, "steps", len(latents), "image mean %.5f" % image.mean())


def main():
    data_dir, tokenizer_dir = sys.argv[1:3]
    ref = {}
    vae_encoder_reference(data_dir, ref)
    img2img_reference(data_dir, tokenizer_dir, ref)
    meta = {"prompt": PROMPT, "negative_prompt": NEGATIVE, "seed": str(SEED), "steps": str(STEPS),
            "strength": str(STRENGTH), "guidance_scale": "7.5", "width": str(WIDTH), "height": str(HEIGHT)}
    save_file(ref, os.path.join(data_dir, "img2img_reference.safetensors"), metadata=meta)
    print(json.dumps(meta))


if __name__ == "__main__":
    main()

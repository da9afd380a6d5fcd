#!/usr/bin/env python3
"""End-to-end reference runs for attnscope's generation session, made with diffusers' StableDiffusionPipeline.

Run where PyTorch, transformers and a diffusers source tree are importable (the GPU machine, on its CPU):
    PYTHONPATH=.ref/diffusers/src python3 tools/make_pipeline_fixtures.py tests/data .ref/diffusers/scripts \
        .ref/clip-tokenizer

Small random models with SD's topology (4-level U-Net with all 16 attention sites, 4-level VAE: 8x down-scale)
and a 2-layer CLIP text encoder over the real CLIP vocabulary. Weights are stored in fp16 and run in float32,
as a user runs diffusers on a CPU. It writes into OUT_DIR:
  pipeline_v1_small/             save_pretrained output (unet, vae, text_encoder, scheduler, tokenizer configs;
                                 the vocabulary files (1.5 MB) are left out: attnscope bundles CLIP's vocabulary)
  pipeline_v1_small.safetensors  the same model as an original single-file checkpoint (diffusers' conversion)
  pipeline_v2_small/             SD v2 conventions: GELU text encoder, linear projections, upcast attention,
                                 v-prediction, "!" padding
  pipeline_reference.safetensors for each <model>.<scheduler> run (prompt, negative prompt, seed, CFG 7.5,
                                 STEPS steps at WIDTHxHEIGHT):
      <run>.latents.K   the latents after step K (K = 1..STEPS), float32
      <run>.image       the decoded image (1, H, W, 3) in [0, 1], as output_type="np" gives it
    and, for the generator itself, torch.randn(NOISE_SHAPE, generator=manual_seed(s), dtype=d):
      noise.<seed>.<dtype>       the first draw (float32/float64/float16/bfloat16, stored as float64)
      noise.<seed>.next          a second float32 draw from the same generator (its state carries on)
"""
import json
import os
import sys

import torch
from diffusers import AutoencoderKL, StableDiffusionPipeline, UNet2DConditionModel
from safetensors.torch import save_file

from fixture_common import SD15_SCHEDULER, load_conversion_script, scheduler_classes
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

PROMPT = "a red circle left of a blue square, watercolor"
NEGATIVE = "blurry"
SEED = 1234
STEPS = 4
WIDTH, HEIGHT = 64, 48  # latent 8x6: non-square, and odd sizes on the way down the U-Net
NOISE_SHAPE = (1, 4, 6, 8)
NOISE_SEEDS = (0, 42, 1234)

MODELS = {
    "pipeline_v1_small": dict(act="quick_gelu", unet=dict(attention_head_dim=8), pad="<|endoftext|>",
                              prediction="epsilon", schedulers=("ddim", "euler", "euler_a", "dpmpp_2m_karras",
                                                                "pndm")),
    "pipeline_v2_small": dict(act="gelu", unet=dict(attention_head_dim=(2, 2, 2, 2), use_linear_projection=True,
                                                    upcast_attention=True),
                              pad="!", prediction="v_prediction", schedulers=("ddim", "euler_a")),
}
TEXT_WIDTH = 8  # the 49408-entry embedding table dominates the files: keep it narrow


def perturb(module, scale):
    # Default init leaves norms at (1, 0) and many biases at 0, which would hide mistakes in them.
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn_like(p) * scale)


def build(spec, tokenizer_dir):
    text = CLIPTextModel(CLIPTextConfig(vocab_size=49408, hidden_size=TEXT_WIDTH, intermediate_size=16,
                                        num_hidden_layers=2, num_attention_heads=2, max_position_embeddings=77,
                                        hidden_act=spec["act"], bos_token_id=49406, eos_token_id=49407,
                                        pad_token_id=49407))
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=2, norm_num_groups=8,
        block_out_channels=(16, 16, 32, 32), cross_attention_dim=TEXT_WIDTH,
        down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3, **spec["unet"])
    vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1, norm_num_groups=8,
                        block_out_channels=(16, 16, 32, 32), down_block_types=("DownEncoderBlock2D",) * 4,
                        up_block_types=("UpDecoderBlock2D",) * 4, sample_size=WIDTH)
    perturb(text, 0.02)
    perturb(unet, 0.05)
    perturb(vae, 0.05)
    tokenizer = CLIPTokenizer(os.path.join(tokenizer_dir, "vocab.json"), os.path.join(tokenizer_dir, "merges.txt"),
                              pad_token=spec["pad"], model_max_length=77)
    cls, extra = scheduler_classes()["ddim"]
    scheduler = cls.from_config({**SD15_SCHEDULER, "prediction_type": spec["prediction"], **extra})
    # fp16 storage keeps the fixtures small; the runs below use exactly these values in float32.
    pipe = StableDiffusionPipeline(vae=vae.half(), text_encoder=text.half(), tokenizer=tokenizer, unet=unet.half(),
                                   scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    return pipe


def save_single_file(pipe, path, convert):
    sd = {}
    for k, v in convert.convert_unet_state_dict(pipe.unet.state_dict()).items():
        sd["model.diffusion_model." + k] = v
    for k, v in convert.convert_vae_state_dict(pipe.vae.state_dict()).items():
        sd["first_stage_model." + k] = v
    for k, v in pipe.text_encoder.state_dict().items():
        key = k if k.startswith("text_model.") else "text_model." + k
        sd["cond_stage_model.transformer." + key] = v
    save_file({k: v.contiguous() for k, v in sd.items()}, path)


def run(pipe, spec, scheduler_name):
    cls, extra = scheduler_classes()[scheduler_name]
    pipe.scheduler = cls.from_config({**SD15_SCHEDULER, "prediction_type": spec["prediction"], **extra})
    latents = []

    def keep(p, step, t, kwargs):
        latents.append(kwargs["latents"].detach().float().clone())
        return kwargs

    image = pipe(PROMPT, negative_prompt=NEGATIVE, height=HEIGHT, width=WIDTH, num_inference_steps=STEPS,
                 guidance_scale=7.5, generator=torch.Generator("cpu").manual_seed(SEED), output_type="np",
                 callback_on_step_end=keep).images
    return latents, torch.from_numpy(image).float()


def main():
    out_dir, scripts_dir, tokenizer_dir = sys.argv[1:4]
    convert = load_conversion_script(scripts_dir)

    ref = {}
    for seed in NOISE_SEEDS:
        for dtype in (torch.float32, torch.float64, torch.float16, torch.bfloat16):
            g = torch.Generator("cpu").manual_seed(seed)
            ref["noise.%d.%s" % (seed, str(dtype).split(".")[1])] = torch.randn(NOISE_SHAPE, generator=g,
                                                                               dtype=dtype).double()
        g = torch.Generator("cpu").manual_seed(seed)
        torch.randn(NOISE_SHAPE, generator=g)
        ref["noise.%d.next" % seed] = torch.randn(NOISE_SHAPE, generator=g).double()

    for i, (name, spec) in enumerate(MODELS.items()):
        torch.manual_seed(2000 + i)
        pipe = build(spec, tokenizer_dir)
        folder = os.path.join(out_dir, name)
        pipe.save_pretrained(folder, safe_serialization=True)
        for f in ("vocab.json", "merges.txt", "tokenizer.json"):
            if os.path.exists(os.path.join(folder, "tokenizer", f)):
                os.remove(os.path.join(folder, "tokenizer", f))
        if name == "pipeline_v1_small":
            save_single_file(pipe, os.path.join(out_dir, name + ".safetensors"), convert)
        pipe = pipe.to(torch.float32)
        for scheduler_name in spec["schedulers"]:
            latents, image = run(pipe, spec, scheduler_name)
            run_name = "%s.%s" % (name, scheduler_name)
            for k, lat in enumerate(latents, start=1):
                ref["%s.latents.%d" % (run_name, k)] = lat.contiguous()
            ref[run_name + ".image"] = image.contiguous()
            print(run_name, "steps", len(latents), "image", tuple(image.shape), "mean %.5f" % image.mean().item())
    meta = {"prompt": PROMPT, "negative_prompt": NEGATIVE, "seed": str(SEED), "steps": str(STEPS),
            "guidance_scale": "7.5", "width": str(WIDTH), "height": str(HEIGHT)}
    save_file(ref, os.path.join(out_dir, "pipeline_reference.safetensors"), metadata=meta)
    print(json.dumps(meta))


if __name__ == "__main__":
    main()

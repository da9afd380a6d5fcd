#!/usr/bin/env python3
"""End-to-end reference runs for attnscope's SDXL sessions, made with diffusers' StableDiffusionXLPipeline.

Run where PyTorch, transformers and a diffusers source tree are importable (the GPU machine, or this machine's
CPU through tools/cpu-reference.sh):
    tools/cpu-reference.sh tools/make_sdxl_pipeline_fixtures.py tests/data .ref/diffusers/scripts assets/clip-tokenizer

A small random model with SDXL's topology (no attention at the U-Net's first level, transformers 1/1/2 blocks
deep, the text_time micro-conditioning; two text encoders over the real CLIP vocabulary, the second with its
projection and "!" padding; a VAE scaled by 0.13025) and SDXL's scheduler config (leading spacing). Weights are
stored in fp16 and run in float32. It writes into OUT_DIR:
  pipeline_xl_small/             save_pretrained output (the vocabulary files are left out: attnscope bundles
                                 CLIP's vocabulary)
  pipeline_xl_small.safetensors  the same model as an SDXL single file (diffusers' SDXL conversion script)
  pipeline_xl_reference.safetensors  for each pipeline_xl_small.<scheduler> run (prompt, no negative prompt,
                                 so zeros as force_zeros_for_empty_prompt gives; seed, CFG 5, STEPS steps at
                                 WIDTHxHEIGHT):
      <run>.latents.K   the latents after step K (K = 1..STEPS), float32
      <run>.image       the decoded image (1, H, W, 3) in [0, 1], as output_type="np" gives it
"""
import os
import sys

import torch
from diffusers import AutoencoderKL, StableDiffusionXLPipeline, UNet2DConditionModel
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

from fixture_common import load_sdxl_conversion_script, scheduler_classes

PROMPT = "a red circle left of a blue square, watercolor"
SEED = 1234
STEPS = 4
GUIDANCE = 5.0
WIDTH, HEIGHT = 64, 48
SCHEDULERS = ("euler", "euler_a")  # SDXL's own and its ancestral twin
# stabilityai/stable-diffusion-xl-base-1.0's scheduler/scheduler_config.json (EulerDiscreteScheduler).
SDXL_SCHEDULER = {
    "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False,
    "interpolation_type": "linear", "num_train_timesteps": 1000, "prediction_type": "epsilon",
    "sample_max_value": 1.0, "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1,
    "timestep_spacing": "leading", "trained_betas": None, "use_karras_sigmas": False,
}


def perturb(module, scale):
    # Default init leaves norms at (1, 0) and many biases at 0, which would hide mistakes in them.
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn_like(p) * scale)


def text_config(hidden, act, projection=None):
    extra = {"projection_dim": projection} if projection else {}
    return CLIPTextConfig(vocab_size=49408, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=2,
                          num_attention_heads=2, max_position_embeddings=77, hidden_act=act, bos_token_id=49406,
                          eos_token_id=49407, pad_token_id=49407, **extra)


def build(tokenizer_dir):
    text = CLIPTextModel(text_config(8, "quick_gelu"))
    text_2 = CLIPTextModelWithProjection(text_config(12, "gelu", projection=16))
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=2, norm_num_groups=8,
        block_out_channels=(16, 16, 32), attention_head_dim=(2, 2, 2), cross_attention_dim=8 + 12,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
        transformer_layers_per_block=(1, 1, 2), use_linear_projection=True, addition_embed_type="text_time",
        addition_time_embed_dim=8, projection_class_embeddings_input_dim=16 + 6 * 8)
    vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1, norm_num_groups=8,
                        block_out_channels=(16, 16, 32, 32), down_block_types=("DownEncoderBlock2D",) * 4,
                        up_block_types=("UpDecoderBlock2D",) * 4, sample_size=WIDTH, scaling_factor=0.13025,
                        force_upcast=True)
    for module, scale in ((text, 0.02), (text_2, 0.02), (unet, 0.05), (vae, 0.05)):
        perturb(module, scale)
    files = os.path.join(tokenizer_dir, "vocab.json"), os.path.join(tokenizer_dir, "merges.txt")
    tokenizer = CLIPTokenizer(*files, pad_token="<|endoftext|>", model_max_length=77)
    tokenizer_2 = CLIPTokenizer(*files, pad_token="!", model_max_length=77)
    cls, extra = scheduler_classes()["euler"]
    # fp16 storage keeps the fixtures small; the runs below use exactly these values in float32.
    return StableDiffusionXLPipeline(vae=vae.half(), text_encoder=text.half(), text_encoder_2=text_2.half(),
                                     tokenizer=tokenizer, tokenizer_2=tokenizer_2, unet=unet.half(),
                                     scheduler=cls.from_config({**SDXL_SCHEDULER, **extra}),
                                     force_zeros_for_empty_prompt=True, add_watermarker=False)


def save_single_file(pipe, path, convert):
    sd = {"model.diffusion_model." + k: v for k, v in convert.convert_unet_state_dict(pipe.unet.state_dict()).items()}
    for k, v in convert.convert_vae_state_dict(pipe.vae.state_dict()).items():
        sd["first_stage_model." + k] = v
    for k, v in pipe.text_encoder.state_dict().items():
        sd["conditioner.embedders.0.transformer." + (k if k.startswith("text_model.") else "text_model." + k)] = v
    second = {("text_model." + k if not k.startswith(("text_model.", "text_projection")) else k): v
              for k, v in pipe.text_encoder_2.state_dict().items()}
    second = convert.convert_openclip_text_enc_state_dict(second)
    second["text_projection"] = second.pop("text_projection.weight").t()  # as the conversion script stores it
    for k, v in second.items():
        sd["conditioner.embedders.1.model." + k] = v
    save_file({k: v.contiguous() for k, v in sd.items()}, path)


def run(pipe, scheduler_name):
    cls, extra = scheduler_classes()[scheduler_name]
    pipe.scheduler = cls.from_config({**SDXL_SCHEDULER, **extra})
    latents = []

    def keep(p, step, t, kwargs):
        latents.append(kwargs["latents"].detach().float().clone())
        return kwargs

    image = pipe(PROMPT, height=HEIGHT, width=WIDTH, num_inference_steps=STEPS, guidance_scale=GUIDANCE,
                 generator=torch.Generator("cpu").manual_seed(SEED), output_type="np",
                 callback_on_step_end=keep).images
    return latents, torch.from_numpy(image).float()


def main():
    out_dir, scripts_dir, tokenizer_dir = sys.argv[1:4]
    convert = load_sdxl_conversion_script(scripts_dir)
    torch.manual_seed(3000)
    pipe = build(tokenizer_dir)
    name = "pipeline_xl_small"
    folder = os.path.join(out_dir, name)
    pipe.save_pretrained(folder, safe_serialization=True)
    for sub in ("tokenizer", "tokenizer_2"):
        for f in ("vocab.json", "merges.txt", "tokenizer.json"):
            if os.path.exists(os.path.join(folder, sub, f)):
                os.remove(os.path.join(folder, sub, f))
    save_single_file(pipe, os.path.join(out_dir, name + ".safetensors"), convert)
    pipe = pipe.to(torch.float32)
    ref = {}
    for scheduler_name in SCHEDULERS:
        latents, image = run(pipe, scheduler_name)
        run_name = "%s.%s" % (name, scheduler_name)
        for k, lat in enumerate(latents, start=1):
            ref["%s.latents.%d" % (run_name, k)] = lat.contiguous()
        ref[run_name + ".image"] = image.contiguous()
        print(run_name, "steps", len(latents), "image", tuple(image.shape), "mean %.5f" % image.mean().item())
    meta = {"prompt": PROMPT, "negative_prompt": "", "seed": str(SEED), "steps": str(STEPS),
            "guidance_scale": str(GUIDANCE), "width": str(WIDTH), "height": str(HEIGHT)}
    save_file(ref, os.path.join(out_dir, "pipeline_xl_reference.safetensors"), metadata=meta)


if __name__ == "__main__":
    main()

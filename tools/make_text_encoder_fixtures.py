#!/usr/bin/env python3
"""Parity fixtures for attnscope's CLIP text encoder (tests/test_clip_text_model.cpp).

Needs torch, safetensors and transformers (5.x; 4.x works too), no network:

    python3 tools/make_text_encoder_fixtures.py tests/data [v1 v2 xl]
(or through tools/cpu-reference.sh; naming versions makes only those)

For a v1-style (quick_gelu) and a v2-style (gelu) small random CLIPTextModel it writes into the given
folder:
  text_encoder_<v>_small/               save_pretrained output (model.safetensors + config.json; its
                                        keys lack the "text_model." prefix with transformers 5)
  text_encoder_<v>_small_io.safetensors input_ids (2, 77) int64 and last_hidden_state computed in float64
and for v2 also
  text_encoder_v2_small_openclip.safetensors  the same model in the SD v2 single-file (OpenCLIP) layout
      under "cond_stage_model.model.", with one extra random final resblock that SD v2 skips (it takes
      the penultimate layer), so the loader must leave it out to match.
and for xl (SDXL's pair: a quick_gelu CLIPTextModel and a gelu CLIPTextModelWithProjection, ids padded with 0
as SDXL's second tokenizer pads with "!")
  text_encoder_xl_small/{text_encoder,text_encoder_2}/   save_pretrained output of each
  text_encoder_xl_small_io.safetensors  input_ids and, in float64, te1.penultimate (hidden_states[-2]),
      te1.last_hidden_state, te2.penultimate, te2.last_hidden_state and te2.text_embeds
  text_encoder_xl_small_sgm.safetensors both as an SDXL single file holds them: conditioner.embedders.0.transformer.*
      (transformers' names) and conditioner.embedders.1.model.* (OpenCLIP's, text_projection stored transposed)
The weights are stored in float32; the reference runs the same values in float64.
"""
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

VOCAB = 1000
POSITIONS = 77


def make_config(act, layers, projection=0):
    return CLIPTextConfig(
        projection_dim=projection or 512,
        vocab_size=VOCAB,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=layers,
        num_attention_heads=4,
        max_position_embeddings=POSITIONS,
        hidden_act=act,
        layer_norm_eps=1e-5,
        # The ids below are arbitrary; keep these inside the vocabulary.
        bos_token_id=VOCAB - 2,
        eos_token_id=VOCAB - 1,
        pad_token_id=VOCAB - 1,
    )


def randomize(module, gen):
    # Default init leaves LayerNorm at (1, 0) and biases at 0, which would hide mistakes in them.
    with torch.no_grad():
        for name, p in module.named_parameters():
            r = torch.randn(p.shape, generator=gen, dtype=torch.float64)
            if "layer_norm" in name or "ln_" in name:
                v = 1.0 + 0.2 * r if name.endswith("weight") else 0.1 * r
            elif "embedding" in name:
                v = 0.5 * r
            elif name.endswith("weight"):
                v = r / p.shape[1] ** 0.5
            else:
                v = 0.1 * r
            p.copy_(v.to(p.dtype))


def build(act, layers, seed, projection=0):
    torch.manual_seed(seed)
    config = make_config(act, layers, projection)
    cls = CLIPTextModelWithProjection if projection else CLIPTextModel
    try:
        model = cls(config)
    except TypeError:
        model = cls._from_config(config)
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    randomize(model, gen)
    return model, gen


def input_ids(gen, pad=VOCAB - 1):
    # Shaped like tokenizer output: BOS, a few tokens, EOS, then padding to 77 (EOS, or "!" for SDXL's second).
    ids = torch.full((2, POSITIONS), pad, dtype=torch.int64)
    for row, n in enumerate((12, 40)):
        ids[row, 0] = VOCAB - 2
        ids[row, 1 : 1 + n] = torch.randint(1, VOCAB - 2, (n,), generator=gen)
        ids[row, 1 + n] = VOCAB - 1
    return ids


def prefixed_state_dict(model):
    # transformers 5 drops the "text_model." prefix that 4.x and the diffusers checkpoints have.
    return {
        (k if k.startswith(("text_model.", "text_projection")) else "text_model." + k): v.detach().float()
        for k, v in model.state_dict().items()
    }


def openclip_state_dict(model, gen, P="cond_stage_model.model.", unused_block=True):
    """The model as an SD v2 checkpoint stores its FrozenOpenCLIPEmbedder, plus one unused last block (SDXL's
    embedder 1 under its own prefix runs every block, and its text_projection is the model's, transposed)."""
    sd = prefixed_state_dict(model)
    out = {
        P + "token_embedding.weight": sd["text_model.embeddings.token_embedding.weight"],
        P + "positional_embedding": sd["text_model.embeddings.position_embedding.weight"],
        P + "ln_final.weight": sd["text_model.final_layer_norm.weight"],
        P + "ln_final.bias": sd["text_model.final_layer_norm.bias"],
    }
    layers = model.config.num_hidden_layers
    hidden = model.config.hidden_size
    for i in range(layers):
        s = f"text_model.encoder.layers.{i}."
        d = f"{P}transformer.resblocks.{i}."
        for kind in ("weight", "bias"):
            out[d + "attn.in_proj_" + kind] = torch.cat(
                [sd[s + f"self_attn.{x}_proj.{kind}"] for x in ("q", "k", "v")], 0
            )
            out[d + "attn.out_proj." + kind] = sd[s + "self_attn.out_proj." + kind]
            out[d + "ln_1." + kind] = sd[s + "layer_norm1." + kind]
            out[d + "ln_2." + kind] = sd[s + "layer_norm2." + kind]
            out[d + "mlp.c_fc." + kind] = sd[s + "mlp.fc1." + kind]
            out[d + "mlp.c_proj." + kind] = sd[s + "mlp.fc2." + kind]
    out[P + "logit_scale"] = torch.tensor(4.6052)
    if not unused_block:
        out[P + "text_projection"] = sd["text_projection.weight"].t()
        return {k: v.contiguous() for k, v in out.items()}
    # The final block SD v2 never runs: random, so running it would change the output.
    d = f"{P}transformer.resblocks.{layers}."
    shapes = {
        "attn.in_proj_weight": (3 * hidden, hidden),
        "attn.in_proj_bias": (3 * hidden,),
        "attn.out_proj.weight": (hidden, hidden),
        "attn.out_proj.bias": (hidden,),
        "ln_1.weight": (hidden,),
        "ln_1.bias": (hidden,),
        "ln_2.weight": (hidden,),
        "ln_2.bias": (hidden,),
        "mlp.c_fc.weight": (model.config.intermediate_size, hidden),
        "mlp.c_fc.bias": (model.config.intermediate_size,),
        "mlp.c_proj.weight": (hidden, model.config.intermediate_size),
        "mlp.c_proj.bias": (hidden,),
    }
    for k, shape in shapes.items():
        out[d + k] = torch.randn(shape, generator=gen)
    # Present in real SD v2 checkpoints, unused by the U-Net conditioning.
    out[P + "text_projection"] = torch.randn((hidden, hidden), generator=gen)
    return {k: v.contiguous() for k, v in out.items()}


def float64_reference(model):
    """The stored float32 values, computed in float64."""
    ref = model.double()
    # Not "eager" where transformers offers more: its softmax there runs in float32 whatever the model dtype,
    # which caps agreement near 1e-8; sdpa on the CPU computes it in float64.
    if hasattr(ref, "set_attn_implementation"):
        ref.set_attn_implementation("sdpa")
    return ref


def write_xl(root):
    """SDXL's two text encoders: ViT-L-like (quick_gelu) and bigG-like (gelu, with its projection)."""
    first, gen = build("quick_gelu", 3, 303)
    second, _ = build("gelu", 3, 304, projection=24)
    folder = os.path.join(root, "text_encoder_xl_small")
    first.float().save_pretrained(os.path.join(folder, "text_encoder"))
    second.float().save_pretrained(os.path.join(folder, "text_encoder_2"))
    sgm = {"conditioner.embedders.0.transformer." + k: v.contiguous() for k, v in prefixed_state_dict(first).items()}
    sgm.update(openclip_state_dict(second.float(), gen, "conditioner.embedders.1.model.", unused_block=False))
    save_file(sgm, os.path.join(root, "text_encoder_xl_small_sgm.safetensors"))
    ids = input_ids(gen, pad=0)
    # transformers builds CLIP's causal mask in the default dtype: float64 for a float64 model.
    torch.set_default_dtype(torch.float64)
    with torch.no_grad():
        a = float64_reference(first)(input_ids=ids, output_hidden_states=True)
        b = float64_reference(second)(input_ids=ids, output_hidden_states=True)
    torch.set_default_dtype(torch.float32)
    assert b.text_embeds.dtype == torch.float64 and b.text_embeds.shape == (2, 24)
    save_file({"input_ids": ids, "te1.penultimate": a.hidden_states[-2].contiguous(),
               "te1.last_hidden_state": a.last_hidden_state.contiguous(),
               "te2.penultimate": b.hidden_states[-2].contiguous(),
               "te2.last_hidden_state": b.last_hidden_state.contiguous(), "te2.text_embeds": b.text_embeds.contiguous()},
              os.path.join(root, "text_encoder_xl_small_io.safetensors"))
    print(f"xl: quick_gelu + gelu with projection 24, 3 layers each -> {folder}")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    root, only = sys.argv[1], set(sys.argv[2:])
    os.makedirs(root, exist_ok=True)
    for version, act, layers, seed in (("v1", "quick_gelu", 3, 101), ("v2", "gelu", 2, 202)):
        if only and version not in only:
            continue
        model, gen = build(act, layers, seed)
        folder = os.path.join(root, f"text_encoder_{version}_small")
        model.float().save_pretrained(folder)
        ids = input_ids(gen)
        with torch.no_grad():
            hidden = float64_reference(model)(input_ids=ids).last_hidden_state
        assert hidden.dtype == torch.float64 and hidden.shape == (2, POSITIONS, 32)
        save_file(
            {"input_ids": ids, "last_hidden_state": hidden.contiguous()},
            os.path.join(root, f"text_encoder_{version}_small_io.safetensors"),
        )
        if version == "v2":
            save_file(
                openclip_state_dict(model.float(), gen),
                os.path.join(root, "text_encoder_v2_small_openclip.safetensors"),
            )
        print(f"{version}: {act}, {layers} layers -> {folder}")
    if not only or "xl" in only:
        write_xl(root)


if __name__ == "__main__":
    main()

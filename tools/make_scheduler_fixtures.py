#!/usr/bin/env python3
"""Reference tables and short trajectories for attnscope's noise schedulers, made with diffusers' own classes.

Run where PyTorch and a diffusers source tree are importable (no network needed):
    PYTHONPATH=.ref/diffusers/src python3 tools/make_scheduler_fixtures.py tests/data

Every scheduler is built as `Cls.from_config(SD15_SCHEDULER | {"prediction_type": ...} | extra)` (tools/fixture_common.py), i.e. with the class
defaults for everything the Stable Diffusion v1.5 scheduler config does not name (timestep_spacing included).
It writes OUT_DIR/scheduler_reference.safetensors (float64 unless said otherwise) holding
  alphas_cumprod                                      the training schedule (diffusers keeps it in float32)
  <name>.<pred>.<steps>.timesteps                     scheduler.timesteps, for steps in (20, 30, 50)
  <name>.<pred>.<steps>.sigmas                        scheduler.sigmas (Euler, Euler a, DPM++ only)
  <name>.<pred>.<steps>.init_noise_sigma              shape (1,)
and, for steps=20, a 3-step trajectory in float64 ("traj") and in float32 ("traj_f32"):
  <name>.<pred>.20.<traj>.sample.K                    the input of step K (the previous step's prev_sample)
  <name>.<pred>.20.<traj>.scaled_sample.K             scale_model_input(sample.K, t_K)
  <name>.<pred>.20.<traj>.model_output.K              a fixed random stand-in for the U-Net output
  <name>.<pred>.20.<traj>.noise.K                     Euler a only: the noise its step K adds
  <name>.<pred>.20.<traj>.prev_sample.K
  <name>.<pred>.20.<traj>.pred_original_sample.K
with <name> in ddim, euler, euler_a, dpmpp_2m_karras, pndm and <pred> in epsilon, v_prediction.

and OUT_DIR/scheduler_spacing_reference.safetensors, the spacings SDXL's and the Turbo models' configs name
("timestep_spacing"), for ddim, euler, euler_a, pndm (made on the CPU, tools/cpu-reference.sh; `spacing` as a
second argument writes only this file):
  <name>.<spacing>.<steps>.timesteps                  for spacing leading, trailing and steps in (1, 3, 4, 16)
  <name>.epsilon.trailing.4.traj.*                    DDIM and PNDM: the trajectory above, 4 trailing steps

pred_original_sample: DDIM, Euler and Euler a return it from step(); DPM-Solver++ keeps it as the last entry
of `model_outputs` (its data prediction); PNDM has none, so it is the DDIM-style x0 of the step's own sample
and raw model output with alphas_cumprod[t_K], computed here with the same float32 table diffusers steps with.

Euler a draws its noise inside step() through the module-level `randn_tensor`. Reproducing a torch.Generator
stream in C++ is not possible, so the module's `randn_tensor` is replaced, for the duration of one step, by a
function returning noise drawn here (seeded) and recorded as noise.K; diffusers' own step code then runs
unchanged on it, and the C++ side replays it with step_with_noise().
"""
import os
import sys

import torch
from diffusers.schedulers import scheduling_euler_ancestral_discrete as euler_a_module
from safetensors.torch import save_file

from fixture_common import SD15_SCHEDULER, scheduler_classes

SCHEDULERS = scheduler_classes()
PREDICTIONS = ("epsilon", "v_prediction")
STEP_COUNTS = (20, 30, 50)
TRAJ_STEPS = 20
TRAJ_LEN = 3
SHAPE = (1, 4, 8, 8)


SPACINGS = ("leading", "trailing")
SPACED = ("ddim", "euler", "euler_a", "pndm")
SPACED_STEPS = (1, 3, 4, 16)
SPACED_TRAJ_STEPS = 4


def make(name, prediction, spacing=None):
    cls, extra = SCHEDULERS[name]
    config = {**SD15_SCHEDULER, "prediction_type": prediction, **extra}
    if spacing:
        config["timestep_spacing"] = spacing
    return cls.from_config(config)


def f64(x):
    x = torch.as_tensor(x).detach().to(torch.float64)
    return (x.reshape(1) if x.dim() == 0 else x).clone().contiguous()


def pndm_x0(scheduler, prediction, model_output, sample, t):
    # The same expression (and float32 table) as DDIMScheduler.step uses.
    alpha_prod_t = scheduler.alphas_cumprod[int(t)]
    beta_prod_t = 1 - alpha_prod_t
    if prediction == "epsilon":
        return (sample - beta_prod_t ** (0.5) * model_output) / alpha_prod_t ** (0.5)
    return (alpha_prod_t**0.5) * sample - (beta_prod_t**0.5) * model_output


def trajectory(name, prediction, dtype, seed, out, prefix, steps=TRAJ_STEPS, spacing=None):
    scheduler = make(name, prediction, spacing)
    scheduler.set_timesteps(steps)
    gen = torch.Generator().manual_seed(seed)
    sigma = float(scheduler.init_noise_sigma)
    sample = (torch.randn(SHAPE, generator=gen, dtype=torch.float64) * sigma).to(dtype)
    for k in range(TRAJ_LEN):
        t = scheduler.timesteps[k]
        model_output = torch.randn(SHAPE, generator=gen, dtype=torch.float64).to(dtype)
        out[f"{prefix}.sample.{k}"] = f64(sample)
        out[f"{prefix}.model_output.{k}"] = f64(model_output)
        scaled = scheduler.scale_model_input(sample, t)
        out[f"{prefix}.scaled_sample.{k}"] = f64(scaled)
        if name == "euler_a":
            noise = torch.randn(SHAPE, generator=gen, dtype=torch.float64).to(dtype)
            out[f"{prefix}.noise.{k}"] = f64(noise)

            def recorded(shape, generator=None, device=None, dtype=None, layout=None, _noise=noise):
                assert tuple(shape) == tuple(_noise.shape), (shape, _noise.shape)
                return _noise.to(device=device, dtype=dtype)

            saved = euler_a_module.randn_tensor
            euler_a_module.randn_tensor = recorded
            try:
                result = scheduler.step(model_output, t, sample)
            finally:
                euler_a_module.randn_tensor = saved
        else:
            result = scheduler.step(model_output, t, sample)
        if name == "dpmpp_2m_karras":
            x0 = scheduler.model_outputs[-1]
        elif name == "pndm":
            x0 = pndm_x0(scheduler, prediction, model_output, sample, t)
        else:
            x0 = result.pred_original_sample
        assert result.prev_sample.dtype == dtype, (name, result.prev_sample.dtype)
        out[f"{prefix}.prev_sample.{k}"] = f64(result.prev_sample)
        out[f"{prefix}.pred_original_sample.{k}"] = f64(x0)
        sample = result.prev_sample


def save(out, path):
    import diffusers
    save_file(out, path, metadata={"diffusers": diffusers.__version__, "torch": torch.__version__})
    print(f"wrote {path}: {len(out)} tensors, {os.path.getsize(path)} bytes")


def schedules(out):
    out["alphas_cumprod"] = f64(make("ddim", "epsilon").alphas_cumprod)
    out["alphas_cumprod"] = f64(make("ddim", "epsilon").alphas_cumprod)
    for i, name in enumerate(SCHEDULERS):
        for j, prediction in enumerate(PREDICTIONS):
            for steps in STEP_COUNTS:
                scheduler = make(name, prediction)
                scheduler.set_timesteps(steps)
                key = f"{name}.{prediction}.{steps}"
                out[f"{key}.timesteps"] = f64(scheduler.timesteps)
                if name not in ("ddim", "pndm"):
                    out[f"{key}.sigmas"] = f64(scheduler.sigmas)
                out[f"{key}.init_noise_sigma"] = f64(torch.as_tensor(float(scheduler.init_noise_sigma)))
            seed = 1000 + 10 * i + j
            prefix = f"{name}.{prediction}.{TRAJ_STEPS}"
            trajectory(name, prediction, torch.float64, seed, out, prefix + ".traj")
            trajectory(name, prediction, torch.float32, seed, out, prefix + ".traj_f32")


def spacings(out):
    for i, name in enumerate(SPACED):
        for spacing in SPACINGS:
            for steps in SPACED_STEPS:
                scheduler = make(name, "epsilon", spacing)
                scheduler.set_timesteps(steps)
                out[f"{name}.{spacing}.{steps}.timesteps"] = f64(scheduler.timesteps)
        if name in ("ddim", "pndm"):
            trajectory(name, "epsilon", torch.float64, 2000 + i, out,
                       f"{name}.epsilon.trailing.{SPACED_TRAJ_STEPS}.traj", SPACED_TRAJ_STEPS, "trailing")


def main():
    if len(sys.argv) not in (2, 3) or sys.argv[2:] not in ([], ["spacing"]):
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    if len(sys.argv) == 2:
        out = {}
        schedules(out)
        save(out, os.path.join(out_dir, "scheduler_reference.safetensors"))
    out = {}
    spacings(out)
    save(out, os.path.join(out_dir, "scheduler_spacing_reference.safetensors"))


if __name__ == "__main__":
    main()

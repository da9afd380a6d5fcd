"""What the reference-fixture scripts share: diffusers' SD scheduler configuration and its conversion script."""
import importlib.util
import os

# The Stable Diffusion v1.5 scheduler config; every other field takes the class's own default.
SD15_SCHEDULER = {
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "num_train_timesteps": 1000,
    "set_alpha_to_one": False,
    "skip_prk_steps": True,
    "steps_offset": 1,
    "clip_sample": False,
    "trained_betas": None,
}


def scheduler_classes():
    """attnscope's scheduler names -> (diffusers class, extra config)."""
    from diffusers import (DDIMScheduler, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler,
                           EulerDiscreteScheduler, PNDMScheduler)
    return {
        "ddim": (DDIMScheduler, {}),
        "euler": (EulerDiscreteScheduler, {}),
        "euler_a": (EulerAncestralDiscreteScheduler, {}),
        "dpmpp_2m_karras": (DPMSolverMultistepScheduler,
                            {"use_karras_sigmas": True, "algorithm_type": "dpmsolver++", "solver_order": 2}),
        "pndm": (PNDMScheduler, {}),
    }


def _script(scripts_dir, name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(scripts_dir, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_conversion_script(scripts_dir):
    """diffusers' scripts/convert_diffusers_to_original_stable_diffusion.py as a module."""
    return _script(scripts_dir, "convert_diffusers_to_original_stable_diffusion")


def load_sdxl_conversion_script(scripts_dir):
    """diffusers' scripts/convert_diffusers_to_original_sdxl.py (SDXL's 3-level U-Net) as a module."""
    return _script(scripts_dir, "convert_diffusers_to_original_sdxl")

"""Stand-in for huggingface_hub (tools/cpu-reference.sh): diffusers imports it everywhere but a fixture script
never reaches the hub. Any attribute of huggingface_hub or of a huggingface_hub.* submodule resolves to a
placeholder; only the single-shard split that save_pretrained needs is real."""
import os
import re
import tempfile
from dataclasses import dataclass

from placeholder_modules import serve_submodules

__version__ = "0.34.0"


class _Placeholder:
    """Usable as a type (annotations, isinstance) and as an identity decorator; any other call fails."""

    def __new__(cls, *a, **k):
        if len(a) == 1 and not k and callable(a[0]):
            return a[0]
        raise NotImplementedError("huggingface_hub stub: %s called" % cls.__name__)


_HOME = os.path.join(tempfile.gettempdir(), "attnscope-hf-home")
_CONST = {
    "HF_HOME": _HOME,
    "HUGGINGFACE_HUB_CACHE": os.path.join(_HOME, "hub"),
    "HF_HUB_CACHE": os.path.join(_HOME, "hub"),
    "HF_HUB_OFFLINE": True,
    "HF_HUB_DISABLE_TELEMETRY": True,
    "REGEX_COMMIT_HASH": re.compile(r"^[0-9a-f]{40}$"),
    "ENDPOINT": "https://huggingface.co",
    "HUGGINGFACE_CO_RESOLVE_ENDPOINT": "https://huggingface.co",
}


def _noop(*a, **k):
    return None


def _identity_decorator_factory(*a, **k):
    return lambda f: f


# Helpers transformers (v4.45 era) calls at import time; all are bookkeeping (progress bars, deprecation).
_FUNCS = {
    "are_progress_bars_disabled": lambda *a, **k: True,
    "disable_progress_bars": _noop,
    "enable_progress_bars": _noop,
    "_deprecate_method": _identity_decorator_factory,
    "_deprecate_arguments": _identity_decorator_factory,
    "_deprecate_positional_args": _identity_decorator_factory,
}


def _attr(modname, name):
    if name in _FUNCS:
        return _FUNCS[name]
    if name.startswith("__"):
        raise AttributeError(name)
    if name in _CONST:
        return _CONST[name]
    if name.endswith(("Error", "Exception", "Warning")):
        return type(name, (Exception,), {"__module__": modname})
    if name.startswith("is_") and name.endswith("_available"):
        return lambda *a, **k: False
    if name.isupper():
        return name
    return type(name, (_Placeholder,), {"__module__": modname})


@dataclass
class StateDictSplit:
    is_sharded: bool
    metadata: dict
    filename_to_tensors: dict
    tensor_to_filename: dict


def split_torch_state_dict_into_shards(state_dict, *, filename_pattern="model{suffix}.safetensors",
                                       max_shard_size="5GB"):
    """Single shard only (the fixtures are tiny)."""
    name = filename_pattern.format(suffix="")
    keys = list(state_dict.keys())
    size = sum(t.numel() * t.element_size() for t in state_dict.values())
    return StateDictSplit(False, {"total_size": size}, {name: keys}, {k: name for k in keys})


def __getattr__(name):
    v = _attr(__name__, name)
    globals()[name] = v
    return v


def _submodule_attr(modname, name):
    if name in ("StateDictSplit", "split_torch_state_dict_into_shards"):
        return globals()[name]
    return _attr(modname, name)


serve_submodules(__name__, _submodule_attr)

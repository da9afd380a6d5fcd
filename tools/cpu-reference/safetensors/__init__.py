"""Pure-Python safetensors (the real file format) for tools/cpu-reference.sh, on a machine without PyPI."""
__version__ = "0.4.0"


class SafetensorError(Exception):
    pass


from . import torch  # noqa: E402,F401  (diffusers uses safetensors.torch.* after `import safetensors`)
from .torch import safe_open  # noqa: E402,F401

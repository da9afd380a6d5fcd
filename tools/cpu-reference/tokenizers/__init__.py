"""Stand-in for the Rust `tokenizers` package (tools/cpu-reference): transformers' integrations/ggml.py does
`from tokenizers import Tokenizer, decoders, ...` at import time. Every attribute of tokenizers or of a
tokenizers.* submodule is a placeholder class that raises if instantiated. No dist-info is shipped, so
transformers' is_tokenizers_available() stays False and only the slow (pure-Python) tokenizers are used."""
from placeholder_modules import serve_submodules

__version__ = "0.0.0-stub"


class _Placeholder:
    def __init__(self, *a, **k):
        raise NotImplementedError("tokenizers stub: %s used" % type(self).__name__)


def _attr(modname, name):
    if name.startswith("__"):
        raise AttributeError(name)
    return type(name, (_Placeholder,), {"__module__": modname})


def __getattr__(name):
    v = _attr(__name__, name)
    globals()[name] = v
    return v


serve_submodules(__name__, _attr)

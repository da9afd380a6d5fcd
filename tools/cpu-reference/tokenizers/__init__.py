"""Stand-in for the Rust `tokenizers` package (tools/cpu-reference): transformers' integrations/ggml.py does
`from tokenizers import Tokenizer, decoders, ...` at import time. Every attribute of tokenizers or of a
tokenizers.* submodule is a placeholder class that raises if instantiated. No dist-info is shipped, so
transformers' is_tokenizers_available() stays False and only the slow (pure-Python) tokenizers are used."""
import importlib.abc
import importlib.machinery
import sys
import types

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


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname.startswith("tokenizers."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        m = types.ModuleType(spec.name)
        m.__path__ = []
        cache = {}

        def ga(name, _m=spec.name):
            if name.startswith("__"):
                raise AttributeError(name)
            if name not in cache:
                cache[name] = _attr(_m, name)
            return cache[name]

        m.__getattr__ = ga
        return m

    def exec_module(self, module):
        pass


sys.meta_path.insert(0, _Finder())

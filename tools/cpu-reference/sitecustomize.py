"""Debian's torch 1.13 under diffusers' current sources (tools/cpu-reference.sh): the names diffusers refers to at
import time that 1.13 lacks (device back-ends, newer dtypes, torch.compiler, device meshes, torch.nn.attention)
are added as inert placeholders. Nothing numeric is touched: the fixtures' forward passes use diffusers' plain
AttnProcessor, and on 1.13 diffusers falls back to it anyway."""
import types

try:
    import torch
except ImportError:
    torch = None

if torch is not None:
    def _noop(*a, **k):
        return None

    for _name in ("xpu", "mps"):
        _m = getattr(torch, _name, None)
        if _m is None:
            _m = types.ModuleType("torch." + _name)
            setattr(torch, _name, _m)
        for _fn, _v in (("empty_cache", _noop), ("device_count", lambda: 0), ("manual_seed", _noop),
                        ("is_available", lambda: False), ("synchronize", _noop)):
            if not hasattr(_m, _fn):
                setattr(_m, _fn, _v)

    class _MissingDtype:
        """Stand-in for a dtype torch 1.13 lacks (only referenced in quantizer tables / default args)."""

        def __init__(self, name):
            self.name = name

        def __repr__(self):
            return "torch.%s(missing)" % self.name

    for _name in ("float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu",
                  "uint16", "uint32", "uint64", "uint1", "uint2", "uint3", "uint4", "uint5", "uint6", "uint7",
                  "int1", "int2", "int3", "int4", "int5", "int6", "int7", "float4_e2m1fn_x2"):
        if not hasattr(torch, _name):
            setattr(torch, _name, _MissingDtype(_name))

    import sys as _sys

    def _ensure_module(dotted):
        parent, _, leaf = dotted.rpartition(".")
        pm = _sys.modules.get(parent) or __import__(parent, fromlist=["_"])
        m = getattr(pm, leaf, None)
        if m is None:
            try:
                m = __import__(dotted, fromlist=["_"])
            except ImportError:
                m = types.ModuleType(dotted)
                _sys.modules[dotted] = m
            setattr(pm, leaf, m)
        return m

    class _Opaque:
        """Placeholder for a torch 2.x class referenced only in annotations / isinstance checks."""

    if not hasattr(torch, "compiler"):
        _c = _ensure_module("torch.compiler")

        def _disable(fn=None, recursive=True):
            return fn if fn is not None else (lambda f: f)

        _c.disable = _disable
        _c.is_compiling = lambda: False
        _c.is_dynamo_compiling = lambda: False
    import torch.distributed as _dist
    _dm = _ensure_module("torch.distributed.device_mesh")
    if not hasattr(_dm, "DeviceMesh"):
        _dm.DeviceMesh = type("DeviceMesh", (_Opaque,), {})
    _ensure_module("torch.distributed._functional_collectives")

    def _unavailable(name):
        def f(*a, **k):
            raise NotImplementedError("%s is not in torch %s" % (name, torch.__version__))
        return f

    try:
        import torch.nn.attention  # noqa: F401
    except ImportError:
        _na = _ensure_module("torch.nn.attention")
        _na.SDPBackend = type("SDPBackend", (_Opaque,), {"MATH": 0, "FLASH_ATTENTION": 1, "EFFICIENT_ATTENTION": 2,
                                                        "CUDNN_ATTENTION": 3})
        _na.sdpa_kernel = _unavailable("torch.nn.attention.sdpa_kernel")
        _fa = _ensure_module("torch.nn.attention.flex_attention")
        _fa.BlockMask = type("BlockMask", (_Opaque,), {})
        _fa.create_block_mask = _unavailable("create_block_mask")
        _fa.flex_attention = _unavailable("flex_attention")


# --- (transformers 4.45-era sources without the Rust `tokenizers`) -----------------------------
# transformers.tokenization_utils_base's pure-Python fallback AddedToken is `@dataclass(eq=True)` with no fields,
# so it is unhashable (and all instances compare equal); every slow tokenizer's __init__ then fails with
# "TypeError: unhashable type: 'AddedToken'" (huggingface/transformers#30696). After that module loads, give the
# class the Rust tokenizers.AddedToken's semantics: hash and == by `content`, and __setstate__. Tokenization only.
import importlib.abc as _iabc
import sys as _sys2


def _fix_added_token(mod):
    cls = getattr(mod, "AddedToken", None)
    if cls is None or getattr(cls, "__module__", "") != mod.__name__:
        return  # the real tokenizers.AddedToken is in use

    def __eq__(self, other):
        if not isinstance(other, cls):
            return NotImplemented
        return self.content == other.content

    def __hash__(self):
        return hash(self.content)

    def __setstate__(self, state):  # tokenization_utils._add_tokens calls it, as on the Rust class
        self.__dict__.update(state)

    cls.__eq__ = __eq__
    cls.__hash__ = __hash__
    if not hasattr(cls, "__setstate__"):
        cls.__setstate__ = __setstate__


# diffusers' current sources import, at module level, a few transformers classes newer than the 4.45-era tree
# (e.g. models/autoencoders/autoencoder_rae.py: Dinov2WithRegisters*). They are added to the transformers module
# as placeholder classes that raise if instantiated; a name transformers really has is never touched.
_TRANSFORMERS_MISSING = ("Dinov2WithRegistersConfig", "Dinov2WithRegistersModel")


class _MissingTransformersClass:
    def __init__(self, *a, **k):
        raise NotImplementedError("%s is not in this transformers tree (tools/cpu-reference placeholder)" % type(self).__name__)

    @classmethod
    def from_pretrained(cls, *a, **k):
        cls()


def _add_missing_transformers_names(mod):
    mod = _sys2.modules.get(mod.__name__, mod)  # transformers/__init__ swaps itself for a _LazyModule
    known = getattr(mod, "_class_to_module", {})
    for name in _TRANSFORMERS_MISSING:
        if name not in known and name not in mod.__dict__:
            setattr(mod, name, type(name, (_MissingTransformersClass,), {"__module__": "transformers"}))


class _PostImport(_iabc.MetaPathFinder):
    _targets = {"transformers.tokenization_utils_base": _fix_added_token,
                "transformers": _add_missing_transformers_names}

    def find_spec(self, fullname, path, target=None):
        if fullname not in self._targets:
            return None
        _sys2.meta_path.remove(self)
        try:
            import importlib.util
            spec = importlib.util.find_spec(fullname)
        finally:
            _sys2.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        orig_exec = spec.loader.exec_module
        hook = self._targets[fullname]

        def exec_module(module, _orig=orig_exec, _hook=hook):
            _orig(module)
            _hook(module)

        spec.loader.exec_module = exec_module
        return spec


_sys2.meta_path.insert(0, _PostImport())

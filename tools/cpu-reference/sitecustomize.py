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

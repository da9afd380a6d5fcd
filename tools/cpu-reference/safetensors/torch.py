import json
import struct

import numpy as np
import torch

_TO = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
       torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
       torch.bool: "BOOL"}
_FROM = {v: k for k, v in _TO.items()}
_NP = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<i2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
       "I8": "i1", "U8": "u1", "BOOL": "?"}


def _raw(t):
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<"), copy=False).tobytes()


def save(tensors, metadata=None):
    items = sorted(tensors.items(), key=lambda kv: (-kv[1].element_size(), kv[0]))
    header, blobs, off = {}, [], 0
    for name, t in items:
        if t.dtype not in _TO:
            raise ValueError("unsupported dtype %s" % t.dtype)
        b = _raw(t)
        header[name] = {"dtype": _TO[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata is not None:
        header = {"__metadata__": {str(k): str(v) for k, v in metadata.items()}, **header}
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def save_file(tensors, filename, metadata=None):
    with open(filename, "wb") as f:
        f.write(save(tensors, metadata))


def _parse(data):
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", None)
    return header, meta, 8 + n


def _tensor(data, base, info):
    a, b = info["data_offsets"]
    dt = info["dtype"]
    arr = np.frombuffer(data[base + a:base + b], dtype=np.dtype(_NP[dt])).copy().reshape(info["shape"])
    t = torch.from_numpy(arr)
    return t.view(torch.bfloat16) if dt == "BF16" else t


def load(data):
    header, _, base = _parse(data)
    return {k: _tensor(data, base, v) for k, v in header.items()}


def load_file(filename, device="cpu"):
    with open(filename, "rb") as f:
        out = load(f.read())
    return {k: v.to(device) for k, v in out.items()} if str(device) != "cpu" else out


class safe_open:
    def __init__(self, filename, framework="pt", device="cpu"):
        with open(filename, "rb") as f:
            self._data = f.read()
        self._header, self._meta, self._base = _parse(self._data)
        self._device = device

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def keys(self):
        return list(self._header.keys())

    def metadata(self):
        return self._meta

    def get_tensor(self, name):
        return _tensor(self._data, self._base, self._header[name]).to(self._device)


# transformers' pytorch_utils imports these (used only to detect tensors sharing storage when
# saving); same logic as the real safetensors.torch.
def storage_ptr(tensor):
    try:
        return tensor.untyped_storage().data_ptr()
    except Exception:
        try:
            return tensor.storage().data_ptr()
        except NotImplementedError:
            return 0


def storage_size(tensor):
    try:
        return tensor.untyped_storage().nbytes()
    except AttributeError:
        try:
            return tensor.storage().size() * tensor.element_size()
        except NotImplementedError:
            return tensor.nelement() * tensor.element_size()

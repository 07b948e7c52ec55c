#!/usr/bin/python3
"""Converts a PyTorch state dict between .pth and safetensors, with torch alone (no `safetensors` package).

    python3 pth_to_safetensors.py model.pth model.safetensors      # torch.load -> safetensors
    python3 pth_to_safetensors.py model.safetensors model.pth      # and back (torch.save of the state dict)

A .pth may hold a state dict, a whole nn.Module, or a torchvision reference-training checkpoint
({"model": state_dict, "optimizer": ...}); the state dict is what is written. `@detkit/torchvision` reads the
safetensors file (`readSafetensors` / `loadStateDict`) and writes one back that this script, or
`safetensors.torch.load_file`, turns into a state dict torchvision's `load_state_dict(strict=True)` accepts.

The format (https://github.com/huggingface/safetensors): an 8-byte little-endian header length N, N bytes of
JSON header {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}} padded with
spaces to a multiple of 8, then each tensor's raw little-endian bytes, row-major, one after another.
"""
import json
import struct
import sys
from collections import OrderedDict

import torch

DTYPES = {
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float64: "F64",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}
TORCH_DTYPES = {v: k for k, v in DTYPES.items()}

if sys.byteorder != "little":
    raise SystemExit("pth_to_safetensors.py: this host is big-endian; safetensors data is little-endian")


def _raw_bytes(t):
    t = t.detach().to("cpu").contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def save_file(tensors, path, metadata=None):
    """Writes name -> tensor as safetensors (tensors in the given order)."""
    header = OrderedDict()
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    chunks, offset = [], 0
    for name, t in tensors.items():
        if t.dtype not in DTYPES:
            raise ValueError(f"{name}: dtype {t.dtype} has no safetensors equivalent")
        raw = _raw_bytes(t)
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    head += b" " * (-len(head) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for raw in chunks:
            f.write(raw)


def load_file(path):
    """Reads a safetensors file: (OrderedDict name -> tensor, metadata dict)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n].decode("utf-8"), object_pairs_hook=OrderedDict)
    metadata = header.pop("__metadata__", {})
    body = data[8 + n :]
    out = OrderedDict()
    for name, info in header.items():
        begin, end = info["data_offsets"]
        dtype = TORCH_DTYPES[info["dtype"]]
        raw = bytearray(body[begin:end])
        if dtype == torch.bfloat16:
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16) if raw else torch.empty(0, dtype=dtype)
        else:
            t = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(info["shape"])
    return out, metadata


def state_dict_of(obj):
    """The state dict inside what torch.load returned."""
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    if isinstance(obj, dict) and "model" in obj and isinstance(obj["model"], dict):
        return obj["model"]
    if isinstance(obj, dict):
        return obj
    raise ValueError(f"expected a state dict, an nn.Module or a checkpoint with a 'model' entry, got {type(obj).__name__}")


def main(argv):
    if len(argv) != 2:
        raise SystemExit(__doc__)
    src, dst = argv
    if src.endswith(".safetensors"):
        tensors, _ = load_file(src)
        torch.save(tensors, dst)
    else:
        state = state_dict_of(torch.load(src, map_location="cpu"))
        tensors = OrderedDict((k, v) for k, v in state.items() if isinstance(v, torch.Tensor))
        save_file(tensors, dst, {"format": "pt", "source": src.rsplit("/", 1)[-1]})
    print(f"wrote {dst}: {len(tensors)} tensors")


if __name__ == "__main__":
    main(sys.argv[1:])

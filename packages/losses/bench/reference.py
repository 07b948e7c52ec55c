#!/usr/bin/python3
"""torchvision side of W6-loss (BENCHMARKS.md W6, loss forward+backward): SSD.compute_loss, torchvision
0.14's own code path, and the backward pass of its two losses to the class logits and box regression.

`w6_loss(x)` follows tooling/bench/reference.py's workload protocol: it gets the inputs that
bench/workload.mjs generated (as torch tensors) and returns (timed call, check(output), note). Run on its
own it speaks that file's protocol too (a JSON spec on stdin, a JSON result on stdout), so bench/run.mjs
can time it without the harness:

    {"inputs_dir": "...", "workloads": ["W6-loss"], "time_ms": 1000, "min_runs": 5, "warmup_runs": 1}

One thread (torch.set_num_threads(1), OPENBLAS_NUM_THREADS=1), as tfjs-backend-wasm in Node.
"""
import json
import os
import statistics
import sys
import time
from types import SimpleNamespace

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

try:
    import numpy as np
    import torch
    import torchvision
    from torchvision.models.detection._utils import BoxCoder, SSDMatcher
    from torchvision.models.detection.anchor_utils import DefaultBoxGenerator
    from torchvision.models.detection.image_list import ImageList
    from torchvision.models.detection.ssd import SSD
    from torchvision.ops import box_iou
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"reference.py: cannot import torch/torchvision: {e}", file=sys.stderr)
    sys.exit(3)

torch.set_num_threads(1)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass


def input_notes(x):
    """Checks the shared inputs against torchvision's DefaultBoxGenerator and SSDMatcher; None if they agree."""
    notes = []
    gen = DefaultBoxGenerator([[2], [2, 3], [2, 3], [2, 3], [2], [2]], scales=[0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05], steps=[8, 16, 32, 64, 100, 300])
    feats = [torch.zeros(1, 1, s, s) for s in (38, 19, 10, 5, 3, 1)]
    expected = gen(ImageList(torch.zeros(1, 3, 300, 300), [(300, 300)]), feats)[0]
    if expected.shape != x["priors"].shape or not torch.allclose(expected, x["priors"], atol=1e-4):
        notes.append("priors differ from DefaultBoxGenerator")
    matcher = SSDMatcher(0.5)
    differ = sum(int(not torch.equal(matcher(box_iou(gt, x["priors"])).to(torch.int32), m)) for gt, m in zip(x["gtBoxes"], x["matched"]))
    if differ:
        notes.append(f"matches differ from SSDMatcher in {differ} image(s)")
    return "; ".join(notes) or None


def w6_loss(x):
    ssd = SimpleNamespace(box_coder=BoxCoder(weights=(10.0, 10.0, 5.0, 5.0)), neg_to_pos_ratio=3.0)
    targets = [{"boxes": b, "labels": l.long()} for b, l in zip(x["gtBoxes"], x["gtLabels"])]
    anchors = [x["priors"]] * x["matched"].shape[0]
    matched = [m.long() for m in x["matched"]]

    def call():
        with torch.enable_grad():  # the harness times under torch.no_grad()
            logits = x["clsLogits"].detach().requires_grad_(True)
            deltas = x["bboxRegression"].detach().requires_grad_(True)
            losses = SSD.compute_loss(ssd, targets, {"cls_logits": logits, "bbox_regression": deltas}, anchors, matched)
            total = losses["classification"] + losses["bbox_regression"]
            grads = torch.autograd.grad(total, [logits, deltas])
        return total.detach(), grads

    def check(out):
        total, (gl, gd) = out
        return [total.item(), gl.double().abs().sum().item(), gd.double().abs().sum().item()]

    return call, check, input_notes(x)


WORKLOADS = {"W6-loss": w6_loss}


def load_inputs(inputs_dir, entries):
    out = {}
    for name, spec in entries.items():
        dtype = {"float32": "<f4", "int32": "<i4"}[spec["dtype"]]
        arr = np.fromfile(os.path.join(inputs_dir, spec["file"]), dtype=dtype).reshape(spec["shape"])
        out[name] = torch.from_numpy(arr)
    return out


def time_call(fn, time_ms, min_runs, warmup_runs):
    for _ in range(warmup_runs):
        fn()
    samples, total = [], 0.0
    while total < time_ms or len(samples) < min_runs:
        t0 = time.perf_counter()
        fn()
        dt = (time.perf_counter() - t0) * 1000.0
        samples.append(dt)
        total += dt
    return statistics.median(samples), len(samples), samples


def main():
    spec = json.load(sys.stdin)
    with open(os.path.join(spec["inputs_dir"], "manifest.json")) as f:
        manifest = json.load(f)
    results = {}
    for wid in spec["workloads"]:
        try:
            fn, check, note = WORKLOADS[wid](load_inputs(spec["inputs_dir"], manifest[wid]))
            median, runs, samples = time_call(fn, spec.get("time_ms", 1000), spec.get("min_runs", 5), spec.get("warmup_runs", 1))
            results[wid] = {"median_ms": median, "runs": runs, "samples_ms": samples, "check": check(fn())}
            if note:
                results[wid]["note"] = note
        except Exception as e:  # pragma: no cover
            results[wid] = {"error": f"{type(e).__name__}: {e}"}
    json.dump({"torch": torch.__version__, "torchvision": torchvision.__version__, "threads": torch.get_num_threads(), "results": results}, sys.stdout)
    print()


if __name__ == "__main__":
    main()

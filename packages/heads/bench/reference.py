#!/usr/bin/python3
"""torchvision side of @detkit/heads' workloads (W3, W5a-c of /work/shared/BENCHMARKS.md), CPU, one thread.

Same protocol as tooling/bench/reference.py: a JSON spec in the file named by argv[1] (or stdin),

    {"inputs_dir": "...", "workloads": ["W3", "W5a"], "time_ms": 1000, "min_runs": 5, "warmup_runs": 1}

where inputs_dir holds manifest.json and the raw little-endian arrays that workloads.mjs generated; prints
{"torch", "torchvision", "threads", "results": {id: {"median_ms", "runs", "check"} | {"error"}}}. To plug
into tooling/bench, merge WORKLOADS below into its reference.py's WORKLOADS (the functions only need
torch, torchvision and numpy). The harness runs every call under torch.no_grad(); W5b turns gradients back
on inside its call. Exit status 3: torch or torchvision cannot be imported.
"""
import json
import os
import statistics
import sys
import time

for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

try:
    import numpy as np
    import torch
    import torchvision
    from torchvision.models.detection._utils import BoxCoder
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.image_list import ImageList
    from torchvision.ops import boxes as box_ops
    from torchvision.ops import roi_align, roi_pool
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"reference.py: cannot import torch/torchvision: {e}", file=sys.stderr)
    sys.exit(3)

torch.set_num_threads(1)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass


def anchors_note(anchors):
    gen = AnchorGenerator(sizes=((128, 256, 512),), aspect_ratios=((0.5, 1.0, 2.0),))
    expected = gen(ImageList(torch.zeros(1, 3, 800, 800), [(800, 800)]), [torch.zeros(1, 1, 50, 50)])[0]
    if expected.shape == anchors.shape and torch.equal(expected, anchors):
        return None
    return "inputs differ from AnchorGenerator"


def w3(x):
    """The walk-through's proposal layer (BENCHMARKS.md W3) with torchvision ops: decode (clamp
    log(1000/16)), clip to 800x800, drop sides < 16, top 12,000 by objectness, NMS 0.7, keep 2,000."""
    coder = BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))
    deltas, logits, anchors = x["deltas"][0], x["objectness"][0], x["anchors"]

    def run():
        boxes = coder.decode_single(deltas, anchors)
        boxes = box_ops.clip_boxes_to_image(boxes, (800, 800))
        keep = box_ops.remove_small_boxes(boxes, 16.0)
        boxes, lg = boxes[keep], logits[keep]
        _, order = lg.topk(min(12000, lg.numel()))
        boxes, scores = boxes[order], torch.sigmoid(lg[order])
        keep = box_ops.nms(boxes, scores, 0.7)[:2000]
        return boxes[keep], scores[keep]

    def check(out):
        return [out[0].shape[0], out[0].double().sum().item()]

    return run, check, anchors_note(anchors)


def nchw(t):
    return t.permute(0, 3, 1, 2).contiguous()


def rois_of(x):
    return torch.cat([x["boxImageIndex"].to(torch.float32)[:, None], x["boxes"]], dim=1)


def w5a(x):
    features, rois = nchw(x["features"]), rois_of(x)
    return (lambda: roi_align(features, rois, (7, 7), 1 / 16, 2, True)), (lambda out: [out.double().sum().item()])


def w5b(x):
    features, rois, upstream = nchw(x["features"]), rois_of(x), nchw(x["upstream"])

    def run():
        with torch.enable_grad():
            f = features.detach().requires_grad_(True)
            out = roi_align(f, rois, (7, 7), 1 / 16, 2, True)
            (grad,) = torch.autograd.grad(out, f, upstream)
        return grad

    return run, (lambda g: [g.double().sum().item()])


def w5c(x):
    features, rois = nchw(x["features"]), rois_of(x)
    return (lambda: roi_pool(features, rois, (7, 7), 1 / 16)), (lambda out: [out.double().sum().item()])


WORKLOADS = {"W3": w3, "W5a": w5a, "W5b": w5b, "W5c": w5c}


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
    samples = []
    total = 0.0
    while total < time_ms or len(samples) < min_runs:
        t0 = time.perf_counter()
        fn()
        dt = (time.perf_counter() - t0) * 1000.0
        samples.append(dt)
        total += dt
    return statistics.median(samples), len(samples)


def main():
    arg = sys.argv[1] if len(sys.argv) > 1 else "-"
    spec = json.load(sys.stdin) if arg == "-" else json.load(open(arg))
    with open(os.path.join(spec["inputs_dir"], "manifest.json")) as f:
        manifest = json.load(f)
    results = {}
    for wid in spec["workloads"]:
        if wid not in WORKLOADS:
            results[wid] = {"error": "no torchvision implementation in reference.py"}
            continue
        try:
            setup = WORKLOADS[wid](load_inputs(spec["inputs_dir"], manifest[wid]))
            fn, check = setup[0], setup[1]
            with torch.no_grad():
                median, runs = time_call(fn, spec.get("time_ms", 1000), spec.get("min_runs", 5), spec.get("warmup_runs", 1))
                result = {"median_ms": median, "runs": runs, "check": check(fn())}
            if len(setup) > 2 and setup[2]:
                result["note"] = setup[2]
        except Exception as e:  # one failing workload must not lose the others
            result = {"error": f"{type(e).__name__}: {e}"}
        results[wid] = result
        shown = f"{result['median_ms']:.3f} ms" if "median_ms" in result else result["error"]
        print(f"  torchvision {wid}: {shown}", file=sys.stderr)
    json.dump({"torch": torch.__version__, "torchvision": torchvision.__version__, "threads": torch.get_num_threads(), "results": results}, sys.stdout)
    print()


if __name__ == "__main__":
    main()

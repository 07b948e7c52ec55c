#!/usr/bin/python3
"""torchvision side of `pnpm bench`: times the standard workloads on CPU, one thread.

Run by run.mjs with Debian's Python and torchvision 0.14 (`apt-get install -y python3-torchvision
libopenblas0-pthread`). It reads a JSON spec from the file named in argv[1], or from stdin when there is
none (or it is "-"):

    {"inputs_dir": "/tmp/detkit-bench-x", "workloads": ["W1a", "W7a"],
     "time_ms": 1000, "min_runs": 5, "warmup_runs": 1}

inputs_dir holds the inputs run.mjs generated (manifest.json plus raw little-endian arrays), so both
sides time the same values. Prints one JSON object on stdout:

    {"torch": "...", "torchvision": "...", "threads": 1,
     "results": {"W1a": {"median_ms": 0.5, "runs": 2000, "check": [...]}, "W9": {"error": "..."}}}

Exit status 3 means torch or torchvision could not be imported.
"""
import json
import os
import statistics
import sys
import time

# Before torch loads: one BLAS/OpenMP thread, as tfjs-backend-wasm in Node.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

try:
    import numpy as np
    import torch
    import torchvision
    from torchvision.models.detection.anchor_utils import AnchorGenerator
    from torchvision.models.detection.image_list import ImageList
    from torchvision.ops import batched_nms, box_iou, nms
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"reference.py: cannot import torch/torchvision: {e}", file=sys.stderr)
    sys.exit(3)

torch.set_num_threads(1)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass


def iou_check(iou):
    return [iou.double().sum().item()]


def keep_check(keep):
    return [keep.numel(), keep.long().sum().item()]


def rpn_anchors_note(anchors):
    """Checks the harness's anchors against torchvision's AnchorGenerator (W2's settings)."""
    gen = AnchorGenerator(sizes=((128, 256, 512),), aspect_ratios=((0.5, 1.0, 2.0),))
    images = ImageList(torch.zeros(1, 3, 800, 800), [(800, 800)])
    expected = gen(images, [torch.zeros(1, 1, 50, 50)])[0]
    if expected.shape == anchors.shape and torch.equal(expected, anchors):
        return None
    return f"inputs differ from AnchorGenerator: shape {tuple(expected.shape)} vs {tuple(anchors.shape)}"


# Workload registry: id -> setup(inputs) returning (timed call, check(output)[, note]). Same ids and
# inputs as workloads.mjs; setup work (dtype casts, checks) stays outside the timed call.
def w1a(x):
    return (lambda: box_iou(x["anchors"], x["gt"])), iou_check, rpn_anchors_note(x["anchors"])


def w1b(x):
    return (lambda: box_iou(x["boxes"], x["gt"])), iou_check


def w7a(x):
    return (lambda: nms(x["boxes"], x["scores"], 0.7)), keep_check


def w7b(x):
    idxs = x["classIds"].long()
    return (lambda: batched_nms(x["boxes"], x["scores"], idxs, 0.5)), keep_check


WORKLOADS = {"W1a": w1a, "W1b": w1b, "W7a": w7a, "W7b": w7b}


def load_inputs(inputs_dir, entries):
    out = {}
    for name, spec in entries.items():
        dtype = {"float32": "<f4", "int32": "<i4"}[spec["dtype"]]
        arr = np.fromfile(os.path.join(inputs_dir, spec["file"]), dtype=dtype).reshape(spec["shape"])
        out[name] = torch.from_numpy(arr)
    return out


def time_call(fn, time_ms, min_runs, warmup_runs):
    """Runs fn warmup_runs times, then until both time_ms and min_runs are reached; median in ms."""
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
    json.dump(
        {"torch": torch.__version__, "torchvision": torchvision.__version__, "threads": torch.get_num_threads(), "results": results},
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""torchvision side of `pnpm bench`: times the standard workloads on CPU, one thread (DETKIT_BENCH_THREADS
threads when set: run.mjs's thread comparison).

Run by run.mjs with Debian's Python and torchvision 0.14 (`apt-get install -y python3-torchvision
libopenblas0-pthread`). It reads a JSON spec from the file named in argv[1], or from stdin when there is
none (or it is "-"):

    {"inputs_dir": "/tmp/detkit-bench-x", "workloads": ["W1a", "W7a"],
     "time_ms": 1000, "min_runs": 5, "warmup_runs": 1, "overrides": {"W8": {"min_runs": 3}}}

inputs_dir holds the inputs run.mjs generated (manifest.json plus raw little-endian arrays), so both
sides time the same values. Prints one JSON object on stdout:

    {"torch": "...", "torchvision": "...", "threads": 1,
     "results": {"W1a": {"median_ms": 0.5, "runs": 2000, "check": [...]}, "W9": {"error": "..."}}}

Every call runs under torch.no_grad(); the workloads with a backward pass turn gradients back on inside
their call. W8's network and loss are rpn-net.py's (RpnNet, loss_fn), imported
from there. Exit status 3 means torch or torchvision could not be imported.
"""
import importlib.util
import json
import os
import statistics
import sys
import time
from types import SimpleNamespace

# Before torch loads: as many BLAS/OpenMP threads as torch threads (one unless DETKIT_BENCH_THREADS says).
THREADS = int(os.environ.get("DETKIT_BENCH_THREADS", "1"))
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, str(THREADS))

try:
    import numpy as np
    import torch
    import torchvision
    from torchvision.models.detection import fasterrcnn_mobilenet_v3_large_320_fpn, ssdlite320_mobilenet_v3_large
    from torchvision.models.detection._utils import BoxCoder, SSDMatcher
    from torchvision.models.detection.anchor_utils import AnchorGenerator, DefaultBoxGenerator
    from torchvision.models.detection.image_list import ImageList
    from torchvision.models.detection.roi_heads import RoIHeads
    from torchvision.models.detection.rpn import RegionProposalNetwork, RPNHead
    from torchvision.models.detection.ssd import SSD
    from torchvision.ops import batched_nms, box_iou, nms, roi_align, roi_pool
    from torchvision.ops import boxes as box_ops
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"reference.py: cannot import torch/torchvision: {e}", file=sys.stderr)
    sys.exit(3)

torch.set_num_threads(THREADS)
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


def ssd300_priors_note(priors):
    """Checks the harness's SSD300 priors against torchvision's DefaultBoxGenerator as ssd300_vgg16 sets it."""
    gen = DefaultBoxGenerator([[2], [2, 3], [2, 3], [2, 3], [2], [2]], scales=[0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05], steps=[8, 16, 32, 64, 100, 300])
    images = ImageList(torch.zeros(1, 3, 300, 300), [(300, 300)])
    expected = gen(images, [torch.zeros(1, 1, s, s) for s in (38, 19, 10, 5, 3, 1)])[0]
    if expected.shape == priors.shape and torch.equal(expected, priors):
        return None
    diff = (expected - priors).abs().max().item() if expected.shape == priors.shape else "n/a"
    return f"priors differ from DefaultBoxGenerator: shape {tuple(expected.shape)} vs {tuple(priors.shape)}, max diff {diff}"


def nchw(t):
    return t.permute(0, 3, 1, 2).contiguous()


def sum_check(out):
    return [out.double().sum().item()]


# Workload registry: id -> setup(inputs) returning (timed call, check(output)[, note]). Same ids and
# inputs as workloads.mjs; setup work (dtype casts, checks) stays outside the timed call.
def w1a(x):
    return (lambda: box_iou(x["anchors"], x["gt"])), iou_check, rpn_anchors_note(x["anchors"])


def w1b(x):
    return (lambda: box_iou(x["boxes"], x["gt"])), iou_check


def w2(x):
    """RegionProposalNetwork.assign_targets_to_anchors, fg_bg_sampler (256, 0.5) and box_coder.encode
    (weights 1, 1, 1, 1), as RegionProposalNetwork.forward runs them in training, for one image."""
    anchors, gt = x["anchors"], x["gt"]
    rpn = RegionProposalNetwork(
        AnchorGenerator(sizes=((128, 256, 512),), aspect_ratios=((0.5, 1.0, 2.0),)),
        RPNHead(1, 9),
        0.7, 0.3, 256, 0.5,
        dict(training=2000, testing=1000), dict(training=2000, testing=1000), 0.7,
    )
    targets = [{"boxes": gt}]

    def call():
        labels, matched_gt_boxes = rpn.assign_targets_to_anchors([anchors], targets)
        pos, neg = rpn.fg_bg_sampler(labels)
        regression_targets = rpn.box_coder.encode(matched_gt_boxes, [anchors])
        return labels[0], pos[0], neg[0], regression_targets[0]

    def check(out):
        # Seed-independent (torch's RNG and detkit's draw different anchors): matched anchors before
        # sampling, sampled positives and negatives, |targets| summed over the matched anchors.
        labels, pos, neg, reg = out
        matched = labels == 1
        return [int(matched.sum()), int(pos.sum()), int(neg.sum()), reg[matched].abs().double().sum().item()]

    return call, check, rpn_anchors_note(anchors)


def w3(x):
    """The proposal layer with torchvision ops: decode (clamp log(1000/16)), clip to 800x800, drop sides
    < 16, top 12,000 by objectness, NMS 0.7, keep 2,000."""
    coder = BoxCoder(weights=(1.0, 1.0, 1.0, 1.0))
    deltas, logits, anchors = x["deltas"][0], x["objectness"][0], x["anchors"]

    def call():
        boxes = coder.decode_single(deltas, anchors)
        boxes = box_ops.clip_boxes_to_image(boxes, (800, 800))
        keep = box_ops.remove_small_boxes(boxes, 16.0)
        boxes, lg = boxes[keep], logits[keep]
        _, order = lg.topk(min(12000, lg.numel()))
        boxes, scores = boxes[order], torch.sigmoid(lg[order])
        keep = box_ops.nms(boxes, scores, 0.7)[:2000]
        return boxes[keep], scores[keep]

    return call, (lambda out: [out[0].shape[0], out[0].double().sum().item()]), rpn_anchors_note(anchors)


def w4(x):
    """RoIHeads.select_training_samples: GT appended, Matcher(0.5, 0.5), sampler (128, 0.25), encode (10, 10, 5, 5)."""
    heads = RoIHeads(None, None, None, 0.5, 0.5, 128, 0.25, (10.0, 10.0, 5.0, 5.0), 0.05, 0.5, 100)
    proposals = x["proposals"]
    targets = [{"boxes": x["gt"], "labels": x["classes"].long()}]

    def check(out):
        # Seed-independent: sampled and foreground RoIs.
        labels = out[2][0]
        return [labels.numel(), int((labels > 0).sum())]

    return (lambda: heads.select_training_samples([proposals], targets)), check


def rois_of(x):
    return torch.cat([x["boxImageIndex"].to(torch.float32)[:, None], x["boxes"]], dim=1)


def w5a(x):
    features, rois = nchw(x["features"]), rois_of(x)
    return (lambda: roi_align(features, rois, (7, 7), 1 / 16, 2, True)), sum_check


def w5b(x):
    features, rois, upstream = nchw(x["features"]), rois_of(x), nchw(x["upstream"])

    def call():
        with torch.enable_grad():
            f = features.detach().requires_grad_(True)
            out = roi_align(f, rois, (7, 7), 1 / 16, 2, True)
            (grad,) = torch.autograd.grad(out, f, upstream)
        return grad

    return call, sum_check


def w5c(x):
    features, rois = nchw(x["features"]), rois_of(x)
    return (lambda: roi_pool(features, rois, (7, 7), 1 / 16)), sum_check


W6_IMAGES = 32


def w6_match(x):
    """Per image, box_iou and SSDMatcher(0.5) as SSD.forward runs them, then the class targets and
    encode_single (10, 10, 5, 5) of the foreground as SSD.compute_loss builds them."""
    priors = x["priors"]
    gts = [x[f"gt{i}"] for i in range(W6_IMAGES)]
    classes = [x[f"classes{i}"].long() for i in range(W6_IMAGES)]
    matcher = SSDMatcher(0.5)
    coder = BoxCoder(weights=(10.0, 10.0, 5.0, 5.0))

    def call():
        out = []
        for gt, cls in zip(gts, classes):
            matched = matcher(box_iou(gt, priors))
            fg = torch.where(matched >= 0)[0]
            cls_target = torch.zeros((priors.size(0),), dtype=cls.dtype)
            cls_target[fg] = cls[matched[fg]]
            out.append((cls_target, coder.encode_single(gt[matched[fg]], priors[fg])))
        return out

    def check(out):
        return [sum(int((c > 0).sum()) for c, _ in out), sum(int(c.sum()) for c, _ in out)]

    return call, check, ssd300_priors_note(priors)


def w6_loss(x):
    """SSD.compute_loss (torchvision 0.14's own code) and the backward pass of classification + regression
    to the class logits and box regression."""
    ssd = SimpleNamespace(box_coder=BoxCoder(weights=(10.0, 10.0, 5.0, 5.0)), neg_to_pos_ratio=3.0)
    targets = [{"boxes": b, "labels": l.long()} for b, l in zip(x["gtBoxes"], x["gtLabels"])]
    anchors = [x["priors"]] * x["matched"].shape[0]
    matched = [m.long() for m in x["matched"]]

    def call():
        with torch.enable_grad():
            logits = x["clsLogits"].detach().requires_grad_(True)
            deltas = x["bboxRegression"].detach().requires_grad_(True)
            losses = SSD.compute_loss(ssd, targets, {"cls_logits": logits, "bbox_regression": deltas}, anchors, matched)
            total = losses["classification"] + losses["bbox_regression"]
            grads = torch.autograd.grad(total, [logits, deltas])
        return total.detach(), grads

    def check(out):
        total, (gl, gd) = out
        return [total.item(), gl.double().abs().sum().item(), gd.double().abs().sum().item()]

    notes = [ssd300_priors_note(x["priors"])]
    matcher = SSDMatcher(0.5)
    differ = sum(int(not torch.equal(matcher(box_iou(gt, x["priors"])).to(torch.int32), m)) for gt, m in zip(x["gtBoxes"], x["matched"]))
    if differ:
        notes.append(f"matches differ from SSDMatcher in {differ} image(s)")
    return call, check, "; ".join(n for n in notes if n) or None


def w7a(x):
    return (lambda: nms(x["boxes"], x["scores"], 0.7)), keep_check


def w7b(x):
    idxs = x["classIds"].long()
    return (lambda: batched_nms(x["boxes"], x["scores"], idxs, 0.5)), keep_check


_backends_reference = None


def backends_reference():
    """rpn-net.py beside this file (W8's network and loss), loaded from its file."""
    global _backends_reference
    if _backends_reference is None:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rpn-net.py")
        spec = importlib.util.spec_from_file_location("detkit_bench_rpn_net", path)
        _backends_reference = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_backends_reference)
    return _backends_reference


def w8(x):
    """One training step of the backends' RPN net (RpnNet, loss_fn), SGD momentum, as that file's main()
    runs it, on the harness's images and targets (NHWC there, NCHW here)."""
    ref = backends_reference()
    torch.manual_seed(0)
    net = ref.RpnNet()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    images, labels, targets = nchw(x["images"]), nchw(x["labels"]), nchw(x["targets"])

    def call():
        with torch.enable_grad():
            opt.zero_grad()
            objectness, deltas = net(images)
            loss = ref.loss_fn(objectness, deltas, labels, targets)
            loss.backward()
            opt.step()
        return loss.item()

    # Not the loss (different initial weights and stride-2 padding, see workloads/training.mjs): the
    # parameter count, anchors and positive anchors.
    summary = [sum(p.numel() for p in net.parameters()), labels.numel(), int(labels.sum())]
    return call, (lambda _: summary)


def torchvision_train_step(model, x):
    """One SGD-momentum training step of a torchvision detector on W8-tv's inputs (2 images of 320x320 with
    5 boxes each), and its eval-mode inference time on them for the note."""
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01, momentum=0.9)
    images = list(x["images"])
    targets = [{"boxes": b, "labels": l.long()} for b, l in zip(x["boxes"], x["labels"])]

    def call():
        model.train()
        with torch.enable_grad():
            opt.zero_grad()
            losses = model(images, targets)
            total = sum(losses.values())
            total.backward()
            opt.step()
        return total.item()

    model.eval()
    with torch.no_grad():
        model(images)
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            model(images)
            times.append((time.perf_counter() - t0) * 1000.0)
    model.train()
    note = f"inference (eval, batch 2) {statistics.median(times):.0f} ms"
    return call, (lambda _: [sum(p.numel() for p in model.parameters())]), note


def w8_tv(x):
    """BENCHMARKS.md's W8 reference: fasterrcnn_mobilenet_v3_large_320_fpn (random weights, nothing
    downloaded), one training step on 2 images of 320x320 with 5 boxes each, SGD momentum."""
    torch.manual_seed(0)
    return torchvision_train_step(fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None), x)


def w8_tv_ssdlite(x):
    """ssdlite320_mobilenet_v3_large (random weights, 91 classes, nothing downloaded), the same step: the module
    detkit's W8-tv-ssdlite runs."""
    torch.manual_seed(0)
    return torchvision_train_step(ssdlite320_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=91), x)


WORKLOADS = {
    "W1a": w1a, "W1b": w1b, "W2": w2, "W3": w3, "W4": w4, "W5a": w5a, "W5b": w5b, "W5c": w5c,
    "W6-match": w6_match, "W6-loss": w6_loss, "W7a": w7a, "W7b": w7b, "W8": w8, "W8-tv": w8_tv, "W8-tv-ssdlite": w8_tv_ssdlite,
}


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
            opts = {**spec, **spec.get("overrides", {}).get(wid, {})}
            with torch.no_grad():
                median, runs = time_call(fn, opts.get("time_ms", 1000), opts.get("min_runs", 5), opts.get("warmup_runs", 1))
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

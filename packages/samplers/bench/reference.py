#!/usr/bin/python3
"""torchvision side of the target-building workloads (W2, W4, W6m), in tooling/bench/reference.py's format.

To wire into the harness: add REFERENCE's entries to WORKLOADS in tooling/bench/reference.py (the setup
functions take the inputs as torch tensors and return (timed call, check[, note])). Run on its own, this
file loads tooling/bench/reference.py, registers these workloads there and runs its main(): same protocol
(a JSON spec on stdin or in argv[1], results as JSON on stdout).

Each timed call is torchvision's own code path for one image (W6m: 32 images):
- W2: RegionProposalNetwork.assign_targets_to_anchors, fg_bg_sampler (BalancedPositiveNegativeSampler(256,
  0.5)) and box_coder.encode (weights 1, 1, 1, 1), as RegionProposalNetwork.forward runs them in training.
- W4: RoIHeads.select_training_samples (GT appended, Matcher(0.5, 0.5), sampler (128, 0.25), encode with
  (10, 10, 5, 5)).
- W6m: per image, box_iou and SSDMatcher(0.5) as SSD.forward runs them, then the class targets and
  encode_single of the foreground as SSD.compute_loss builds them.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "tooling", "bench"))

import reference as harness  # noqa: E402  (sets threads and BLAS env before torch loads)
import torch  # noqa: E402
from torchvision.models.detection._utils import BoxCoder, SSDMatcher  # noqa: E402
from torchvision.models.detection.anchor_utils import DefaultBoxGenerator  # noqa: E402
from torchvision.models.detection.image_list import ImageList  # noqa: E402
from torchvision.models.detection.roi_heads import RoIHeads  # noqa: E402
from torchvision.models.detection.rpn import RegionProposalNetwork, RPNHead  # noqa: E402
from torchvision.models.detection.anchor_utils import AnchorGenerator  # noqa: E402
from torchvision.ops import box_iou  # noqa: E402

W6_IMAGES = 32


def w2(x):
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
        labels, pos, neg, reg = out
        # Matched anchors (label 1 before sampling), sampled positives and negatives, and |targets| summed
        # over the matched anchors.
        matched = labels == 1
        return [int(matched.sum()), int(pos.sum()), int(neg.sum()), reg[matched].abs().double().sum().item()]

    return call, check, harness.rpn_anchors_note(anchors)


def w4(x):
    heads = RoIHeads(None, None, None, 0.5, 0.5, 128, 0.25, (10.0, 10.0, 5.0, 5.0), 0.05, 0.5, 100)
    proposals = x["proposals"]
    targets = [{"boxes": x["gt"], "labels": x["classes"].long()}]

    def call():
        return heads.select_training_samples([proposals], targets)

    def check(out):
        labels = out[2][0]
        return [labels.numel(), int((labels > 0).sum())]

    return call, check


def ssd300_priors_note(priors):
    gen = DefaultBoxGenerator([[2], [2, 3], [2, 3], [2, 3], [2], [2]], scales=[0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05], steps=[8, 16, 32, 64, 100, 300])
    images = ImageList(torch.zeros(1, 3, 300, 300), [(300, 300)])
    expected = gen(images, [torch.zeros(1, 1, s, s) for s in [38, 19, 10, 5, 3, 1]])[0]
    if expected.shape == priors.shape and torch.allclose(expected, priors, rtol=0, atol=1e-4):
        return None
    diff = (expected - priors).abs().max().item() if expected.shape == priors.shape else "n/a"
    return f"priors differ from DefaultBoxGenerator: shape {tuple(expected.shape)} vs {tuple(priors.shape)}, max diff {diff}"


def w6m(x):
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


REFERENCE = {"W2": w2, "W4": w4, "W6m": w6m}

if __name__ == "__main__":
    harness.WORKLOADS.update(REFERENCE)
    harness.main()

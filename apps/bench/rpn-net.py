"""W8, torchvision side: one training step of rpn-step.mjs's network (@detkit/test-utils/rpn-net) (small conv backbone at stride 16 with a
depthwise-separable block, Faster R-CNN RPN head: 3x3 conv 512 + ReLU, 1x1 objectness and 4-delta convs,
9 anchors) at 320x320, batch 2, SGD momentum, objectness BCE + smooth L1 (beta 1/9) against fixed random
targets. One thread (torch.set_num_threads(1), OPENBLAS_NUM_THREADS=1). Prints one JSON line.

Run: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 apps/bench/rpn-net.py [--steps N] [--batch B] [--size S]
"""
import argparse
import json
import os
import statistics
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torchvision  # noqa: E402
from torch import nn  # noqa: E402

BETA = 1.0 / 9.0


class RpnNet(nn.Module):
    def __init__(self, widths=(32, 64, 128, 256), mid=512, anchors=9):
        super().__init__()
        w0, w1, w2, w3 = widths
        self.c1 = nn.Conv2d(3, w0, 3, 2, 1)
        self.c2 = nn.Conv2d(w0, w1, 3, 2, 1)
        self.dw3 = nn.Conv2d(w1, w1, 3, 2, 1, groups=w1, bias=False)
        self.pw3 = nn.Conv2d(w1, w2, 1)
        self.c4 = nn.Conv2d(w2, w3, 3, 2, 1)
        self.rpn = nn.Conv2d(w3, mid, 3, 1, 1)
        self.cls = nn.Conv2d(mid, anchors, 1)
        self.box = nn.Conv2d(mid, 4 * anchors, 1)

    def forward(self, x):
        x = F.relu(self.c1(x))
        x = F.relu(self.c2(x))
        x = F.relu(self.pw3(self.dw3(x)))
        x = F.relu(self.c4(x))
        h = F.relu(self.rpn(x))
        return self.cls(h), self.box(h)


def loss_fn(objectness, deltas, labels, targets):
    bce = F.binary_cross_entropy_with_logits(objectness, labels)
    positive = labels.repeat_interleave(4, dim=1)
    sl1 = F.smooth_l1_loss(deltas, targets, beta=BETA, reduction="none")
    return bce + (sl1 * positive).sum() / labels.numel()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--size", type=int, default=320)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = RpnNet()
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    images = torch.rand(args.batch, 3, args.size, args.size)
    fh = args.size // 16
    labels = (torch.rand(args.batch, 9, fh, fh) < 0.1).float()
    targets = torch.rand(args.batch, 36, fh, fh) - 0.5

    def step():
        opt.zero_grad()
        objectness, deltas = net(images)
        loss = loss_fn(objectness, deltas, labels, targets)
        loss.backward()
        opt.step()
        return loss.item()

    step()  # warm-up
    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)
    print(json.dumps({
        "workload": "W8",
        "median_ms": statistics.median(times),
        "runs": len(times),
        "batch": args.batch,
        "size": args.size,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "threads": torch.get_num_threads(),
    }))


if __name__ == "__main__":
    main()

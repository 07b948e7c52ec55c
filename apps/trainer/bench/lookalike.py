#!/usr/bin/env python3
"""Writes a COCO folder of cluttered shape images for tuning and measuring the trainer's recipe on data that
detkit's own generator (@detkit/data's synthetic set) did not make.

It imitates the held-out sets the trainer is judged on (256-px images, 1-5 objects of 12-120 px, three shape
classes, cluttered backgrounds) with its own renderer: PIL drawing, textured and cluttered backgrounds,
distractor shapes that are not objects, rotated polygons, JPEG and PNG. Each seed and option set gives another
look-alike; tune on several, never on one.

    /usr/bin/python3 apps/trainer/bench/lookalike.py OUT --seed 1 [--train 2000 --val 200] [--size 256]
        [--min-side 12 --max-side 120] [--sides log|uniform] [--layout 2017|plain] [--vary-size] [--category-ids 1,3,90]
        [--clutter 25 --blob-fraction 0.25 --outline-fraction 0.15]

Needs only Debian's python3-pil and python3-numpy.
"""
import argparse
import json
import math
import os
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CLASSES = ["circle", "triangle", "square"]


def background(rng, w, h, args):
    kind = rng.random()
    base = np.array([rng.randint(0, 255) for _ in range(3)], dtype=np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # a gradient in a random direction plus noise
    angle = rng.random() * 2 * math.pi
    g = (np.cos(angle) * xx / w + np.sin(angle) * yy / h)[..., None]
    other = np.array([rng.randint(0, 255) for _ in range(3)], dtype=np.float32)
    img = base * (1 - g * 0.6) + other * g * 0.6
    nrng = np.random.default_rng(rng.randint(0, 2**31))
    img += nrng.normal(0, rng.uniform(4, 22), size=(h, w, 3))
    if kind < 0.4:  # low-frequency blotches
        small = nrng.uniform(0, 255, size=(max(2, h // 32), max(2, w // 32), 3)).astype(np.uint8)
        blot = np.asarray(Image.fromarray(small).resize((w, h), Image.BICUBIC), dtype=np.float32)
        img = img * 0.6 + blot * 0.4
    im = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(im)
    # clutter: lines, arcs, small blobs and letters-like strokes that are not objects
    for _ in range(rng.randint(min(3, args.clutter), args.clutter)):
        c = tuple(rng.randint(0, 255) for _ in range(3))
        t = rng.random()
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
        line_end = 1 - args.blob_fraction - args.outline_fraction
        if t < line_end * 0.66:
            d.line([x0, y0, x0 + rng.uniform(-w / 2, w / 2), y0 + rng.uniform(-h / 2, h / 2)], fill=c, width=rng.randint(1, 4))
        elif t < line_end:
            r = rng.uniform(5, 60)
            d.arc([x0 - r, y0 - r, x0 + r, y0 + r], rng.uniform(0, 360), rng.uniform(0, 360), fill=c, width=rng.randint(1, 3))
        elif t < line_end + args.blob_fraction:  # distractor: irregular blob (many-vertex polygon, not one of the classes)
            r = rng.uniform(4, 30)
            n = rng.randint(5, 9)
            pts = [(x0 + r * rng.uniform(0.5, 1.2) * math.cos(2 * math.pi * i / n), y0 + r * rng.uniform(0.5, 1.2) * math.sin(2 * math.pi * i / n)) for i in range(n)]
            d.polygon(pts, fill=c)
        else:  # a thin open rectangle outline (close to a square, but an outline)
            r = rng.uniform(6, 40)
            d.rectangle([x0, y0, x0 + r, y0 + r * rng.uniform(0.3, 3)], outline=c, width=1)
    if rng.random() < 0.3:
        im = im.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5)))
    return im


UPRIGHT = False  # --upright: triangles and squares drawn unrotated


def rotated(points, cx, cy, angle):
    ca, sa = math.cos(angle), math.sin(angle)
    return [(cx + (x - cx) * ca - (y - cy) * sa, cy + (x - cx) * sa + (y - cy) * ca) for x, y in points]


def draw_object(rng, d, w, h, cls, side):
    cx = rng.uniform(side / 2, w - side / 2)
    cy = rng.uniform(side / 2, h - side / 2)
    fill = tuple(rng.randint(0, 255) for _ in range(3))
    outline = tuple(rng.randint(0, 255) for _ in range(3)) if rng.random() < 0.5 else None
    r = side / 2
    if cls == "circle":
        ax, ay = r, r * rng.uniform(0.75, 1.0)  # circles and mild ellipses
        if rng.random() < 0.5:
            ax, ay = ay, ax
        box = [cx - ax, cy - ay, cx + ax, cy + ay]
        d.ellipse(box, fill=fill, outline=outline, width=2 if outline else 0)
        return box
    if cls == "triangle":
        pts = [(cx + r * math.cos(a), cy + r * math.sin(a)) for a in (-math.pi / 2, math.pi / 6, 5 * math.pi / 6)]
        pts = [(x, cy + (y - cy) * rng.uniform(0.8, 1.2)) for x, y in pts]
    else:
        s = r * rng.uniform(0.8, 1.0)
        pts = [(cx - s, cy - s), (cx + s, cy - s), (cx + s, cy + s), (cx - s, cy + s)]
    angle = rng.uniform(0, 2 * math.pi)  # drawn either way, so that --upright changes nothing else
    pts = rotated(pts, cx, cy, 0.0 if UPRIGHT else angle)
    d.polygon(pts, fill=fill, outline=outline)
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    return [min(xs), min(ys), max(xs), max(ys)]


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / u if u > 0 else 0.0


def make_image(rng, args):
    if args.vary_size:
        w = rng.randint(160, 480)
        h = int(round(w * rng.choice([0.5, 0.75, 1.0, 1.33, 1.5])))
        h = max(120, min(h, 640))
    else:
        w = h = args.size
    im = background(rng, w, h, args)
    d = ImageDraw.Draw(im)
    objects = []
    for _ in range(rng.randint(1, 5)):
        for _try in range(20):
            top = min(args.max_side, w, h)
            side = rng.uniform(args.min_side, top) if args.sides == "uniform" else math.exp(rng.uniform(math.log(args.min_side), math.log(top)))
            cls = rng.randrange(len(CLASSES))
            # draw into a scratch image first to test the overlap, then replay the same draw for real
            s = rng.randrange(2**31)
            box = draw_object(random.Random(s), ImageDraw.Draw(Image.new("RGB", (w, h))), w, h, CLASSES[cls], side)
            if all(iou(box, o[1]) < 0.3 for o in objects):
                box = draw_object(random.Random(s), d, w, h, CLASSES[cls], side)
                objects.append((cls, box))
                break
    gray = rng.random() < args.gray_fraction
    if gray:
        im = im.convert("L")
    return im, w, h, objects


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--train", type=int, default=2000)
    p.add_argument("--val", type=int, default=200)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--min-side", type=float, default=12)
    p.add_argument("--max-side", type=float, default=120)
    p.add_argument("--sides", choices=["log", "uniform"], default="log", help="object sides log-uniform (as many 12-24 px objects as 60-120 px ones) or uniform")
    p.add_argument("--layout", choices=["2017", "plain"], default="2017")
    p.add_argument("--vary-size", action="store_true")
    p.add_argument("--jpeg-fraction", type=float, default=0.5)
    p.add_argument("--gray-fraction", type=float, default=0.02)
    p.add_argument("--category-ids", default="1,2,3")
    p.add_argument("--clutter", type=int, default=25, help="most clutter strokes and distractors per image")
    p.add_argument("--blob-fraction", type=float, default=0.25, help="share of the clutter that is filled blobs")
    p.add_argument("--outline-fraction", type=float, default=0.15, help="share of the clutter that is open rectangles")
    p.add_argument("--upright", action="store_true", help="triangles and squares unrotated (pointing up, axis-aligned)")
    args = p.parse_args()
    global UPRIGHT
    UPRIGHT = args.upright
    cat_ids = [int(x) for x in args.category_ids.split(",")]
    assert len(cat_ids) == len(CLASSES)
    rng = random.Random(args.seed)
    os.makedirs(os.path.join(args.out, "annotations"), exist_ok=True)
    ann_id = 1
    for split, count in (("train", args.train), ("val", args.val)):
        folder = f"{split}2017" if args.layout == "2017" else split
        os.makedirs(os.path.join(args.out, folder), exist_ok=True)
        images, annotations = [], []
        for i in range(count):
            seed = rng.randrange(2**31)
            im, w, h, objects = make_image(random.Random(seed), args)
            ext = "jpg" if random.Random(seed + 1).random() < args.jpeg_fraction else "png"
            name = f"{i + 1:06d}.{ext}"
            path = os.path.join(args.out, folder, name)
            if ext == "jpg":
                im.save(path, quality=random.Random(seed + 2).randint(70, 95))
            else:
                im.save(path)
            image_id = i + 1
            images.append({"id": image_id, "file_name": name, "width": w, "height": h})
            for cls, (x1, y1, x2, y2) in objects:
                x1, y1 = max(0.0, x1), max(0.0, y1)
                x2, y2 = min(float(w), x2), min(float(h), y2)
                bw, bh = x2 - x1, y2 - y1
                annotations.append({"id": ann_id, "image_id": image_id, "category_id": cat_ids[cls], "bbox": [round(x1, 2), round(y1, 2), round(bw, 2), round(bh, 2)], "area": round(bw * bh, 2), "iscrowd": 0})
                ann_id += 1
        categories = [{"id": cat_ids[k], "name": CLASSES[k], "supercategory": "shape"} for k in range(len(CLASSES))]
        name = f"instances_{split}2017.json" if args.layout == "2017" else f"instances_{split}.json"
        with open(os.path.join(args.out, "annotations", name), "w") as f:
            json.dump({"info": {"description": f"detkit look-alike seed {args.seed}"}, "images": images, "annotations": annotations, "categories": categories}, f)
    print(f"wrote {args.out}: {args.train} train / {args.val} val images, seed {args.seed}")


if __name__ == "__main__":
    main()

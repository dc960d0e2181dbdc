//! Region Proposal Network: the head (device) and proposal generation (host).

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

use super::layers::{ConvConfig, ConvInit, conv_forward};
use crate::boxes::BBox;
use crate::boxes::coder::DeltaCoder;
use crate::boxes::nms::{batched_nms, top_k_indices};

/// Shared 3x3 conv, then per-anchor objectness and box deltas on every level.
#[derive(Module, Debug)]
pub struct RpnHead {
    pub conv: Conv2d,
    pub cls: Conv2d,
    pub reg: Conv2d,
}

/// RPN outputs over all levels, anchor index `n = level_offset + (y * w + x) * A + a`.
pub struct RpnOutput {
    /// Objectness logits: [b, n].
    pub cls: Tensor<2>,
    /// Box deltas: [b, n, 4].
    pub reg: Tensor<3>,
}

/// An [`RpnHead`] over levels of `channels`, `num_anchors` anchors per position.
#[derive(Config, Debug)]
pub struct RpnHeadConfig {
    pub channels: usize,
    pub num_anchors: usize,
}

impl RpnHeadConfig {
    /// Weights drawn from N(0, 0.01), biases zero (mmdetection's RPN init).
    pub fn init(&self, device: &Device) -> RpnHead {
        let (c, a) = (self.channels, self.num_anchors);
        let conv = |cout, k| ConvConfig::new([c, cout], k).with_initializer(ConvInit::Normal { std: 0.01 }).init(device);
        RpnHead { conv: conv(c, 3), cls: conv(a, 1), reg: conv(a * 4, 1) }
    }
}

impl RpnHead {
    /// `feats`: P2..P6, [b, c, h_l, w_l] each.
    pub fn forward(&self, feats: &[Tensor<4>]) -> RpnOutput {
        let mut cls = Vec::new();
        let mut reg = Vec::new();
        for f in feats {
            let [b, _, h, w] = f.dims();
            let t = relu(conv_forward(&self.conv, f.clone()));
            let a = self.cls.weight.dims()[0];
            cls.push(conv_forward(&self.cls, t.clone()).permute([0, 2, 3, 1]).reshape([b, h * w * a]));
            reg.push(conv_forward(&self.reg, t).permute([0, 2, 3, 1]).reshape([b, h * w * a, 4]));
        }
        RpnOutput { cls: Tensor::cat(cls, 1), reg: Tensor::cat(reg, 1) }
    }
}

/// Proposal settings for one pass.
#[derive(Clone, Copy, Debug)]
pub struct ProposalParams {
    pub pre_nms: usize,
    pub post_nms: usize,
    pub nms_iou: f32,
    /// Image (network input) width and height, for clipping.
    pub image: (f32, f32),
}

/// Proposals of one image from its RPN outputs, as mmdetection v2's `RPNHead`: per level the
/// `pre_nms` best anchors are decoded and clipped, empty boxes dropped, NMS run per level,
/// and the `post_nms` best kept overall. `scores`: [n] logits, `deltas`: [n * 4],
/// `level_counts`: anchors per level. Returns boxes with their objectness probability.
pub fn proposals(scores: &[f32], deltas: &[f32], anchors: &[BBox], level_counts: &[usize], p: ProposalParams) -> Vec<(BBox, f32)> {
    let coder = DeltaCoder::rpn();
    let mut boxes = Vec::new();
    let mut probs = Vec::new();
    let mut levels = Vec::new();
    let mut start = 0;
    for (lvl, &count) in level_counts.iter().enumerate() {
        let s = &scores[start..start + count];
        for i in top_k_indices(s, p.pre_nms) {
            let n = start + i;
            let d = [deltas[4 * n], deltas[4 * n + 1], deltas[4 * n + 2], deltas[4 * n + 3]];
            let b = coder.decode(&anchors[n], &d, Some(p.image));
            if b[2] - b[0] > 0.0 && b[3] - b[1] > 0.0 {
                boxes.push(b);
                probs.push(1.0 / (1.0 + (-s[i]).exp()));
                levels.push(lvl);
            }
        }
        start += count;
    }
    let keep = batched_nms(&boxes, &probs, &levels, p.nms_iou);
    keep.into_iter().take(p.post_nms).map(|k| (boxes[k], probs[k])).collect()
}

#[cfg(test)]
mod tests {
    use burn::module::Param;
    use burn::tensor::Tensor;

    use super::*;
    use crate::testing::{device, read};

    #[test]
    fn output_layout_matches_anchor_order() {
        // Zero weights and bias a on anchor channel a: every logit equals its anchor index a,
        // so position n = level_offset + (y * w + x) * A + a must read a; deltas read 4a + k.
        let dev = device();
        let mut head = RpnHeadConfig::new(2, 3).init(&dev);
        head.cls.weight = Param::from_tensor(Tensor::zeros(head.cls.weight.dims(), &dev));
        head.cls.bias = Some(Param::from_tensor(Tensor::from_floats([0.0, 1.0, 2.0], &dev)));
        head.reg.weight = Param::from_tensor(Tensor::zeros(head.reg.weight.dims(), &dev));
        head.reg.bias = Some(Param::from_tensor(Tensor::<1, burn::tensor::Int>::arange(0..12, &dev).float()));
        let feats = vec![Tensor::ones([2, 2, 4, 3], &dev), Tensor::ones([2, 2, 2, 1], &dev)];
        let out = head.forward(&feats);
        assert_eq!(out.cls.dims(), [2, 4 * 3 * 3 + 2 * 3]);
        let cls = read(out.cls);
        let reg = read(out.reg);
        for (n, v) in cls.iter().enumerate() {
            assert_eq!(*v, (n % 3) as f32, "anchor {n}");
        }
        for (i, v) in reg.iter().enumerate() {
            assert_eq!(*v, ((i / 4) % 3 * 4 + i % 4) as f32, "delta {i}");
        }
    }

    #[test]
    fn proposals_rank_decode_and_suppress() {
        // Zero deltas decode to the anchors. Anchors 0 and 1 overlap with IoU 90 / 100 = 0.9 (> 0.7),
        // so the weaker one goes; anchor 2 on level 1 is separate. Logit 0 -> probability 0.5.
        let anchors = [[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 9.0], [20.0, 20.0, 30.0, 30.0]];
        let scores = [2.0, 3.0, 0.0];
        let deltas = [0.0; 12];
        let p = ProposalParams { pre_nms: 10, post_nms: 10, nms_iou: 0.7, image: (40.0, 40.0) };
        let got = proposals(&scores, &deltas, &anchors, &[2, 1], p);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, anchors[1]);
        assert!((got[0].1 - 1.0 / (1.0 + (-3f32).exp())).abs() < 1e-6);
        assert_eq!(got[1], (anchors[2], 0.5));
        // pre_nms 1 per level keeps only each level's best before NMS; post_nms 1 the best overall.
        let p = ProposalParams { pre_nms: 1, post_nms: 1, ..p };
        assert_eq!(proposals(&scores, &deltas, &anchors, &[2, 1], p).len(), 1);
    }
}

//! One forward pass in training: RPN and R-CNN targets (host), sampling, and the four losses.
//!
//! Normalisation follows mmdetection: RPN losses by the number of sampled anchors, R-CNN
//! losses by the number of sampled RoIs (Balanced L1 included, as the spec says).

use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::Serialize;

use crate::boxes::BBox;
use crate::boxes::assign::{Assigned, Assignment, MaxIouAssigner};
use crate::boxes::coder::DeltaCoder;
use crate::boxes::sampler::{SampleResult, sample};
use crate::error::Result;
use crate::loss::{bce_with_logits, box_loss, cross_entropy};
use crate::model::LibraRcnn;

/// Ground truth of one image in network-input pixels; labels in `0..classes`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Target {
    pub boxes: Vec<BBox>,
    pub labels: Vec<usize>,
}

/// What the R-CNN sampler saw and picked on one image (the page's sampling view).
#[derive(Clone, Debug, Serialize)]
pub struct RoiSampling {
    /// GT boxes first, then proposals.
    pub candidates: Vec<BBox>,
    pub max_iou: Vec<f32>,
    pub sampled: SampleResult,
}

/// The four losses (scalar tensors, [1]) and their sum.
pub struct Losses {
    pub rpn_cls: Tensor<1>,
    pub rpn_reg: Tensor<1>,
    pub rcnn_cls: Tensor<1>,
    pub rcnn_reg: Tensor<1>,
}

impl Losses {
    pub fn total(&self) -> Tensor<1> {
        self.rpn_cls.clone() + self.rpn_reg.clone() + self.rcnn_cls.clone() + self.rcnn_reg.clone()
    }
}

pub struct ForwardTrain {
    pub losses: Losses,
    pub sampling: Vec<RoiSampling>,
    /// |pred - target| of every positive RoI's 4 encoded deltas (for the Balanced L1 view).
    pub rcnn_reg_errors: Tensor<1>,
    /// The losses' normalisers: sampled anchors (RPN losses) and sampled RoIs (R-CNN losses).
    pub samples: [usize; 2],
}

fn int_tensor(v: Vec<i64>, device: &Device) -> Tensor<1, Int> {
    let n = v.len();
    Tensor::from_data(TensorData::new(v, [n]), device)
}

fn float_tensor<const D: usize>(v: Vec<f32>, shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(v, shape), device)
}

fn positives(a: &Assignment, picked: &[usize]) -> Vec<(usize, usize)> {
    picked
        .iter()
        .filter_map(|&i| match a.labels[i] {
            Assigned::Positive(g) => Some((i, g)),
            _ => None,
        })
        .collect()
}

/// Forward with losses. `images`: [b, 3, s, s] on an autodiff device; `seed` drives every
/// random draw of this step (image `i` uses `seed + i`).
pub async fn forward_train(model: &LibraRcnn, images: Tensor<4>, targets: &[Target], seed: u64) -> Result<ForwardTrain> {
    let device = images.device();
    let cfg = &model.config;
    let feats = model.features(images);
    let rpn = model.rpn_forward(&feats);
    let host = model.rpn_to_host(&rpn).await?;
    let proposals = model.train_proposals(&host);
    let (anchors, _) = model.anchors();
    let n = host.anchors_per_image;

    // RPN targets: all images' sampled anchors, flattened to b * n.
    let (mut cls_idx, mut cls_lbl, mut reg_idx, mut reg_tgt) = (vec![], vec![], vec![], vec![]);
    let rpn_assigner = MaxIouAssigner::rpn();
    let rpn_coder = DeltaCoder::rpn();
    let mut rois: Vec<(usize, BBox)> = vec![];
    let (mut roi_lbl, mut pos_rows, mut pos_cols, mut roi_tgt) = (vec![], vec![], vec![], vec![]);
    let mut sampling = Vec::with_capacity(targets.len());
    let rcnn_coder = DeltaCoder::rcnn();
    let k = cfg.num_classes();
    for (b, t) in targets.iter().enumerate() {
        let img_seed = seed.wrapping_add(b as u64);
        let a = rpn_assigner.assign(&anchors, &t.boxes);
        let picked = sample(&cfg.rpn.sampler, &a, img_seed);
        for (i, g) in positives(&a, &picked.pos) {
            cls_idx.push((b * n + i) as i64);
            cls_lbl.push(1.0);
            reg_idx.push((b * n + i) as i64);
            reg_tgt.extend(rpn_coder.encode(&anchors[i], &t.boxes[g]));
        }
        for &i in &picked.neg {
            cls_idx.push((b * n + i) as i64);
            cls_lbl.push(0.0);
        }

        // R-CNN assignment and sampling of the proposals, with the GTs added as proposals.
        let mut candidates = t.boxes.clone();
        candidates.extend(&proposals[b]);
        let a = MaxIouAssigner::rcnn().assign(&candidates, &t.boxes);
        let picked = sample(&cfg.roi.sampler, &a, img_seed ^ 0x9e37_79b9);
        for (i, g) in positives(&a, &picked.pos) {
            pos_rows.push(rois.len() as i64);
            let l = t.labels[g];
            pos_cols.extend((0..4).map(|j| (l * 4 + j) as i64));
            roi_tgt.extend(rcnn_coder.encode(&candidates[i], &t.boxes[g]));
            rois.push((b, candidates[i]));
            roi_lbl.push(l as i64);
        }
        for &i in &picked.neg {
            rois.push((b, candidates[i]));
            roi_lbl.push(k as i64);
        }
        sampling.push(RoiSampling { candidates, max_iou: a.max_iou, sampled: picked });
    }

    let zero = || Tensor::<1>::zeros([1], &device);
    let samples = [cls_idx.len(), rois.len()];
    let num_anchor_samples = samples[0].max(1) as f32;
    let rpn_cls = if cls_idx.is_empty() {
        zero()
    } else {
        let m = cls_lbl.len();
        let logits = rpn.cls.reshape([-1]).select(0, int_tensor(cls_idx, &device));
        bce_with_logits(logits, float_tensor(cls_lbl, [m], &device)).sum() / num_anchor_samples
    };
    let rpn_reg = if reg_idx.is_empty() {
        zero()
    } else {
        let p = reg_idx.len();
        let pred = rpn.reg.reshape([-1, 4]).select(0, int_tensor(reg_idx, &device));
        (pred - float_tensor(reg_tgt, [p, 4], &device)).abs().sum() / num_anchor_samples
    };

    let num_rois = samples[1].max(1) as f32;
    let (rcnn_cls, rcnn_reg, errors) = if rois.is_empty() {
        (zero(), zero(), Tensor::<1>::zeros([0], &device))
    } else {
        let (logits, deltas) = model.roi_forward(&feats, &rois);
        let cls = cross_entropy(logits, int_tensor(roi_lbl, &device)).sum() / num_rois;
        if pos_rows.is_empty() {
            (cls, zero(), Tensor::<1>::zeros([0], &device))
        } else {
            let p = pos_rows.len();
            let cols = Tensor::<1, Int>::from_data(TensorData::new(pos_cols, [p * 4]), &device).reshape([p, 4]);
            let pred = deltas.select(0, int_tensor(pos_rows, &device)).gather(1, cols);
            let x = (pred - float_tensor(roi_tgt, [p, 4], &device)).abs();
            let reg = box_loss(x.clone(), cfg.roi.box_loss).sum() / num_rois;
            (cls, reg, x.detach().reshape([p * 4]))
        }
    };
    Ok(ForwardTrain { losses: Losses { rpn_cls, rpn_reg, rcnn_cls, rcnn_reg }, sampling, rcnn_reg_errors: errors, samples })
}

//! Data of the page's "sampled negatives" view (paper Fig. 3): on one image with its GT boxes,
//! the R-CNN candidates as in training (GT boxes + RPN proposals), their max IoU with the GT,
//! and what the random and the IoU-balanced sampler pick from them with the same seed.

use burn::module::Module;
use image::RgbImage;
use serde::Serialize;

use crate::boxes::BBox;
use crate::boxes::assign::{Assigned, MaxIouAssigner};
use crate::boxes::sampler::{SampleResult, SamplerConfig, hard_negative_share, sample};
use crate::data::tensor::image_tensor;
use crate::data::transform::Letterbox;
use crate::error::{Error, Result};
use crate::model::LibraRcnn;

/// The IoU histograms' bins: `HIST_BINS` of width `HIST_WIDTH` from 0, covering the negatives
/// (IoU below the R-CNN's 0.5).
pub const HIST_BINS: usize = 10;
pub const HIST_WIDTH: f32 = 0.05;
/// The paper's hard negatives: IoU above 0.05.
pub const HARD_IOU: f32 = 0.05;

/// What one sampler picked: indices into the candidates, each negative's source (its IoU bin for
/// the IoU-balanced sampler), the picked negatives' IoU histogram and their share of hard ones.
#[derive(Debug, Serialize)]
pub struct Picks {
    pub sampled: SampleResult,
    pub histogram: Vec<usize>,
    pub hard_share: f32,
}

#[derive(Debug, Serialize)]
pub struct SamplingView {
    /// The GT boxes first, then the proposals; in the image's pixels.
    pub candidates: Vec<BBox>,
    pub num_gt: usize,
    /// Each candidate's largest IoU with a GT box (in the network's input frame).
    pub max_iou: Vec<f32>,
    /// All negative candidates: their IoU histogram and share of hard ones.
    pub histogram: Vec<usize>,
    pub hard_share: f32,
    pub random: Picks,
    pub balanced: Picks,
    pub seed: u64,
}

/// Histogram of `ious[i]` over `picked`, in `HIST_BINS` bins of `HIST_WIDTH` (the last bin
/// takes everything above).
pub fn iou_histogram(ious: &[f32], picked: &[usize]) -> Vec<usize> {
    let mut h = vec![0; HIST_BINS];
    for &i in picked {
        h[((ious[i] / HIST_WIDTH) as usize).min(HIST_BINS - 1)] += 1;
    }
    h
}

/// Runs the model's RPN on `image`, then samples the R-CNN candidates for the GT boxes `gt`
/// (image pixels, at least one) with the random sampler and with the IoU-balanced one (each
/// with the model's RoIs per image), both from `seed`.
pub async fn sampling_view(model: &LibraRcnn, image: &RgbImage, gt: &[BBox], seed: u64) -> Result<SamplingView> {
    if gt.is_empty() {
        return Err(Error::Input("the sampling view needs at least one ground-truth box".into()));
    }
    let s = model.config.input_size as u32;
    let lb = Letterbox::fit(image.width(), image.height(), s, s)?;
    let device = model.devices().into_iter().next().expect("model has a device");
    let feats = model.features(image_tensor(&lb.apply_image(image), &device));
    let host = model.rpn_to_host(&model.rpn_forward(&feats)).await?;
    let gt_input: Vec<BBox> = gt.iter().map(|b| lb.map_box(*b)).collect();
    // As in training: the GT boxes, then the proposals.
    let mut candidates = gt_input.clone();
    candidates.extend(model.train_proposals(&host).remove(0));
    let assignment = MaxIouAssigner::rcnn().assign(&candidates, &gt_input);
    let ious = &assignment.max_iou;
    let num = model.config.roi.sampler.num;
    let pick = |cfg: SamplerConfig| {
        let sampled = sample(&SamplerConfig { num, ..cfg }, &assignment, seed);
        Picks { histogram: iou_histogram(ious, &sampled.neg), hard_share: hard_negative_share(ious, &sampled.neg, HARD_IOU), sampled }
    };
    let (random, balanced) = (pick(SamplerConfig::rcnn_random()), pick(SamplerConfig::libra()));
    let negatives: Vec<usize> = (0..candidates.len()).filter(|&i| assignment.labels[i] == Assigned::Negative).collect();
    Ok(SamplingView {
        candidates: candidates.iter().map(|b| lb.unmap_box(*b)).collect(),
        num_gt: gt.len(),
        histogram: iou_histogram(ious, &negatives),
        hard_share: hard_negative_share(ious, &negatives, HARD_IOU),
        max_iou: assignment.max_iou.clone(),
        random,
        balanced,
        seed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DetectorConfig;
    use crate::testing::device;

    #[test]
    fn histogram_bins_by_width_and_clamps_the_top() {
        let ious = [0.0, 0.049, 0.05, 0.26, 0.49, 0.7];
        let h = iou_histogram(&ious, &[0, 1, 2, 3, 4, 5]);
        let mut want = vec![0; HIST_BINS];
        (want[0], want[1], want[5], want[9]) = (2, 1, 1, 2);
        assert_eq!(h, want);
        assert_eq!(iou_histogram(&ious, &[3]).iter().sum::<usize>(), 1);
    }

    #[test]
    fn view_matches_the_samplers_run_by_hand() {
        let dev = device();
        let mut cfg = DetectorConfig::tiny(vec!["a".into()]);
        cfg.roi.sampler.num = 16;
        let model = cfg.init(&dev).expect("model");
        let image = RgbImage::from_fn(96, 64, |x, y| image::Rgb([(x * 2) as u8, (y * 3) as u8, 60]));
        let gt = [[10.0, 8.0, 50.0, 40.0], [60.0, 20.0, 90.0, 60.0]];
        let v = pollster::block_on(sampling_view(&model, &image, &gt, 7)).expect("view");
        assert_eq!(v.num_gt, 2);
        assert_eq!(v.candidates.len(), v.max_iou.len());
        // The GT boxes come back first, in image pixels (through the letterbox and back).
        for (c, g) in v.candidates.iter().zip(&gt) {
            for k in 0..4 {
                assert!((c[k] - g[k]).abs() < 1e-3, "{c:?} vs {g:?}");
            }
        }
        // Independent recomputation of the balanced picks from the view's own IoUs.
        let assignment = MaxIouAssigner::rcnn().assign(
            &v.candidates.iter().map(|b| Letterbox::fit(96, 64, 64, 64).unwrap().map_box(*b)).collect::<Vec<_>>(),
            &gt.iter().map(|b| Letterbox::fit(96, 64, 64, 64).unwrap().map_box(*b)).collect::<Vec<_>>(),
        );
        let again = sample(&SamplerConfig { num: 16, ..SamplerConfig::libra() }, &assignment, 7);
        assert_eq!(again.neg, v.balanced.sampled.neg);
        assert_eq!(again.pos, v.balanced.sampled.pos);
        for picks in [&v.random, &v.balanced] {
            assert_eq!(picks.histogram.iter().sum::<usize>(), picks.sampled.neg.len());
            assert!(picks.sampled.pos.len() + picks.sampled.neg.len() <= 16);
            assert!(picks.sampled.neg.iter().all(|&i| v.max_iou[i] < 0.5));
        }
        assert!(pollster::block_on(sampling_view(&model, &image, &[], 7)).is_err());
    }
}

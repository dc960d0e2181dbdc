//! Inference: forward, one async read, and post-processing on the host (score threshold,
//! per-class NMS, top-k), with boxes mapped back to source-image pixels.

use burn::module::Module;
use burn::tensor::activation::softmax;
use burn::tensor::{Tensor, Transaction};
use image::RgbImage;
use serde::Serialize;

use crate::boxes::BBox;
use crate::boxes::coder::DeltaCoder;
use crate::boxes::nms::batched_nms;
use crate::data::tensor::image_tensor;
use crate::data::transform::Letterbox;
use crate::error::Result;
use crate::eval::Detection;
use crate::model::LibraRcnn;

/// A detection in source-image pixels, named.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct NamedDetection {
    pub bbox: BBox,
    pub score: f32,
    pub label: usize,
    pub class: String,
}

/// Per-class decoding and NMS of one image's RoI outputs. `probs`: [r, k + 1] row-major
/// (background last), `deltas`: [r, 4k]. Boxes are in network-input pixels.
pub fn postprocess(model: &LibraRcnn, rois: &[BBox], probs: &[f32], deltas: &[f32]) -> Vec<Detection> {
    let cfg = &model.config;
    let k = cfg.num_classes();
    let s = cfg.input_size as f32;
    let coder = DeltaCoder::rcnn();
    let (mut boxes, mut scores, mut labels) = (vec![], vec![], vec![]);
    for (r, roi) in rois.iter().enumerate() {
        for c in 0..k {
            let p = probs[r * (k + 1) + c];
            if p < cfg.test.score_thr || !p.is_finite() {
                continue;
            }
            let d = &deltas[r * 4 * k + 4 * c..r * 4 * k + 4 * c + 4];
            let b = coder.decode(roi, &[d[0], d[1], d[2], d[3]], Some((s, s)));
            if b[2] > b[0] && b[3] > b[1] {
                boxes.push(b);
                scores.push(p);
                labels.push(c);
            }
        }
    }
    batched_nms(&boxes, &scores, &labels, cfg.test.nms_iou)
        .into_iter()
        .take(cfg.test.max_per_image)
        .map(|i| Detection { bbox: boxes[i], score: scores[i], label: labels[i] })
        .collect()
}

/// Wall time of each inference stage, in milliseconds.
#[derive(Clone, Copy, Debug, Default, Serialize, PartialEq)]
pub struct StageTimes {
    /// Backbone, FPN and BFP (ends with a one-value read so the GPU work is counted here).
    pub backbone_neck_ms: f64,
    /// RPN head, its read to the host, and proposal generation (top-k, decode, NMS).
    pub rpn_ms: f64,
    /// RoIAlign and the box head, with the read of their outputs.
    pub roi_head_ms: f64,
    /// Per-class decoding, NMS and top-k on the host.
    pub postprocess_ms: f64,
}

/// A millisecond clock (`performance.now()` in the page, `Instant` natively).
pub type Clock<'a> = &'a dyn Fn() -> f64;

/// Detections for a batch `images`: [b, 3, s, s], in network-input pixels.
pub async fn detect_batch(model: &LibraRcnn, images: Tensor<4>) -> Result<Vec<Vec<Detection>>> {
    Ok(detect_batch_staged(model, images, None).await?.0)
}

/// [`detect_batch`], timing each stage when a clock is given. Timing adds one small read
/// after the neck, so the stages' GPU work is not counted in the next stage.
pub async fn detect_batch_staged(model: &LibraRcnn, images: Tensor<4>, clock: Option<Clock<'_>>) -> Result<(Vec<Vec<Detection>>, StageTimes)> {
    let now = || clock.map_or(0.0, |c| c());
    let mut times = StageTimes::default();
    let cfg = &model.config;
    let b = images.dims()[0];
    let t0 = now();
    let feats = model.features(images);
    if clock.is_some() {
        let last = feats.last().expect("at least one level");
        // The bytes of a read arrive when first touched: converting them waits for the work.
        last.clone().slice([0..1, 0..1, 0..1, 0..1]).into_data_async().await?.try_to_vec::<f32>()?;
    }
    let t1 = now();
    times.backbone_neck_ms = t1 - t0;
    let host = model.rpn_to_host(&model.rpn_forward(&feats)).await?;
    let per_image = model.test_proposals(&host);
    let rois: Vec<(usize, BBox)> = per_image.iter().enumerate().flat_map(|(i, v)| v.iter().map(move |bx| (i, *bx))).collect();
    let t2 = now();
    times.rpn_ms = t2 - t1;
    if rois.is_empty() {
        return Ok((vec![Vec::new(); b], times));
    }
    let (logits, deltas) = model.roi_forward(&feats, &rois);
    let data = Transaction::default().register(softmax(logits, 1)).register(deltas).execute_async().await?;
    let probs: Vec<f32> = data[0].try_to_vec()?;
    let deltas: Vec<f32> = data[1].try_to_vec()?;
    let t3 = now();
    times.roi_head_ms = t3 - t2;
    let k = cfg.num_classes();
    let mut out = Vec::with_capacity(b);
    let mut start = 0;
    for boxes in &per_image {
        let end = start + boxes.len();
        out.push(postprocess(model, boxes, &probs[start * (k + 1)..end * (k + 1)], &deltas[start * 4 * k..end * 4 * k]));
        start = end;
    }
    times.postprocess_ms = now() - t3;
    Ok((out, times))
}

/// Detects objects in one image of any size; boxes in the image's own pixels.
pub async fn detect(model: &LibraRcnn, image: &RgbImage) -> Result<Vec<NamedDetection>> {
    Ok(detect_staged(model, image, None).await?.0)
}

/// [`detect`] with stage times (see [`detect_batch_staged`]); letterboxing is not timed.
pub async fn detect_staged(model: &LibraRcnn, image: &RgbImage, clock: Option<Clock<'_>>) -> Result<(Vec<NamedDetection>, StageTimes)> {
    let s = model.config.input_size as u32;
    let lb = Letterbox::fit(image.width(), image.height(), s, s)?;
    let device = model.devices().into_iter().next().expect("model has a device");
    let input = image_tensor(&lb.apply_image(image), &device);
    let (mut dets, times) = detect_batch_staged(model, input, clock).await?;
    let named = dets
        .remove(0)
        .into_iter()
        .map(|d| NamedDetection { bbox: lb.unmap_box(d.bbox), score: d.score, label: d.label, class: model.config.classes[d.label].clone() })
        .collect();
    Ok((named, times))
}

/// COCO-style AP of `model` on letterboxed samples (boxes in input pixels), `batch` at a time.
pub async fn evaluate_samples(model: &LibraRcnn, samples: &[crate::train::TrainSample], batch: usize) -> Result<crate::eval::ApReport> {
    let device = model.devices().into_iter().next().expect("model has a device");
    let mut dets = Vec::with_capacity(samples.len());
    for chunk in samples.chunks(batch.max(1)) {
        let images = crate::data::tensor::images_tensor(chunk.iter().map(|s| &s.image), &device);
        dets.extend(detect_batch(model, images).await?);
    }
    let s = model.config.input_size as u32;
    let gts: Vec<crate::data::Annotated> = samples
        .iter()
        .enumerate()
        .map(|(i, t)| crate::data::Annotated {
            image: i.to_string(),
            width: s,
            height: s,
            boxes: t.target.boxes.clone(),
            labels: t.target.labels.clone(),
            areas: t.areas.clone(),
            crowd: t.crowd.clone(),
        })
        .collect();
    crate::eval::evaluate(&dets, &gts, model.config.num_classes()).map_err(|e| crate::Error::Io(format!("evaluation: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DetectorConfig;
    use crate::testing::device;

    #[test]
    fn postprocess_thresholds_decodes_and_suppresses_per_class() {
        // Two classes (+ background). RoI 0: class 0 at 0.6, class 1 at 0.3; RoI 1 (almost the
        // same box): class 0 at 0.5 (suppressed by RoI 0, IoU 0.9), class 1 at 0.01 (< 0.05).
        // Zero deltas decode to the RoI itself.
        let model = DetectorConfig::tiny(vec!["a".into(), "b".into()]).init(&device()).unwrap();
        let rois = [[10.0, 10.0, 30.0, 30.0], [10.0, 10.0, 30.0, 28.0]];
        let probs = [0.6, 0.3, 0.1, 0.5, 0.01, 0.49];
        let deltas = [0.0; 16];
        let d = postprocess(&model, &rois, &probs, &deltas);
        let got: Vec<(usize, f32)> = d.iter().map(|d| (d.label, d.score)).collect();
        assert_eq!(got, vec![(0, 0.6), (1, 0.3)]);
        assert!(d.iter().all(|d| d.bbox == rois[0]));
    }
}

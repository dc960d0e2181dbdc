//! COCO-style box AP, our own re-implementation of pycocotools' `COCOeval` (iouType "bbox",
//! `evaluateImg` and `accumulate`), checked against pycocotools' output on
//! `tests/fixtures/coco-crowd`.
//!
//! Per class, area range and IoU threshold t in 0.50:0.05:0.95:
//! 1. per image, the class's detections sorted by score (stable), at most [`MAX_DETS`];
//! 2. gts are ignored when they are crowd regions or their area lies outside the range (the
//!    annotated area, [`Annotated::areas`], else the box's); ignored gts go last (stable);
//! 3. greedy matching in score order: a detection takes the gt with the highest IoU >= t among
//!    those still free (a crowd region stays free: it absorbs any number of detections), and
//!    stops at the ignored gts once it holds a non-ignored one; IoU with a crowd region is the
//!    intersection over the detection's own area;
//! 4. a detection matched to an ignored gt is ignored, an unmatched one whose own area is
//!    outside the range is ignored; the others are true or false positives;
//! 5. all images' detections merged by score (stable); precision made monotone (envelope from
//!    the right), sampled at recall 0:0.01:1 (first point with recall >= r, 0 past the end),
//!    AP = mean of the 101 samples; recall counts the non-ignored gts only.
//!
//! Area ranges are closed as in pycocotools: all [0, 1e5^2], small [0, 32^2], medium
//! [32^2, 96^2], large [96^2, 1e5^2]. A summary is the mean over classes (and thresholds) of
//! classes having at least one non-ignored gt in that range; `None` where no class has one
//! (pycocotools prints -1). Images are merged in the order given (pycocotools: by image id),
//! and an image's crowd regions follow its boxes (pycocotools: file order); either matters only
//! for ties (equal scores in different images, equal IoUs).

use crate::data::{Annotated, DataError};

/// One predicted box (x1, y1, x2, y2 in source-image pixels) with class `label` (0-based).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    pub bbox: [f32; 4],
    pub score: f32,
    pub label: usize,
}

/// Summary metrics in 0..=1; `None` where no class has a gt in the range (see module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct ApReport {
    /// AP averaged over IoU 0.50:0.05:0.95 (COCO "AP").
    pub ap: Option<f32>,
    pub ap50: Option<f32>,
    pub ap75: Option<f32>,
    /// AP@[.5:.95] for gt area <= 32^2.
    pub ap_small: Option<f32>,
    /// AP@[.5:.95] for 32^2 <= gt area <= 96^2.
    pub ap_medium: Option<f32>,
    /// AP@[.5:.95] for gt area >= 96^2.
    pub ap_large: Option<f32>,
    /// AP@0.5 per class (all areas); `None` for a class without non-crowd gts.
    pub per_class_ap50: Vec<Option<f32>>,
}

/// Invalid evaluation input.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("{dets} images of detections but {gts} images of ground truth")]
    ImageCount { dets: usize, gts: usize },
    #[error("image {image}: detection {index}: {problem}")]
    Detection { image: String, index: usize, problem: String },
    #[error(transparent)]
    Data(#[from] DataError),
}

/// Detections kept per image and class (highest scores), pycocotools' `maxDets[-1]`.
pub const MAX_DETS: usize = 100;

const NUM_IOU: usize = 10;
const NUM_RECALL: usize = 101;
const INDEX_50: usize = 0;
const INDEX_75: usize = 5;

/// IoU thresholds exactly as numpy's `linspace(.5, .95, 10)`: 0.5 + i * (0.45 / 9), last 0.95.
fn iou_thresholds() -> [f64; NUM_IOU] {
    let step = (0.95 - 0.5) / 9.0;
    std::array::from_fn(|i| if i == NUM_IOU - 1 { 0.95 } else { 0.5 + i as f64 * step })
}

/// Recall thresholds exactly as numpy's `linspace(0, 1, 101)`: i * 0.01, last 1.0.
fn recall_thresholds() -> [f64; NUM_RECALL] {
    std::array::from_fn(|i| if i == NUM_RECALL - 1 { 1.0 } else { i as f64 * 0.01 })
}

/// Area ranges [lo, hi], both ends included: all, small, medium, large.
const AREAS: [(f64, f64); 4] = [(0.0, 1e10), (0.0, 1024.0), (1024.0, 9216.0), (9216.0, 1e10)];

fn area(b: &[f32; 4]) -> f64 {
    (b[2] as f64 - b[0] as f64) * (b[3] as f64 - b[1] as f64)
}

/// A gt box of one class in one image.
struct Gt {
    bbox: [f32; 4],
    /// Annotated area, else the box's; decides the area range.
    area: f64,
    crowd: bool,
}

/// pycocotools' box IoU: intersection over union, or over the detection's area for a crowd gt.
fn iou(d: &[f32; 4], g: &Gt) -> f64 {
    let b = &g.bbox;
    let iw = (d[2].min(b[2]) as f64) - (d[0].max(b[0]) as f64);
    let ih = (d[3].min(b[3]) as f64) - (d[1].max(b[1]) as f64);
    if iw <= 0.0 || ih <= 0.0 {
        return 0.0;
    }
    let inter = iw * ih;
    let union = if g.crowd { area(d) } else { area(d) + area(b) - inter };
    inter / union
}

/// One image and class: detections by score (at most [`MAX_DETS`]), gts (boxes in order, then
/// crowd regions) and `ious[det][gt]`; what does not depend on the area range.
struct ImageClass<'a> {
    dets: Vec<&'a Detection>,
    gts: Vec<Gt>,
    ious: Vec<Vec<f64>>,
}

impl<'a> ImageClass<'a> {
    fn new(dets: &'a [Detection], gt: &Annotated, class: usize) -> Self {
        let mut dets: Vec<&Detection> = dets.iter().filter(|d| d.label == class).collect();
        dets.sort_by(|a, b| b.score.total_cmp(&a.score));
        dets.truncate(MAX_DETS);
        let boxes = gt.boxes.iter().zip(&gt.labels).enumerate().filter(|(_, (_, l))| **l == class);
        let boxes = boxes.map(|(i, (b, _))| Gt { bbox: *b, area: gt.areas.get(i).copied().unwrap_or_else(|| area(b)), crowd: false });
        let crowd = gt.crowd.iter().filter(|c| c.label == class);
        let crowd = crowd.map(|c| Gt { bbox: c.bbox, area: area(&c.bbox), crowd: true });
        let gts: Vec<Gt> = boxes.chain(crowd).collect();
        let ious = dets.iter().map(|d| gts.iter().map(|g| iou(&d.bbox, g)).collect()).collect();
        Self { dets, gts, ious }
    }
}

/// One class and area range, all images: per detection (score, matched[t], ignored[t]).
#[derive(Default)]
struct Matches {
    dets: Vec<(f32, [bool; NUM_IOU], [bool; NUM_IOU])>,
    /// Non-ignored gts.
    npig: usize,
}

impl Matches {
    /// Matches one image's detections against its gts (pycocotools' `evaluateImg`), appending
    /// the results.
    fn add_image(&mut self, img: &ImageClass, range: (f64, f64)) {
        let outside = |a: f64| a < range.0 || a > range.1;
        // (gt index, ignored), ignored last.
        let mut gts: Vec<(usize, bool)> = img.gts.iter().enumerate().map(|(g, gt)| (g, gt.crowd || outside(gt.area))).collect();
        gts.sort_by_key(|g| g.1);
        self.npig += gts.iter().filter(|g| !g.1).count();
        let start = self.dets.len();
        self.dets.extend(img.dets.iter().map(|d| (d.score, [false; NUM_IOU], [false; NUM_IOU])));
        for (t, thr) in iou_thresholds().into_iter().enumerate() {
            let mut gt_taken = vec![false; gts.len()];
            for (d, det) in img.dets.iter().enumerate() {
                let mut best = thr.min(1.0 - 1e-10);
                let mut m: Option<usize> = None;
                for (o, &(g, ignored)) in gts.iter().enumerate() {
                    if gt_taken[o] && !img.gts[g].crowd {
                        continue;
                    }
                    // Already matched a real gt and only ignored ones remain: stop.
                    if m.is_some_and(|m| !gts[m].1) && ignored {
                        break;
                    }
                    if img.ious[d][g] < best {
                        continue;
                    }
                    best = img.ious[d][g];
                    m = Some(o);
                }
                let entry = &mut self.dets[start + d];
                match m {
                    Some(o) => {
                        gt_taken[o] = true;
                        entry.1[t] = true;
                        entry.2[t] = gts[o].1;
                    }
                    None => entry.2[t] = outside(area(&det.bbox)),
                }
            }
        }
    }

    /// AP per IoU threshold; `None` without non-ignored gts.
    fn ap(mut self) -> Option<[f64; NUM_IOU]> {
        if self.npig == 0 {
            return None;
        }
        self.dets.sort_by(|a, b| b.0.total_cmp(&a.0));
        let recall_thr = recall_thresholds();
        Some(std::array::from_fn(|t| {
            let (mut tp, mut fp) = (0usize, 0usize);
            let mut recall = Vec::with_capacity(self.dets.len());
            let mut precision = Vec::with_capacity(self.dets.len());
            for (_, matched, ignored) in &self.dets {
                if !ignored[t] {
                    if matched[t] { tp += 1 } else { fp += 1 }
                }
                recall.push(tp as f64 / self.npig as f64);
                precision.push(if tp + fp > 0 { tp as f64 / (tp + fp) as f64 } else { 0.0 });
            }
            for i in (1..precision.len()).rev() {
                precision[i - 1] = precision[i - 1].max(precision[i]);
            }
            let sum: f64 = recall_thr
                .iter()
                .map(|&r| {
                    let i = recall.partition_point(|&rc| rc < r);
                    precision.get(i).copied().unwrap_or(0.0)
                })
                .sum();
            sum / NUM_RECALL as f64
        }))
    }
}

fn check_inputs(dets: &[Vec<Detection>], gts: &[Annotated], num_classes: usize) -> Result<(), EvalError> {
    if dets.len() != gts.len() {
        return Err(EvalError::ImageCount { dets: dets.len(), gts: gts.len() });
    }
    for (img_dets, gt) in dets.iter().zip(gts) {
        gt.check(num_classes)?;
        for (index, d) in img_dets.iter().enumerate() {
            let problem = if d.label >= num_classes {
                format!("label {} but {num_classes} classes", d.label)
            } else if !d.score.is_finite() || d.bbox.iter().any(|v| !v.is_finite()) {
                format!("non-finite score {} or box {:?}", d.score, d.bbox)
            } else if d.bbox[2] < d.bbox[0] || d.bbox[3] < d.bbox[1] {
                format!("box {:?} has x2 < x1 or y2 < y1", d.bbox)
            } else {
                continue;
            };
            return Err(EvalError::Detection { image: gt.image.clone(), index, problem });
        }
    }
    Ok(())
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f32> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| (sum / n as f64) as f32)
}

/// Evaluates per-image detections `dets[i]` against `gts[i]` (same order, same length).
/// Errors on length mismatch, labels >= `num_classes`, non-finite values, inverted det boxes.
pub fn evaluate(dets: &[Vec<Detection>], gts: &[Annotated], num_classes: usize) -> Result<ApReport, EvalError> {
    check_inputs(dets, gts, num_classes)?;
    // ap[area][class] = AP per threshold, None without non-ignored gts.
    let mut ap: Vec<Vec<Option<[f64; NUM_IOU]>>> = vec![Vec::with_capacity(num_classes); AREAS.len()];
    for k in 0..num_classes {
        let images: Vec<ImageClass> = dets.iter().zip(gts).map(|(d, g)| ImageClass::new(d, g, k)).collect();
        for (a, &range) in AREAS.iter().enumerate() {
            let mut m = Matches::default();
            for img in &images {
                m.add_image(img, range);
            }
            ap[a].push(m.ap());
        }
    }
    let over_all_t = |a: usize| mean(ap[a].iter().flatten().flat_map(|v| v.iter().copied()));
    let at_t = |t: usize| mean(ap[0].iter().flatten().map(|v| v[t]));
    Ok(ApReport {
        ap: over_all_t(0),
        ap50: at_t(INDEX_50),
        ap75: at_t(INDEX_75),
        ap_small: over_all_t(1),
        ap_medium: over_all_t(2),
        ap_large: over_all_t(3),
        per_class_ap50: ap[0].iter().map(|v| v.map(|v| v[INDEX_50] as f32)).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Crowd;

    fn gt(boxes: &[[f32; 4]], labels: &[usize]) -> Annotated {
        Annotated { image: "img".into(), width: 1000, height: 1000, boxes: boxes.to_vec(), labels: labels.to_vec(), areas: vec![], crowd: vec![] }
    }

    fn det(bbox: [f32; 4], score: f32, label: usize) -> Detection {
        Detection { bbox, score, label }
    }

    fn close(a: Option<f32>, b: f64) {
        let a = a.expect("metric is None") as f64;
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }

    #[test]
    fn thresholds_match_numpy_linspace() {
        // numpy: linspace(.5,.95,10)[2] == 0.6 and [8] == 0.8999999999999999 (just below 0.9).
        let t = iou_thresholds();
        assert_eq!(t[2], 0.6);
        assert_eq!(t[8], 0.8999999999999999);
        assert_eq!(recall_thresholds()[50], 0.5);
    }

    #[test]
    fn perfect_detections_score_one_everywhere() {
        // Areas: 20x20 = 400 (small), 50x50 = 2500 (medium), 120x120 = 14400 (large).
        let gts = vec![gt(&[[0.0, 0.0, 20.0, 20.0], [30.0, 30.0, 80.0, 80.0]], &[0, 1]), gt(&[[0.0, 0.0, 120.0, 120.0]], &[0])];
        let dets: Vec<Vec<Detection>> = gts.iter().map(|g| g.boxes.iter().zip(&g.labels).map(|(b, &l)| det(*b, 0.9, l)).collect()).collect();
        let r = evaluate(&dets, &gts, 2).unwrap();
        for m in [r.ap, r.ap50, r.ap75, r.ap_small, r.ap_medium, r.ap_large] {
            close(m, 1.0);
        }
        assert_eq!(r.per_class_ap50, vec![Some(1.0), Some(1.0)]);
    }

    #[test]
    fn iou_point_six_passes_three_of_ten_thresholds() {
        // gt (0,0,10,10); det shifted by 2.5: intersection 7.5 * 10 = 75, union 100 + 100 - 75
        // = 125, IoU = 0.6 >= 0.5, 0.55, 0.6 only -> AP@[.5:.95] = 3/10, AP50 = 1, AP75 = 0.
        let gts = vec![gt(&[[0.0, 0.0, 10.0, 10.0]], &[0])];
        let dets = vec![vec![det([2.5, 0.0, 12.5, 10.0], 0.9, 0)]];
        let r = evaluate(&dets, &gts, 1).unwrap();
        close(r.ap, 0.3);
        close(r.ap50, 1.0);
        close(r.ap75, 0.0);
        close(r.ap_small, 0.3); // area 100 is small
        assert_eq!((r.ap_medium, r.ap_large), (None, None));
    }

    #[test]
    fn false_positive_ranked_above_true_positive() {
        // Three gts; dets by score: TP .9, FP .8, FP .75, TP .7, TP .6 (IoU 1 or 0, so every
        // threshold gives the same AP).
        //   cumulative tp 1,1,1,2,3; fp 0,1,2,2,2
        //   recall    1/3, 1/3, 1/3, 2/3, 1
        //   precision 1,   1/2, 1/3, 1/2, 3/5
        //   envelope (max from the right): 1, 3/5, 3/5, 3/5, 3/5
        //   r = 0.00..=0.33 (34 values): first recall >= r at index 0 -> 1
        //   r = 0.34..=0.66 (33): index 3 -> 3/5; r = 0.67..=1.00 (34): index 4 -> 3/5
        //   AP = (34 + 67 * 0.6) / 101 = 74.2 / 101 = 0.734653
        // (Without the envelope it would be (34 + 33/2 + 34 * 0.6) / 101 = 0.70198.)
        let gts = vec![gt(&[[0.0, 0.0, 10.0, 10.0], [20.0, 0.0, 30.0, 10.0], [40.0, 0.0, 50.0, 10.0]], &[0, 0, 0])];
        let dets = vec![vec![
            det([20.0, 0.0, 30.0, 10.0], 0.7, 0),
            det([500.0, 0.0, 510.0, 10.0], 0.8, 0),
            det([0.0, 0.0, 10.0, 10.0], 0.9, 0),
            det([40.0, 0.0, 50.0, 10.0], 0.6, 0),
            det([600.0, 0.0, 610.0, 10.0], 0.75, 0),
        ]];
        let r = evaluate(&dets, &gts, 1).unwrap();
        close(r.ap, 74.2 / 101.0);
        close(r.ap50, 74.2 / 101.0);
        close(r.ap75, 74.2 / 101.0);
    }

    #[test]
    fn a_gt_is_matched_once() {
        // Two gts; the 0.8 detection duplicates the 0.9 one on gt 1, so it is a false positive.
        //   tp 1,1,2; fp 0,1,1; recall .5,.5,1; precision 1, 1/2, 2/3 -> envelope 1, 2/3, 2/3.
        //   r = 0.00..=0.50 (51 values) -> 1; r = 0.51..=1.00 (50) -> 2/3.
        //   AP = (51 + 50 * 2/3) / 101 = 253/303 = 0.834983 (matching twice would give 1).
        let gts = vec![gt(&[[0.0, 0.0, 10.0, 10.0], [20.0, 0.0, 30.0, 10.0]], &[0, 0])];
        let dets = vec![vec![det([0.0, 0.0, 10.0, 10.0], 0.9, 0), det([0.0, 0.0, 10.0, 10.0], 0.8, 0), det([20.0, 0.0, 30.0, 10.0], 0.7, 0)]];
        close(evaluate(&dets, &gts, 1).unwrap().ap, 253.0 / 303.0);
    }

    #[test]
    fn two_classes_are_averaged_and_classes_without_gt_excluded() {
        // Class 0 perfect (AP 1 at all 10 thresholds); class 1 the IoU-0.6 case (1,1,1,0 x 7);
        // class 2 has no gt, only a false positive -> excluded.
        // AP = (10 + 3) / 20 = 0.65, AP50 = (1 + 1) / 2 = 1, AP75 = (1 + 0) / 2 = 0.5.
        let gts = vec![gt(&[[0.0, 0.0, 10.0, 10.0], [100.0, 100.0, 110.0, 110.0]], &[0, 1])];
        let dets = vec![vec![det([0.0, 0.0, 10.0, 10.0], 0.9, 0), det([102.5, 100.0, 112.5, 110.0], 0.9, 1), det([300.0, 300.0, 310.0, 310.0], 0.99, 2)]];
        let r = evaluate(&dets, &gts, 3).unwrap();
        close(r.ap, 0.65);
        close(r.ap50, 1.0);
        close(r.ap75, 0.5);
        assert_eq!(r.per_class_ap50, vec![Some(1.0), Some(1.0), None]);
    }

    #[test]
    fn no_detections_score_zero_and_no_gts_give_none() {
        let gts = vec![gt(&[[0.0, 0.0, 10.0, 10.0]], &[0]), gt(&[], &[])];
        let r = evaluate(&[vec![], vec![]], &gts, 2).unwrap();
        close(r.ap, 0.0);
        close(r.ap50, 0.0);
        close(r.ap_small, 0.0);
        assert_eq!(r.ap_large, None);
        assert_eq!(r.per_class_ap50, vec![Some(0.0), None]);

        let r = evaluate(&[vec![det([0.0, 0.0, 1.0, 1.0], 0.5, 0)]], &[gt(&[], &[])], 1).unwrap();
        assert_eq!(r.ap, None);
    }

    #[test]
    fn unmatched_detection_outside_area_range_is_ignored() {
        // Small gt (area 400) found at score 0.8; a large false positive (area 10000) at 0.9.
        // All areas: FP then TP: precision 0, 1/2, recall 0, 1 -> envelope [1/2, 1/2] -> AP 0.5.
        // Small: the large FP is ignored -> AP 1. Large: no gt -> None.
        let gts = vec![gt(&[[0.0, 0.0, 20.0, 20.0]], &[0])];
        let dets = vec![vec![det([0.0, 0.0, 20.0, 20.0], 0.8, 0), det([200.0, 200.0, 300.0, 300.0], 0.9, 0)]];
        let r = evaluate(&dets, &gts, 1).unwrap();
        close(r.ap, 0.5);
        close(r.ap_small, 1.0);
        assert_eq!(r.ap_large, None);
    }

    #[test]
    fn detection_matched_to_out_of_range_gt_is_ignored() {
        // Medium gt M (0,0,40,40) area 1600; small gt S area 400.
        // dM = (0,0,40,25), area 1000 (small), IoU with M = 1000/1600 = 0.625, score 0.9;
        // dS exact on S, score 0.8.
        // Small range: t in .5,.55,.6 -> dM matches ignored M -> ignored, dS TP -> AP 1;
        //   t in .65...95 (7) -> dM unmatched, small -> FP above TP -> AP 0.5.
        //   AP_small = (3 * 1 + 7 * 0.5) / 10 = 0.65.
        // Medium range: t <= .6 -> dM TP -> 1 (dS matches ignored S); t >= .65 -> no TP -> 0.
        //   AP_medium = 3 / 10 = 0.3.
        // All (2 gts): t <= .6 both TP -> 1; t >= .65 FP, TP, M missed: recall 0, 1/2,
        //   precision envelope 1/2 up to recall .5 (51 samples), 0 beyond -> 25.5/101.
        //   AP = (3 + 7 * 25.5/101) / 10 = 481.5/1010 = 0.47673.
        let gts = vec![gt(&[[0.0, 0.0, 40.0, 40.0], [100.0, 100.0, 120.0, 120.0]], &[0, 0])];
        let dets = vec![vec![det([0.0, 0.0, 40.0, 25.0], 0.9, 0), det([100.0, 100.0, 120.0, 120.0], 0.8, 0)]];
        let r = evaluate(&dets, &gts, 1).unwrap();
        close(r.ap_small, 0.65);
        close(r.ap_medium, 0.3);
        close(r.ap, 481.5 / 1010.0);
    }

    #[test]
    fn at_most_100_detections_per_image_and_class() {
        // n false positives scored above the only true positive. With n = 99 the TP is the
        // 100th: recall reaches 1 at precision 1/100, envelope 1/100 everywhere -> AP 0.01.
        // With n = 100 the TP is cut -> AP 0. 100 detections of another class cut nothing.
        let gts = vec![gt(&[[0.0, 0.0, 10.0, 10.0]], &[0])];
        for (n, want) in [(99, 0.01), (100, 0.0)] {
            let mut d: Vec<Detection> = (0..n).map(|i| det([500.0, 500.0, 510.0, 510.0], 0.9 - i as f32 * 1e-3, 0)).collect();
            d.push(det([0.0, 0.0, 10.0, 10.0], 0.5, 0));
            close(evaluate(&[d], &gts, 1).unwrap().ap50, want);
        }
        let mut d: Vec<Detection> = (0..100).map(|_| det([500.0, 500.0, 510.0, 510.0], 0.9, 1)).collect();
        d.push(det([0.0, 0.0, 10.0, 10.0], 0.5, 0));
        assert_eq!(evaluate(&[d], &gts, 2).unwrap().per_class_ap50, vec![Some(1.0), None]);
    }

    #[test]
    fn crowd_region_absorbs_detections_by_intersection_over_detection_area() {
        // One gt G (0,0,10,10) and a crowd region C (100,0,200,100), both class 0.
        // d1 .9 inside C: IoF 1 (its IoU with C would be 0.01) -> ignored at every t;
        // d2 .8 also inside C: C absorbs it too -> ignored;
        // d3 .7 half in C (x 190..210): IoF 0.5 -> ignored at t = .5, a FP above;
        // d4 .6 on G -> TP.
        // t = .5: only d4 counts -> AP 1. t >= .55: FP (d3) then TP: precision 0, 1/2,
        //   recall 0, 1 -> envelope 1/2 -> AP 0.5. AP = (1 + 9 * 0.5) / 10 = 0.55.
        // C is no positive: without d3 recall would reach 1 with the TP alone.
        let mut g = gt(&[[0.0, 0.0, 10.0, 10.0]], &[0]);
        g.crowd = vec![Crowd { bbox: [100.0, 0.0, 200.0, 100.0], label: 0 }];
        let dets = vec![vec![
            det([110.0, 10.0, 120.0, 20.0], 0.9, 0),
            det([150.0, 50.0, 160.0, 60.0], 0.8, 0),
            det([190.0, 0.0, 210.0, 10.0], 0.7, 0),
            det([0.0, 0.0, 10.0, 10.0], 0.6, 0),
        ]];
        let r = evaluate(&dets, &[g.clone()], 1).unwrap();
        close(r.ap50, 1.0);
        close(r.ap75, 0.5);
        close(r.ap, 0.55);
        // A crowd region of another class ignores nothing: d1..d3 are FPs above the TP
        // (precision 1/4 at recall 1) -> AP 0.25 at every threshold.
        g.crowd[0].label = 1;
        close(evaluate(&dets, &[g], 2).unwrap().ap, 0.25);
    }

    #[test]
    fn a_matched_real_gt_stops_the_search_before_crowd_regions() {
        // G (0,0,10,10) inside crowd region C (0,0,100,100). d1 (0,0,10,8.1): IoU 0.81 with G,
        // IoF 1 with C. For t <= 0.8 d1 takes G (TP) and the search stops at the ignored C
        // although its IoF is higher; d2, the same box, finds G taken and C absorbs it. For
        // t >= 0.85 both fall to C (ignored) and G is missed. AP = 7 / 10 (0 if C took d1).
        let mut g = gt(&[[0.0, 0.0, 10.0, 10.0]], &[0]);
        g.crowd = vec![Crowd { bbox: [0.0, 0.0, 100.0, 100.0], label: 0 }];
        let dets = vec![vec![det([0.0, 0.0, 10.0, 8.1], 0.9, 0), det([0.0, 0.0, 10.0, 8.1], 0.8, 0)]];
        let r = evaluate(&dets, &[g], 1).unwrap();
        close(r.ap, 0.7);
        close(r.ap75, 1.0);
    }

    #[test]
    fn annotated_area_decides_the_size_range_and_ranges_are_closed() {
        // A 40x40 box (1600: medium) annotated with area 900 (a thin segmentation): small.
        let mut g = gt(&[[0.0, 0.0, 40.0, 40.0]], &[0]);
        g.areas = vec![900.0];
        let dets = vec![vec![det([0.0, 0.0, 40.0, 40.0], 0.9, 0)]];
        let r = evaluate(&dets, &[g.clone()], 1).unwrap();
        close(r.ap_small, 1.0);
        assert_eq!((r.ap_medium, r.ap_large), (None, None));
        // Area exactly 32^2 lies in both small and medium (pycocotools closes both ends).
        g.areas = vec![1024.0];
        let r = evaluate(&dets, &[g], 1).unwrap();
        close(r.ap_small, 1.0);
        close(r.ap_medium, 1.0);
        assert_eq!(r.ap_large, None);
    }

    /// pycocotools' figures for `tests/fixtures/coco-crowd` (GT with crowd regions, annotated
    /// areas that move boxes between size ranges, areas on the range limits, a class with only
    /// crowd regions and one without any annotation): `expected.json`, printed by
    /// `pycocotools_values.py` beside it.
    #[test]
    fn equals_pycocotools_on_the_crowd_fixture() {
        use serde::Deserialize;
        use serde_json::Value;
        const GT: &str = include_str!("../tests/fixtures/coco-crowd/instances.json");
        const DETS: &str = include_str!("../tests/fixtures/coco-crowd/detections.json");
        const EXPECTED: &str = include_str!("../tests/fixtures/coco-crowd/expected.json");
        #[derive(Deserialize)]
        struct CocoResult {
            image_id: u64,
            category_id: u64,
            bbox: [f64; 4],
            score: f32,
        }
        let (data, _) = crate::data::coco::parse_coco(GT, "instances.json").unwrap();
        // Our reader keeps the file's image order and numbers categories by sorted id.
        let gt: Value = serde_json::from_str(GT).unwrap();
        let ids = |key: &str| -> Vec<u64> { gt[key].as_array().unwrap().iter().map(|v| v["id"].as_u64().unwrap()).collect() };
        let images = ids("images");
        let mut categories = ids("categories");
        categories.sort();
        let mut dets = vec![Vec::new(); images.len()];
        for d in serde_json::from_str::<Vec<CocoResult>>(DETS).unwrap() {
            let [x, y, w, h] = d.bbox;
            let image = images.iter().position(|&i| i == d.image_id).unwrap();
            let label = categories.iter().position(|&c| c == d.category_id).unwrap();
            dets[image].push(det([x as f32, y as f32, (x + w) as f32, (y + h) as f32], d.score, label));
        }
        let r = evaluate(&dets, &data.items, data.classes.len()).unwrap();

        let want: Value = serde_json::from_str(EXPECTED).unwrap();
        let got = [("ap", r.ap), ("ap50", r.ap50), ("ap75", r.ap75), ("ap_small", r.ap_small), ("ap_medium", r.ap_medium), ("ap_large", r.ap_large)];
        let per_class = r.per_class_ap50.iter().enumerate().map(|(k, v)| (want["per_class_ap50"][k].clone(), *v));
        for (w, g) in got.iter().map(|(name, g)| (want[name].clone(), *g)).chain(per_class) {
            match (w.as_f64(), g) {
                (Some(w), Some(g)) => assert!((w - g as f64).abs() < 1e-5, "pycocotools {w}, ours {g}\n{r:?}"),
                (None, None) => {}
                _ => panic!("pycocotools {w}, ours {g:?}\n{r:?}"),
            }
        }
        assert_eq!(r.per_class_ap50.len(), want["per_class_ap50"].as_array().unwrap().len());
    }

    #[test]
    fn invalid_inputs_are_errors() {
        let gts = vec![gt(&[[0.0, 0.0, 10.0, 10.0]], &[0])];
        assert!(matches!(evaluate(&[], &gts, 1), Err(EvalError::ImageCount { dets: 0, gts: 1 })));
        let bad_label = vec![vec![det([0.0, 0.0, 1.0, 1.0], 0.5, 3)]];
        assert!(matches!(evaluate(&bad_label, &gts, 1), Err(EvalError::Detection { index: 0, .. })));
        let nan = vec![vec![det([0.0, 0.0, 1.0, 1.0], f32::NAN, 0)]];
        assert!(evaluate(&nan, &gts, 1).is_err());
        assert!(matches!(evaluate(&[vec![]], &gts, 0), Err(EvalError::Data(DataError::LabelOutOfRange { .. }))));
    }
}

//! Max-IoU assignment of boxes (anchors or proposals) to ground truths, as mmdetection v2's
//! `MaxIoUAssigner` (with `gt_max_assign_all`).

use super::BBox;
use super::iou::iou_matrix;

/// What a box became.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assigned {
    /// Neither positive nor negative: not sampled.
    Ignore,
    Negative,
    /// Positive, matched to this ground-truth index.
    Positive(usize),
}

/// Per box: its label and its best IoU over all ground truths (0 when there are none).
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    pub labels: Vec<Assigned>,
    pub max_iou: Vec<f32>,
}

/// Thresholds of the assignment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MaxIouAssigner {
    /// Positive when the best IoU is `>=` this.
    pub pos_iou_thr: f32,
    /// Negative when the best IoU is in `[0, neg_iou_thr)`.
    pub neg_iou_thr: f32,
    /// A ground truth claims its best boxes only if their IoU is `>=` this.
    pub min_pos_iou: f32,
    /// Each ground truth claims every box tied at its best IoU, even below `pos_iou_thr`.
    pub match_low_quality: bool,
}

impl MaxIouAssigner {
    /// RPN: positive >= 0.7, negative < 0.3, a GT's best anchors positive if >= 0.3.
    pub fn rpn() -> Self {
        Self { pos_iou_thr: 0.7, neg_iou_thr: 0.3, min_pos_iou: 0.3, match_low_quality: true }
    }

    /// R-CNN: positive >= 0.5, negative < 0.5.
    pub fn rcnn() -> Self {
        Self { pos_iou_thr: 0.5, neg_iou_thr: 0.5, min_pos_iou: 0.5, match_low_quality: false }
    }

    /// Assigns each of `boxes` to one of `gts` (or none). With no `gts` every box is negative.
    pub fn assign(&self, boxes: &[BBox], gts: &[BBox]) -> Assignment {
        let (n, g) = (boxes.len(), gts.len());
        if g == 0 {
            return Assignment { labels: vec![Assigned::Negative; n], max_iou: vec![0.0; n] };
        }
        let m = iou_matrix(boxes, gts); // [n x g]
        let mut labels = Vec::with_capacity(n);
        let mut max_iou = Vec::with_capacity(n);
        for row in m.chunks_exact(g) {
            // First argmax on ties, as torch's max.
            let (best_gt, best) = row.iter().enumerate().fold((0, row[0]), |acc, (j, &v)| if v > acc.1 { (j, v) } else { acc });
            labels.push(if best >= self.pos_iou_thr {
                Assigned::Positive(best_gt)
            } else if best >= 0.0 && best < self.neg_iou_thr {
                Assigned::Negative
            } else {
                Assigned::Ignore
            });
            max_iou.push(best);
        }
        if self.match_low_quality {
            for j in 0..g {
                let gt_best = (0..n).map(|i| m[i * g + j]).fold(f32::NEG_INFINITY, f32::max);
                if gt_best >= self.min_pos_iou {
                    for (i, label) in labels.iter_mut().enumerate() {
                        if m[i * g + j] == gt_best {
                            *label = Assigned::Positive(j);
                        }
                    }
                }
            }
        }
        Assignment { labels, max_iou }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Assigned::*;

    const G0: BBox = [0.0, 0.0, 10.0, 10.0];
    const G1: BBox = [100.0, 100.0, 110.0, 110.0];

    #[test]
    fn rcnn_thresholds() {
        let boxes = [
            [0.0, 0.0, 10.0, 10.0],       // IoU 1 with G0
            [0.0, 0.0, 10.0, 5.0],        // 50 / 100 = 0.5 with G0: positive (>=)
            [0.0, 0.0, 10.0, 4.5],        // 0.45: negative
            [100.0, 100.0, 110.0, 106.0], // 0.6 with G1
            [50.0, 50.0, 60.0, 60.0],     // 0
        ];
        let a = MaxIouAssigner::rcnn().assign(&boxes, &[G0, G1]);
        assert_eq!(a.labels, [Positive(0), Positive(0), Negative, Positive(1), Negative]);
        let want = [1.0, 0.5, 0.45, 0.6, 0.0];
        for (g, w) in a.max_iou.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{:?}", a.max_iou);
        }
    }

    #[test]
    fn rpn_ignores_the_middle_band() {
        // G0 also overlaps [0,0,10,10] exactly, so no low-quality match changes the others.
        let boxes = [[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 5.0], [0.0, 0.0, 10.0, 2.0], [5.0, 0.0, 15.0, 10.0], [0.0, 0.0, 10.0, 3.0]];
        // IoUs with G0: 1, 0.5, 0.2, 50 / 150 = 1/3, 30 / 100 = 0.3 (not < 0.3: ignored).
        let a = MaxIouAssigner::rpn().assign(&boxes, &[G0]);
        assert_eq!(a.labels, [Positive(0), Ignore, Negative, Ignore, Ignore]);
    }

    #[test]
    fn low_quality_matches_take_all_ties() {
        let boxes = [
            [0.0, 0.0, 10.0, 5.0],        // 0.5 with G0
            [0.0, 5.0, 10.0, 10.0],       // 0.5 with G0 (tie)
            [0.0, 0.0, 10.0, 4.0],        // 0.4 with G0
            [100.0, 100.0, 110.0, 102.0], // 0.2 with G1: G1's best, but below min_pos_iou 0.3
        ];
        let a = MaxIouAssigner::rpn().assign(&boxes, &[G0, G1]);
        assert_eq!(a.labels, [Positive(0), Positive(0), Ignore, Negative]);
        let off = MaxIouAssigner { match_low_quality: false, ..MaxIouAssigner::rpn() };
        assert_eq!(off.assign(&boxes, &[G0, G1]).labels, [Ignore, Ignore, Ignore, Negative]);
    }

    #[test]
    fn equal_ious_go_to_the_first_gt() {
        // [0,0,10,10] overlaps both halves [0,0,10,5] and [0,5,10,10] with IoU 0.5.
        let a = MaxIouAssigner::rcnn().assign(&[G0], &[[0.0, 0.0, 10.0, 5.0], [0.0, 5.0, 10.0, 10.0]]);
        assert_eq!(a.labels, [Positive(0)]);
    }

    #[test]
    fn later_gt_wins_a_low_quality_box() {
        // One box [0,0,10,10], GTs A = [0,0,10,5] (IoU 0.5) and B = [0,0,10,4] (IoU 0.4): its
        // argmax is A, but it is also B's best, and B is matched later.
        let a = MaxIouAssigner::rpn().assign(&[[0.0, 0.0, 10.0, 10.0]], &[[0.0, 0.0, 10.0, 5.0], [0.0, 0.0, 10.0, 4.0]]);
        assert_eq!(a.labels, [Positive(1)]);
        assert!((a.max_iou[0] - 0.5).abs() < 1e-6);
    }

    #[test]
    fn no_gts_and_no_boxes() {
        let a = MaxIouAssigner::rpn().assign(&[G0, G1], &[]);
        assert_eq!(a.labels, [Negative, Negative]);
        assert_eq!(a.max_iou, [0.0, 0.0]);
        let e = MaxIouAssigner::rcnn().assign(&[], &[G0]);
        assert!(e.labels.is_empty() && e.max_iou.is_empty());
    }
}

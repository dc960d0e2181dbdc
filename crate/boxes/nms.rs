//! Greedy non-maximum suppression and top-k selection on the host. NaN scores rank lowest;
//! equal scores keep index order.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::BBox;
use super::iou::iou;

/// Descending score, NaN last, then ascending index: a total order.
fn by_score(scores: &[f32]) -> impl Fn(&usize, &usize) -> Ordering + '_ {
    let key = |i: usize| if scores[i].is_nan() { f32::NEG_INFINITY } else { scores[i] };
    move |&a, &b| key(b).partial_cmp(&key(a)).unwrap_or(Ordering::Equal).then(a.cmp(&b))
}

/// Indices of the `k` best scores (all if fewer), best first.
pub fn top_k_indices(scores: &[f32], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    let cmp = by_score(scores);
    if k < idx.len() {
        idx.select_nth_unstable_by(k, &cmp);
        idx.truncate(k);
    }
    idx.sort_unstable_by(&cmp);
    idx
}

/// Kept indices, best score first: a box is dropped when its IoU with a kept, better-ranked box
/// of the same class is `> iou_thr`. `boxes`, `scores`, `classes` are parallel.
pub fn batched_nms(boxes: &[BBox], scores: &[f32], classes: &[usize], iou_thr: f32) -> Vec<usize> {
    let mut kept_per_class: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut keep = Vec::new();
    for i in top_k_indices(scores, scores.len()) {
        let kept = kept_per_class.entry(classes[i]).or_default();
        if kept.iter().all(|&j| iou(&boxes[i], &boxes[j]) <= iou_thr) {
            kept.push(i);
            keep.push(i);
        }
    }
    keep
}

/// Class-agnostic NMS: `batched_nms` with one class.
pub fn nms(boxes: &[BBox], scores: &[f32], iou_thr: f32) -> Vec<usize> {
    batched_nms(boxes, scores, &vec![0; boxes.len()], iou_thr)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: BBox = [0.0, 0.0, 10.0, 10.0];
    const B: BBox = [1.0, 0.0, 11.0, 10.0]; // IoU with A: 90 / 110 = 0.818
    const C: BBox = [20.0, 20.0, 30.0, 30.0]; // far from both
    const H: BBox = [0.0, 0.0, 10.0, 5.0]; // IoU with A: 50 / 100 = 0.5 exactly

    #[test]
    fn suppresses_overlaps_above_threshold() {
        // Ranked: B (0.9), A (0.8), C (0.7). A is suppressed by B at 0.5, kept at 0.9.
        assert_eq!(nms(&[A, B, C], &[0.8, 0.9, 0.7], 0.5), [1, 2]);
        assert_eq!(nms(&[A, B, C], &[0.8, 0.9, 0.7], 0.9), [1, 0, 2]);
    }

    #[test]
    fn iou_equal_to_threshold_is_kept() {
        assert_eq!(nms(&[A, H], &[0.9, 0.8], 0.5), [0, 1]);
        assert_eq!(nms(&[A, H], &[0.9, 0.8], 0.49), [0]);
    }

    #[test]
    fn ties_keep_the_lower_index() {
        assert_eq!(nms(&[C, A, A], &[0.5, 0.7, 0.7], 0.5), [1, 0]);
    }

    #[test]
    fn nan_scores_rank_last_without_panicking() {
        // The NaN box overlapping A is suppressed; the far NaN box survives, last.
        assert_eq!(nms(&[A, B, C], &[0.6, f32::NAN, f32::NAN], 0.5), [0, 2]);
    }

    #[test]
    fn classes_are_independent() {
        // B would be suppressed by A in one class; in another class it survives. Order by score.
        let keep = batched_nms(&[A, B, C, H], &[0.9, 0.8, 0.95, 0.7], &[0, 1, 0, 0], 0.3);
        // C 0.95, A 0.9, B 0.8 (class 1); H (IoU 0.5 with A, class 0) is dropped.
        assert_eq!(keep, [2, 0, 1]);
    }

    #[test]
    fn top_k_orders_by_score_with_nan_last() {
        let s = [0.1, f32::NAN, 0.9, 0.5, 0.9];
        assert_eq!(top_k_indices(&s, 3), [2, 4, 3]);
        assert_eq!(top_k_indices(&s, 10), [2, 4, 3, 0, 1]);
        assert!(top_k_indices(&s, 0).is_empty());
        assert!(top_k_indices(&[], 4).is_empty());
    }
}

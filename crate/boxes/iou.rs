//! Area, IoU and clipping of axis-aligned boxes.

use super::BBox;

/// Area of `b`; a side with `x2 < x1` (or `y2 < y1`) counts as 0.
pub fn area(b: &BBox) -> f32 {
    (b[2] - b[0]).max(0.0) * (b[3] - b[1]).max(0.0)
}

/// Intersection over union; 0 when the union is empty (zero-area boxes never give NaN).
pub fn iou(a: &BBox, b: &BBox) -> f32 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = w * h;
    let union = area(a) + area(b) - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

/// IoU of every pair: row-major `[a.len() x b.len()]`, entry `i * b.len() + j` = iou(a[i], b[j]).
pub fn iou_matrix(a: &[BBox], b: &[BBox]) -> Vec<f32> {
    a.iter().flat_map(|x| b.iter().map(move |y| iou(x, y))).collect()
}

/// `b` clamped to the image `[0, width] x [0, height]`.
pub fn clip_box(b: &BBox, width: f32, height: f32) -> BBox {
    [b[0].clamp(0.0, width), b[1].clamp(0.0, height), b[2].clamp(0.0, width), b[3].clamp(0.0, height)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f32, want: f32) {
        assert!((got - want).abs() < 1e-6, "got {got}, want {want}");
    }

    #[test]
    fn area_of_normal_and_inverted_boxes() {
        close(area(&[1.0, 2.0, 4.0, 7.0]), 15.0); // 3 x 5
        close(area(&[4.0, 2.0, 1.0, 7.0]), 0.0); // x2 < x1
    }

    #[test]
    fn iou_of_hand_made_pairs() {
        let a = [0.0, 0.0, 10.0, 10.0];
        close(iou(&a, &a), 1.0);
        // [5, 0, 15, 10]: intersection 5 x 10 = 50, union 100 + 100 - 50 = 150.
        close(iou(&a, &[5.0, 0.0, 15.0, 10.0]), 1.0 / 3.0);
        // Nested [2, 2, 4, 4]: 4 / 100.
        close(iou(&a, &[2.0, 2.0, 4.0, 4.0]), 0.04);
        // Touching edges: no overlap.
        close(iou(&a, &[10.0, 0.0, 20.0, 10.0]), 0.0);
    }

    #[test]
    fn zero_area_boxes_give_zero_not_nan() {
        let p = [3.0, 3.0, 3.0, 3.0];
        close(iou(&p, &p), 0.0);
        close(iou(&p, &[0.0, 0.0, 10.0, 10.0]), 0.0);
    }

    #[test]
    fn matrix_is_row_major() {
        let a = [[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 3.0]];
        let b = [[0.0, 0.0, 2.0, 2.0], [10.0, 10.0, 11.0, 11.0], [1.0, 0.0, 2.0, 1.0]];
        let m = iou_matrix(&a, &b);
        // Row 0: itself 1; far 0; unit box inside a 4-area box: 1/4.
        // Row 1: vs [0,0,2,2] intersection 1, union 4 + 4 - 1 = 7; far 0; [1,0,2,1] touches y=1: 0.
        let want = [1.0, 0.0, 0.25, 1.0 / 7.0, 0.0, 0.0];
        assert_eq!(m.len(), 6);
        for (g, w) in m.iter().zip(want) {
            close(*g, w);
        }
    }

    #[test]
    fn clip_to_image() {
        assert_eq!(clip_box(&[-5.0, 3.0, 120.0, 70.0], 100.0, 50.0), [0.0, 3.0, 100.0, 50.0]);
    }
}

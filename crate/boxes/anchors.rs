//! Anchors of the RPN, as mmdetection v2's `AnchorGenerator` (one scale, centre offset 0).

use super::BBox;

/// Anchors for pyramid levels with the given strides. Base size = stride; for a ratio
/// r = h / w the anchor is `stride * scale / sqrt(r)` wide and `stride * scale * sqrt(r)` high.
#[derive(Clone, Debug, PartialEq)]
pub struct AnchorGenerator {
    /// One per level, P2..P6: 4, 8, 16, 32, 64.
    pub strides: Vec<f32>,
    /// Aspect ratios h / w: 0.5, 1, 2.
    pub ratios: Vec<f32>,
    /// Anchor side in strides (8).
    pub scale: f32,
}

impl Default for AnchorGenerator {
    fn default() -> Self {
        Self { strides: vec![4.0, 8.0, 16.0, 32.0, 64.0], ratios: vec![0.5, 1.0, 2.0], scale: 8.0 }
    }
}

impl AnchorGenerator {
    /// Anchors of `level` on a `feat_h x feat_w` map: `[feat_h * feat_w * ratios.len()]`, index
    /// `(y * feat_w + x) * ratios.len() + r`, centred on `(x * stride, y * stride)`.
    pub fn level_anchors(&self, level: usize, feat_h: usize, feat_w: usize) -> Vec<BBox> {
        let stride = self.strides[level];
        let base: Vec<BBox> = self
            .ratios
            .iter()
            .map(|&r| {
                let h_ratio = r.sqrt();
                let w = stride * (1.0 / h_ratio) * self.scale;
                let h = stride * h_ratio * self.scale;
                [-0.5 * w, -0.5 * h, 0.5 * w, 0.5 * h]
            })
            .collect();
        let mut out = Vec::with_capacity(feat_h * feat_w * base.len());
        for y in 0..feat_h {
            for x in 0..feat_w {
                let (sx, sy) = (x as f32 * stride, y as f32 * stride);
                out.extend(base.iter().map(|b| [b[0] + sx, b[1] + sy, b[2] + sx, b[3] + sy]));
            }
        }
        out
    }

    /// Anchors of every level; `sizes[l] = (feat_h, feat_w)` of level `l` (at most one per stride).
    pub fn all_anchors(&self, sizes: &[(usize, usize)]) -> Vec<Vec<BBox>> {
        sizes.iter().enumerate().map(|(l, &(h, w))| self.level_anchors(l, h, w)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: &BBox, want: &BBox) {
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-4, "got {got:?}, want {want:?}");
        }
    }

    // Stride 4, scale 8: side 32. sqrt(0.5) = 0.7071068, so ratio 0.5 is 32 / 0.7071068 = 45.254834
    // wide and 32 * 0.7071068 = 22.627417 high; ratio 2 swaps them.
    const HALF_LONG: f32 = 22.627_417;
    const HALF_SHORT: f32 = 11.313_708;

    #[test]
    fn base_anchors_at_origin() {
        let a = AnchorGenerator::default().level_anchors(0, 1, 1);
        assert_eq!(a.len(), 3);
        close(&a[0], &[-HALF_LONG, -HALF_SHORT, HALF_LONG, HALF_SHORT]);
        close(&a[1], &[-16.0, -16.0, 16.0, 16.0]);
        close(&a[2], &[-HALF_SHORT, -HALF_LONG, HALF_SHORT, HALF_LONG]);
    }

    #[test]
    fn layout_is_y_then_x_then_ratio() {
        // 3 rows x 2 columns at stride 4: (x = 1, y = 2) has centre (4, 8) and index (2 * 2 + 1) * 3 + r.
        let a = AnchorGenerator::default().level_anchors(0, 3, 2);
        assert_eq!(a.len(), 18);
        close(&a[16], &[-12.0, -8.0, 20.0, 24.0]); // ratio 1: centre ± 16
        close(&a[15], &[4.0 - HALF_LONG, 8.0 - HALF_SHORT, 4.0 + HALF_LONG, 8.0 + HALF_SHORT]);
        // (x = 1, y = 0): centre (4, 0), index 3 * 1 + 1.
        close(&a[4], &[-12.0, -16.0, 20.0, 16.0]);
    }

    #[test]
    fn levels_use_their_stride() {
        let all = AnchorGenerator::default().all_anchors(&[(2, 2), (1, 1), (1, 1), (1, 1), (1, 2)]);
        let counts: Vec<usize> = all.iter().map(Vec::len).collect();
        assert_eq!(counts, [12, 3, 3, 3, 6]);
        // Stride 8, ratio 1: side 64 around (0, 0).
        close(&all[1][1], &[-32.0, -32.0, 32.0, 32.0]);
        // Stride 64, x = 1, ratio 1: side 512 around (64, 0).
        close(&all[4][4], &[-192.0, -256.0, 320.0, 256.0]);
    }
}

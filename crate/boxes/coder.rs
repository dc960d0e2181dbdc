//! Box deltas, as mmdetection v2's `DeltaXYWHBBoxCoder`: for a proposal with centre (px, py)
//! and size (pw, ph) and a target (gx, gy, gw, gh), `d = ((gx - px) / pw, (gy - py) / ph,
//! ln(gw / pw), ln(gh / ph))`, then normalised `(d - means) / stds`.

use super::BBox;
use super::iou::clip_box;

/// Largest |dw|, |dh| accepted by `decode`: ln(1000 / 16), a size change of at most 62.5x.
const MAX_LOG_RATIO: f32 = 4.135_166_6;

/// Normalisation of the deltas `(dx, dy, dw, dh)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DeltaCoder {
    pub means: [f32; 4],
    pub stds: [f32; 4],
}

fn centre_size(b: &BBox) -> [f32; 4] {
    [(b[0] + b[2]) * 0.5, (b[1] + b[3]) * 0.5, b[2] - b[0], b[3] - b[1]]
}

impl DeltaCoder {
    /// RPN stage: means 0, stds 1.
    pub fn rpn() -> Self {
        Self { means: [0.0; 4], stds: [1.0; 4] }
    }

    /// R-CNN stage: means 0, stds [0.1, 0.1, 0.2, 0.2].
    pub fn rcnn() -> Self {
        Self { means: [0.0; 4], stds: [0.1, 0.1, 0.2, 0.2] }
    }

    /// Normalised deltas that move `proposal` onto `gt`. `proposal` must have positive size.
    pub fn encode(&self, proposal: &BBox, gt: &BBox) -> [f32; 4] {
        let [px, py, pw, ph] = centre_size(proposal);
        let [gx, gy, gw, gh] = centre_size(gt);
        let d = [(gx - px) / pw, (gy - py) / ph, (gw / pw).ln(), (gh / ph).ln()];
        std::array::from_fn(|i| (d[i] - self.means[i]) / self.stds[i])
    }

    /// The box that normalised `delta` makes of `proposal`; |dw|, |dh| are clamped to
    /// ln(1000 / 16). `clip_to = Some((width, height))` clamps the result to the image.
    pub fn decode(&self, proposal: &BBox, delta: &[f32; 4], clip_to: Option<(f32, f32)>) -> BBox {
        let [dx, dy, dw, dh]: [f32; 4] = std::array::from_fn(|i| delta[i] * self.stds[i] + self.means[i]);
        let (dw, dh) = (dw.clamp(-MAX_LOG_RATIO, MAX_LOG_RATIO), dh.clamp(-MAX_LOG_RATIO, MAX_LOG_RATIO));
        let [px, py, pw, ph] = centre_size(proposal);
        let (gx, gy) = (px + pw * dx, py + ph * dy);
        let (gw, gh) = (pw * dw.exp(), ph * dh.exp());
        let b = [gx - 0.5 * gw, gy - 0.5 * gh, gx + 0.5 * gw, gy + 0.5 * gh];
        match clip_to {
            Some((w, h)) => clip_box(&b, w, h),
            None => b,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: BBox = [0.0, 0.0, 10.0, 20.0]; // centre (5, 10), size 10 x 20
    const G: BBox = [2.0, 4.0, 12.0, 28.0]; // centre (7, 16), size 10 x 24

    fn close(got: &[f32], want: &[f32], tol: f32) {
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < tol, "got {got:?}, want {want:?}");
        }
    }

    #[test]
    fn encode_rpn_by_hand() {
        // dx = 2/10, dy = 6/20, dw = ln(10/10), dh = ln(24/20) = 0.1823216.
        close(&DeltaCoder::rpn().encode(&P, &G), &[0.2, 0.3, 0.0, 0.182_321_6], 1e-6);
    }

    #[test]
    fn encode_rcnn_divides_by_stds() {
        // The RPN deltas over [0.1, 0.1, 0.2, 0.2]: 0.1823216 / 0.2 = 0.911608.
        close(&DeltaCoder::rcnn().encode(&P, &G), &[2.0, 3.0, 0.0, 0.911_608], 1e-5);
    }

    #[test]
    fn means_are_subtracted() {
        let c = DeltaCoder { means: [0.1, 0.0, 0.0, 0.1], stds: [1.0; 4] };
        close(&c.encode(&P, &G), &[0.1, 0.3, 0.0, 0.082_321_6], 1e-6);
    }

    #[test]
    fn round_trip_both_presets() {
        for c in [DeltaCoder::rpn(), DeltaCoder::rcnn()] {
            close(&c.decode(&P, &c.encode(&P, &G), None), &G, 1e-4);
            let d = [0.5, -1.0, 0.3, -0.2];
            let b = c.decode(&P, &d, None);
            close(&c.encode(&P, &b), &d, 1e-4);
        }
    }

    #[test]
    fn decode_clamps_log_ratio_and_clips() {
        // dw = 10 clamps to ln(62.5): width 625 around x = 5; dh = -10: height 20 / 62.5 = 0.32.
        let b = DeltaCoder::rpn().decode(&P, &[0.0, 0.0, 10.0, -10.0], None);
        close(&b, &[-307.5, 9.84, 317.5, 10.16], 1e-3);
        let c = DeltaCoder::rpn().decode(&P, &[0.0, 0.0, 10.0, -10.0], Some((100.0, 50.0)));
        close(&c, &[0.0, 9.84, 100.0, 10.16], 1e-3);
    }
}

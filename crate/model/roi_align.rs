//! RoIAlign (He et al. 2017), aligned variant, composed from bilinear `grid_sample_2d` and a
//! `sr x sr` average pool, so its backward comes from autodiff on every backend.
//!
//! A RoI `(x1, y1, x2, y2)` in image pixels on a level of stride `s` covers feature coordinates
//! `x1 / s - 0.5 .. x2 / s - 0.5` (pixel centres at integers); each of the `pool x pool` bins is
//! sampled at `sr x sr` evenly spaced points, bilinearly, and averaged. Points are clamped to the
//! map (border padding); mmcv instead reads zero for points more than one pixel outside.

use burn::tensor::module::avg_pool2d;
use burn::tensor::ops::{AvgPoolOptions, GridSampleOptions, GridSamplePaddingMode, InterpolateMode};
use burn::tensor::{Int, Tensor, TensorData};

use crate::boxes::BBox;

/// Pyramid level (0 = P2) for a RoI: `floor(log2(sqrt(w * h) / 56))`, clamped to `0..num_levels`.
pub fn map_roi_level(b: &BBox, num_levels: usize) -> usize {
    let scale = ((b[2] - b[0]).max(0.0) * (b[3] - b[1]).max(0.0)).sqrt();
    let lvl = (scale / 56.0 + 1e-6).log2().floor();
    lvl.clamp(0.0, (num_levels - 1) as f32) as usize
}

/// Normalised sampling grid for `rois` on a map of `h x w` at `stride`:
/// [1, n * pool * sr, pool * sr, 2] flattened, `(x, y)` in [-1, 1] (align_corners = false).
fn sample_grid(rois: &[BBox], stride: f32, h: usize, w: usize, pool: usize, sr: usize) -> Vec<f32> {
    let side = pool * sr;
    let mut g = Vec::with_capacity(rois.len() * side * side * 2);
    for r in rois {
        let (x0, y0) = (r[0] / stride - 0.5, r[1] / stride - 0.5);
        let (bw, bh) = ((r[2] - r[0]) / stride / pool as f32, (r[3] - r[1]) / stride / pool as f32);
        for i in 0..side {
            let y = y0 + (i / sr) as f32 * bh + ((i % sr) as f32 + 0.5) * bh / sr as f32;
            for j in 0..side {
                let x = x0 + (j / sr) as f32 * bw + ((j % sr) as f32 + 0.5) * bw / sr as f32;
                g.push((2.0 * x + 1.0) / w as f32 - 1.0);
                g.push((2.0 * y + 1.0) / h as f32 - 1.0);
            }
        }
    }
    g
}

/// RoIAlign over a pyramid. `feats`: levels [b, c, h_l, w_l] with `strides`; `rois`:
/// (batch index, box in input pixels). Returns [rois.len(), c, pool, pool] in the order of `rois`.
/// Panics if `rois` is empty (callers skip the RoI stage then).
pub fn roi_align(feats: &[Tensor<4>], strides: &[f32], rois: &[(usize, BBox)], pool: usize, sr: usize) -> Tensor<4> {
    assert!(!rois.is_empty(), "roi_align needs at least one RoI");
    let device = feats[0].device();
    let [_, c, _, _] = feats[0].dims();
    let levels: Vec<usize> = rois.iter().map(|(_, b)| map_roi_level(b, feats.len())).collect();
    let mut groups: Vec<((usize, usize), Vec<usize>)> = Vec::new();
    for (i, (b, _)) in rois.iter().enumerate() {
        let key = (*b, levels[i]);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(i),
            None => groups.push((key, vec![i])),
        }
    }
    let side = pool * sr;
    let options = GridSampleOptions::new(InterpolateMode::Bilinear)
        .with_padding_mode(GridSamplePaddingMode::Border)
        .with_align_corners(false);
    let mut parts = Vec::with_capacity(groups.len());
    let mut order = Vec::with_capacity(rois.len());
    for ((b, lvl), idx) in &groups {
        let f = feats[*lvl].clone().narrow(0, *b, 1);
        let [_, _, h, w] = f.dims();
        let boxes: Vec<BBox> = idx.iter().map(|&i| rois[i].1).collect();
        let n = boxes.len();
        let grid = sample_grid(&boxes, strides[*lvl], h, w, pool, sr);
        let grid = Tensor::<4>::from_data(TensorData::new(grid, [1, n * side, side, 2]), &device);
        let s = f.grid_sample_2d(grid, options.clone()).reshape([c, n, side, side]).swap_dims(0, 1);
        parts.push(avg_pool2d(s, AvgPoolOptions::new([sr, sr]).with_stride([sr, sr])));
        order.extend_from_slice(idx);
    }
    // `order[k]` is the RoI at row k of the concatenation; invert it.
    let mut inverse = vec![0i64; rois.len()];
    for (k, &i) in order.iter().enumerate() {
        inverse[i] = k as i64;
    }
    let inverse = Tensor::<1, Int>::from_data(TensorData::new(inverse, [rois.len()]), &device);
    Tensor::cat(parts, 0).select(0, inverse)
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Tensor, TensorData};

    use super::*;
    use crate::testing::{assert_close, device, read};

    /// A [1, 1, h, w] map with value f(y, x).
    fn map(h: usize, w: usize, f: impl Fn(f32, f32) -> f32, dev: &burn::tensor::Device) -> Tensor<4> {
        let v: Vec<f32> = (0..h * w).map(|i| f((i / w) as f32, (i % w) as f32)).collect();
        Tensor::from_data(TensorData::new(v, [1, 1, h, w]), dev)
    }

    #[test]
    fn level_mapping() {
        // sqrt(area)/56: 0.18 -> 0 (clamped), 1 -> 0, 2 -> 1, 4 -> 2, 8 -> 3, 16 -> 3 (clamped).
        for (side, lvl) in [(10.0, 0), (56.0, 0), (112.0, 1), (224.0, 2), (448.0, 3), (896.0, 3)] {
            assert_eq!(map_roi_level(&[0.0, 0.0, side, side], 4), lvl, "side {side}");
        }
    }

    #[test]
    fn linear_map_gives_bin_centres() {
        // f = 10y + x is reproduced exactly by bilinear sampling, so each bin's mean is f at the
        // bin centre. RoI (1,1)-(3,3) at stride 1 starts at feature coord 0.5 with 1-px bins:
        // centres (y, x) = (1, 1), (1, 2), (2, 1), (2, 2) -> 11, 12, 21, 22.
        let dev = device();
        let f = map(4, 5, |y, x| 10.0 * y + x, &dev);
        let out = roi_align(&[f], &[1.0], &[(0, [1.0, 1.0, 3.0, 3.0])], 2, 2);
        assert_eq!(out.dims(), [1, 1, 2, 2]);
        assert_close(&read(out), &[11.0, 12.0, 21.0, 22.0], 1e-5);
    }

    #[test]
    fn quadratic_map_by_hand() {
        // f = x^2 on a 1 x 4 row; RoI x 0..4 at stride 1, pool 1, sr 2: feature x from -0.5,
        // bin width 4, samples at -0.5 + 1 = 0.5 and -0.5 + 3 = 2.5 (y = 0 exactly: one row).
        // Bilinear f(0.5) = (0 + 1)/2 = 0.5, f(2.5) = (4 + 9)/2 = 6.5; mean 3.5.
        let dev = device();
        let f = map(1, 4, |_, x| x * x, &dev);
        let out = roi_align(&[f], &[1.0], &[(0, [0.0, -0.5, 4.0, 1.5])], 1, 2);
        assert_close(&read(out), &[3.5], 1e-5);
    }

    #[test]
    fn border_samples_are_clamped_and_levels_and_order_kept() {
        // RoI (0,0)-(1,1) at stride 1, pool 1, sr 2: samples at -0.25 and 0.25 per axis; clamped
        // -0.25 -> 0. With f = 10y + x: x samples 0, 0.25 -> mean 0.125; y likewise -> 1.25.
        // Second RoI on a stride-2 level (image 1): (0,0)-(4,4) -> feature 0..2 minus 0.5,
        // pool 1, sr 1: centre (0.5, 0.5) -> 10*0.5 + 0.5 = 5.5 on the second image's map + 100.
        let dev = device();
        let p0 = Tensor::cat(vec![map(4, 4, |y, x| 10.0 * y + x, &dev), map(4, 4, |y, x| 10.0 * y + x, &dev)], 0);
        let p1 = Tensor::cat(vec![map(2, 2, |y, x| 10.0 * y + x, &dev), map(2, 2, |y, x| 100.0 + 10.0 * y + x, &dev)], 0);
        // Sides 120 -> level 1 (sqrt area / 56 = 2.1); 1 -> level 0.
        let big = [0.0, 0.0, 120.0, 120.0];
        let rois = [(1, big), (0, [0.0, 0.0, 1.0, 1.0])];
        let out = roi_align(&[p0, p1], &[1.0, 60.0], &rois, 1, 1);
        // Big RoI on level 1 (stride 60): feature 0..2, centre 0.5 -> 100 + 5 + 0.5.
        // Small RoI, sr 1: one sample at the centre (0.0, 0.0) -> 0.
        assert_close(&read(out), &[105.5, 0.0], 1e-4);
        let f = map(4, 4, |y, x| 10.0 * y + x, &dev);
        let out = roi_align(&[f], &[1.0], &[(0, [0.0, 0.0, 1.0, 1.0])], 1, 2);
        assert_close(&read(out), &[1.25 + 0.125], 1e-5);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let dev = device().autodiff();
        let (h, w) = (5, 6);
        let vals: Vec<f32> = (0..h * w).map(|i| ((i * 37 % 11) as f32 * 0.3).sin()).collect();
        let rois = [(0, [0.7, 1.2, 4.9, 3.8]), (0, [2.0, 0.5, 5.5, 4.5])];
        let weights: Vec<f32> = (0..2 * 9).map(|i| ((i * 13 % 7) as f32 - 3.0) * 0.25).collect();
        let loss = |v: &[f32], d: &burn::tensor::Device| {
            let x = Tensor::<4>::from_data(TensorData::new(v.to_vec(), [1, 1, h, w]), d);
            let x = if d.is_autodiff() { x.require_grad() } else { x };
            let wt = Tensor::<4>::from_data(TensorData::new(weights.clone(), [2, 1, 3, 3]), d);
            let l = (roi_align(std::slice::from_ref(&x), &[1.0], &rois, 3, 2) * wt).sum();
            (x, l)
        };
        let (x, l) = loss(&vals, &dev);
        let grad = read(x.grad(&l.backward()).expect("grad"));
        let eps = 1e-2;
        for i in [0, 7, 8, 15, 20, 29] {
            let mut plus = vals.clone();
            plus[i] += eps;
            let mut minus = vals.clone();
            minus[i] -= eps;
            let fd = (read(loss(&plus, &device()).1)[0] - read(loss(&minus, &device()).1)[0]) / (2.0 * eps);
            assert!((fd - grad[i]).abs() < 2e-3, "pixel {i}: finite difference {fd}, autodiff {}", grad[i]);
        }
    }
}

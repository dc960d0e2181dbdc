//! RoIAlign (He et al. 2017), aligned variant, composed from bilinear `grid_sample_2d` and a
//! `sr x sr` average pool, so its backward comes from autodiff on every backend.
//!
//! A RoI `(x1, y1, x2, y2)` in image pixels on a level of stride `s` covers feature coordinates
//! `x1 / s - 0.5 .. x2 / s - 0.5` (pixel centres at integers); each of the `pool x pool` bins is
//! sampled at `sr x sr` evenly spaced points, bilinearly, and averaged. Points are clamped to the
//! map (border padding); mmcv instead reads zero for points more than one pixel outside.
//!
//! The sampling runs through [`BilinearSample`]: on the CPU under autodiff, flex's own
//! `grid_sample_2d` forward and a hand-written backward that scatters each output gradient to its
//! four taps. burn's autodiff has no grid sample of its own, so it differentiated a composition of
//! gathers with index tensors as large as the output times four, and their scatter-add backward.
//! Every other backend runs burn's `grid_sample_2d` unchanged.

#[cfg(feature = "gpu")]
use burn::backend::Cube;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, DType, Flex, TensorMetadata, backend_extension};
use burn::tensor::module::avg_pool2d;
use burn::tensor::ops::{AvgPoolOptions, GridSampleOptions, GridSamplePaddingMode, InterpolateMode};
use burn::tensor::{Int, Tensor, TensorData};

use super::mobile_conv::{flex, for_chunks};
use crate::boxes::BBox;

/// Bilinear sampling, border padding, `align_corners = false` (pixel centres at integers).
fn sample_options() -> GridSampleOptions {
    GridSampleOptions::new(InterpolateMode::Bilinear).with_padding_mode(GridSamplePaddingMode::Border).with_align_corners(false)
}

/// RoIAlign's sampling, differentiable in the map only: the grid comes from RoI coordinates,
/// which Faster R-CNN does not differentiate (a gradient reaching the grid is dropped).
#[backend_extension(Autodiff, Flex, Cube: cfg(feature = "gpu"))]
pub trait BilinearSample: Backend {
    /// `map` [batch, c, h, w], `grid` [batch, ho, wo, 2] (x, y in [-1, 1]) -> [batch, c, ho, wo].
    fn bilinear_sample(map: FloatTensor<Self>, grid: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::float_grid_sample_2d(map, grid, sample_options())
    }
}

impl BilinearSample for Flex {
    fn bilinear_sample(map: FloatTensor<Self>, grid: FloatTensor<Self>) -> FloatTensor<Self> {
        if map.dtype() != DType::F32 || grid.dtype() != DType::F32 {
            return Self::float_grid_sample_2d(map, grid, sample_options());
        }
        sample_flex(&map, &grid)
    }
}

#[cfg(feature = "gpu")]
impl BilinearSample for Cube {}
#[cfg(feature = "gpu")]
impl<C: CheckpointStrategy> BilinearSample for Autodiff<Cube, C> {}

impl<C: CheckpointStrategy> BilinearSample for Autodiff<Flex, C> {
    fn bilinear_sample(map: FloatTensor<Self>, grid: FloatTensor<Self>) -> FloatTensor<Self> {
        if map.dtype() != DType::F32 || grid.dtype() != DType::F32 {
            return Self::float_grid_sample_2d(map, grid, sample_options());
        }
        let grid = grid.into_primitive();
        match SampleBackward.prepare::<C>([map.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let dims = map.shape().dims::<4>();
                let y = sample_flex(&map.into_primitive(), &grid);
                prep.finish((grid, dims), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(sample_flex(&map.into_primitive(), &grid)),
        }
    }
}

/// The map's gradient of [`BilinearSample`]; its state: the grid and the map's dims.
#[derive(Debug)]
struct SampleBackward;

impl Backward<Flex, 1> for SampleBackward {
    type State = (FlexTensor, [usize; 4]);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let dy = grads.consume::<Flex>(&ops.node);
        let (grid, dims) = ops.state;
        if let [Some(node)] = ops.parents {
            let dx = sample_grad(grid.to_contiguous().storage::<f32>(), dy.to_contiguous().storage::<f32>(), dims);
            grads.register::<Flex>(node.id, flex(dx, dims.to_vec()));
        }
    }
}

/// The four (plane index, weight) taps that bilinear sampling with border padding reads for the
/// grid point `(gx, gy)` on an `h x w` plane.
fn taps(gx: f32, gy: f32, h: usize, w: usize) -> [(usize, f32); 4] {
    // align_corners = false: -1 is the left edge of pixel 0, so pixel x sits at (2x + 1) / w - 1.
    let x = ((gx + 1.0) * w as f32 / 2.0 - 0.5).clamp(0.0, (w - 1) as f32);
    let y = ((gy + 1.0) * h as f32 / 2.0 - 0.5).clamp(0.0, (h - 1) as f32);
    let (x0, y0) = (x.floor() as usize, y.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    [(y0 * w + x0, (1.0 - fx) * (1.0 - fy)), (y0 * w + x1, fx * (1.0 - fy)), (y1 * w + x0, (1.0 - fx) * fy), (y1 * w + x1, fx * fy)]
}

/// [`sample`] on flex tensors (f32): `map` [batch, c, h, w], `grid` [batch, ho, wo, 2].
fn sample_flex(map: &FlexTensor, grid: &FlexTensor) -> FlexTensor {
    let dims = map.shape().dims::<4>();
    let [batch, ho, wo, _] = grid.shape().dims::<4>();
    let out = sample(map.to_contiguous().storage::<f32>(), grid.to_contiguous().storage::<f32>(), dims);
    flex(out, vec![batch, dims[1], ho, wo])
}

/// `out[b, c, point] = sum of weight * map[b, c, tap]` over each grid point's [`taps`], on every
/// core (flex's grid sample runs on one): [batch, c, ho, wo]. `grid` [batch, ho, wo, 2].
fn sample(map: &[f32], grid: &[f32], [batch, c, h, w]: [usize; 4]) -> Vec<f32> {
    let points = grid.len() / 2 / batch;
    let taps: Vec<[(usize, f32); 4]> = grid.chunks_exact(2).map(|p| taps(p[0], p[1], h, w)).collect();
    let mut out = vec![0.0f32; batch * c * points];
    for_chunks(&mut out, points, |plane, out| {
        let (taps, map) = (&taps[plane / c * points..][..points], &map[plane * h * w..][..h * w]);
        for (o, t) in out.iter_mut().zip(taps) {
            *o = t.iter().map(|&(i, wt)| wt * map[i]).sum();
        }
    });
    out
}

/// `dmap[b, c, tap] += weight * dy[b, c, point]` over each grid point's [`taps`]: [batch, c, h, w].
/// `grid` [batch, ho, wo, 2], `dy` [batch, c, ho, wo].
fn sample_grad(grid: &[f32], dy: &[f32], [batch, c, h, w]: [usize; 4]) -> Vec<f32> {
    let points = grid.len() / 2 / batch;
    let taps: Vec<[(usize, f32); 4]> = grid.chunks_exact(2).map(|p| taps(p[0], p[1], h, w)).collect();
    let mut dmap = vec![0.0f32; batch * c * h * w];
    for_chunks(&mut dmap, h * w, |plane, dmap| {
        let (taps, dy) = (&taps[plane / c * points..][..points], &dy[plane * points..][..points]);
        for (t, &g) in taps.iter().zip(dy) {
            for &(i, wt) in t {
                dmap[i] += wt * g;
            }
        }
    });
    dmap
}

/// [`BilinearSample::bilinear_sample`] on tensors.
pub fn bilinear_sample(map: Tensor<4>, grid: Tensor<4>) -> Tensor<4> {
    use burn::backend::Dispatch;
    Tensor::from_dispatch(<Dispatch as BilinearSample>::bilinear_sample(map.into_dispatch(), grid.into_dispatch()))
}

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
    let (pooled, inverse) = roi_align_grouped(feats, strides, rois, pool, sr);
    pooled.select(0, inverse)
}

/// [`roi_align`] with its rows grouped by image and level, and the rows of `rois` in that
/// order (`select(0, inverse)` puts them back). A model whose next layers treat each RoI on its
/// own can put back its much smaller outputs instead: the gradient of that row selection is a
/// scatter into zeros, which flex runs on one core.
pub fn roi_align_grouped(feats: &[Tensor<4>], strides: &[f32], rois: &[(usize, BBox)], pool: usize, sr: usize) -> (Tensor<4>, Tensor<1, Int>) {
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
    let mut parts = Vec::with_capacity(groups.len());
    let mut order = Vec::with_capacity(rois.len());
    for ((b, lvl), idx) in &groups {
        let f = feats[*lvl].clone().narrow(0, *b, 1);
        let [_, _, h, w] = f.dims();
        let boxes: Vec<BBox> = idx.iter().map(|&i| rois[i].1).collect();
        let n = boxes.len();
        let grid = sample_grid(&boxes, strides[*lvl], h, w, pool, sr);
        let grid = Tensor::<4>::from_data(TensorData::new(grid, [1, n * side, side, 2]), &device);
        let s = bilinear_sample(f, grid).reshape([c, n, side, side]).swap_dims(0, 1);
        parts.push(avg_pool2d(s, AvgPoolOptions::new([sr, sr]).with_stride([sr, sr])));
        order.extend_from_slice(idx);
    }
    // `order[k]` is the RoI at row k of the concatenation; invert it.
    let mut inverse = vec![0i64; rois.len()];
    for (k, &i) in order.iter().enumerate() {
        inverse[i] = k as i64;
    }
    (Tensor::cat(parts, 0), Tensor::<1, Int>::from_data(TensorData::new(inverse, [rois.len()]), &device))
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

    /// On the CPU under autodiff, [`bilinear_sample`]'s forward and map gradient equal burn's
    /// `grid_sample_2d` (autodiff through its composition of gathers), with grid points inside,
    /// on and beyond the border, on a batch of two.
    #[test]
    fn bilinear_sample_equals_burns_grid_sample() {
        use burn::tensor::{Distribution, Tolerance};
        let dev = burn::tensor::Device::flex().autodiff();
        let (b, c, h, w, ho, wo) = (2, 3, 5, 7, 4, 6);
        let map = Tensor::<4>::random([b, c, h, w], Distribution::Normal(0.0, 1.0), &dev).require_grad();
        let grid = Tensor::<4>::random([b, ho, wo, 2], Distribution::Uniform(-1.3, 1.3), &dev);
        let mine = bilinear_sample(map.clone(), grid.clone());
        let theirs = map.clone().grid_sample_2d(grid.clone(), sample_options());
        let r = Tensor::<4>::random([b, c, ho, wo], Distribution::Normal(0.0, 1.0), &dev);
        let (ga, gb) = ((mine.clone() * r.clone()).sum().backward(), (theirs.clone() * r).sum().backward());
        let tol = Tolerance::<f32>::absolute(1e-5);
        mine.into_data().assert_approx_eq(&theirs.into_data(), tol);
        map.grad(&ga).expect("ours").into_data().assert_approx_eq(&map.grad(&gb).expect("burn's").into_data(), tol);
        // Without autodiff: ours against flex's own grid sample.
        let (map, grid) = (map.inner(), grid.inner());
        bilinear_sample(map.clone(), grid.clone()).into_data().assert_approx_eq(&map.grid_sample_2d(grid, sample_options()).into_data(), tol);
    }

    /// The taps by hand: on a 2 x 4 plane, grid x = 0 is pixel x 1.5 (between columns 1 and 2,
    /// half each), grid y = -1 is pixel y -0.5, clamped to row 0 (all weight on row 0).
    #[test]
    fn taps_by_hand() {
        let t = taps(0.0, -1.0, 2, 4);
        assert_eq!(t, [(1, 0.5), (2, 0.5), (5, 0.0), (6, 0.0)]);
        // Beyond the right edge: clamped to the last column, x1 stays there.
        assert_eq!(taps(1.5, 0.0, 2, 4)[..2], [(3, 0.5), (3, 0.0)]);
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

//! MobileNetV2's depthwise `k x k` convolution (one filter per channel) and its ReLU6, with their
//! own backward on the CPU backend (its 1x1 convs are dense ones, `dense_conv.rs`).
//!
//! burn's generic conv backward, which flex uses, computes the weight gradient as a convolution
//! whose kernel is the whole output map and the input gradient as a transposed convolution. For
//! depthwise and 1x1 convs that was 10x the forward's time (measured at MobileNetV2's layers,
//! 320 px, batch 2): most of a training step. A depthwise conv's gradients are two short loops
//! per channel plane. [`MobileConv`] runs those for `Autodiff<Flex>`, with flex's own forward. ReLU6 is burn's
//! `clamp`, which autodiff runs as two comparisons and two masked fills, and two more fills
//! backward; here one clamp, and one pass backward over the output. Every other backend (flex
//! without autodiff, wgpu with or without) runs burn's `conv2d` and `clamp` unchanged.

#[cfg(feature = "gpu")]
use burn::backend::Cube;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::{FloatTensorOps, ModuleOps};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, DType, Flex, TensorMetadata, backend_extension};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Tensor, TensorData};

/// Convolutions with "same" padding, `bias` [cout] always given.
#[backend_extension(Autodiff, Flex, Cube: cfg(feature = "gpu"))]
pub trait MobileConv: Backend {
    /// Depthwise: `x` [batch, c, h, w], `weight` [c, 1, k, k], padding `k / 2` -> [batch, c, h', w'].
    fn depthwise_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>, stride: usize) -> FloatTensor<Self> {
        let options = depthwise_options(&weight.shape().dims::<4>(), stride);
        Self::conv2d(x, weight, Some(bias), options)
    }

    /// `min(max(x, 0), 6)`, any shape; its gradient passes where the output is strictly inside (0, 6).
    fn relu6(x: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::float_clamp(x, 0.0.into(), 6.0.into())
    }
}

fn depthwise_options(weight: &[usize; 4], stride: usize) -> ConvOptions<2> {
    let [c, _, k, _] = *weight;
    ConvOptions::new([stride; 2], [k / 2; 2], [1, 1], c)
}

impl MobileConv for Flex {
    fn relu6(x: FloatTensor<Self>) -> FloatTensor<Self> {
        if x.dtype() != DType::F32 {
            return Self::float_clamp(x, 0.0.into(), 6.0.into());
        }
        clamp6(x)
    }
}

#[cfg(feature = "gpu")]
impl MobileConv for Cube {}
#[cfg(feature = "gpu")]
impl<C: CheckpointStrategy> MobileConv for Autodiff<Cube, C> {}

impl<C: CheckpointStrategy> MobileConv for Autodiff<Flex, C> {
    fn depthwise_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>, stride: usize) -> FloatTensor<Self> {
        let options = depthwise_options(&weight.shape().dims::<4>(), stride);
        flex_conv_with::<C, _>(DepthwiseBackward { stride }, |x, w, b, o| Flex::conv2d(x, w, Some(b), o), x, weight, bias, options)
    }

    fn relu6(x: FloatTensor<Self>) -> FloatTensor<Self> {
        if x.dtype() != DType::F32 {
            return Self::float_clamp(x, 0.0.into(), 6.0.into());
        }
        match Relu6Backward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let y = clamp6(x.into_primitive());
                prep.finish(y.clone(), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(clamp6(x.into_primitive())),
        }
    }
}

/// `x` (f32) clamped to [0, 6], in place where `x` is not shared, on every core (flex's
/// elementwise ops run on one).
fn clamp6(x: FlexTensor) -> FlexTensor {
    let mut x = contiguous_from_zero(x);
    let n = x.layout().num_elements();
    for_chunks(&mut x.storage_mut::<f32>()[..n], 1 << 14, |_, v| v.iter_mut().for_each(|e| *e = e.clamp(0.0, 6.0)));
    x
}

/// `x` itself where its elements are its storage's first ones in order, else a contiguous copy.
fn contiguous_from_zero(x: FlexTensor) -> FlexTensor {
    if x.layout().is_contiguous() && x.layout().start_offset() == 0 { x } else { x.to_contiguous() }
}

/// ReLU6's backward; its state: the output `y`. `dx = dy` where `0 < y < 6`, else 0.
#[derive(Debug)]
struct Relu6Backward;

impl Backward<Flex, 1> for Relu6Backward {
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let dy = grads.consume::<Flex>(&ops.node);
        if let [Some(node)] = ops.parents {
            let y = contiguous_from_zero(ops.state);
            // dx overwrites dy (`storage_mut` copies it where it is shared).
            let mut dx = contiguous_from_zero(dy);
            let n = dx.layout().num_elements();
            for_chunks(&mut dx.storage_mut::<f32>()[..n], 1 << 16, |chunk, dx| {
                let y = &y.storage::<f32>()[chunk << 16..][..dx.len()];
                dx.iter_mut().zip(y).for_each(|(d, &y)| *d = if y > 0.0 && y < 6.0 { *d } else { 0.0 });
            });
            grads.register::<Flex>(node.id, dx);
        }
    }
}

/// The conv `forward` (x, weight, bias) on flex, its gradients from `backward` (which keeps `x`
/// and `weight`); burn's own autodiff conv with `options` for other dtypes.
pub(crate) fn flex_conv_with<C: CheckpointStrategy, B: Backward<Flex, 3, State = (FlexTensor, FlexTensor)>>(
    backward: B,
    forward: fn(FlexTensor, FlexTensor, FlexTensor, ConvOptions<2>) -> FlexTensor,
    x: FloatTensor<Autodiff<Flex, C>>,
    weight: FloatTensor<Autodiff<Flex, C>>,
    bias: FloatTensor<Autodiff<Flex, C>>,
    options: ConvOptions<2>,
) -> FloatTensor<Autodiff<Flex, C>> {
    if [&x, &weight, &bias].iter().any(|t| t.dtype() != DType::F32) {
        return Autodiff::<Flex, C>::conv2d(x, weight, Some(bias), options);
    }
    match backward.prepare::<C>([x.node(), weight.node(), bias.node()]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => {
            let (xp, wp) = (x.primitive().clone(), weight.primitive().clone());
            let y = forward(xp.clone(), wp.clone(), bias.into_primitive(), options);
            prep.finish((xp, wp), y)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(x.into_primitive(), weight.into_primitive(), bias.into_primitive(), options)),
    }
}

/// The depthwise backward (its state: `x`, `weight`).
#[derive(Debug)]
struct DepthwiseBackward {
    stride: usize,
}

impl Backward<Flex, 3> for DepthwiseBackward {
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let dy = grads.consume::<Flex>(&ops.node);
        let (x, w) = ops.state;
        let [x_parent, w_parent, b_parent] = ops.parents;
        let geo = Geometry::new(x.shape().dims::<4>(), w.shape().dims::<4>()[2], self.stride);
        let dy = dy.to_contiguous();
        let dy_data = dy.storage::<f32>();
        if let Some(node) = x_parent {
            let dx = input_grad(&geo, w.to_contiguous().storage::<f32>(), dy_data);
            grads.register::<Flex>(node.id, flex(dx, geo.x.to_vec()));
        }
        if let Some(node) = w_parent {
            let dw = weight_grad(&geo, x.to_contiguous().storage::<f32>(), dy_data);
            grads.register::<Flex>(node.id, flex(dw, vec![geo.x[1], 1, geo.k, geo.k]));
        }
        if let Some(node) = b_parent {
            grads.register::<Flex>(node.id, flex(bias_grad(dy_data, geo.x[0], geo.x[1], geo.out[0] * geo.out[1]), vec![geo.x[1]]));
        }
    }
}

/// `values` as a flex tensor of `shape`.
pub(crate) fn flex(values: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// Sizes of one conv with padding `k / 2`: input [batch, c, h, w], kernel `k`, stride, output [oh, ow].
pub(crate) struct Geometry {
    pub(crate) x: [usize; 4],
    pub(crate) k: usize,
    pub(crate) stride: usize,
    pub(crate) pad: usize,
    pub(crate) out: [usize; 2],
}

impl Geometry {
    pub(crate) fn new(x: [usize; 4], k: usize, stride: usize) -> Self {
        let pad = k / 2;
        let out = [x[2], x[3]].map(|n| (n + 2 * pad - k) / stride + 1);
        Self { x, k, stride, pad, out }
    }

    /// The output positions `i` (of `n`) whose tap `u` reads an input row/column inside [0, size):
    /// `0 <= i * stride + u - pad < size`.
    pub(crate) fn valid(&self, u: usize, n: usize, size: usize) -> std::ops::Range<usize> {
        let (s, last_tap) = (self.stride as isize, size as isize - 1 + self.pad as isize - u as isize);
        let first = self.pad.saturating_sub(u).div_ceil(self.stride);
        let last = if last_tap < 0 { 0 } else { ((last_tap / s + 1) as usize).min(n) };
        first..last.max(first)
    }
}

/// A `len`-long vector whose `chunk`-long pieces `f(index, piece)` adds into, each piece zeroed
/// on the core that then fills it (`vec![0.0; len]` zeroes all of it on the calling thread).
pub(crate) fn zeroed_chunks(len: usize, chunk: usize, f: impl Fn(usize, &mut [f32]) + Sync + Send) -> Vec<f32> {
    let mut out = Vec::with_capacity(len);
    for_chunks(&mut out.spare_capacity_mut()[..len], chunk, |i, piece| {
        piece.iter_mut().for_each(|e| _ = e.write(0.0));
        // SAFETY: every element of `piece` was just initialised, and `MaybeUninit<f32>` has
        // `f32`'s layout.
        f(i, unsafe { &mut *(piece as *mut [std::mem::MaybeUninit<f32>] as *mut [f32]) });
    });
    // SAFETY: the pieces cover all `len` elements, each zeroed above.
    unsafe { out.set_len(len) };
    out
}

/// Runs `f(index, chunk)` over `chunk`-long pieces of `out`, in parallel where threads exist.
pub(crate) fn for_chunks<T: Send>(out: &mut [T], chunk: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    {
        use rayon::prelude::*;
        out.par_chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
    }
    #[cfg(all(target_arch = "wasm32", not(feature = "threads")))]
    out.chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
}

/// `dx[b, c, i*s + u - p, j*s + v - p] += w[c, u, v] * dy[b, c, i, j]`: [batch, c, h, w].
/// At stride 1 each tap adds a shifted row of `dy` to a row of `dx`; at stride `s > 1` it adds
/// into `s` column phases of each row ([`Phases`], contiguous, so the loops vectorize), which
/// are interleaved into `dx` once per plane.
fn input_grad(g: &Geometry, w: &[f32], dy: &[f32]) -> Vec<f32> {
    let [_, c, h, wd] = g.x;
    let [oh, ow] = g.out;
    let (k, s, p) = (g.k, g.stride, g.pad);
    zeroed_chunks(g.x.iter().product(), h * wd, |plane, dx| {
        let (dy, w) = (&dy[plane * oh * ow..][..oh * ow], &w[(plane % c) * k * k..][..k * k]);
        let mut phases = (s > 1).then(|| Phases::new(s, h, wd));
        for u in 0..k {
            for i in g.valid(u, oh, h) {
                let y = i * s + u - p;
                let dy_row = &dy[i * ow..][..ow];
                for v in 0..k {
                    let (wt, cols) = (w[u * k + v], g.valid(v, ow, wd));
                    if cols.is_empty() {
                        continue;
                    }
                    let dst = match &mut phases {
                        None => &mut dx[y * wd + cols.start + v - p..][..cols.len()],
                        Some(phases) => phases.run_mut(y, cols.start * s + v - p, cols.len()),
                    };
                    dst.iter_mut().zip(&dy_row[cols]).for_each(|(d, g)| *d += wt * g);
                }
            }
        }
        if let Some(phases) = phases {
            phases.interleave_into(dx);
        }
    })
}

/// `dw[c, u, v] = sum over b, i, j of dy[b, c, i, j] * x[b, c, i*s + u - p, j*s + v - p]`: [c, 1, k, k].
/// At stride `s > 1` each plane of `x` is first split into its `s` column phases ([`Phases`]),
/// so that every tap is a dot product of contiguous rows.
fn weight_grad(g: &Geometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
    let [batch, c, h, wd] = g.x;
    let [oh, ow] = g.out;
    let (k, s, p) = (g.k, g.stride, g.pad);
    let mut dw = vec![0.0f32; c * k * k];
    for_chunks(&mut dw, k * k, |ch, dw| {
        for b in 0..batch {
            let plane = b * c + ch;
            let (x, dy) = (&x[plane * h * wd..][..h * wd], &dy[plane * oh * ow..][..oh * ow]);
            let phases = (s > 1).then(|| Phases::split(s, h, wd, x));
            for u in 0..k {
                for v in 0..k {
                    let cols = g.valid(v, ow, wd);
                    if cols.is_empty() {
                        continue;
                    }
                    let mut acc = 0.0f32;
                    for i in g.valid(u, oh, h) {
                        let y = i * s + u - p;
                        let x_row = match &phases {
                            None => &x[y * wd + cols.start + v - p..][..cols.len()],
                            Some(phases) => phases.run(y, cols.start * s + v - p, cols.len()),
                        };
                        acc += dot(&dy[i * ow..][cols.clone()], x_row);
                    }
                    dw[u * k + v] += acc;
                }
            }
        }
    });
    dw
}

/// One channel plane [h, w] split into the `s` column phases of a stride-`s` conv:
/// `data[q][y][t]` holds column `t s + q` of row `y` ([s, h, ceil(w / s)]). The columns
/// `first, first + s, first + 2 s, ...` of a row, which a tap meets at consecutive outputs, are
/// then one contiguous run.
struct Phases {
    data: Vec<f32>,
    s: usize,
    h: usize,
    wd: usize,
}

impl Phases {
    /// All zero.
    fn new(s: usize, h: usize, wd: usize) -> Self {
        Self { data: vec![0.0; s * h * wd.div_ceil(s)], s, h, wd }
    }

    /// `x` [h, w] split into its phases.
    fn split(s: usize, h: usize, wd: usize, x: &[f32]) -> Self {
        let mut phases = Self::new(s, h, wd);
        for (y, row) in x.chunks(wd).enumerate() {
            for q in 0..s.min(wd) {
                let run = phases.run_mut(y, q, (wd - q).div_ceil(s));
                run.iter_mut().zip(row[q..].iter().step_by(s)).for_each(|(d, &v)| *d = v);
            }
        }
        phases
    }

    /// The index of column `col` of row `y`.
    fn at(&self, y: usize, col: usize) -> usize {
        ((col % self.s) * self.h + y) * self.wd.div_ceil(self.s) + col / self.s
    }

    /// Columns `first, first + s, ...` of row `y`, `len` of them.
    fn run(&self, y: usize, first: usize, len: usize) -> &[f32] {
        &self.data[self.at(y, first)..][..len]
    }

    fn run_mut(&mut self, y: usize, first: usize, len: usize) -> &mut [f32] {
        let at = self.at(y, first);
        &mut self.data[at..][..len]
    }

    /// The plane [h, w] back from its phases.
    fn interleave_into(&self, plane: &mut [f32]) {
        for (y, row) in plane.chunks_mut(self.wd).enumerate() {
            for q in 0..self.s.min(self.wd) {
                let run = self.run(y, q, (self.wd - q).div_ceil(self.s));
                row[q..].iter_mut().step_by(self.s).zip(run).for_each(|(d, &v)| *d = v);
            }
        }
    }
}

/// `a . b` in 8 lanes, which the compiler turns into SIMD (a plain float sum stays sequential).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            lanes[l] += x[l] * y[l];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// `db[c] = sum over b and the n pixels of dy[b, c]` for `dy` [batch, c, n]: [c], the
/// channels on every core, each summed in 8 lanes (as a dot product with ones).
pub(crate) fn bias_grad(dy: &[f32], batch: usize, c: usize, n: usize) -> Vec<f32> {
    const ONES: [f32; 256] = [1.0; 256];
    let mut db = vec![0.0f32; c];
    for_chunks(&mut db, 1, |ch, db| {
        db[0] = (0..batch).flat_map(|b| dy[(b * c + ch) * n..][..n].chunks(256)).map(|run| dot(run, &ONES[..run.len()])).sum();
    });
    db
}

/// [`MobileConv::depthwise_conv2d`] on tensors.
pub fn depthwise_conv2d(x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>, stride: usize) -> Tensor<4> {
    use burn::backend::Dispatch;
    Tensor::from_dispatch(<Dispatch as MobileConv>::depthwise_conv2d(x.into_dispatch(), weight.into_dispatch(), bias.into_dispatch(), stride))
}

/// [`MobileConv::relu6`] on tensors.
pub fn relu6<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    use burn::backend::Dispatch;
    Tensor::from_dispatch(<Dispatch as MobileConv>::relu6(x.into_dispatch()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::assert_same_as_conv2d;
    use burn::tensor::{Device, Distribution, Tolerance};

    /// Depthwise: forward and the gradients of `x`, `weight` and `bias` equal burn's generic conv2d backward.
    #[test]
    fn depthwise_gradients_equal_burns_conv2d() {
        // [batch, c, h, w], k, stride: odd and even sides, outputs smaller than the kernel (one
        // narrower than its padding), stride 2 (its column phases: odd and even widths).
        for (x, k, s) in [
            ([2, 5, 9, 8], 3, 1),
            ([2, 5, 9, 8], 3, 2),
            ([1, 3, 1, 1], 3, 1),
            ([1, 3, 2, 3], 3, 2),
            ([2, 4, 7, 7], 5, 2),
            ([1, 2, 6, 5], 1, 1),
            ([2, 2, 3, 1], 5, 1),
            ([2, 3, 12, 17], 3, 2),
        ] {
            let c = x[1];
            assert_same_as_conv2d(x, [c, 1, k, k], |x, w, b| depthwise_conv2d(x, w, b, s), depthwise_options(&[c, 1, k, k], s));
        }
    }

    /// ReLU6: forward and gradient equal burn's `relu6` (a clamp) on values around 0 and 6,
    /// with and without autodiff, on a view that is not contiguous too.
    #[test]
    fn relu6_equals_burns() {
        let plain = Tensor::<3>::random([4, 50, 300], Distribution::Uniform(-2.0, 8.0), &Device::flex()).swap_dims(0, 2);
        let tol = Tolerance::<f32>::absolute(0.0);
        relu6(plain.clone()).into_data().assert_approx_eq(&burn::tensor::activation::relu6(plain).into_data(), tol);
        let dev = Device::flex().autodiff();
        let x = Tensor::<3>::random([3, 70, 500], Distribution::Uniform(-2.0, 8.0), &dev).require_grad();
        let (mine, theirs) = (relu6(x.clone()), burn::tensor::activation::relu6(x.clone()));
        let r = Tensor::<3>::random([3, 70, 500], Distribution::Normal(0.0, 1.0), &dev);
        let (ga, gb) = ((mine.clone() * r.clone()).sum().backward(), (theirs.clone() * r).sum().backward());
        mine.into_data().assert_approx_eq(&theirs.into_data(), tol);
        x.grad(&ga).unwrap().into_data().assert_approx_eq(&x.grad(&gb).unwrap().into_data(), tol);
    }

    /// The loops against a hand-computed case: 1 channel 2x2 input, 3x3 ones kernel, stride 1:
    /// every output sums the whole input, so dx = 4 dy-sums per pixel and dw[u, v] sums the
    /// products the tap (u, v) saw.
    #[test]
    fn hand_computed_gradients() {
        let g = Geometry::new([1, 1, 2, 2], 3, 1);
        assert_eq!(g.out, [2, 2]);
        let x = [1.0, 2.0, 3.0, 4.0];
        let dy = [1.0, 10.0, 100.0, 1000.0];
        assert_eq!(input_grad(&g, &[1.0; 9], &dy), vec![1111.0; 4]);
        // Tap (1, 1) (the centre) sees x[i, j] at output (i, j): 1 + 20 + 300 + 4000.
        // Tap (0, 0) sees x[i - 1, j - 1]: only output (1, 1) reads x[0, 0]: 1000 * 1.
        let dw = weight_grad(&g, &x, &dy);
        assert_eq!(dw[4], 4321.0);
        assert_eq!(dw[0], 1000.0);
        assert_eq!(dw[8], 4.0); // tap (2, 2) at output (0, 0) reads x[1, 1]
        assert_eq!(bias_grad(&dy, 1, 1, 4), vec![1111.0]);
    }
}

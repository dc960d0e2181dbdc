//! Dense `k x k` convolutions at stride 1 with "same" padding (MobileNetV2's 1x1 convs, the
//! FPN's lateral and output convs, the RPN's convs), with their own backward on the CPU backend.
//!
//! burn's generic conv backward, which flex uses, takes the weight gradient as a convolution
//! whose kernel is the whole output map and the input gradient as a transposed convolution: for
//! the FPN's 3x3 conv on P2 (64 channels, 80 x 80, batch 2) 46 ms against a forward of 8.5 ms
//! on two cores, where PyTorch takes 5 ms. Here both are one matmul over the input's columns
//! (im2col): `dW = dy col(x)^T`, `dcol = W^T dy`, then `dx` gathers `dcol` back (col2im). A
//! 1x1 conv's columns are `x` itself and its `dcol` is `dx`.
//! The forward is one matmul over the columns too ([`forward`]), for flex with or without
//! autodiff; every other backend runs burn's `conv2d` unchanged.

#[cfg(feature = "gpu")]
use burn::backend::Cube;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::ModuleOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Flex, TensorMetadata, backend_extension};
use burn::tensor::DType;
use burn::tensor::Tensor;
use burn::tensor::ops::ConvOptions;

use std::mem::MaybeUninit;

use super::mobile_conv::{Geometry, bias_grad, flex, flex_conv_with, for_chunks, zeroed_chunks};

/// A convolution at stride 1 with padding `k / 2`, one group, `bias` [cout] always given.
#[backend_extension(Autodiff, Flex, Cube: cfg(feature = "gpu"))]
pub trait DenseConv: Backend {
    /// `x` [batch, cin, h, w], `weight` [cout, cin, k, k] (k odd) -> [batch, cout, h, w].
    fn dense_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self> {
        let k = weight.shape().dims::<4>()[2];
        Self::conv2d(x, weight, Some(bias), same_options(k))
    }
}

fn same_options(k: usize) -> ConvOptions<2> {
    ConvOptions::new([1, 1], [k / 2; 2], [1, 1], 1)
}

/// f32 convs by [`forward`], other dtypes by flex's conv2d.
impl DenseConv for Flex {
    fn dense_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self> {
        match [&x, &weight, &bias].iter().all(|t| t.dtype() == DType::F32) {
            true => forward(x, weight, bias),
            false => {
                let k = weight.shape().dims::<4>()[2];
                Self::conv2d(x, weight, Some(bias), same_options(k))
            }
        }
    }
}
#[cfg(feature = "gpu")]
impl DenseConv for Cube {}
#[cfg(feature = "gpu")]
impl<C: CheckpointStrategy> DenseConv for Autodiff<Cube, C> {}

impl<C: CheckpointStrategy> DenseConv for Autodiff<Flex, C> {
    fn dense_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self> {
        let k = weight.shape().dims::<4>()[2];
        flex_conv_with::<C, _>(DenseBackward, |x, w, b, _| Flex::dense_conv2d(x, w, b), x, weight, bias, same_options(k))
    }
}

/// The dense conv's backward; its state: `x`, `weight`.
#[derive(Debug)]
struct DenseBackward;

impl Backward<Flex, 3> for DenseBackward {
    type State = (FlexTensor, FlexTensor);

    /// With `dy` as [batch, cout, n] (n = h w), `W` as [cout, cin k k] and `col(x)` as
    /// [batch, cin k k, n]: `dx = col2im(W^T dy)`, `dW = sum over the batch of dy col(x)^T`
    /// ([`weight_grad`]), `db = sum of dy`. The products go to gemm directly ([`gemm_into`]).
    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let dy = grads.consume::<Flex>(&ops.node);
        let (x, w) = ops.state;
        let [x_parent, w_parent, b_parent] = ops.parents;
        let [cout, cin, k, _] = w.shape().dims::<4>();
        let geo = Geometry::new(x.shape().dims::<4>(), k, 1);
        let [batch, _, h, wd] = geo.x;
        let (n, taps) = (h * wd, cin * k * k);
        let dy = dy.to_contiguous();
        let dys = dy.storage::<f32>();
        if let Some(node) = x_parent {
            let w = w.to_contiguous();
            let wt = View { data: w.storage::<f32>(), row: 1, col: taps };
            let dcol = products(batch, [taps, cout, n], |b| (wt, View { data: &dys[b * cout * n..][..cout * n], row: n, col: 1 }));
            let dx = if k == 1 { dcol } else { col2im(&geo, &dcol) };
            grads.register::<Flex>(node.id, flex(dx, geo.x.to_vec()));
        }
        if let Some(node) = w_parent {
            let x = x.to_contiguous();
            let col = (k > 1).then(|| im2col(&geo, x.storage::<f32>()));
            let dw = weight_grad(dys, col.as_deref().unwrap_or(x.storage::<f32>()), batch, cout, taps, n);
            grads.register::<Flex>(node.id, flex(dw, vec![cout, cin, k, k]));
        }
        if let Some(node) = b_parent {
            grads.register::<Flex>(node.id, flex(bias_grad(dys, batch, cout, n), vec![cout]));
        }
    }
}

/// A matrix in a slice: element (i, j) at `data[i * row + j * col]`.
#[derive(Clone, Copy)]
struct View<'a> {
    data: &'a [f32],
    row: usize,
    col: usize,
}

impl View<'_> {
    /// The transpose, on the same data.
    fn t(self) -> Self {
        Self { row: self.col, col: self.row, ..self }
    }
}

/// `out = a b`, or `out += a b` where `add`: `a` [m, k], `b` [k, n], `out` [m, n] row-major
/// (`out` needs to be initialised only where `add`). gemm is called directly because flex's
/// matmul writes into a zeroed buffer that it then copies into an aligned one: two serial
/// passes over every product, 4 % of a training step's CPU time in this backward alone.
fn gemm_into(out: &mut [MaybeUninit<f32>], add: bool, [m, k, n]: [usize; 3], a: View, b: View) {
    let last = |v: View, rows: usize, cols: usize| (rows - 1) * v.row + (cols - 1) * v.col;
    assert!(out.len() == m * n && m * k * n > 0 && last(a, m, k) < a.data.len() && last(b, k, n) < b.data.len(), "gemm_into: shapes");
    #[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
    let parallelism = if m * k * n >= 1 << 21 { gemm::Parallelism::Rayon(0) } else { gemm::Parallelism::None };
    #[cfg(all(target_arch = "wasm32", not(feature = "threads")))]
    let parallelism = gemm::Parallelism::None;
    // SAFETY: the assert keeps every index gemm reads inside `a` and `b` and every one it writes
    // inside `out`; gemm reads `out` only where `add`, and `out` is then initialised.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr().cast::<f32>(),
            1,
            n as isize,
            add,
            a.data.as_ptr(),
            a.col as isize,
            a.row as isize,
            b.data.as_ptr(),
            b.col as isize,
            b.row as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// `a_b b_b` for each of `batch` pairs from `pair(b)` ([m, k] and [k, n]) -> [batch, m, n].
fn products<'a>(batch: usize, [m, k, n]: [usize; 3], pair: impl Fn(usize) -> (View<'a>, View<'a>)) -> Vec<f32> {
    let mut out = Vec::with_capacity(batch * m * n);
    for (b, out) in out.spare_capacity_mut()[..batch * m * n].chunks_mut(m * n).enumerate() {
        let (a, x) = pair(b);
        gemm_into(out, false, [m, k, n], a, x);
    }
    // SAFETY: gemm wrote every element of the `batch` products.
    unsafe { out.set_len(batch * m * n) };
    out
}

/// `sum over the batch of dy col^T` for `dy` [batch, q, n] and `col` [batch, p, n] -> [q, p]:
/// a conv's weight gradient, each batch's product added in place. gemm runs these shapes up to
/// 3x faster with the larger of `p` and `q` as the rows of the product (measured from 16 to 960
/// channels), so where `p > q` this sums `col dy^T` [p, q] and transposes it.
fn weight_grad(dy: &[f32], col: &[f32], batch: usize, q: usize, p: usize, n: usize) -> Vec<f32> {
    let dy_b = |b: usize| View { data: &dy[b * q * n..][..q * n], row: n, col: 1 };
    let col_b = |b: usize| View { data: &col[b * p * n..][..p * n], row: n, col: 1 };
    let (rows, cols) = if p > q { (p, q) } else { (q, p) };
    let mut sum = Vec::with_capacity(rows * cols);
    for b in 0..batch {
        let (a, x) = if p > q { (col_b(b), dy_b(b).t()) } else { (dy_b(b), col_b(b).t()) };
        gemm_into(&mut sum.spare_capacity_mut()[..rows * cols], b > 0, [rows, n, cols], a, x);
    }
    // SAFETY: the first product wrote every element.
    unsafe { sum.set_len(rows * cols) };
    if p > q { (0..q * p).map(|i| sum[(i % p) * q + i / p]).collect() } else { sum }
}

/// The conv: `y_b = W col(x_b) + bias` for `x` [batch, cin, h, w], `weight` [cout, cin, k, k]
/// -> [batch, cout, h, w], with the bias added on every core. At k = 1 the columns are `x`
/// itself ([`products`]); at k > 1 each task takes a band of output rows of one image, builds
/// its columns ([`plane_columns`], small enough to stay in cache) and multiplies them. flex's
/// own conv zeroes its output first, adds the bias on one core, and at k > 1 turns the whole
/// input channels-last on one core.
fn forward(x: FlexTensor, weight: FlexTensor, bias: FlexTensor) -> FlexTensor {
    let [cout, cin, k, _] = weight.shape().dims::<4>();
    let geo = Geometry::new(x.shape().dims::<4>(), k, 1);
    let [batch, _, h, wd] = geo.x;
    let (n, taps) = (h * wd, cin * k * k);
    let (x, weight, bias) = (x.to_contiguous(), weight.to_contiguous(), bias.to_contiguous());
    let (xs, w, bias) = (x.storage::<f32>(), View { data: weight.storage::<f32>(), row: taps, col: 1 }, bias.storage::<f32>());
    let mut y = if k == 1 {
        products(batch, [cout, cin, n], |b| (w, View { data: &xs[b * cin * n..][..cin * n], row: n, col: 1 }))
    } else {
        // Bands of about 512 output pixels: [taps, 512] columns (1.2 MB at 64 channels, 3x3).
        let band = (512 / wd).clamp(1, h);
        let bands = h.div_ceil(band);
        let mut tiles = vec![Vec::new(); batch * bands];
        for_chunks(&mut tiles, 1, |t, tile| {
            let (b, rows) = (t / bands, t % bands * band..((t % bands + 1) * band).min(h));
            let len = rows.len() * wd;
            let mut col = Vec::with_capacity(taps * len);
            for (c, col) in col.spare_capacity_mut()[..taps * len].chunks_mut(k * k * len).enumerate() {
                plane_columns(&geo, &xs[(b * cin + c) * n..][..n], rows.clone(), col);
            }
            // SAFETY: plane_columns wrote every element of each channel's taps.
            unsafe { col.set_len(taps * len) };
            tile[0] = products(1, [cout, taps, len], |_| (w, View { data: &col, row: len, col: 1 }));
        });
        let mut y = Vec::with_capacity(batch * cout * n);
        for_chunks(&mut y.spare_capacity_mut()[..batch * cout * n], n, |plane, y| {
            let (b, o) = (plane / cout, plane % cout);
            for (y, tile) in y.chunks_mut(band * wd).zip(&tiles[b * bands..][..bands]) {
                y.write_copy_of_slice(&tile[o * y.len()..][..y.len()]);
            }
        });
        // SAFETY: every output plane was copied from its bands.
        unsafe { y.set_len(batch * cout * n) };
        y
    };
    for_chunks(&mut y, n, |plane, y| {
        let b = bias[plane % cout];
        y.iter_mut().for_each(|v| *v += b);
    });
    flex(y, vec![batch, cout, h, wd])
}

/// `col[b, (c, u, v), (i, j)] = x[b, c, i + u - p, j + v - p]` (0 outside): [batch, c k k, h w].
fn im2col(g: &Geometry, x: &[f32]) -> Vec<f32> {
    let [batch, c, h, wd] = g.x;
    let (k, n) = (g.k, h * wd);
    let len = batch * c * k * k * n;
    let mut col = Vec::with_capacity(len);
    for_chunks(&mut col.spare_capacity_mut()[..len], k * k * n, |plane, col| plane_columns(g, &x[plane * n..][..n], 0..h, col));
    // SAFETY: plane_columns wrote every element of every plane's taps.
    unsafe { col.set_len(len) };
    col
}

/// The columns of one channel plane `x` [h, w] for the output rows `rows`: `col[(u, v), (i, j)]
/// = x[i + u - p, j + v - p]` (0 outside) for `i` in `rows` -> [k k, rows.len() w], each element
/// written once (a zeroed buffer first would be one more pass).
fn plane_columns(g: &Geometry, x: &[f32], rows: std::ops::Range<usize>, col: &mut [MaybeUninit<f32>]) {
    let [_, _, h, wd] = g.x;
    let (k, p) = (g.k, g.pad);
    let zero = |s: &mut [MaybeUninit<f32>]| s.iter_mut().for_each(|e| _ = e.write(0.0));
    for (tap, col) in col.chunks_mut(rows.len() * wd).enumerate() {
        let (u, v) = (tap / k, tap % k);
        let (inside, cols) = (g.valid(u, h, h), g.valid(v, wd, wd));
        for (i, row) in rows.clone().zip(col.chunks_mut(wd)) {
            if !inside.contains(&i) || cols.is_empty() {
                zero(row);
                continue;
            }
            let src = &x[(i + u - p) * wd..][..wd];
            zero(&mut row[..cols.start]);
            row[cols.clone()].write_copy_of_slice(&src[cols.start + v - p..cols.end + v - p]);
            zero(&mut row[cols.end..]);
        }
    }
}

/// `dx[b, c, i + u - p, j + v - p] += dcol[b, (c, u, v), (i, j)]`, the adjoint of [`im2col`]:
/// [batch, c, h, w].
fn col2im(g: &Geometry, dcol: &[f32]) -> Vec<f32> {
    let [_, _, h, wd] = g.x;
    let (k, p, n) = (g.k, g.pad, h * wd);
    zeroed_chunks(g.x.iter().product(), n, |plane, dx| {
        let dcol = &dcol[plane * k * k * n..][..k * k * n];
        for u in 0..k {
            for i in g.valid(u, h, h) {
                let row = &mut dx[(i + u - p) * wd..][..wd];
                for v in 0..k {
                    let cols = g.valid(v, wd, wd);
                    if cols.is_empty() {
                        continue;
                    }
                    let src = &dcol[(u * k + v) * n + i * wd..][..wd];
                    row[cols.start + v - p..cols.end + v - p].iter_mut().zip(&src[cols]).for_each(|(d, s)| *d += s);
                }
            }
        }
    })
}

/// [`DenseConv::dense_conv2d`] on tensors.
pub fn dense_conv2d(x: Tensor<4>, weight: Tensor<4>, bias: Tensor<1>) -> Tensor<4> {
    use burn::backend::Dispatch;
    Tensor::from_dispatch(<Dispatch as DenseConv>::dense_conv2d(x.into_dispatch(), weight.into_dispatch(), bias.into_dispatch()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::assert_same_as_conv2d;

    /// Forward and the gradients of `x`, `weight` and `bias` equal burn's generic conv2d
    /// backward: odd and even sides, maps smaller than the kernel (one narrower than its
    /// padding), 1x1 (with more and fewer outputs than inputs: both orders of [`weight_grad`]),
    /// 3x3 and 5x5, and maps wide enough for the forward to cut them into bands of rows (4 bands
    /// of 2, 2, 2 and 1 rows of 200; 2 of 3 and 2 rows of 130).
    #[test]
    fn gradients_equal_burns_conv2d() {
        let cases = [
            ([2, 5, 9, 8], 7, 3),
            ([1, 3, 1, 1], 2, 3),
            ([1, 2, 2, 3], 4, 5),
            ([2, 4, 6, 5], 3, 1),
            ([1, 6, 7, 10], 6, 5),
            ([2, 5, 4, 3], 7, 1),
            ([1, 3, 1, 1], 2, 1),
            ([2, 2, 3, 1], 3, 5),
            ([1, 2, 7, 200], 3, 3),
            ([2, 3, 5, 130], 4, 5),
        ];
        for (x, cout, k) in cases {
            assert_same_as_conv2d(x, [cout, x[1], k, k], dense_conv2d, same_options(k));
        }
    }

    /// im2col and col2im by hand: one 2x2 channel, 3x3 taps. Tap (u, v) reads x at
    /// (i + u - 1, j + v - 1); col2im of all-ones columns counts how many taps see each pixel
    /// (4 in a 2x2 map: every output's window covers the whole map).
    #[test]
    fn columns_by_hand() {
        let g = Geometry::new([1, 1, 2, 2], 3, 1);
        let col = im2col(&g, &[1.0, 2.0, 3.0, 4.0]);
        // Tap (0, 0): only output (1, 1) reads inside, x[0, 0] = 1; the centre tap is x itself;
        // tap (2, 2): only output (0, 0) reads x[1, 1] = 4; tap (1, 2): outputs (i, 0) read x[i, 1].
        assert_eq!(&col[0..4], &[0.0, 0.0, 0.0, 1.0]);
        assert_eq!(&col[16..20], &[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(&col[32..36], &[4.0, 0.0, 0.0, 0.0]);
        assert_eq!(&col[20..24], &[2.0, 0.0, 4.0, 0.0]);
        assert_eq!(col2im(&g, &[1.0; 36]), vec![4.0; 4]);
    }
}

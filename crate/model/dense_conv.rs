//! Dense `k x k` convolutions at stride 1 with "same" padding (MobileNetV2's 1x1 convs, the
//! FPN's lateral and output convs, the RPN's convs), with their own backward on the CPU backend.
//!
//! burn's generic conv backward, which flex uses, takes the weight gradient as a convolution
//! whose kernel is the whole output map and the input gradient as a transposed convolution: for
//! the FPN's 3x3 conv on P2 (64 channels, 80 x 80, batch 2) 46 ms against a forward of 8.5 ms
//! on two cores, where PyTorch takes 5 ms. Here both are one matmul over the input's columns
//! (im2col): `dW = dy col(x)^T`, `dcol = W^T dy`, then `dx` gathers `dcol` back (col2im). A
//! 1x1 conv's columns are `x` itself and its `dcol` is `dx`.
//! [`DenseConv`] runs that for `Autodiff<Flex>` with flex's own forward; every other backend
//! runs burn's `conv2d` unchanged.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
#[cfg(feature = "gpu")]
use burn::backend::Cube;
use burn::backend::{Autodiff, Backend, Flex, TensorMetadata, backend_extension};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Shape, Tensor};

use super::mobile_conv::{Geometry, flex, flex_conv_with, for_chunks};

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

impl DenseConv for Flex {}
#[cfg(feature = "gpu")]
impl DenseConv for Cube {}
#[cfg(feature = "gpu")]
impl<C: CheckpointStrategy> DenseConv for Autodiff<Cube, C> {}

impl<C: CheckpointStrategy> DenseConv for Autodiff<Flex, C> {
    fn dense_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, bias: FloatTensor<Self>) -> FloatTensor<Self> {
        let k = weight.shape().dims::<4>()[2];
        flex_conv_with::<C, _>(DenseBackward, x, weight, bias, same_options(k))
    }
}

/// The dense conv's backward; its state: `x`, `weight`.
#[derive(Debug)]
struct DenseBackward;

impl Backward<Flex, 3> for DenseBackward {
    type State = (FlexTensor, FlexTensor);

    /// With `dy` as [batch, cout, n] (n = h w), `W` as [cout, cin k k] and `col(x)` as
    /// [batch, cin k k, n]: `dx = col2im(W^T dy)`, `dW = sum over the batch of dy col(x)^T`
    /// ([`batch_outer`]), `db = sum of dy` (matmuls on transposed views).
    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let dy = grads.consume::<Flex>(&ops.node);
        let (x, w) = ops.state;
        let [x_parent, w_parent, b_parent] = ops.parents;
        let [cout, cin, k, _] = w.shape().dims::<4>();
        let geo = Geometry::new(x.shape().dims::<4>(), k, 1);
        let [batch, _, h, wd] = geo.x;
        let (n, taps) = (h * wd, cin * k * k);
        let dy = Flex::float_reshape(dy, Shape::new([batch, cout, n]));
        if let Some(node) = x_parent {
            let wt = Flex::float_swap_dims(Flex::float_reshape(w, Shape::new([1, cout, taps])), 1, 2);
            let dcol = Flex::float_matmul(wt, dy.clone());
            let dx = if k == 1 { dcol } else { flex(col2im(&geo, dcol.to_contiguous().storage::<f32>()), geo.x.to_vec()) };
            grads.register::<Flex>(node.id, Flex::float_reshape(dx, Shape::new(geo.x)));
        }
        if let Some(node) = w_parent {
            let col = if k == 1 { x } else { flex(im2col(&geo, x.to_contiguous().storage::<f32>()), vec![batch, taps, n]) };
            let dw = batch_outer(dy.clone(), Flex::float_reshape(col, Shape::new([batch, taps, n])));
            grads.register::<Flex>(node.id, Flex::float_reshape(dw, Shape::new([cout, cin, k, k])));
        }
        if let Some(node) = b_parent {
            let db = Flex::float_sum_dim(Flex::float_sum_dim(dy, 2), 0);
            grads.register::<Flex>(node.id, Flex::float_reshape(db, Shape::new([cout])));
        }
    }
}

/// `sum over the batch of dy a^T` for `dy` [batch, q, n] and `a` [batch, p, n] -> [q, p]
/// (contiguous): a conv's weight gradient. gemm runs these shapes up to 3x faster with the
/// larger of `p` and `q` as the rows of the product (measured from 16 to 960 channels), so where
/// `p > q` this takes `(a dy^T)^T`.
fn batch_outer(dy: FlexTensor, a: FlexTensor) -> FlexTensor {
    let [_, q, _] = dy.shape().dims::<3>();
    let [_, p, _] = a.shape().dims::<3>();
    if p > q {
        let t = Flex::float_sum_dim(Flex::float_matmul(a, Flex::float_swap_dims(dy, 1, 2)), 0);
        Flex::float_swap_dims(Flex::float_reshape(t, Shape::new([p, q])), 0, 1).to_contiguous()
    } else {
        Flex::float_reshape(Flex::float_sum_dim(Flex::float_matmul(dy, Flex::float_swap_dims(a, 1, 2)), 0), Shape::new([q, p]))
    }
}

/// `col[b, (c, u, v), (i, j)] = x[b, c, i + u - p, j + v - p]` (0 outside): [batch, c k k, h w].
fn im2col(g: &Geometry, x: &[f32]) -> Vec<f32> {
    let [batch, c, h, wd] = g.x;
    let (k, p, n) = (g.k, g.pad, h * wd);
    let mut col = vec![0.0f32; batch * c * k * k * n];
    for_chunks(&mut col, k * k * n, |plane, col| {
        let x = &x[plane * n..][..n];
        for u in 0..k {
            for v in 0..k {
                let cols = g.valid(v, wd, wd);
                let tap = &mut col[(u * k + v) * n..][..n];
                for i in g.valid(u, h, h) {
                    let src = &x[(i + u - p) * wd..][..wd];
                    tap[i * wd + cols.start..i * wd + cols.end].copy_from_slice(&src[cols.start + v - p..cols.end + v - p]);
                }
            }
        }
    });
    col
}

/// `dx[b, c, i + u - p, j + v - p] += dcol[b, (c, u, v), (i, j)]`, the adjoint of [`im2col`]:
/// [batch, c, h, w].
fn col2im(g: &Geometry, dcol: &[f32]) -> Vec<f32> {
    let [_, _, h, wd] = g.x;
    let (k, p, n) = (g.k, g.pad, h * wd);
    let mut dx = vec![0.0f32; g.x.iter().product()];
    for_chunks(&mut dx, n, |plane, dx| {
        let dcol = &dcol[plane * k * k * n..][..k * k * n];
        for u in 0..k {
            for i in g.valid(u, h, h) {
                let row = &mut dx[(i + u - p) * wd..][..wd];
                for v in 0..k {
                    let cols = g.valid(v, wd, wd);
                    let src = &dcol[(u * k + v) * n + i * wd..][..wd];
                    row[cols.start + v - p..cols.end + v - p].iter_mut().zip(&src[cols]).for_each(|(d, s)| *d += s);
                }
            }
        }
    });
    dx
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
    /// backward: odd and even sides, a map smaller than the kernel, 1x1 (with more and fewer
    /// outputs than inputs: both orders of [`batch_outer`]), 3x3 and 5x5.
    #[test]
    fn gradients_equal_burns_conv2d() {
        let cases = [([2, 5, 9, 8], 7, 3), ([1, 3, 1, 1], 2, 3), ([1, 2, 2, 3], 4, 5), ([2, 4, 6, 5], 3, 1), ([1, 6, 7, 10], 6, 5), ([2, 5, 4, 3], 7, 1), ([1, 3, 1, 1], 2, 1)];
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

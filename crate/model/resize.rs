//! Resizing feature maps between pyramid levels (BFP's rescale and strengthen steps).

use burn::tensor::Tensor;
use burn::tensor::module::{interpolate, max_pool2d};
use burn::tensor::ops::{InterpolateMode, InterpolateOptions, MaxPoolOptions};

/// Nearest-neighbour resize (PyTorch `mode="nearest"`): [b, c, h, w] -> [b, c, size.0, size.1].
pub fn nearest(x: Tensor<4>, size: [usize; 2]) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    if [h, w] == size {
        return x;
    }
    interpolate(x, InterpolateOptions::new(InterpolateMode::Nearest).with_align_corners(false).with_output_size(size))
}

/// Adaptive max-pool to `size` when the input side is an integer multiple of it
/// (kernel = stride = factor); the detector keeps input sizes at multiples of 64 so it always is.
pub fn max_pool_to(x: Tensor<4>, size: [usize; 2]) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    if [h, w] == size {
        return x;
    }
    assert!(h % size[0] == 0 && w % size[1] == 0, "max_pool_to: {h}x{w} is not a multiple of {size:?}");
    let k = [h / size[0], w / size[1]];
    max_pool2d(x, MaxPoolOptions::new(k).with_stride(k))
}

/// Brings `x` to `size`: max-pool when shrinking, nearest when growing.
pub fn rescale(x: Tensor<4>, size: [usize; 2]) -> Tensor<4> {
    let [_, _, h, _] = x.dims();
    if h >= size[0] { max_pool_to(x, size) } else { nearest(x, size) }
}

//! The non-local block's attention as plain tensor ops: the reference that the block runs where
//! our fused kernels do not (`model::non_local`) and that the kernels are checked and timed
//! against (`kernels`). Embedded Gaussian without the 1/sqrt(C) scale.

use burn::tensor::Tensor;
use burn::tensor::activation::softmax;

/// The reference attention `softmax(theta phi^T)`: `[b, n, c]` twice -> `[b, n, n]`.
pub fn attention_matrix(theta: Tensor<3>, phi: Tensor<3>) -> Tensor<3> {
    softmax(theta.matmul(phi.swap_dims(1, 2)), 2)
}

/// The tensor-op path our fused kernels replace: `softmax(theta phi^T) g`, `[b, n, c]` each ->
/// `[b, n, c]`.
pub fn reference_attention(theta: Tensor<3>, phi: Tensor<3>, g: Tensor<3>) -> Tensor<3> {
    attention_matrix(theta, phi).matmul(g)
}

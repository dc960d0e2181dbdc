//! Libra R-CNN (Pang et al., CVPR 2019) on burn: Faster R-CNN + FPN with IoU-balanced
//! sampling, a Balanced Feature Pyramid and the Balanced L1 loss, each switchable by config.
//!
//! Data flows one way: image -> backbone -> FPN -> BFP -> RPN -> RoIAlign -> box head ->
//! post-processing (`infer`), with the samplers and losses beside it in training (`train`).
//! Box logic (anchors, assignment, sampling, NMS, mAP) is plain Rust on the host (`boxes`,
//! `eval`), so it runs and is tested without a GPU, and every tensor read is async so the
//! same code runs on WebGPU in the browser.

// The threaded page build (nightly only) reports failed allocations on its threads to the page.
#![cfg_attr(feature = "threads", feature(alloc_error_hook))]

pub mod attention;
pub mod boxes;
pub mod checkpoint;
pub mod config;
#[cfg(any(not(target_arch = "wasm32"), feature = "threads"))]
pub mod cpu_pool;
pub mod data;
pub mod error;
pub mod eval;
pub mod finetune;
pub mod infer;
pub mod kernels;
pub mod loss;
pub mod model;
pub mod pyramid_view;
pub mod sampling_view;
pub mod train;
#[cfg(target_arch = "wasm32")]
pub mod web;
pub mod weights;

pub use config::{Balance, DetectorConfig};
pub use error::{Error, Result};
pub use model::LibraRcnn;

/// Test helpers: a CPU device and async reads run to completion.
#[cfg(test)]
pub(crate) mod testing {
    use burn::tensor::module::conv2d;
    use burn::tensor::ops::ConvOptions;
    use burn::tensor::{Device, Distribution, Tensor, Tolerance};

    pub fn device() -> Device {
        Device::flex()
    }

    pub fn read<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        pollster::block_on(t.into_data_async()).expect("read").try_to_vec().expect("f32")
    }

    pub fn assert_close(got: &[f32], want: &[f32], tol: f32) {
        assert_eq!(got.len(), want.len(), "length");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= tol, "index {i}: got {g}, want {w} (tol {tol})\ngot {got:?}");
        }
    }

    /// `ours` and burn's `conv2d` with `options` on random `x`, weights of shape `w` and a bias:
    /// the same outputs, on the plain CPU device (inference) and under autodiff, and the same
    /// gradients of x, weight and bias under a random linear loss, within 1e-4 or 1e-5 of the
    /// larger value (a weight's gradient sums a product over every pixel: f32 rounding grows with it).
    pub fn assert_same_as_conv2d(x: [usize; 4], w: [usize; 4], ours: impl Fn(Tensor<4>, Tensor<4>, Tensor<1>) -> Tensor<4>, options: ConvOptions<2>) {
        let dev = Device::flex().autodiff();
        let xi = Tensor::<4>::random(x, Distribution::Normal(0.0, 1.0), &dev).require_grad();
        let wi = Tensor::<4>::random(w, Distribution::Normal(0.0, 1.0), &dev).require_grad();
        let b = Tensor::<1>::random([w[0]], Distribution::Normal(0.0, 1.0), &dev).require_grad();
        let mine = ours(xi.clone(), wi.clone(), b.clone());
        let theirs = conv2d(xi.clone(), wi.clone(), Some(b.clone()), options);
        assert_eq!(mine.dims(), theirs.dims(), "x {x:?}, weight {w:?}");
        let r = Tensor::<4>::random(mine.dims(), Distribution::Normal(0.0, 1.0), &dev);
        let ga = (mine.clone() * r.clone()).sum().backward();
        let gb = (theirs.clone() * r).sum().backward();
        let tol = Tolerance::<f32>::rel_abs(1e-5, 1e-4);
        let plain = |t: &Tensor<1>| Tensor::<1>::from_data(t.to_data(), &Device::flex());
        let flat = |t: &Tensor<4>| plain(&t.clone().flatten(0, 3)).reshape(t.dims());
        ours(flat(&xi), flat(&wi), plain(&b)).into_data().assert_approx_eq(&theirs.to_data(), tol);
        mine.into_data().assert_approx_eq(&theirs.into_data(), tol);
        xi.grad(&ga).unwrap().into_data().assert_approx_eq(&xi.grad(&gb).unwrap().into_data(), tol);
        wi.grad(&ga).unwrap().into_data().assert_approx_eq(&wi.grad(&gb).unwrap().into_data(), tol);
        b.grad(&ga).unwrap().into_data().assert_approx_eq(&b.grad(&gb).unwrap().into_data(), tol);
    }
}

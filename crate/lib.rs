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
    use burn::tensor::{Device, Tensor};

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
}

//! Our hand-written WGSL kernels (`shaders/`) in burn's wgpu backend, and when they run.
//!
//! The fused non-local kernels never hold the `[n, n]` attention matrix, but whether they are
//! faster than burn's tiled matmuls depends on the device (4-6x slower on lavapipe, 2x faster on
//! SwiftShader; numbers in `shaders/README.md`). So by default ([`Kernels::Auto`]) on a wgpu
//! device (native Vulkan/Metal/DX12, WebGPU in the page) they are checked ([`self_test`]) and
//! timed against the reference ([`tune`]) once, the faster runs, and the fused kernels always once
//! the reference's `[b, n, n]` matrix would reach [`FUSED_FROM_BYTES`], when the device's limits
//! allow. Whoever sets up a device records the setting and those results in a [`KernelPlan`],
//! which the model carries (`LibraRcnn::kernels`). A fallback on a wgpu device for any reason but
//! speed is logged once per reason and process.

#[cfg(feature = "gpu")]
mod device;
#[cfg(feature = "gpu")]
pub mod non_local;
#[cfg(feature = "gpu")]
pub mod sampler;
#[cfg(feature = "gpu")]
pub mod wgsl;

#[cfg(not(feature = "gpu"))]
pub use cpu_only::{describe, non_local_plan, self_test, tune};
#[cfg(feature = "gpu")]
pub use device::{describe, non_local_plan, self_test, tune};

use std::collections::HashSet;
use std::sync::Mutex;

/// Which implementation runs where both exist.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Kernels {
    /// Our kernels on wgpu devices for inputs whose reference attention reaches
    /// [`FUSED_FROM_BYTES`], and below it too where [`tune`] measured them faster; the reference
    /// otherwise and on CPU backends.
    #[default]
    Auto,
    /// Our kernels wherever the device allows them.
    Fused,
    /// Always the tensor-op reference (to compare, or to work around a driver bug).
    Reference,
}

/// Size of the reference's `[b, n, n]` attention from which [`Kernels::Auto`] always uses the fused
/// kernels: half of WebGPU's default 128 MiB storage binding limit, which the reference's matrix
/// cannot exceed at all (n = 4096, a 1024 px input's P4 level, at b = 1).
pub const FUSED_FROM_BYTES: usize = 64 << 20;

/// The input the CLI's [`tune`] times both paths at: P4 of a 320 px input with 64 channels (the
/// page's default model); the page times its model's own size.
pub const TUNE_DIMS: [usize; 3] = [1, 400, 64];

/// What [`tune`] measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tuned {
    /// The input timed: `[b, n, c]`.
    pub dims: [usize; 3],
    /// Medians, ms.
    pub fused_ms: f64,
    pub reference_ms: f64,
}

impl Tuned {
    pub fn fused_faster(&self) -> bool {
        self.fused_ms < self.reference_ms
    }
}

/// How the non-local block runs on one device: the setting, and what [`self_test`] and [`tune`]
/// found there. The default, [`Kernels::Auto`] untested and untuned, runs the reference below
/// [`FUSED_FROM_BYTES`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct KernelPlan {
    pub mode: Kernels,
    /// [`tune`]'s result, if it ran.
    pub tuned: Option<Tuned>,
    /// Why [`self_test`] failed on the device, if it did.
    pub self_test_failure: Option<String>,
}

impl KernelPlan {
    pub fn new(mode: Kernels) -> Self {
        Self { mode, ..Self::default() }
    }

    /// This plan after [`self_test`] gave `result`: a failure forces the reference.
    pub fn checked(self, result: Result<(), String>) -> Self {
        match result {
            Ok(()) => self,
            Err(reason) => Self { mode: Kernels::Reference, self_test_failure: Some(reason), ..self },
        }
    }
}

/// Why the reference runs instead of a kernel; `None` when no kernel exists for the device
/// (CPU backends: nothing to log).
pub type Fallback = Option<String>;

/// Logs `reason` the first time this process is given it (only what was logged is kept).
pub(crate) fn log_fallback(kernel: &str, reason: &str) {
    static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let line = format!("{kernel}: reference path: {reason}");
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if seen.get_or_insert_with(HashSet::new).insert(line.clone()) {
        log::warn!("{line}");
    }
}

/// A build without the `gpu` feature (the page's threaded CPU build): no device has our
/// kernels, so every plan runs the reference, as on a CPU device in a build with them.
#[cfg(not(feature = "gpu"))]
mod cpu_only {
    use burn::tensor::Device;

    use super::{Fallback, KernelPlan, Tuned};

    pub fn non_local_plan(_: &KernelPlan, _: &Device, _: [usize; 3]) -> Result<(), Fallback> {
        Err(None)
    }

    pub fn describe(_: &KernelPlan, _: &Device) -> (bool, String) {
        (false, "tensor ops (the CPU backend)".into())
    }

    pub async fn self_test(_: &KernelPlan, _: &Device) -> Result<(), String> {
        Ok(())
    }

    pub async fn tune(_: &KernelPlan, _: &Device, _: crate::infer::Clock<'_>, _: bool, _: [usize; 3]) -> Option<Tuned> {
        None
    }
}

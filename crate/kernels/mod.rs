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

pub mod non_local;
pub mod sampler;
pub mod wgsl;

use std::collections::HashSet;
use std::sync::Mutex;

use burn::backend::DispatchDevice;
use burn::cubecl::{Device as CubeDevice, RuntimeId};
use burn::tensor::Device;

use crate::attention::{attention_matrix, reference_attention};

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

/// The wgpu device under `device` (also through autodiff), if it is one.
pub(crate) fn wgpu_device(device: &Device) -> Option<CubeDevice> {
    match device.clone().inner().as_dispatch() {
        DispatchDevice::Cube(d) if d.runtime() == RuntimeId::Wgpu => Some(d.clone()),
        _ => None,
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

/// Whether `plan` runs the fused non-local kernels for inputs `[b, n, c]` on `device`: `Ok`, or
/// why not (`None`: the expected path, nothing to log).
pub fn non_local_plan(plan: &KernelPlan, device: &Device, [b, n, c]: [usize; 3]) -> Result<(), Fallback> {
    let Some(cube) = wgpu_device(device) else { return Err(None) };
    match plan.mode {
        Kernels::Reference => return Err(Some("forced by the kernels = reference setting".into())),
        Kernels::Auto if b * n * n * 4 < FUSED_FROM_BYTES && !plan.tuned.is_some_and(|t| t.fused_faster()) => return Err(None),
        _ => {}
    }
    non_local_fits(&cube, [b, n, c]).map_err(Some)
}

/// Whether the device's limits allow the fused kernels for `[b, n, c]`, or which one does not.
fn non_local_fits(cube: &CubeDevice, [b, n, c]: [usize; 3]) -> Result<(), String> {
    if c == 0 || c > non_local::MAX_CHANNELS {
        return Err(format!("{c} channels (the kernels take 1..={})", non_local::MAX_CHANNELS));
    }
    let props = cube.client().properties().clone();
    let hw = &props.hardware;
    let bytes = (b * n * c * 4) as u64;
    let tiles = n.div_ceil(non_local::TILE) as u32;
    let checks = [
        (hw.max_shared_memory_size >= non_local::WORKGROUP_BYTES, format!("workgroup storage {} B < {} B", hw.max_shared_memory_size, non_local::WORKGROUP_BYTES)),
        (hw.max_units_per_cube >= 256, format!("{} invocations per workgroup < 256", hw.max_units_per_cube)),
        (hw.max_bindings + 1 >= non_local::STORAGE_BUFFERS, format!("{} storage buffers per stage < {}", hw.max_bindings + 1, non_local::STORAGE_BUFFERS)),
        (props.memory.max_page_size >= bytes, format!("a [{b}, {n}, {c}] buffer ({bytes} B) exceeds the binding size limit {} B", props.memory.max_page_size)),
        (hw.max_cube_count.0 >= tiles && hw.max_cube_count.1 >= b as u32, format!("dispatch ({tiles}, {b}) exceeds {:?} workgroups", hw.max_cube_count)),
    ];
    match checks.into_iter().find(|(ok, _)| !ok) {
        Some((_, reason)) => Err(reason),
        None => Ok(()),
    }
}

/// What `plan` runs the non-local block with on `device`, in words for the page and the CLI;
/// `true` when our kernels run for some input size.
pub fn describe(plan: &KernelPlan, device: &Device) -> (bool, String) {
    let Some(cube) = wgpu_device(device) else { return (false, "tensor ops (the CPU backend)".into()) };
    if let Some(failure) = &plan.self_test_failure {
        return (false, format!("tensor ops (our kernels failed their check on this device: {failure})"));
    }
    let fits = non_local_fits(&cube, [1, 400, 64]);
    match (plan.mode, fits) {
        (Kernels::Reference, _) => (false, "tensor ops (forced by the kernels = reference setting)".into()),
        (_, Err(reason)) => (false, format!("tensor ops (this device: {reason})")),
        (Kernels::Fused, Ok(())) => (true, "our fused WGSL kernels (forced by the kernels = fused setting)".into()),
        (Kernels::Auto, Ok(())) => {
            let mib = FUSED_FROM_BYTES >> 20;
            match plan.tuned {
                Some(t) if t.fused_faster() => {
                    (true, format!("our fused WGSL kernels (measured faster here: {:.1} vs {:.1} ms at n = {}, C = {})", t.fused_ms, t.reference_ms, t.dims[1], t.dims[2]))
                }
                Some(t) => (
                    true,
                    format!("tensor ops (measured faster here: {:.1} vs {:.1} ms at n = {}, C = {}); our fused WGSL kernels from {mib} MiB attention matrices", t.reference_ms, t.fused_ms, t.dims[1], t.dims[2]),
                ),
                None => (true, format!("tensor ops below {mib} MiB attention matrices; our fused WGSL kernels from there")),
            }
        }
    }
}

/// Checks the non-local kernels on `device` against the reference (forward, gradients and
/// attention rows of a small random input, read asynchronously), because a pipeline a driver
/// compiles wrongly fails silently; on a mismatch or error, logs and returns why (for
/// [`KernelPlan::checked`]). `Ok` on devices without kernels and where `plan` forces the reference.
pub async fn self_test(plan: &KernelPlan, device: &Device) -> Result<(), String> {
    use burn::tensor::{Distribution, Tensor};
    let dims = [2, 37, 20];
    let Some(cube) = wgpu_device(device) else { return Ok(()) };
    if plan.mode == Kernels::Reference || non_local_fits(&cube, dims).is_err() {
        return Ok(());
    }
    let ad = device.clone().autodiff();
    let mk = |s| Tensor::<3>::random(dims, Distribution::Normal(0.0, s), &ad).require_grad();
    let (theta, phi, g, w) = (mk(0.5), mk(0.5), mk(1.0), mk(1.0).detach());
    let fused = non_local::attention(theta.clone(), phi.clone(), g.clone());
    let grads_fused = (fused.clone() * w.clone()).sum().backward();
    let reference = reference_attention(theta.clone(), phi.clone(), g.clone());
    let grads_ref = (reference.clone() * w).sum().backward();
    let rows = non_local::attention_rows(theta.clone().detach(), phi.clone().detach(), &[0, 36]);
    let full = attention_matrix(theta.clone().detach(), phi.clone().detach());
    let rows_ref = Tensor::cat(vec![full.clone().slice([0..2, 0..1, 0..37]), full.slice([0..2, 36..37, 0..37])], 1);
    let mut pairs = vec![("forward", fused, reference), ("attention rows", rows, rows_ref)];
    for (name, x) in [("dtheta", &theta), ("dphi", &phi), ("dg", &g)] {
        let (a, b) = (x.grad(&grads_fused), x.grad(&grads_ref));
        match (a, b) {
            (Some(a), Some(b)) => pairs.push((name, a, b)),
            _ => return fail(format!("self-test: no {name}")),
        }
    }
    for (name, got, want) in pairs {
        let read = |t: Tensor<3>| async move { t.into_data_async().await.map_err(|e| format!("{e:?}"))?.try_to_vec::<f32>().map_err(|e| format!("{e:?}")) };
        let (got, want) = match (read(got).await, read(want).await) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => return fail(format!("self-test: reading {name} failed: {e}")),
        };
        let scale = want.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-30);
        let err = got.iter().zip(&want).fold(0f32, |m, (a, b)| m.max((a - b).abs())) / scale;
        if err.is_nan() || err > 1e-4 {
            return fail(format!("self-test: {name} differs from the reference by {err:e} (relative)"));
        }
    }
    Ok(())
}

fn fail(reason: String) -> Result<(), String> {
    log_fallback("non-local", &reason);
    Err(reason)
}

/// Times the fused forward (and backward, for training) against the reference on `device` for
/// inputs `dims` (median of 3 after a warm-up, read back asynchronously, `clock` in ms), so that
/// [`Kernels::Auto`] uses the faster one below [`FUSED_FROM_BYTES`] (as [`KernelPlan::tuned`]):
/// device emulations and GPUs differ. `None` where the kernels cannot run or `plan` forces the
/// reference.
pub async fn tune(plan: &KernelPlan, device: &Device, clock: crate::infer::Clock<'_>, backward: bool, dims: [usize; 3]) -> Option<Tuned> {
    use burn::tensor::{Distribution, Tensor};
    let cube = wgpu_device(device)?;
    if plan.mode == Kernels::Reference || non_local_fits(&cube, dims).is_err() {
        return None;
    }
    let device = if backward { device.clone().autodiff() } else { device.clone() };
    let [theta, phi, g] = [0.5, 0.5, 1.0].map(|s| {
        let t = Tensor::<3>::random(dims, Distribution::Normal(0.0, s), &device);
        if backward { t.require_grad() } else { t }
    });
    let mut times = [vec![], vec![]];
    for run in 0..4 {
        for (k, path) in times.iter_mut().enumerate() {
            let start = clock();
            let y = if k == 0 { non_local::attention(theta.clone(), phi.clone(), g.clone()) } else { reference_attention(theta.clone(), phi.clone(), g.clone()) };
            let out = if backward { theta.grad(&y.sum().backward())? } else { y };
            // The read's bytes arrive when first touched: converting them waits for the work.
            out.into_data_async().await.ok()?.try_to_vec::<f32>().ok()?;
            if run > 0 {
                path.push(clock() - start);
            }
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Some(Tuned { dims, fused_ms: median(&mut times[0]), reference_ms: median(&mut times[1]) })
}

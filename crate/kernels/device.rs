//! Our kernels on a wgpu device: whether a plan runs them for an input ([`non_local_plan`],
//! [`describe`]), their check against the reference ([`self_test`]) and their timing ([`tune`]).

use burn::backend::DispatchDevice;
use burn::cubecl::{Device as CubeDevice, RuntimeId};
use burn::tensor::Device;

use super::{FUSED_FROM_BYTES, Fallback, KernelPlan, Kernels, Tuned, log_fallback, non_local};
use crate::attention::{attention_matrix, reference_attention};

/// The wgpu device under `device` (also through autodiff), if it is one.
pub(crate) fn wgpu_device(device: &Device) -> Option<CubeDevice> {
    match device.clone().inner().as_dispatch() {
        DispatchDevice::Cube(d) if d.runtime() == RuntimeId::Wgpu => Some(d.clone()),
        _ => None,
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
        (
            hw.max_shared_memory_size >= non_local::WORKGROUP_BYTES,
            format!("workgroup storage {} B < {} B", hw.max_shared_memory_size, non_local::WORKGROUP_BYTES),
        ),
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
                Some(t) if t.fused_faster() => (
                    true,
                    format!(
                        "our fused WGSL kernels (measured faster here: {:.1} vs {:.1} ms at n = {}, C = {})",
                        t.fused_ms, t.reference_ms, t.dims[1], t.dims[2]
                    ),
                ),
                Some(t) => (
                    true,
                    format!(
                        "tensor ops (measured faster here: {:.1} vs {:.1} ms at n = {}, C = {}); our fused WGSL kernels from {mib} MiB attention matrices",
                        t.reference_ms, t.fused_ms, t.dims[1], t.dims[2]
                    ),
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
            let y =
                if k == 0 { non_local::attention(theta.clone(), phi.clone(), g.clone()) } else { reference_attention(theta.clone(), phi.clone(), g.clone()) };
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

//! The page's entry points (wasm32 only), called from the page's workers: a detector
//! (`WebDetector`), a fine-tuning session (`WebTrainer`) and the Balanced L1 curves. Results
//! cross the boundary as JSON strings; errors as JS `Error`s with a message meant for the user.

mod detector;
#[cfg(feature = "threads")]
mod thread_panics;
mod trainer;
mod views;

pub use detector::WebDetector;
pub use trainer::WebTrainer;

use burn::module::Module;
use burn::tensor::Device;

use crate::kernels::{self, KernelPlan, Kernels};

use crate::model::LibraRcnn;
use image::RgbImage;
use serde::Serialize;
/// The page's threaded CPU build: `initThreadPool(n)` starts rayon's `n` threads as Web Workers
/// sharing this module's memory; the page calls it once, right after loading the module.
#[cfg(feature = "threads")]
pub use thread_panics::set_panic_channel;
use wasm_bindgen::prelude::*;
#[cfg(feature = "threads")]
pub use wasm_bindgen_rayon::init_thread_pool;

#[cfg(feature = "gpu")]
thread_local! {
    /// The WebGPU device and its `kernels::self_test` result: burn's wgpu runtime initialises
    /// once per page (worker).
    static WEBGPU: std::cell::RefCell<Option<(Device, Result<(), String>)>> = const { std::cell::RefCell::new(None) };
}

/// The kernel setting the page passes with a model ("auto": large inputs, "fused": always,
/// "reference": never; see `kernels::Kernels`).
fn kernels_setting(mode: &str) -> Result<Kernels, JsError> {
    match mode {
        "auto" => Ok(Kernels::Auto),
        "fused" => Ok(Kernels::Fused),
        "reference" => Ok(Kernels::Reference),
        other => Err(js_err(format!("unknown kernels setting {other:?} (expected \"auto\", \"fused\" or \"reference\")"))),
    }
}

/// What runs a model's non-local block (`kernels::describe`), for its `info`.
#[derive(Serialize)]
pub(crate) struct KernelStatus {
    /// Our fused kernels run for some input sizes.
    active: bool,
    text: String,
}

impl KernelStatus {
    pub(crate) fn of(model: &LibraRcnn) -> Self {
        let (active, text) = kernels::describe(&model.kernels, &model.devices()[0]);
        Self { active, text }
    }
}

#[wasm_bindgen(start)]
fn start() {
    #[cfg(not(feature = "threads"))]
    console_error_panic_hook::set_once();
    #[cfg(feature = "threads")]
    thread_panics::install_hooks();
}

pub(crate) fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// The output of the future `make()` returns. On the threaded build (the CPU path alone) it runs
/// on a pool thread ([`on_pool`](crate::cpu_pool::on_pool)), so that flex's parallel ops start
/// inside the pool; there nothing polls futures, which is fine because flex's reads are ready at
/// once (it panics if one would wait). Elsewhere it is awaited here.
#[cfg(feature = "threads")]
pub(crate) async fn cpu_work<F: std::future::Future<Output: Send>>(make: impl FnOnce() -> F + Send) -> F::Output {
    use std::task::{Context, Poll, Waker};
    crate::cpu_pool::on_pool(|| match std::pin::pin!(make()).as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("a CPU computation waited for something: it cannot run on the pool"),
    })
}

/// See the threaded build's `cpu_work`: here the future is awaited where it is made.
#[cfg(not(feature = "threads"))]
pub(crate) async fn cpu_work<F: std::future::Future>(make: impl FnOnce() -> F) -> F::Output {
    make().await
}

/// `performance.now()` of the worker or window.
pub(crate) fn now() -> f64 {
    let perf = js_sys::Reflect::get(&js_sys::global(), &"performance".into()).ok();
    let now = perf.as_ref().and_then(|p| js_sys::Reflect::get(p, &"now".into()).ok()).and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    match (perf, now) {
        (Some(p), Some(f)) => f.call0(&p).ok().and_then(|v| v.as_f64()).unwrap_or_else(js_sys::Date::now),
        _ => js_sys::Date::now(),
    }
}

/// The device for `backend` ("webgpu" or "cpu") and its kernel plan under the setting `kernels`
/// (not yet tuned); WebGPU is initialised and our kernels checked on first use.
pub(crate) async fn device(backend: &str, kernels: &str) -> Result<(Device, KernelPlan), JsError> {
    let plan = KernelPlan::new(kernels_setting(kernels)?);
    match backend {
        "cpu" => Ok((Device::flex(), plan)),
        #[cfg(not(feature = "gpu"))]
        "webgpu" => Err(js_err("this build of the detector is the CPU's (threads, no WebGPU): load the page's other build for WebGPU")),
        #[cfg(feature = "gpu")]
        "webgpu" => {
            if let Some((d, checked)) = WEBGPU.with(|w| w.borrow().clone()) {
                return Ok((d, plan.checked(checked)));
            }
            let d = Device::wgpu_options().init_async().await.map_err(|e| {
                // wgpu puts a JavaScript error's whole stack, as `JsValue(...)`, into its text: its first line says it.
                let text = e.to_string();
                js_err(format!("WebGPU initialisation failed: {}", text.lines().next().unwrap_or_default().replace("JsValue(", "")))
            })?;
            // On failure the reference path is forced for this worker's models and the reason logged.
            let checked = kernels::self_test(&plan, &d).await;
            WEBGPU.with(|w| *w.borrow_mut() = Some((d.clone(), checked.clone())));
            Ok((d, plan.checked(checked)))
        }
        other => Err(js_err(format!("unknown backend {other:?} (expected \"webgpu\" or \"cpu\")"))),
    }
}

/// An RGBA picture (`width * height * 4` bytes, as from `getImageData`) as RGB.
pub(crate) fn rgb_image(rgba: &[u8], width: u32, height: u32) -> Result<RgbImage, JsError> {
    let n = width as usize * height as usize;
    if n == 0 || rgba.len() != n * 4 {
        return Err(js_err(format!("picture of {width}x{height} needs {} RGBA bytes, got {}", n * 4, rgba.len())));
    }
    let rgb: Vec<u8> = rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    Ok(RgbImage::from_raw(width, height, rgb).expect("length checked"))
}

#[derive(Serialize)]
struct LossCurves {
    x: Vec<f32>,
    balanced_l1: Vec<f32>,
    balanced_l1_grad: Vec<f32>,
    smooth_l1: Vec<f32>,
    smooth_l1_grad: Vec<f32>,
}

/// Balanced L1 (`alpha`, `gamma`, `beta`) and smooth L1 (`beta`), losses and gradients, at `n`
/// evenly spaced `x` in [0, `x_max`], from the trainer's own formulas (`loss::scalar`): JSON
/// `{x, balanced_l1, balanced_l1_grad, smooth_l1, smooth_l1_grad}`.
#[wasm_bindgen]
pub fn loss_curves(alpha: f32, gamma: f32, beta: f32, x_max: f32, n: usize) -> Result<String, JsError> {
    if !(alpha > 0.0 && gamma > 0.0 && beta > 0.0 && x_max > 0.0) || !(2..=10_000).contains(&n) {
        return Err(js_err(format!("loss curves need alpha, gamma, beta, x_max > 0 and 2..=10000 points (got {alpha}, {gamma}, {beta}, {x_max}, {n})")));
    }
    use crate::loss::scalar;
    let x: Vec<f32> = (0..n).map(|i| x_max * i as f32 / (n - 1) as f32).collect();
    let curves = LossCurves {
        balanced_l1: x.iter().map(|&v| scalar::balanced_l1(v, alpha, gamma, beta)).collect(),
        balanced_l1_grad: x.iter().map(|&v| scalar::balanced_l1_grad(v, alpha, gamma, beta)).collect(),
        smooth_l1: x.iter().map(|&v| scalar::smooth_l1(v, beta)).collect(),
        smooth_l1_grad: x.iter().map(|&v| scalar::smooth_l1_grad(v, beta)).collect(),
        x,
    };
    Ok(serde_json::to_string(&curves).expect("curves serialise"))
}

//! The page's entry points (wasm32 only), called from `web/worker.js`. Results cross the
//! boundary as JSON strings; errors as JS `Error`s with a message meant for the user.

use std::cell::RefCell;

use burn::tensor::Device;
use image::RgbImage;
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::checkpoint;
use crate::infer::{NamedDetection, StageTimes, detect_staged};
use crate::model::LibraRcnn;
use crate::pyramid_view::{attention_map, pyramid_view};
use crate::sampling_view::sampling_view;

thread_local! {
    /// The WebGPU device: burn's wgpu runtime initialises once per page (worker).
    static WEBGPU: RefCell<Option<Device>> = const { RefCell::new(None) };
}

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// `performance.now()` of the worker or window.
fn now() -> f64 {
    let perf = js_sys::Reflect::get(&js_sys::global(), &"performance".into()).ok();
    let now = perf.as_ref().and_then(|p| js_sys::Reflect::get(p, &"now".into()).ok()).and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    match (perf, now) {
        (Some(p), Some(f)) => f.call0(&p).ok().and_then(|v| v.as_f64()).unwrap_or_else(js_sys::Date::now),
        _ => js_sys::Date::now(),
    }
}

/// The device for `backend` ("webgpu" or "cpu"); WebGPU is initialised on first use.
async fn device(backend: &str) -> Result<Device, JsError> {
    match backend {
        "cpu" => Ok(Device::flex()),
        "webgpu" => {
            if let Some(d) = WEBGPU.with(|w| w.borrow().clone()) {
                return Ok(d);
            }
            let d = Device::wgpu_options().init_async().await.map_err(|e| js_err(format!("WebGPU initialisation failed: {e:?}")))?;
            WEBGPU.with(|w| *w.borrow_mut() = Some(d.clone()));
            Ok(d)
        }
        other => Err(js_err(format!("unknown backend {other:?} (expected \"webgpu\" or \"cpu\")"))),
    }
}

#[derive(Serialize)]
struct Info<'a> {
    classes: &'a [String],
    input_size: usize,
    parameters: usize,
    backend: &'a str,
}

#[derive(Serialize)]
struct DetectResult {
    detections: Vec<NamedDetection>,
    timings: StageTimes,
    total_ms: f64,
}

/// An RGBA picture (`width * height * 4` bytes, as from `getImageData`) as RGB.
fn rgb_image(rgba: &[u8], width: u32, height: u32) -> Result<RgbImage, JsError> {
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

/// A loaded detector on one backend.
#[wasm_bindgen]
pub struct WebDetector {
    model: LibraRcnn,
    backend: String,
}

#[wasm_bindgen]
impl WebDetector {
    /// Loads a checkpoint (`.lrc` or `.safetensors`, written by the CLI or the page) onto `backend`.
    pub async fn load(bytes: Vec<u8>, backend: String) -> Result<WebDetector, JsError> {
        let device = device(&backend).await?;
        let model = checkpoint::from_bytes(&bytes, &device).map_err(js_err)?;
        Ok(WebDetector { model, backend })
    }

    /// Runs the network at `size` x `size` pixels (a multiple of 64) instead of the size it was
    /// trained at: larger sees smaller objects, smaller runs faster.
    pub fn set_input_size(&mut self, size: usize) -> Result<(), JsError> {
        let mut config = self.model.config.clone();
        config.input_size = size;
        config.validate().map_err(js_err)?;
        self.model.config = config;
        Ok(())
    }

    /// JSON: `{classes, input_size, parameters, backend}`.
    pub fn info(&self) -> String {
        use burn::module::Module;
        let info = Info {
            classes: &self.model.config.classes,
            input_size: self.model.config.input_size,
            parameters: self.model.num_params(),
            backend: &self.backend,
        };
        serde_json::to_string(&info).expect("info serialises")
    }

    /// Detects objects in an RGBA picture (`width * height * 4` bytes, as from
    /// `getImageData`). JSON: `{detections: [{bbox: [x1, y1, x2, y2], score, label, class}],
    /// timings: {backbone_neck_ms, rpn_ms, roi_head_ms, postprocess_ms}, total_ms}`, boxes in
    /// the picture's pixels, every detection above the model's own score threshold.
    pub async fn detect(&self, rgba: Vec<u8>, width: u32, height: u32) -> Result<String, JsError> {
        let image = rgb_image(&rgba, width, height)?;
        let start = now();
        let (detections, timings) = detect_staged(&self.model, &image, Some(&now)).await.map_err(js_err)?;
        let result = DetectResult { detections, timings, total_ms: now() - start };
        Ok(serde_json::to_string(&result).expect("detections serialise"))
    }

    /// The feature pyramid view of an RGBA picture (`channel` < 0: channel energy): JSON of
    /// [`PyramidView`](crate::pyramid_view::PyramidView), as `libra pyramid` prints it.
    pub async fn pyramid_view(&self, rgba: Vec<u8>, width: u32, height: u32, channel: i32) -> Result<String, JsError> {
        let image = rgb_image(&rgba, width, height)?;
        let view = pyramid_view(&self.model, &image, usize::try_from(channel).ok()).await.map_err(js_err)?;
        Ok(serde_json::to_string(&view).expect("the view serialises"))
    }

    /// The non-local block's attention of the picture's pixel (`x`, `y`): JSON of
    /// [`AttentionMap`](crate::pyramid_view::AttentionMap), as `libra attention` prints it.
    pub async fn attention_map(&self, rgba: Vec<u8>, width: u32, height: u32, x: f32, y: f32) -> Result<String, JsError> {
        let image = rgb_image(&rgba, width, height)?;
        let map = attention_map(&self.model, &image, x, y).await.map_err(js_err)?;
        Ok(serde_json::to_string(&map).expect("the map serialises"))
    }

    /// The "sampled negatives" view of an RGBA picture with its GT boxes (`gt_json`:
    /// `[[x1, y1, x2, y2], ...]` in the picture's pixels): JSON of
    /// [`SamplingView`](crate::sampling_view::SamplingView), as `libra sampling` prints it.
    pub async fn sampling_view(&self, rgba: Vec<u8>, width: u32, height: u32, gt_json: String, seed: u32) -> Result<String, JsError> {
        let image = rgb_image(&rgba, width, height)?;
        let gt: Vec<[f32; 4]> = serde_json::from_str(&gt_json).map_err(|e| js_err(format!("GT boxes: {e}")))?;
        let view = sampling_view(&self.model, &image, &gt, seed.into()).await.map_err(js_err)?;
        Ok(serde_json::to_string(&view).expect("the view serialises"))
    }
}

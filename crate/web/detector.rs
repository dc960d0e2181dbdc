//! `WebDetector`: a loaded model that detects objects and draws its teaching views.

use burn::module::Module;
use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::{KernelStatus, device, js_err, now, rgb_image, views};
use crate::infer::{NamedDetection, StageTimes, detect_staged};
use crate::model::LibraRcnn;
use crate::model::flops::sgemm_gflops;
use crate::{checkpoint, kernels};

#[derive(Serialize)]
struct Info<'a> {
    classes: &'a [String],
    input_size: usize,
    parameters: usize,
    /// RPN proposals kept per image in training (the training form's default).
    train_proposals: usize,
    backend: &'a str,
    /// What runs the non-local block.
    kernels: KernelStatus,
}

#[derive(Serialize)]
struct DetectResult {
    detections: Vec<NamedDetection>,
    timings: StageTimes,
    total_ms: f64,
}

/// A loaded detector on one backend.
#[wasm_bindgen]
pub struct WebDetector {
    model: LibraRcnn,
    backend: String,
}

#[wasm_bindgen]
impl WebDetector {
    /// Loads a checkpoint (`.lrc` or `.safetensors`, written by the CLI or the page) onto `backend`
    /// ("webgpu" or "cpu"), our kernels as `kernels` says ("auto", "fused" or "reference").
    /// `progress` is called with a sentence before each step (device, weights, kernel timing).
    pub async fn load(bytes: Vec<u8>, backend: String, kernels: String, progress: js_sys::Function) -> Result<WebDetector, JsError> {
        let say = |text: String| {
            let _ = progress.call1(&JsValue::NULL, &text.into());
        };
        if backend == "webgpu" {
            say("setting up WebGPU and checking our WGSL kernels…".into());
        }
        let (device, mut plan) = device(&backend, &kernels).await?;
        say(format!("reading the model ({:.1} MB of weights)…", bytes.len() as f64 / 1e6));
        let model = checkpoint::from_bytes(&bytes, &device).map_err(js_err)?;
        // Which of our kernels and the reference runs this model's non-local block faster here.
        if let Some(dims) = model.non_local_dims() {
            if backend == "webgpu" {
                say("timing our non-local kernels against the reference…".into());
            }
            plan.tuned = kernels::tune(&plan, &device, &now, false, dims).await;
        }
        Ok(WebDetector { model: model.with_kernels(plan), backend })
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

    /// JSON: `{classes, input_size, parameters, train_proposals, backend, kernels: {active,
    /// text}}` (what runs the non-local block).
    pub fn info(&self) -> String {
        let info = Info {
            classes: &self.model.config.classes,
            input_size: self.model.config.input_size,
            parameters: self.model.num_params(),
            train_proposals: self.model.config.rpn.post_nms_train,
            backend: &self.backend,
            kernels: KernelStatus::of(&self.model),
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
        let (model, image) = (&self.model, &image);
        let found = super::cpu_work(|| detect_staged(model, image, Some(&now))).await;
        let (detections, timings) = found.map_err(js_err)?;
        let result = DetectResult { detections, timings, total_ms: now() - start };
        Ok(serde_json::to_string(&result).expect("detections serialise"))
    }

    /// GFLOP/s of an `n`^3 f32 matmul on this detector's device, median of 5 runs: the ceiling
    /// the bench page prints beside its detection times (`model::flops::sgemm_gflops`).
    pub async fn sgemm_gflops(&self, n: usize) -> Result<f64, JsError> {
        let device = self.model.devices().into_iter().next().expect("model has a device");
        sgemm_gflops(&device, n, 5, &now).await.map_err(js_err)
    }

    /// The feature pyramid view of an RGBA picture (`channel` < 0: channel energy): JSON of
    /// [`PyramidView`](crate::pyramid_view::PyramidView), as `libra pyramid` prints it.
    pub async fn pyramid_view(&self, rgba: Vec<u8>, width: u32, height: u32, channel: i32) -> Result<String, JsError> {
        views::pyramid(&self.model, &rgba, width, height, channel).await
    }

    /// The non-local block's attention of the picture's pixel (`x`, `y`): JSON of
    /// [`AttentionMap`](crate::pyramid_view::AttentionMap), as `libra attention` prints it.
    pub async fn attention_map(&self, rgba: Vec<u8>, width: u32, height: u32, x: f32, y: f32) -> Result<String, JsError> {
        views::attention(&self.model, &rgba, width, height, x, y).await
    }

    /// The "sampled negatives" view of an RGBA picture with its GT boxes (`gt_json`:
    /// `[[x1, y1, x2, y2], ...]` in the picture's pixels): JSON of
    /// [`SamplingView`](crate::sampling_view::SamplingView), as `libra sampling` prints it.
    pub async fn sampling_view(&self, rgba: Vec<u8>, width: u32, height: u32, gt_json: String, seed: u32) -> Result<String, JsError> {
        views::sampling(&self.model, &rgba, width, height, &gt_json, seed).await
    }
}

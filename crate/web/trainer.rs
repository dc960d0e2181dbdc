//! `WebTrainer`: fine-tuning in the page's training worker, one step per call so the worker can
//! pause, stop and answer view requests between steps; saves the model with async reads. The
//! threaded build runs steps and evaluations on the pool (`cpu_work`).

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::{KernelStatus, cpu_work, device, js_err, now, rgb_image, views};
use crate::data::{RawBox, validate_boxes};
use crate::finetune::{FineTune, FineTuneOptions};
use crate::train::StepLosses;
use crate::{checkpoint, kernels};

/// A fine-tuning session on one backend.
#[wasm_bindgen]
pub struct WebTrainer {
    session: FineTune,
    backend: String,
}

#[derive(Serialize)]
struct Info<'a> {
    classes: &'a [String],
    input_size: u32,
    train_images: usize,
    held_out_images: usize,
    step: usize,
    steps: usize,
    backend: &'a str,
    /// What runs the non-local block.
    kernels: KernelStatus,
}

#[derive(Serialize)]
struct Step {
    step: usize,
    steps: usize,
    lr: f64,
    losses: StepLosses,
    skipped: bool,
    /// |pred - target| of the positive RoIs' encoded deltas (the Balanced L1 view plots them).
    reg_errors: Vec<f32>,
}

#[derive(Serialize)]
struct Evaluation {
    ap: Option<f32>,
    ap50: Option<f32>,
    ap75: Option<f32>,
    per_class_ap50: Vec<Option<f32>>,
    images: usize,
}

#[wasm_bindgen]
impl WebTrainer {
    /// Starts a session from a checkpoint (`.lrc` / `.safetensors` bytes) on `backend`
    /// ("webgpu" or "cpu") with our kernels as `kernels` says ("auto", "fused" or "reference");
    /// `options_json`: [`FineTuneOptions`] as JSON (missing fields take their defaults).
    pub async fn create(model_bytes: Vec<u8>, backend: String, kernels: String, options_json: String) -> Result<WebTrainer, JsError> {
        let options: FineTuneOptions = serde_json::from_str(&options_json).map_err(|e| js_err(format!("training options: {e}")))?;
        let (plain, mut plan) = device(&backend, &kernels).await?;
        let device = plain.clone().autodiff();
        let model = checkpoint::from_bytes(&model_bytes, &device).map_err(js_err)?;
        // Which of our kernels and the reference trains (forward + backward) faster here.
        if let Some(dims) = model.non_local_dims() {
            plan.tuned = kernels::tune(&plan, &plain, &now, true, dims).await;
        }
        let session = FineTune::new(model.with_kernels(plan), &options).map_err(js_err)?;
        Ok(WebTrainer { session, backend })
    }

    /// Adds a labelled photo: RGBA (`width * height * 4` bytes), `boxes_json` =
    /// `[[x1, y1, x2, y2, class index], ...]` in its pixels. Boxes partly outside are clipped,
    /// empty ones refused; returns the warnings (JSON list of strings).
    pub fn add_photo(&mut self, rgba: Vec<u8>, width: u32, height: u32, name: String, boxes_json: String, held_out: bool) -> Result<String, JsError> {
        let image = rgb_image(&rgba, width, height)?;
        let boxes: Vec<[f32; 5]> = serde_json::from_str(&boxes_json).map_err(|e| js_err(format!("{name}: boxes: {e}")))?;
        let classes = self.session.classes().len();
        let mut raw = Vec::with_capacity(boxes.len());
        for (i, b) in boxes.iter().enumerate() {
            if !(b[4] >= 0.0 && b[4].fract() == 0.0 && (b[4] as usize) < classes) {
                return Err(js_err(format!("{name}: box {} has class index {}, but there are {classes} classes", i + 1, b[4])));
            }
            raw.push(RawBox { bbox: [b[0], b[1], b[2], b[3]], label: b[4] as usize, origin: format!("box {}", i + 1), area: None });
        }
        let mut warnings = Vec::new();
        let ann = validate_boxes(&name, width, height, raw, &mut warnings).map_err(js_err)?;
        self.session.add(&image, &ann, held_out).map_err(js_err)?;
        let text: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        Ok(serde_json::to_string(&text).expect("strings serialise"))
    }

    /// JSON: `{classes, input_size, train_images, held_out_images, step, steps, backend}`.
    pub fn info(&self) -> String {
        let (train_images, held_out_images) = self.session.counts();
        let (step, steps) = self.session.progress();
        let info = Info {
            classes: self.session.classes(),
            input_size: self.session.input_size(),
            train_images,
            held_out_images,
            step,
            steps,
            backend: &self.backend,
            kernels: KernelStatus::of(&self.session.model()),
        };
        serde_json::to_string(&info).expect("info serialises")
    }

    /// One training step. JSON: `{step, steps, lr, losses: {rpn_cls, rpn_reg, rcnn_cls,
    /// rcnn_reg, total}, skipped, reg_errors}`.
    pub async fn step(&mut self) -> Result<String, JsError> {
        let session = &mut self.session;
        let r = cpu_work(|| session.step()).await.map_err(js_err)?;
        let step = Step { step: r.step + 1, steps: self.session.progress().1, lr: r.lr, losses: r.losses, skipped: r.skipped, reg_errors: r.reg_errors };
        Ok(serde_json::to_string(&step).expect("the step serialises"))
    }

    /// AP on the held-out photos. JSON: `{ap, ap50, ap75, per_class_ap50, images}`, or `null`
    /// without held-out photos.
    pub async fn evaluate(&self) -> Result<String, JsError> {
        let session = &self.session;
        let report = cpu_work(|| session.evaluate()).await.map_err(js_err)?;
        let eval = report.map(|r| Evaluation { ap: r.ap, ap50: r.ap50, ap75: r.ap75, per_class_ap50: r.per_class_ap50, images: self.session.counts().1 });
        Ok(serde_json::to_string(&eval).expect("the evaluation serialises"))
    }

    /// The model as trained so far as a `.lrc` checkpoint (f16 weights when `half`).
    pub async fn export(&self, half: bool) -> Result<Vec<u8>, JsError> {
        checkpoint::to_bytes_async(&self.session.model(), half).await.map_err(js_err)
    }

    /// [`WebDetector::pyramid_view`](super::WebDetector::pyramid_view) on the model being trained.
    pub async fn pyramid_view(&self, rgba: Vec<u8>, width: u32, height: u32, channel: i32) -> Result<String, JsError> {
        views::pyramid(&self.session.model(), &rgba, width, height, channel).await
    }

    /// [`WebDetector::attention_map`](super::WebDetector::attention_map) on the model being trained.
    pub async fn attention_map(&self, rgba: Vec<u8>, width: u32, height: u32, x: f32, y: f32) -> Result<String, JsError> {
        views::attention(&self.session.model(), &rgba, width, height, x, y).await
    }

    /// [`WebDetector::sampling_view`](super::WebDetector::sampling_view) on the model being trained.
    pub async fn sampling_view(&self, rgba: Vec<u8>, width: u32, height: u32, gt_json: String, seed: u32) -> Result<String, JsError> {
        views::sampling(&self.session.model(), &rgba, width, height, &gt_json, seed).await
    }
}

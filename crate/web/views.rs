//! The teaching views of one model, shared by the detector and the trainer (which shows them
//! on the model as it learns). Each takes an RGBA picture and returns the view as JSON; the
//! threaded build computes it on the pool (`cpu_work`).

use wasm_bindgen::prelude::*;

use super::{cpu_work, js_err, rgb_image};
use crate::model::LibraRcnn;
use crate::pyramid_view::{attention_map, pyramid_view};
use crate::sampling_view::sampling_view;

/// JSON of [`PyramidView`](crate::pyramid_view::PyramidView) (`channel` < 0: channel energy).
pub async fn pyramid(model: &LibraRcnn, rgba: &[u8], width: u32, height: u32, channel: i32) -> Result<String, JsError> {
    let image = rgb_image(rgba, width, height)?;
    let image = &image;
    let view = cpu_work(|| pyramid_view(model, image, usize::try_from(channel).ok())).await.map_err(js_err)?;
    Ok(serde_json::to_string(&view).expect("the view serialises"))
}

/// JSON of [`AttentionMap`](crate::pyramid_view::AttentionMap) for the picture's pixel (`x`, `y`).
pub async fn attention(model: &LibraRcnn, rgba: &[u8], width: u32, height: u32, x: f32, y: f32) -> Result<String, JsError> {
    let image = rgb_image(rgba, width, height)?;
    let image = &image;
    let map = cpu_work(|| attention_map(model, image, x, y)).await.map_err(js_err)?;
    Ok(serde_json::to_string(&map).expect("the map serialises"))
}

/// JSON of [`SamplingView`](crate::sampling_view::SamplingView) for GT boxes `gt_json`
/// (`[[x1, y1, x2, y2], ...]` in the picture's pixels).
pub async fn sampling(model: &LibraRcnn, rgba: &[u8], width: u32, height: u32, gt_json: &str, seed: u32) -> Result<String, JsError> {
    let image = rgb_image(rgba, width, height)?;
    let gt: Vec<[f32; 4]> = serde_json::from_str(gt_json).map_err(|e| js_err(format!("GT boxes: {e}")))?;
    let (image, gt) = (&image, &gt);
    let view = cpu_work(|| sampling_view(model, image, gt, seed.into())).await.map_err(js_err)?;
    Ok(serde_json::to_string(&view).expect("the view serialises"))
}

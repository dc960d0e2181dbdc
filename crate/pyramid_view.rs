//! Data of the page's "feature pyramid" view: the FPN's P2..P6, the Balanced Feature Pyramid's
//! integrated and refined maps, and the balanced P2..P6, each reduced to one value per position
//! (the channel energy or one channel); and the non-local block's attention of one position.

use burn::module::Module;
use burn::tensor::{Tensor, Transaction};
use image::RgbImage;
use serde::Serialize;

use crate::config::Refine;
use crate::data::tensor::image_tensor;
use crate::data::transform::Letterbox;
use crate::error::{Error, Result};
use crate::model::LibraRcnn;
use crate::model::detector::STRIDES;

/// Network input pixel = picture pixel * `scale` + (`pad_x`, `pad_y`).
#[derive(Debug, Serialize)]
pub struct LetterboxInfo {
    pub scale: f32,
    pub pad_x: f32,
    pub pad_y: f32,
}

impl From<&Letterbox> for LetterboxInfo {
    fn from(lb: &Letterbox) -> Self {
        Self { scale: lb.scale, pad_x: lb.pad_x, pad_y: lb.pad_y }
    }
}

/// One map as an image: `values` [height * width] row-major, `(v - min) / (max - min)`.
#[derive(Debug, Serialize)]
pub struct FeatureMap {
    pub name: String,
    /// "fpn", "bfp" or "balanced".
    pub stage: &'static str,
    pub stride: f32,
    pub width: usize,
    pub height: usize,
    pub values: Vec<f32>,
    pub min: f32,
    pub max: f32,
}

#[derive(Debug, Serialize)]
pub struct PyramidView {
    pub input_size: usize,
    pub channels: usize,
    /// None: each map's channel energy (root mean square over channels).
    pub channel: Option<usize>,
    /// Index into P2..P6 of the level the BFP integrates at.
    pub refine_level: usize,
    /// "non_local", "conv", "none", or "off" when the model has no BFP (then only the FPN maps).
    pub refine: &'static str,
    pub letterbox: LetterboxInfo,
    /// FPN P2..P6, then (with a BFP) "integrated", "refined" and the balanced P2..P6.
    pub maps: Vec<FeatureMap>,
}

/// The non-local block's attention of one refine-level cell over all cells.
#[derive(Debug, Serialize)]
pub struct AttentionMap {
    pub stride: f32,
    pub width: usize,
    pub height: usize,
    /// The cell (x, y) the picture pixel falls in.
    pub cell: [usize; 2],
    /// [height * width] weights, summing to 1.
    pub values: Vec<f32>,
    pub max: f32,
    pub letterbox: LetterboxInfo,
}

/// [1, c, h, w] -> [h * w]: the root mean square over channels, or channel `k`.
fn reduce(x: Tensor<4>, channel: Option<usize>) -> Tensor<1> {
    let [_, _, h, w] = x.dims();
    let map = match channel {
        None => (x.clone() * x).mean_dim(1).sqrt(),
        Some(k) => x.slice([0..1, k..k + 1, 0..h, 0..w]),
    };
    map.reshape([h * w])
}

/// The picture letterboxed to the network input: [1, 3, s, s] and the letterbox.
fn network_input(model: &LibraRcnn, image: &RgbImage) -> Result<(Tensor<4>, Letterbox)> {
    let s = model.config.input_size as u32;
    let lb = Letterbox::fit(image.width(), image.height(), s, s)?;
    let device = model.devices().into_iter().next().expect("model has a device");
    Ok((image_tensor(&lb.apply_image(image), &device), lb))
}

fn refine_name(model: &LibraRcnn) -> &'static str {
    match (model.config.neck.bfp, model.config.neck.refine) {
        (false, _) => "off",
        (true, Refine::None) => "none",
        (true, Refine::Conv) => "conv",
        (true, Refine::NonLocal) => "non_local",
    }
}

/// Runs the backbone, FPN and BFP on `image` and returns every map of the pyramid view,
/// reduced by channel energy (`channel` None) or to one channel.
pub async fn pyramid_view(model: &LibraRcnn, image: &RgbImage, channel: Option<usize>) -> Result<PyramidView> {
    let cfg = &model.config;
    if let Some(k) = channel.filter(|&k| k >= cfg.fpn_channels) {
        return Err(Error::Input(format!("channel {k} does not exist: the pyramid has {} channels", cfg.fpn_channels)));
    }
    let (input, lb) = network_input(model, image)?;
    let f = model.features_traced(input);
    let level = |i: usize| (format!("P{}", i + 2), STRIDES[i]);
    let mut maps: Vec<(String, &'static str, f32, Tensor<4>)> = Vec::new();
    match (f.fpn, f.bfp) {
        (Some(fpn), Some(trace)) => {
            maps.extend(fpn.into_iter().enumerate().map(|(i, t)| (level(i).0, "fpn", level(i).1, t)));
            let stride = STRIDES[cfg.neck.refine_level];
            maps.push(("integrated".into(), "bfp", stride, trace.integrated));
            maps.push(("refined".into(), "bfp", stride, trace.refined));
            maps.extend(f.levels.into_iter().enumerate().map(|(i, t)| (level(i).0, "balanced", level(i).1, t)));
        }
        _ => maps.extend(f.levels.into_iter().enumerate().map(|(i, t)| (level(i).0, "fpn", level(i).1, t))),
    }
    let mut reads = Transaction::default();
    for (_, _, _, t) in &maps {
        reads = reads.register(reduce(t.clone().detach(), channel));
    }
    let data = reads.execute_async().await?;
    let maps = maps
        .into_iter()
        .zip(data)
        .map(|((name, stage, stride, t), d)| {
            let [_, _, height, width] = t.dims();
            let raw: Vec<f32> = d.try_to_vec()?;
            let (min, max) = raw.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
            let span = if max > min { max - min } else { 1.0 };
            let values = raw.iter().map(|v| (v - min) / span).collect();
            Ok(FeatureMap { name, stage, stride, width, height, values, min, max })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(PyramidView {
        input_size: cfg.input_size,
        channels: cfg.fpn_channels,
        channel,
        refine_level: cfg.neck.refine_level,
        refine: refine_name(model),
        letterbox: (&lb).into(),
        maps,
    })
}

/// The non-local block's attention of the refine-level cell under picture pixel (`x`, `y`):
/// where the block gathers that position's refined features from.
pub async fn attention_map(model: &LibraRcnn, image: &RgbImage, x: f32, y: f32) -> Result<AttentionMap> {
    let non_local =
        model.bfp.as_ref().and_then(|b| b.non_local()).ok_or_else(|| {
            Error::Input(format!("this model's BFP refine step is {}, not a non-local block: there is no attention to show", refine_name(model)))
        })?;
    if !(0.0..image.width() as f32).contains(&x) || !(0.0..image.height() as f32).contains(&y) {
        return Err(Error::Input(format!("({x}, {y}) is outside the {}x{} picture", image.width(), image.height())));
    }
    let (input, lb) = network_input(model, image)?;
    let integrated = model.features_traced(input).bfp.expect("traced with a BFP").integrated;
    let [_, _, height, width] = integrated.dims();
    let stride = STRIDES[model.config.neck.refine_level];
    let cell = |v: f32, pad: f32, n: usize| (((v * lb.scale + pad) / stride).floor().max(0.0) as usize).min(n - 1);
    let (cx, cy) = (cell(x, lb.pad_x, width), cell(y, lb.pad_y, height));
    let i = cy * width + cx;
    let row = non_local.attention_rows(integrated.detach().narrow(0, 0, 1), &[i as u32], &model.kernels).reshape([height * width]);
    let values: Vec<f32> = row.into_data_async().await?.try_to_vec()?;
    let max = values.iter().copied().fold(0.0, f32::max);
    Ok(AttentionMap { stride, width, height, cell: [cx, cy], values, max, letterbox: (&lb).into() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DetectorConfig;
    use crate::testing::{device, read};

    fn scene() -> RgbImage {
        RgbImage::from_fn(128, 96, |x, y| image::Rgb([(x * 2) as u8, (y * 2) as u8, ((x + y) % 256) as u8]))
    }

    #[test]
    fn maps_come_in_order_with_the_levels_sizes_and_scaled_values() {
        let model = DetectorConfig::tiny(vec!["a".into()]).init(&device()).expect("model");
        let v = pollster::block_on(pyramid_view(&model, &scene(), None)).expect("view");
        let names: Vec<_> = v.maps.iter().map(|m| format!("{}:{}", m.stage, m.name)).collect();
        assert_eq!(
            names,
            [
                "fpn:P2",
                "fpn:P3",
                "fpn:P4",
                "fpn:P5",
                "fpn:P6",
                "bfp:integrated",
                "bfp:refined",
                "balanced:P2",
                "balanced:P3",
                "balanced:P4",
                "balanced:P5",
                "balanced:P6",
            ]
        );
        // Tiny preset: 64 px input, so P2 16x16 ... P6 1x1; the refine level is P4 (4x4).
        let sizes: Vec<_> = v.maps.iter().map(|m| m.width).collect();
        assert_eq!(sizes, [16, 8, 4, 2, 1, 4, 4, 16, 8, 4, 2, 1]);
        for m in &v.maps {
            assert_eq!(m.values.len(), m.width * m.height);
            assert!(m.values.iter().all(|v| (0.0..=1.0).contains(v)) && m.min <= m.max, "{}", m.name);
        }
        assert_eq!(v.refine, "non_local");
        assert!(pollster::block_on(pyramid_view(&model, &scene(), Some(16))).is_err(), "16 channels: 0..16");
    }

    #[test]
    fn energy_is_the_root_mean_square_over_channels() {
        let dev = device();
        let x = Tensor::<1>::from_floats([3.0, 0.0, 4.0, 1.0, 0.0, 2.0], &dev).reshape([1, 2, 1, 3]);
        // Channels (3, 0, 4) and (1, 0, 2): sqrt((9 + 1) / 2), 0, sqrt((16 + 4) / 2).
        let want = [5.0f32.sqrt(), 0.0, 10.0f32.sqrt()];
        let got = read(reduce(x.clone(), None));
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{got:?}");
        }
        assert_eq!(read(reduce(x, Some(1))), [1.0, 0.0, 2.0]);
    }

    #[test]
    fn attention_is_the_non_local_row_of_the_pixels_cell() {
        let model = DetectorConfig::tiny(vec!["a".into()]).init(&device()).expect("model");
        let image = scene();
        // 128x96 into 64: scale 0.5, pad_y 8; P4 stride 16: pixel (100, 50) -> input (50, 33) -> cell (3, 2).
        let a = pollster::block_on(attention_map(&model, &image, 100.0, 50.0)).expect("attention");
        assert_eq!((a.cell, a.width, a.height), ([3, 2], 4, 4));
        assert!((a.values.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        // The same row from the block's own attention matrix.
        let (input, _) = network_input(&model, &image).unwrap();
        let integrated = model.features_traced(input).bfp.unwrap().integrated;
        let full = read(model.bfp.as_ref().unwrap().non_local().unwrap().attention(integrated).reshape([256]));
        let want = &full[(2 * 4 + 3) * 16..(2 * 4 + 3) * 16 + 16];
        for (g, w) in a.values.iter().zip(want) {
            assert!((g - w).abs() < 1e-6);
        }
        assert!(pollster::block_on(attention_map(&model, &image, 200.0, 10.0)).is_err(), "outside the picture");
        let mut cfg = DetectorConfig::tiny(vec!["a".into()]);
        cfg.neck.refine = Refine::Conv;
        let conv = cfg.init(&device()).unwrap();
        let err = pollster::block_on(attention_map(&conv, &image, 10.0, 10.0)).unwrap_err().to_string();
        assert!(err.contains("not a non-local block"), "{err}");
    }
}

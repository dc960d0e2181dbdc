//! Analytic FLOP count of one forward pass (2 FLOPs per multiply-add; convs, FC layers and the
//! non-local attention; element-wise work ignored), read from the model's own layer shapes, and
//! the ceiling they are read against: an sgemm measured on the same device.

use burn::nn::conv::Conv2d;
use burn::tensor::{Device, Distribution, Tensor};

use crate::error::Result;
use crate::infer::Clock;

use super::LibraRcnn;
use super::backbone::Backbone;
use super::detector::STRIDES;

/// FLOPs of `c` on a square `side x side` input, and the output side.
fn conv(c: &Conv2d, side: usize) -> (f64, usize) {
    let [co, ci_g, kh, kw] = c.weight.dims();
    let out = side.div_ceil(c.stride[0]);
    (2.0 * (co * ci_g * kh * kw * out * out) as f64, out)
}

fn backbone(b: &Backbone, s: usize) -> f64 {
    let mut total = 0.0;
    let mut side = s;
    let mut add = |c: &Conv2d, side: &mut usize| {
        let (f, out) = conv(c, *side);
        total += f;
        *side = out;
    };
    match b {
        Backbone::MobileNetV2(m) => {
            add(&m.stem.conv, &mut side);
            for blk in &m.blocks {
                if let Some(e) = &blk.expand {
                    add(&e.conv, &mut side);
                }
                add(&blk.depthwise.conv, &mut side);
                add(&blk.project, &mut side);
            }
            add(&m.last.conv, &mut side);
        }
        Backbone::Tiny(t) => {
            for c in t.stem.iter().chain(&t.stages) {
                add(&c.conv, &mut side);
            }
        }
    }
    total
}

/// Forward FLOPs of `model` on one image with `rois` RoIs in the second stage.
pub fn forward_flops(model: &LibraRcnn, rois: usize) -> f64 {
    let s = model.config.input_size;
    let sides: Vec<usize> = STRIDES.iter().map(|st| s / *st as usize).collect();
    let mut total = backbone(&model.backbone, s);
    for (i, (l, o)) in model.fpn.lateral.iter().zip(&model.fpn.output).enumerate() {
        total += conv(l, sides[i]).0 + conv(o, sides[i]).0;
    }
    if let Some(nl) = model.bfp.as_ref().and_then(|b| b.non_local()) {
        let side = sides[model.config.neck.refine_level];
        let (hw, c) = ((side * side) as f64, model.config.fpn_channels as f64);
        total += [&nl.theta, &nl.phi, &nl.g, &nl.out].iter().map(|cv| conv(cv, side).0).sum::<f64>();
        total += 2.0 * 2.0 * hw * hw * c;
    }
    for &side in &sides {
        total += conv(&model.rpn.conv, side).0 + conv(&model.rpn.cls, side).0 + conv(&model.rpn.reg, side).0;
    }
    let h = &model.bbox_head;
    let fc: f64 = [&h.fc1, &h.fc2, &h.cls, &h.reg]
        .iter()
        .map(|l| {
            let [i, o] = l.weight.dims();
            2.0 * (i * o) as f64
        })
        .sum();
    total + fc * rois as f64
}

/// GFLOP/s of an `n` x `n` x `n` f32 matmul on `device`, median of `runs` after one warm-up
/// (`clock` in milliseconds): the ceiling of what the detector's convolutions can reach there.
/// The native bench and the bench page print it beside their detection times.
pub async fn sgemm_gflops(device: &Device, n: usize, runs: usize, clock: Clock<'_>) -> Result<f64> {
    let a = Tensor::<2>::random([n, n], Distribution::Default, device);
    let b = Tensor::<2>::random([n, n], Distribution::Default, device);
    let mut ms = Vec::with_capacity(runs);
    for run in 0..=runs.max(1) {
        let start = clock();
        // One value read back: the product is complete, its transfer is not timed.
        a.clone().matmul(b.clone()).slice([0..1, 0..1]).into_data_async().await?.try_to_vec::<f32>()?;
        if run > 0 {
            ms.push(clock() - start);
        }
    }
    ms.sort_by(f64::total_cmp);
    Ok(2.0 * (n * n * n) as f64 / ms[ms.len() / 2] / 1e6)
}

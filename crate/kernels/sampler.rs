//! The IoU-balanced sampler's statistics on our WGSL kernel (`shaders/sampler.wgsl`): per box its
//! best IoU over the ground truths and which one (lowest index on ties), and the histogram of the
//! negatives over `K` equal bins of `[0, neg_thr)`; the draw itself stays on the host.

use burn::backend::wgpu::CubeTensor;
use burn::backend::{Cube, DType};
use burn::tensor::{Device, Int, Shape, Tensor};

use super::device::wgpu_device;
use super::wgsl::{Entry, launch};
use super::{Fallback, KernelPlan, Kernels};
use crate::boxes::BBox;

static ASSIGN: Entry =
    Entry { name: "assign", files: &[include_str!("../../shaders/sampler.wgsl")], buffers: &["proposals", "gts", "max_iou", "argmax", "hist"] };

/// Boxes per workgroup (a thread each).
const GROUP: usize = 256;

/// What the kernel returns for `P` boxes against `G` ground truths.
#[derive(Clone, Debug, PartialEq)]
pub struct IouStats {
    /// `[P]`: best IoU (0 without ground truths).
    pub max_iou: Vec<f32>,
    /// `[P]`: index of the best ground truth, lowest on ties; -1 without ground truths.
    pub argmax: Vec<i32>,
    /// `[K]`: negatives (max IoU < `neg_thr`) per bin `min(K - 1, floor(max_iou / neg_thr * K))`.
    pub hist: Vec<u32>,
}

/// The kernel's statistics of `boxes` against `gts` on `device` (read back asynchronously), or
/// why it cannot run there or `plan` forces the reference (then the host's `boxes::iou` is the
/// path).
pub async fn iou_stats(plan: &KernelPlan, device: &Device, boxes: &[BBox], gts: &[BBox], bins: usize, neg_thr: f32) -> Result<IouStats, Fallback> {
    let cube = wgpu_device(device).ok_or(None)?;
    if plan.mode == Kernels::Reference {
        return Err(Some("forced by the kernels = reference setting".into()));
    }
    let client = cube.client();
    let props = client.properties();
    let p = boxes.len();
    let groups = p.div_ceil(GROUP) as u32;
    if p == 0 || bins == 0 || neg_thr.is_nan() || neg_thr <= 0.0 {
        return Err(Some(format!("{p} boxes, {bins} bins, neg_thr {neg_thr}: nothing for the kernel to do")));
    }
    if groups > props.hardware.max_cube_count.0 || (p.max(gts.len()) * 16) as u64 > props.memory.max_page_size {
        return Err(Some(format!("{p} boxes x {} ground truths exceed this device's dispatch or binding limits", gts.len())));
    }
    let flat = |b: &[BBox]| -> Vec<u8> { b.iter().flatten().flat_map(|v| v.to_le_bytes()).collect() };
    let gt_bytes = if gts.is_empty() { vec![0u8; 16] } else { flat(gts) };
    let boxes_h = client.create_from_slice(&flat(boxes));
    let gts_h = client.create_from_slice(&gt_bytes);
    let max_iou = CubeTensor::new_contiguous(client.clone(), cube.clone(), Shape::new([p]), client.empty(p * 4), DType::F32);
    let argmax = CubeTensor::new_contiguous(client.clone(), cube.clone(), Shape::new([p]), client.empty(p * 4), DType::I32);
    let hist_h = client.create_from_slice(&vec![0u8; bins * 4]);
    let hist = CubeTensor::new_contiguous(client.clone(), cube.clone(), Shape::new([bins]), hist_h, DType::I32);
    let params = [p as u32, gts.len() as u32, bins as u32, neg_thr.to_bits()];
    launch(&client, &ASSIGN, [groups, 1, 1], &[&boxes_h, &gts_h, &max_iou.handle, &argmax.handle, &hist.handle], &params);
    let err = |e| Some(format!("reading the sampler kernel's output failed: {e:?}"));
    let max_iou = Tensor::<1>::from_primitive::<Cube>(max_iou).into_data_async().await.map_err(err)?;
    let argmax = Tensor::<1, Int>::from_primitive::<Cube>(argmax).into_data_async().await.map_err(err)?;
    let hist = Tensor::<1, Int>::from_primitive::<Cube>(hist).into_data_async().await.map_err(err)?;
    let bad = |e| Some(format!("the sampler kernel's output has an unexpected type: {e:?}"));
    Ok(IouStats {
        max_iou: max_iou.try_to_vec::<f32>().map_err(bad)?,
        argmax: argmax.try_to_vec::<i32>().map_err(bad)?,
        hist: hist.try_to_vec::<i32>().map_err(bad)?.into_iter().map(|v| v as u32).collect(),
    })
}

/// The same statistics on the host (the reference), from `boxes::iou`.
pub fn iou_stats_host(boxes: &[BBox], gts: &[BBox], bins: usize, neg_thr: f32) -> IouStats {
    let mut stats = IouStats { max_iou: Vec::with_capacity(boxes.len()), argmax: Vec::with_capacity(boxes.len()), hist: vec![0; bins] };
    for b in boxes {
        let (best, arg) = gts.iter().enumerate().fold((0f32, -1i32), |(m, a), (j, g)| {
            let v = crate::boxes::iou::iou(b, g);
            if a < 0 || v > m { (v, j as i32) } else { (m, a) }
        });
        if best < neg_thr {
            stats.hist[((best / neg_thr * bins as f32).floor() as usize).min(bins - 1)] += 1;
        }
        stats.max_iou.push(best);
        stats.argmax.push(arg);
    }
    stats
}
